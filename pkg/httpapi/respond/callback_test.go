package respond_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
)

// Accept headers of real clients.
const (
	acceptChrome  = servicetest.AcceptChrome
	acceptFirefox = servicetest.AcceptFirefox
	acceptSafari  = servicetest.AcceptSafari
)

// step is one request in a respond scenario.
type step struct {
	method string // GET when empty
	action string // the URL of this action
	accept string
	ua     string // User-Agent
	body   string

	status      int
	code        string // error code, "" for success
	sfnCode     string // step_functions_error
	contentType string // "" means application/json
	location    string
	// custom marks the action's own HTML, which is served without our
	// Content-Security-Policy (it may load the author's styles and images).
	custom bool
	// bodyHas are substrings the body must contain; an empty list with a
	// 2xx JSON answer checks the reference's success body.
	bodyHas []string
}

// TestRespond runs callback scenarios against both back ends and checks
// the answers, the task's final state and how many Step Functions calls
// were made.
func TestRespond(t *testing.T) {
	open := servicetest.Task{Status: "open"}
	approved := servicetest.Task{Status: "succeeded", Output: `{"approved":true}`}
	rejected := servicetest.Task{Status: "failed", Error: "Rejected", Cause: "Rejected by a test"}
	spec := map[string]any{"name": "custom", "type": "success", "output": map[string]any{"approved": true},
		"response": map[string]any{"json": map[string]any{"thanks": "json"}, "html": "<p>Thanks, html</p>", "text": "Thanks, text"}}
	redirect := map[string]any{"name": "custom", "type": "success", "output": map[string]any{"approved": true},
		"response": map[string]any{"redirect": "https://example.com/thanks?x=1"}}
	htmlOnly := map[string]any{"name": "custom", "type": "success", "output": map[string]any{"approved": true},
		"response": map[string]any{"html": "<p>Thanks, html</p>"}}

	tests := []struct {
		name    string
		actions []map[string]any // default: approve, reject, ping
		// before runs after the URLs are made, before the steps.
		before func(e *servicetest.Service)
		steps  []step
		want   servicetest.Task
		calls  int // Step Functions calls; -1 not checked
	}{
		{name: "GET success", steps: []step{{action: "approve", status: 200}}, want: approved, calls: 1},
		{name: "POST success", steps: []step{{method: "POST", action: "approve", status: 200}}, want: approved, calls: 1},
		{name: "POST success with a body", steps: []step{{method: "POST", action: "approve", body: `{"ignored":1}`, status: 200}}, want: approved, calls: 1},
		{name: "GET failure", steps: []step{{action: "reject", status: 200}}, want: rejected, calls: 1},
		{name: "POST failure", steps: []step{{method: "POST", action: "reject", status: 200}}, want: rejected, calls: 1},
		{name: "failure without error or cause", actions: []map[string]any{{"name": "no", "type": "failure"}},
			steps: []step{{action: "no", status: 200}}, want: servicetest.Task{Status: "failed"}, calls: 1},
		{name: "GET heartbeat", steps: []step{{action: "ping", status: 200}}, want: servicetest.Task{Status: "open", Heartbeats: 1}, calls: 1},
		{name: "heartbeat twice", steps: []step{{action: "ping", status: 200}, {method: "POST", action: "ping", status: 200}},
			want: servicetest.Task{Status: "open", Heartbeats: 2}, calls: 2},
		{name: "heartbeat then success", steps: []step{{action: "ping", status: 200}, {action: "approve", status: 200}},
			want: servicetest.Task{Status: "succeeded", Output: `{"approved":true}`, Heartbeats: 1}, calls: 2},
		{name: "second completion", steps: []step{
			{action: "approve", status: 200},
			{action: "approve", status: 400, code: "StepFunctionsError", sfnCode: "TaskTimedOut"},
		}, want: approved, calls: 2},
		{name: "failure after success", steps: []step{
			{action: "approve", status: 200},
			{method: "POST", action: "reject", status: 400, code: "StepFunctionsError", sfnCode: "TaskTimedOut"},
		}, want: approved, calls: 2},
		{name: "heartbeat after failure", steps: []step{
			{action: "reject", status: 200},
			{action: "ping", status: 400, code: "StepFunctionsError", sfnCode: "TaskTimedOut"},
		}, want: rejected, calls: 2},
		// A browser's GET only asks to confirm (it cannot know the task is
		// closed); pressing the button says so.
		{name: "second completion, HTML", steps: []step{
			{action: "approve", status: 200},
			{action: "approve", accept: acceptChrome, status: 200, contentType: "text/html; charset=utf-8",
				bodyHas: []string{"Please confirm", `<form method="post"`}},
			{method: "POST", action: "approve", accept: acceptChrome, status: 400, contentType: "text/html; charset=utf-8",
				bodyHas: []string{"This request was already answered", "StepFunctionsError"}},
		}, want: approved, calls: 2},
		{name: "HEAD success", steps: []step{{method: "HEAD", action: "approve", status: 200}}, want: open, calls: 0},
		{name: "HEAD failure", steps: []step{{method: "HEAD", action: "reject", status: 200}}, want: open, calls: 0},
		{name: "HEAD heartbeat", steps: []step{{method: "HEAD", action: "ping", status: 200}}, want: open, calls: 0},
		{name: "HEAD as a browser", steps: []step{{method: "HEAD", action: "approve", accept: acceptChrome, status: 200,
			contentType: "text/html; charset=utf-8"}}, want: open, calls: 0},
		{name: "HEAD then GET", steps: []step{{method: "HEAD", action: "approve", status: 200}, {action: "approve", status: 200}},
			want: approved, calls: 1},
		{name: "HEAD redirect", actions: []map[string]any{redirect},
			steps: []step{{method: "HEAD", action: "custom", status: 303, location: "https://example.com/thanks?x=1"}}, want: open, calls: 0},

		// Content negotiation of the service's own success body.
		{name: "no Accept", steps: []step{{action: "approve", status: 200}}, want: approved, calls: 1},
		{name: "Accept */*", steps: []step{{action: "approve", accept: "*/*", status: 200}}, want: approved, calls: 1},
		{name: "Accept application/json", steps: []step{{action: "approve", accept: "application/json", status: 200}}, want: approved, calls: 1},
		{name: "Accept text/html", steps: []step{{action: "approve", accept: "text/html", status: 200,
			contentType: "text/html; charset=utf-8", bodyHas: []string{"<!doctype html>", "Please confirm", "Approve"}}}, want: open, calls: 0},
		{name: "Accept text/html, POST", steps: []step{{method: "POST", action: "approve", accept: "text/html", status: 200,
			contentType: "text/html; charset=utf-8", bodyHas: []string{"<!doctype html>", "Approved", "(approve)"}}}, want: approved, calls: 1},
		{name: "Firefox, failure", steps: []step{{method: "POST", action: "reject", accept: acceptFirefox, status: 200,
			contentType: "text/html; charset=utf-8", bodyHas: []string{"Rejected", "(reject)"}}}, want: rejected, calls: 1},
		{name: "Safari, heartbeat", steps: []step{{action: "ping", accept: acceptSafari, status: 200,
			contentType: "text/html; charset=utf-8", bodyHas: []string{"Noted"}}}, want: servicetest.Task{Status: "open", Heartbeats: 1}, calls: 1},
		// A program's POST (a webhook sender whose User-Agent looks like
		// a robot's) gets the API's answer: only a POST that asks for
		// HTML gets a page.
		{name: "POST with a robot's User-Agent", steps: []step{{method: "POST", action: "approve", ua: "Slackbot 1.0 (+https://api.slack.com/robots)",
			status: 200}}, want: approved, calls: 1},
		{name: "Accept text/plain", steps: []step{{action: "approve", accept: "text/plain", status: 200,
			contentType: "text/plain; charset=utf-8", bodyHas: []string{`"transaction_id"`, `"name": "approve"`, `"type": "success"`}}},
			want: approved, calls: 1},

		// Response specs.
		{name: "redirect", actions: []map[string]any{redirect},
			steps: []step{{action: "custom", status: 303, location: "https://example.com/thanks?x=1"}}, want: approved, calls: 1},
		{name: "redirect as a browser", actions: []map[string]any{redirect},
			steps: []step{{method: "POST", action: "custom", accept: acceptChrome, status: 303, location: "https://example.com/thanks?x=1"}},
			want:  approved, calls: 1},
		{name: "spec json", actions: []map[string]any{spec},
			steps: []step{{action: "custom", status: 200, contentType: "application/json; charset=utf-8", bodyHas: []string{`{"thanks":"json"}`}}},
			want:  approved, calls: 1},
		{name: "spec html", actions: []map[string]any{spec},
			steps: []step{{method: "POST", action: "custom", accept: acceptChrome, status: 200, contentType: "text/html; charset=utf-8", bodyHas: []string{"<p>Thanks, html</p>"}, custom: true}},
			want:  approved, calls: 1},
		{name: "spec text", actions: []map[string]any{spec},
			steps: []step{{action: "custom", accept: "text/plain", status: 200, contentType: "text/plain; charset=utf-8", bodyHas: []string{"Thanks, text"}}},
			want:  approved, calls: 1},
		{name: "spec html only, JSON asked", actions: []map[string]any{htmlOnly},
			steps: []step{{action: "custom", status: 200}}, want: approved, calls: 1},
		{name: "spec html only, text asked", actions: []map[string]any{htmlOnly},
			steps: []step{{action: "custom", accept: "text/plain", status: 200, contentType: "text/plain; charset=utf-8",
				bodyHas: []string{`"name": "custom"`}}}, want: approved, calls: 1},
		{name: "spec not used for errors", actions: []map[string]any{spec}, steps: []step{
			{action: "custom", status: 200, contentType: "application/json; charset=utf-8"},
			{action: "custom", status: 400, code: "StepFunctionsError", sfnCode: "TaskTimedOut"},
			{method: "POST", action: "custom", accept: "text/html", status: 400, contentType: "text/html; charset=utf-8",
				bodyHas: []string{"This request was already answered"}},
			{action: "custom", accept: "text/plain", status: 400, contentType: "text/plain; charset=utf-8",
				bodyHas: []string{`"error": "StepFunctionsError"`}},
		}, want: approved, calls: 4},
		{name: "redirect not used for errors", actions: []map[string]any{redirect}, steps: []step{
			{action: "custom", status: 303, location: "https://example.com/thanks?x=1"},
			{action: "custom", status: 400, code: "StepFunctionsError", sfnCode: "TaskTimedOut"},
		}, want: approved, calls: 2},

		// Step Functions unavailable.
		{name: "unavailable 500", before: func(e *servicetest.Service) { e.FailNext(500, "InternalFailure") },
			steps: []step{{action: "approve", status: 503, code: "ServiceError"}}, want: open, calls: -1},
		{name: "unavailable throttled", before: func(e *servicetest.Service) { e.FailNext(400, "ThrottlingException") },
			steps: []step{{action: "approve", status: 503, code: "ServiceError"}}, want: open, calls: -1},
		{name: "unavailable, HTML", before: func(e *servicetest.Service) { e.FailNext(503, "ServiceUnavailable") },
			steps: []step{{method: "POST", action: "reject", accept: acceptChrome, status: 503, contentType: "text/html; charset=utf-8",
				bodyHas: []string{"Temporarily unavailable"}}}, want: open, calls: -1},
		{name: "unavailable then retried", before: func(e *servicetest.Service) { e.FailNext(500, "") }, steps: []step{
			{action: "approve", status: 503, code: "ServiceError"},
			{action: "approve", status: 200},
		}, want: approved, calls: -1},
	}
	for _, backend := range servicetest.Backends {
		for _, tt := range tests {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				e := servicetest.Start(t, servicetest.Options{Backend: backend})
				token := e.NewTask(t)
				actions := tt.actions
				if actions == nil {
					actions = []map[string]any{servicetest.Approve, servicetest.Reject, servicetest.Ping}
				}
				types := map[string]string{}
				for _, a := range actions {
					types[a["name"].(string)] = a["type"].(string)
				}
				c := e.Create(t, map[string]any{"token": token, "actions": actions})
				if tt.before != nil {
					tt.before(e)
				}
				for i, s := range tt.steps {
					if c.URLs[s.action] == "" {
						t.Fatalf("step %d: no URL for %q", i, s.action)
					}
					method := s.method
					if method == "" {
						method = http.MethodGet
					}
					header := map[string]string{}
					if s.accept != "" {
						header["Accept"] = s.accept
					}
					if s.ua != "" {
						header["User-Agent"] = s.ua
					}
					if s.body != "" {
						header["Content-Type"] = "application/json"
					}
					resp := e.Do(t, method, c.URLs[s.action], header, s.body)
					checkStep(t, i, method, s, c.TransactionID, types[s.action], resp)
				}
				if diff := cmp.Diff(tt.want, e.Task(t, token)); diff != "" {
					t.Errorf("task (-want +got):\n%s", diff)
				}
				if n := e.Calls(); tt.calls >= 0 && n != tt.calls {
					t.Errorf("%d Step Functions calls, want %d", n, tt.calls)
				}
			})
		}
	}
}

// checkStep checks one answer of a scenario.
func checkStep(t *testing.T, i int, method string, s step, tid, actionType string, resp *servicetest.Response) {
	t.Helper()
	if resp.Status != s.status {
		t.Fatalf("step %d %s %s: status %d, want %d: %s", i, method, s.action, resp.Status, s.status, resp.Body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("step %d: Cache-Control %q, want no-store", i, got)
	}
	if got := resp.Header.Get("Location"); got != s.location {
		t.Errorf("step %d: Location %q, want %q", i, got, s.location)
	}
	if s.status == http.StatusServiceUnavailable {
		if got := resp.Header.Get("Retry-After"); got == "" {
			t.Errorf("step %d: a 503 without Retry-After", i)
		}
	}
	if s.status == http.StatusSeeOther {
		return
	}
	wantCT := s.contentType
	if wantCT == "" {
		wantCT = "application/json"
	}
	if got := resp.Header.Get("Content-Type"); got != wantCT {
		t.Errorf("step %d: Content-Type %q, want %q", i, got, wantCT)
	}
	if method == http.MethodHead {
		if resp.Body != "" {
			t.Errorf("step %d: HEAD answered a body: %q", i, resp.Body)
		}
		return
	}
	for _, sub := range s.bodyHas {
		if !strings.Contains(resp.Body, sub) {
			t.Errorf("step %d: body does not contain %q:\n%s", i, sub, resp.Body)
		}
	}
	if strings.HasPrefix(wantCT, "text/html") {
		servicetest.CheckPageHeaders(t, resp.Header, !s.custom)
	}
	if wantCT != "application/json" || len(s.bodyHas) > 0 {
		return
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatalf("step %d: body %q: %v", i, resp.Body, err)
	}
	var want map[string]any
	if s.code == "" {
		want = map[string]any{"transaction_id": tid, "action": map[string]any{"name": s.action, "type": actionType}}
	} else {
		want = map[string]any{"error": s.code, "message": got["message"], "transaction_id": tid}
		if s.sfnCode != "" {
			want["step_functions_error"] = s.sfnCode
		}
		if msg, _ := got["message"].(string); msg == "" {
			t.Errorf("step %d: error without a message", i)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step %d: body (-want +got):\n%s", i, diff)
	}
}

// badCallback is a callback URL made unusable one way or another.
type badCallback struct {
	name   string
	method string // GET when empty
	// target turns the approve URL's path and query into the one sent.
	target func(t testing.TB, pathQuery string) string
	body   string
	status int
	code   string
}

var badCallbacks = []badCallback{
	{name: "altered data, start", target: servicetest.SetData(func(d string) string { return d[:2] + servicetest.Flip(d[2:], 0) }), status: 400, code: "InvalidPayload"},
	{name: "altered data, middle", target: servicetest.SetData(func(d string) string { return servicetest.Flip(d, len(d)/2) }), status: 400, code: "InvalidPayload"},
	{name: "altered data, end", target: servicetest.SetData(func(d string) string { return servicetest.Flip(d, -1) }), status: 400, code: "InvalidPayload"},
	{name: "truncated data", target: servicetest.SetData(func(d string) string { return d[:len(d)-10] }), status: 400, code: "InvalidPayload"},
	{name: "truncated to the prefix", target: servicetest.SetData(func(string) string { return "3-" }), status: 400, code: "InvalidPayload"},
	{name: "data cut to 5 characters", target: servicetest.SetData(func(d string) string { return d[:5] }), status: 400, code: "InvalidPayload"},
	{name: "data with a character more", target: servicetest.SetData(func(d string) string { return d + "A" }), status: 400, code: "InvalidPayload"},
	{name: "data not base64", target: servicetest.SetData(func(d string) string { return d[:10] + "%21%21" + d[12:] }), status: 400, code: "InvalidPayload"},
	{name: "data unknown format", target: servicetest.SetData(func(d string) string { return "9-" + d[2:] }), status: 400, code: "InvalidPayload"},
	{name: "data of the reference", target: servicetest.SetData(func(d string) string { return "2-" + d[2:] }), status: 400, code: "InvalidPayload"},
	{name: "data unencrypted", target: servicetest.SetData(func(string) string {
		return "1-eyJ0b2tlbiI6IkFBQUEiLCJuYW1lIjoiYXBwcm92ZSIsImFjdCI6InN1Y2Nlc3MiLCJkYXRhIjp7Im91dHB1dCI6e319fQ=="
	}), status: 400, code: "EncryptionRequired"},
	{name: "data too long", target: servicetest.SetData(func(d string) string { return d + strings.Repeat("A", 20000) }), status: 400, code: "InvalidPayload"},
	{name: "missing data", target: servicetest.EditQuery(func(q url.Values) { q.Del("data") }), status: 400, code: "InvalidPayload"},
	{name: "empty data", target: servicetest.EditQuery(func(q url.Values) { q.Set("data", "") }), status: 400, code: "InvalidPayload"},
	{name: "duplicate data", target: servicetest.EditQuery(func(q url.Values) { q.Add("data", q.Get("data")) }), status: 400, code: "InvalidPayload"},
	{name: "no query", target: func(_ testing.TB, pq string) string { return "/respond" }, status: 400, code: "InvalidPayload"},
	{name: "wrong action", target: servicetest.EditQuery(func(q url.Values) { q.Set("action", "reject") }), status: 400, code: "ActionMismatched"},
	{name: "wrong type", target: servicetest.EditQuery(func(q url.Values) { q.Set("type", "failure") }), status: 400, code: "ActionMismatched"},
	{name: "unknown type", target: servicetest.EditQuery(func(q url.Values) { q.Set("type", "post") }), status: 400, code: "ActionMismatched"},
	{name: "PUT", method: http.MethodPut, status: 405, code: "MethodNotAllowed"},
	{name: "DELETE", method: http.MethodDelete, status: 405, code: "MethodNotAllowed"},
	{name: "PATCH", method: http.MethodPatch, status: 405, code: "MethodNotAllowed"},
	{name: "POST over 1 MiB", method: http.MethodPost, body: strings.Repeat(" ", 1<<20+1), status: 413, code: "RequestTooLarge"},
	// Every body a callback takes has the webhook body's limit.
	{name: "POST over 256 KiB", method: http.MethodPost, body: strings.Repeat(" ", 256<<10+1), status: 413, code: "RequestTooLarge"},
}

// TestRespondBadInput checks that no bad callback reaches Step Functions,
// that each gets its 4xx code, that HEAD answers the status GET does, and
// that the task stays open.
func TestRespondBadInput(t *testing.T) {
	for _, backend := range servicetest.Backends {
		for _, tt := range badCallbacks {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				e := servicetest.Start(t, servicetest.Options{Backend: backend})
				token := e.NewTask(t)
				c := e.Create(t, map[string]any{"token": token, "actions": []any{servicetest.Approve, servicetest.Reject}})
				target := servicetest.PathQuery(t, c.URLs["approve"])
				if tt.target != nil {
					target = tt.target(t, target)
				}
				method := tt.method
				if method == "" {
					method = http.MethodGet
				}
				for _, accept := range []string{"", acceptChrome, "text/plain"} {
					header := map[string]string{"Accept": accept}
					// Large bodies go to the handler directly: see TestCreateURLsTooLarge.
					var resp *servicetest.Response
					if len(tt.body) > 1<<20 {
						resp = e.Serve(method, target, header, tt.body)
					} else {
						resp = e.Do(t, method, target, header, tt.body)
					}
					if resp.Status != tt.status || resp.Status >= 500 {
						t.Fatalf("%s (Accept %q): status %d, want %d: %s", method, accept, resp.Status, tt.status, resp.Body)
					}
					if !strings.Contains(resp.Body, tt.code) {
						t.Errorf("%s (Accept %q): body does not name %s:\n%s", method, accept, tt.code, resp.Body)
					}
					if strings.Contains(resp.Body, token) {
						t.Errorf("the body quotes the task token")
					}
					if tt.status == 405 {
						if got := resp.Header.Get("Allow"); got != "GET, POST, HEAD" {
							t.Errorf("Allow: %q", got)
						}
					}
					if accept == "" {
						m := resp.JSON(t)
						if m["error"] != tt.code {
							t.Errorf("error %v, want %s", m["error"], tt.code)
						}
					}

					if method != http.MethodGet {
						continue
					}
					head := e.Do(t, http.MethodHead, target, header, "")
					if head.Status != resp.Status || head.Body != "" {
						t.Errorf("HEAD (Accept %q): %d %q; GET: %d", accept, head.Status, head.Body, resp.Status)
					}
					if got, want := head.Header.Get("Content-Type"), resp.Header.Get("Content-Type"); got != want {
						t.Errorf("HEAD Content-Type %q, GET %q", got, want)
					}
				}
				if n := e.Calls(); n != 0 {
					t.Errorf("%d Step Functions calls for bad input", n)
				}
				if got := e.Task(t, token); got.Status != "open" || got.Heartbeats != 0 {
					t.Errorf("task %+v, want open and untouched", got)
				}
			})
		}
	}
}

// TestRespondExpiry walks the clock across a URL's expiration.
func TestRespondExpiry(t *testing.T) {
	tests := []struct {
		name   string
		now    time.Time
		accept string
		status int
		want   string // error code or page heading
	}{
		{"a second before", servicetest.Epoch.Add(time.Hour - time.Second), "", 200, ""},
		{"at expiration", servicetest.Epoch.Add(time.Hour), "", 400, "ExpiredPayload"},
		{"a day after", servicetest.Epoch.Add(25 * time.Hour), "", 400, "ExpiredPayload"},
		{"a day after, HTML", servicetest.Epoch.Add(25 * time.Hour), acceptChrome, 400, "This link has expired"},
		{"a day after, text", servicetest.Epoch.Add(25 * time.Hour), "text/plain", 400, "ExpiredPayload"},
	}
	for _, backend := range servicetest.Backends {
		for _, tt := range tests {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				e := servicetest.Start(t, servicetest.Options{Backend: backend})
				token := e.NewTask(t)
				c := e.Create(t, map[string]any{"token": token, "actions": []any{servicetest.Ping},
					"expiration": servicetest.Epoch.Add(time.Hour).In(time.FixedZone("", 2*3600)).Format(time.RFC3339)})
				e.Clock.Set(tt.now)
				for _, method := range []string{http.MethodHead, http.MethodGet, http.MethodPost} {
					resp := e.Do(t, method, c.URLs["ping"], map[string]string{"Accept": tt.accept}, "")
					if resp.Status != tt.status {
						t.Fatalf("%s: status %d, want %d: %s", method, resp.Status, tt.status, resp.Body)
					}
					if method != http.MethodHead && !strings.Contains(resp.Body, tt.want) {
						t.Errorf("%s: body does not contain %q: %s", method, tt.want, resp.Body)
					}
				}
				wantCalls, wantBeats := 0, 0
				if tt.status == 200 {
					wantCalls, wantBeats = 2, 2
				}
				if n := e.Calls(); n != wantCalls {
					t.Errorf("%d Step Functions calls, want %d", n, wantCalls)
				}
				if diff := cmp.Diff(servicetest.Task{Status: "open", Heartbeats: wantBeats}, e.Task(t, token)); diff != "" {
					t.Errorf("task (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRespondOtherDeployment checks that a URL made with another key, or by
// an unencrypted deployment, is refused without a call.
func TestRespondOtherDeployment(t *testing.T) {
	for _, backend := range servicetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			plain := servicetest.Start(t, servicetest.Options{Backend: backend, NoEncryption: true})
			sealed := servicetest.Start(t, servicetest.Options{Backend: backend})
			token := sealed.NewTask(t)
			plainURL := plain.CreateURLs(t, token, servicetest.Approve)["approve"]
			if d := servicetest.DataParam(t, plainURL); !strings.HasPrefix(d, "1-") {
				t.Fatalf("unencrypted deployment made data %q", d)
			}
			sealedURL := sealed.CreateURLs(t, token, servicetest.Approve)["approve"]

			resp := sealed.Do(t, http.MethodGet, servicetest.PathQuery(t, plainURL), nil, "")
			if resp.Status != 400 || resp.JSON(t)["error"] != "EncryptionRequired" {
				t.Errorf("unencrypted URL on an encrypted deployment: %d %s", resp.Status, resp.Body)
			}
			resp = plain.Do(t, http.MethodGet, servicetest.PathQuery(t, sealedURL), nil, "")
			if resp.Status != 400 || resp.JSON(t)["error"] != "DecryptionUnsupported" {
				t.Errorf("encrypted URL on an unencrypted deployment: %d %s", resp.Status, resp.Body)
			}
			if n := sealed.Calls() + plain.Calls(); n != 0 {
				t.Errorf("%d Step Functions calls", n)
			}
		})
	}
}

// TestRespondRace sends every URL of a task at once: exactly one
// completion wins, the others are told the task is closed.
func TestRespondRace(t *testing.T) {
	const perAction = 4
	for _, backend := range servicetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{Backend: backend})
			token := e.NewTask(t)
			urls := e.CreateURLs(t, token, servicetest.Approve, servicetest.Reject)
			type result struct {
				action string
				status int
				body   string
			}
			results := make(chan result, 2*perAction)
			var wg sync.WaitGroup
			for range perAction {
				for _, action := range []string{"approve", "reject"} {
					wg.Go(func() {
						req, err := http.NewRequest(http.MethodPost, urls[action], nil)
						if err != nil {
							results <- result{action, 0, err.Error()}
							return
						}
						resp, err := e.Client.Do(req)
						if err != nil {
							results <- result{action, 0, err.Error()}
							return
						}
						defer resp.Body.Close()
						b, _ := io.ReadAll(resp.Body)
						results <- result{action, resp.StatusCode, string(b)}
					})
				}
			}
			wg.Wait()
			close(results)
			var winner string
			for r := range results {
				switch {
				case r.status == http.StatusOK && winner == "":
					winner = r.action
				case r.status == http.StatusBadRequest && strings.Contains(r.body, `"step_functions_error":"TaskTimedOut"`):
				default:
					t.Errorf("%s: %d %s", r.action, r.status, r.body)
				}
			}
			want := map[string]servicetest.Task{
				"approve": {Status: "succeeded", Output: `{"approved":true}`},
				"reject":  {Status: "failed", Error: "Rejected", Cause: "Rejected by a test"},
			}[winner]
			if diff := cmp.Diff(want, e.Task(t, token)); winner == "" || diff != "" {
				t.Errorf("winner %q; task (-want +got):\n%s", winner, diff)
			}
			if n := e.Calls(); n != 2*perAction {
				t.Errorf("%d Step Functions calls, want %d", n, 2*perAction)
			}
		})
	}
}

// TestTextAnswersNotEscaped: the text/plain answers are JSON as the JSON
// answers are, without HTML escaping ("&" stays "&", not "\u0026").
func TestTextAnswersNotEscaped(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	urls := e.CreateURLs(t, e.NewTask(t), servicetest.Approve)
	target := servicetest.PathQuery(t, urls["approve"])
	u, _ := url.Parse(target)
	q := u.Query()
	q.Set("action", "a&b")
	u.RawQuery = q.Encode()
	for _, accept := range []string{"text/plain", "application/json"} {
		resp := e.Serve("GET", u.RequestURI(), map[string]string{"Accept": accept}, "")
		if resp.Status != 400 || !strings.Contains(resp.Body, `a&b`) || strings.Contains(resp.Body, `\u0026`) {
			t.Errorf("Accept %s: %d %s", accept, resp.Status, resp.Body)
		}
	}
}
