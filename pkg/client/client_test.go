package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

var commentForm = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment"},
	},
}

// TestRoundTrip creates URLs through each transport, reads them back with
// the service's keys and uses them through the service's /respond.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tr := range e.transports() {
		t.Run(tr.name, func(t *testing.T) {
			token, other := e.NewTask(t), e.NewTask(t)
			expiration := time.Now().Add(time.Hour).Truncate(time.Second).Add(250 * time.Millisecond)
			urls, err := tr.c.CreateURLs(ctx, client.Request{
				Token:       token,
				Title:       "Approve expense report <4821>",
				Description: "Alice asks for EUR 1,240.00 & more.",
				Expiration:  expiration,
				Actions: []client.Action{
					client.Success("approve", map[string]any{"approved": true, "note": "<b>ok</b>"}).WithLabel("Approve expense"),
					client.Heartbeat("still_working"),
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(urls.TransactionID) != 32 {
				t.Errorf("transaction id %q is not 32 hex digits", urls.TransactionID)
			}
			// The service enforces whole seconds: the answer is the one
			// enforced, within a second of the one asked for.
			if d := urls.Expiration.Sub(expiration); d <= -time.Second || d >= time.Second || urls.Expiration.Nanosecond() != 0 {
				t.Errorf("expiration %v, want the second of %v", urls.Expiration, expiration)
			}
			if diff := cmp.Diff([]string{"approve", "still_working"}, sortedKeys(urls.URLs)); diff != "" {
				t.Errorf("URL names (-want +got):\n%s", diff)
			}

			p := e.openPayload(t, urls.URLs["approve"])
			got := map[string]any{"token": p.Target.ID == token, "action": p.Action, "type": string(p.Type),
				"output": string(p.Output), "tid": p.TransactionID, "exp": p.Expiration.Unix()}
			want := map[string]any{"token": true, "action": "approve", "type": "success",
				"output": `{"approved":true,"note":"<b>ok</b>"}`, "tid": urls.TransactionID, "exp": urls.Expiration.Unix()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("approve payload (-want +got):\n%s", diff)
			}

			if status := e.click(t, urls.URLs["still_working"]); status != http.StatusOK {
				t.Fatalf("heartbeat: %d", status)
			}
			if status := e.click(t, urls.URLs["approve"]); status != http.StatusOK {
				t.Fatalf("approve: %d", status)
			}
			task, _ := e.SFN.Task(token)
			if diff := cmp.Diff(sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `{"approved":true,"note":"<b>ok</b>"}`, Heartbeats: 1}, task); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}

			urls, err = tr.c.CreateURLs(ctx, client.Request{Token: other, Actions: []client.Action{
				client.Failure("reject", "Rejected", "Rejected by the approver").WithInput(commentForm),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if status := e.click(t, urls.URLs["reject"]); status != http.StatusOK {
				t.Fatalf("reject: %d", status)
			}
			task, _ = e.SFN.Task(other)
			if task.Status != sfntest.StatusFailed || task.Error != "Rejected" || !strings.Contains(task.Cause, "Rejected by the approver") {
				t.Errorf("rejected task: %+v", task)
			}
		})
	}
}

// TestPostActionRoundTrip makes a webhook URL and POSTs to it.
func TestPostActionRoundTrip(t *testing.T) {
	e := newEnv(t, withPostActions)
	token := e.NewTask(t)
	urls, err := e.httpClient().CreateURLs(context.Background(), client.Request{Token: token, Actions: []client.Action{
		client.Post("ci",
			client.Outcome{Name: "passed", Type: client.TypeSuccess, OutputPath: "$.build.url",
				Schema: map[string]any{"type": "object", "required": []string{"status"}, "properties": map[string]any{"status": map[string]any{"const": "passed"}}}},
			client.Outcome{Name: "failed", Type: client.TypeFailure, Schema: true, ErrorPath: "$.status", Cause: "the build failed"},
		),
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(urls.URLs["ci"], "application/json", strings.NewReader(`{"status": "passed", "build": {"url": "https://ci.example.com/1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	task, _ := e.SFN.Task(token)
	if resp.StatusCode != http.StatusOK || task.Status != sfntest.StatusSucceeded || task.Output != `["https://ci.example.com/1"]` {
		t.Errorf("POST answered %d; task %+v", resp.StatusCode, task)
	}
}

// TestWireRequest pins the JSON sent, the same through both transports.
func TestWireRequest(t *testing.T) {
	e := newEnv(t)
	req := client.Request{
		Token:                  "tok",
		Title:                  "T <1>",
		Description:            "D",
		Expiration:             time.Date(2030, 1, 2, 3, 4, 5, 250_000_000, time.FixedZone("CET", 3600)),
		EnableOutputParameters: true,
		BaseURL:                "https://cb.example.com/prod",
		Actions: []client.Action{
			client.Success("approve", map[string]any{"ok": true, "html": "<b>"}).
				WithLabel("Approve").WithConfirm(false).WithResponse(client.Response{Redirect: "https://example.com/thanks"}),
			client.Failure("reject", "Rejected", "").WithInput(json.RawMessage(`{"type": "object", "properties": {"comment": {"type": "string"}}}`)),
			client.Failure("plain", "", ""),
			client.Success("null_output", nil),
			client.Heartbeat("ping").WithResponse(client.Response{JSON: map[string]any{"pong": 1}, HTML: "<p>pong</p>", Text: "pong"}),
			client.Post("hook",
				client.Outcome{Name: "passed", Type: client.TypeSuccess, Schema: true, OutputBody: true},
				client.Outcome{Name: "failed", Type: client.TypeFailure, Schema: map[string]any{"type": "object"}, ErrorPath: "$.code", Cause: "c",
					Response: &client.Response{Text: "thanks"}}),
		},
	}
	want := `{"token":"tok","actions":[` +
		`{"name":"approve","type":"success","output":{"html":"<b>","ok":true},"response":{"redirect":"https://example.com/thanks"},"label":"Approve","confirm":false},` +
		`{"name":"reject","type":"failure","error":"Rejected","input":{"type":"object","properties":{"comment":{"type":"string"}}}},` +
		`{"name":"plain","type":"failure"},` +
		`{"name":"null_output","type":"success","output":null},` +
		`{"name":"ping","type":"heartbeat","response":{"json":{"pong":1},"html":"<p>pong</p>","text":"pong"}},` +
		`{"name":"hook","type":"post","outcomes":[{"name":"passed","type":"success","schema":true,"output_body":true},` +
		`{"name":"failed","type":"failure","schema":{"type":"object"},"error_path":"$.code","cause":"c","response":{"text":"thanks"}}]}],` +
		`"expiration":"2030-01-02T02:04:05.25Z","enable_output_parameters":true,"base_url":"https://cb.example.com/prod","title":"T <1>","description":"D"}`

	// The service refuses it (post actions are off): only what was sent
	// matters here.
	_, _ = e.httpClient().CreateURLs(context.Background(), req)
	_, _ = e.lambdaClient().CreateURLs(context.Background(), req)
	reqs, calls := e.Gateway.Requests(), e.Lambda.Calls()
	if len(reqs) != 1 || len(calls) != 1 {
		t.Fatalf("%d requests to the API and %d invocations, want 1 each", len(reqs), len(calls))
	}
	if diff := cmp.Diff(want, string(reqs[0].Body)); diff != "" {
		t.Errorf("POST /urls body (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, string(calls[0].Payload)); diff != "" {
		t.Errorf("Invoke payload (-want +got):\n%s", diff)
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	if calls[0].InvocationType != "RequestResponse" {
		t.Errorf("invocation type %q", calls[0].InvocationType)
	}
	// The service's own parser reads it back.
	parsed, err := callbackurls.ParseCreateRequest(reqs[0].Body)
	if err != nil {
		t.Fatalf("the service cannot parse the request: %v", err)
	}
	if parsed.Actions[3].Output == nil || string(parsed.Actions[3].Output) != "null" {
		t.Errorf("a nil success output reads back as %q, want null", parsed.Actions[3].Output)
	}
}

// TestWireApprovers pins the approvers' members; the deployment (without
// sign-in) refuses the request, with the code callers branch on.
func TestWireApprovers(t *testing.T) {
	e := newEnv(t)
	req := client.Request{Token: "tok", Approvers: []string{"ana@example.com", "@ops.example.com"}, Requester: "bo@example.com", Receipt: true,
		Actions: []client.Action{client.Success("approve", map[string]any{"ok": true}), client.Failure("reject", "", "")}}
	want := `{"token":"tok","actions":[{"name":"approve","type":"success","output":{"ok":true}},{"name":"reject","type":"failure"}],` +
		`"approvers":["ana@example.com","@ops.example.com"],"requester":"bo@example.com","receipt":true}`
	_, err := e.httpClient().CreateURLs(context.Background(), req)
	if !errors.Is(err, client.ErrSignInDisabled) {
		t.Errorf("CreateURLs on a deployment without sign-in: %v, want %s", err, client.ErrSignInDisabled)
	}
	reqs := e.Gateway.Requests()
	if len(reqs) != 1 || string(reqs[0].Body) != want {
		t.Fatalf("%d requests; body %s\nwant %s", len(reqs), reqs[len(reqs)-1].Body, want)
	}
}

// TestReferenceRequest: a request using only the Python reference's
// features has only its fields, which its schema accepts.
func TestReferenceRequest(t *testing.T) {
	e := newEnv(t)
	_, err := e.lambdaClient().CreateURLs(context.Background(), client.Request{
		Token:      e.NewTask(t),
		Expiration: time.Now().Add(time.Hour),
		Actions: []client.Action{
			client.Success("approve", map[string]any{"approved": true}).WithResponse(client.Response{Text: "Thanks"}),
			client.Failure("reject", "Rejected", "No"),
			client.Heartbeat("ping"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(e.Lambda.Calls()[0].Payload, &body); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"actions", "expiration", "token"}, sortedKeys(body)); diff != "" {
		t.Errorf("top-level fields (-want +got):\n%s", diff)
	}
	var actions []map[string]json.RawMessage
	if err := json.Unmarshal(body["actions"], &actions); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"name": true, "type": true, "output": true, "error": true, "cause": true, "response": true, "outcomes": true}
	for _, a := range actions {
		for k := range a {
			if !allowed[k] {
				t.Errorf("action field %q is not the reference's", k)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// TestLocalChecks: what the service refuses whatever its deployment is
// refused before sending, with the service's code and message, which the
// service gives too when the checks are off.
func TestLocalChecks(t *testing.T) {
	token := strings.Repeat("t", 600)
	big := strings.Repeat("x", 250_000)
	tests := []struct {
		name string
		req  client.Request
		code client.ErrorCode
	}{
		{"no token", client.Request{Actions: []client.Action{client.Heartbeat("a")}}, client.ErrInvalidJSON},
		{"token too long", client.Request{Token: strings.Repeat("t", 2049), Actions: []client.Action{client.Heartbeat("a")}}, client.ErrInvalidJSON},
		{"no actions", client.Request{Token: token}, client.ErrInvalidJSON},
		{"zero action", client.Request{Token: token, Actions: []client.Action{{}}}, client.ErrInvalidJSON},
		{"name not \\w+", client.Request{Token: token, Actions: []client.Action{client.Heartbeat("not-ok")}}, client.ErrInvalidJSON},
		{"title too long", client.Request{Token: token, Title: strings.Repeat("a", 201), Actions: []client.Action{client.Heartbeat("a")}}, client.ErrInvalidJSON},
		{"post without outcomes", client.Request{Token: token, Actions: []client.Action{client.Post("hook")}}, client.ErrInvalidJSON},
		{"relative redirect", client.Request{Token: token, Actions: []client.Action{
			client.Success("ok", true).WithResponse(client.Response{Redirect: "/thanks"})}}, client.ErrInvalidJSON},
		{"response json not an object", client.Request{Token: token, Actions: []client.Action{
			client.Success("ok", true).WithResponse(client.Response{JSON: []int{1}})}}, client.ErrInvalidJSON},
		{"duplicate name", client.Request{Token: token, Actions: []client.Action{client.Heartbeat("a"), client.Failure("a", "", "")}}, client.ErrDuplicateActionName},
		{"error too long", client.Request{Token: token, Actions: []client.Action{client.Failure("no", strings.Repeat("e", 257), "")}}, client.ErrInvalidAction},
		{"label too long", client.Request{Token: token, Actions: []client.Action{client.Heartbeat("a").WithLabel(strings.Repeat("l", 101))}}, client.ErrInvalidAction},
		{"input on a heartbeat", client.Request{Token: token, Actions: []client.Action{client.Heartbeat("a").WithInput(commentForm)}}, client.ErrInvalidAction},
		{"input with a string output", client.Request{Token: token, Actions: []client.Action{client.Success("ok", "yes").WithInput(commentForm)}}, client.ErrInvalidAction},
		{"input schema with an array", client.Request{Token: token, Actions: []client.Action{client.Failure("no", "", "").WithInput(
			map[string]any{"type": "object", "properties": map[string]any{"list": map[string]any{"type": "array"}}})}}, client.ErrInvalidAction},
		{"approver not an address", client.Request{Token: token, Approvers: []string{"ana"}, Actions: []client.Action{client.Heartbeat("a")}}, client.ErrInvalidJSON},
		{"approvers with a string output", client.Request{Token: token, Approvers: []string{"ana@example.com"}, Actions: []client.Action{client.Success("ok", "yes")}}, client.ErrInvalidAction},
		{"approvers on a post action", client.Request{Token: token, Approvers: []string{"ana@example.com"}, Actions: []client.Action{
			client.Post("hook", client.Outcome{Name: "ok", Type: client.TypeSuccess, Schema: true, OutputBody: true})}}, client.ErrInvalidAction},
		{"base URL with a query", client.Request{Token: token, BaseURL: "https://cb.example.com/?a=1", Actions: []client.Action{client.Heartbeat("a")}}, client.ErrInvalidBaseURL},
		{"over 1 MiB", client.Request{Token: token, Actions: []client.Action{
			client.Success("a", big), client.Success("b", big), client.Success("c", big), client.Success("d", big), client.Success("e", big)}}, client.ErrRequestTooLarge},
	}
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, calls := len(e.Gateway.Requests()), len(e.Lambda.Calls())
			_, err := e.httpClient().CreateURLs(ctx, tc.req)
			local := asError(t, err, tc.code)
			if !local.Local || local.StatusCode != 0 || local.TransactionID != "" {
				t.Errorf("local error %+v: want Local, no status, no transaction", local)
			}
			if n, m := len(e.Gateway.Requests()), len(e.Lambda.Calls()); n != before || m != calls {
				t.Errorf("a locally refused request was sent")
			}

			for _, tr := range []struct {
				name   string
				c      *client.Client
				status int
			}{
				{"http", e.httpClient(client.WithoutLocalChecks()), http.StatusBadRequest},
				{"lambda", e.lambdaClient(client.WithoutLocalChecks()), 0},
			} {
				_, err := tr.c.CreateURLs(ctx, tc.req)
				remote := asError(t, err, tc.code)
				status := tr.status
				if tc.code == client.ErrRequestTooLarge && status != 0 {
					status = http.StatusRequestEntityTooLarge
				}
				if remote.Local || remote.StatusCode != status {
					t.Errorf("%s: %+v, want status %d from the service", tr.name, remote, status)
				}
				if remote.Message != local.Message {
					t.Errorf("%s: the service says %q, the client %q", tr.name, remote.Message, local.Message)
				}
			}
		})
	}
}

// TestUnencodable: a value encoding/json refuses is a local InvalidJSON,
// with or without the checks, wrapping encoding/json's error.
func TestUnencodable(t *testing.T) {
	e := newEnv(t)
	for _, opts := range [][]client.Option{nil, {client.WithoutLocalChecks()}} {
		_, err := e.lambdaClient(opts...).CreateURLs(context.Background(), client.Request{Token: "t",
			Actions: []client.Action{client.Success("ok", math.Inf(1))}})
		ae := asError(t, err, client.ErrInvalidJSON)
		var ue *json.UnsupportedValueError
		if !ae.Local || !errors.As(err, &ue) {
			t.Errorf("%v: want a local error wrapping *json.UnsupportedValueError", err)
		}
	}
	if n := len(e.Lambda.Calls()); n != 0 {
		t.Errorf("%d invocations, want none", n)
	}
}

// asError checks that err is an *Error of code (errors.Is and errors.As
// agree) and returns it.
func asError(t *testing.T, err error, code client.ErrorCode) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *client.Error", err, err)
	}
	if !errors.Is(err, code) || e.Code != string(code) {
		t.Fatalf("error %v: code %q, want %q", err, e.Code, code)
	}
	return e
}

// BenchmarkCreateURLs is a whole call through each transport to the real
// service on loopback: the client's share is in BenchmarkEncodeRequest
// and BenchmarkDecodeResponse.
func BenchmarkCreateURLs(b *testing.B) {
	e := newEnv(b)
	token := e.NewTask(b)
	req := client.Request{Token: token, Title: "Expense report #4821", Expiration: time.Now().Add(time.Hour),
		Actions: []client.Action{
			client.Success("approve", map[string]any{"approved": true}).WithLabel("Approve"),
			client.Failure("reject", "Rejected", "Rejected by the approver").WithInput(commentForm),
		}}
	for _, tr := range e.transports() {
		b.Run(tr.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.c.CreateURLs(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
