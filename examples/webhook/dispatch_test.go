package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring/awskeyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// event is what the state machine sends the function for input.
func event(t *testing.T, input any, token string) Event {
	t.Helper()
	def, err := asl.Read(".", map[string]string{"DispatchFunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:dispatch"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := asl.Parameters(def, "RunBuild", "Payload", input, asl.Context{ExecutionName: "release-7", TaskToken: token})
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	return ev
}

// ci is a CI system's trigger endpoint, as GitHub's repository_dispatch.
type ci struct {
	*httptest.Server
	mu       sync.Mutex
	got      []Dispatch
	headers  []http.Header
	status   int
	response string
}

func newCI(t *testing.T) *ci {
	c := &ci{status: http.StatusNoContent}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var d Dispatch
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/repos/acme/shop/dispatches" || json.Unmarshal(body, &d) != nil {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		c.got = append(c.got, d)
		c.headers = append(c.headers, r.Header.Clone())
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.response)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *ci) dispatches() ([]Dispatch, []http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Dispatch(nil), c.got...), append([]http.Header(nil), c.headers...)
}

func testHandler(t *testing.T, svc *servicetest.Service, trigger string) *Handler {
	outcomes, err := Outcomes()
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{
		URLs: client.NewLambda(svc.Lambda.Config(), servicetest.FunctionARN), Outcomes: outcomes,
		TriggerURL: trigger, Token: "ghp_test", EventType: "sfn-callback",
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
	}
}

// postJSON POSTs a JSON body to a callback URL, as the CI system does.
func postJSON(t *testing.T, svc *servicetest.Service, callbackURL, body string) (int, string) {
	t.Helper()
	if !strings.HasPrefix(callbackURL, svc.URL+"/respond?") {
		t.Fatalf("%s is not a callback URL of the service", callbackURL)
	}
	r := svc.Do(t, http.MethodPost, callbackURL, map[string]string{"Content-Type": "application/json"}, body)
	return r.Status, r.Body
}

func body(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("bodies", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBodies: what each documented body (bodies/*.json) does to the task.
func TestBodies(t *testing.T) {
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{EnablePostActions: true}))
	c := newCI(t)
	h := testHandler(t, svc, c.URL+"/repos/acme/shop/dispatches")
	input := map[string]any{"ref": "main", "environment": "staging"}

	for i, tc := range []struct {
		bodies []string // POSTed in order
		// statuses the POSTs get
		statuses []int
		want     sfntest.TaskState
	}{
		{[]string{"running", "passed"}, []int{200, 200}, sfntest.TaskState{Status: sfntest.StatusSucceeded, Heartbeats: 1, Output: compact(t, body(t, "passed"))}},
		{[]string{"unknown", "failed"}, []int{400, 200}, sfntest.TaskState{Status: sfntest.StatusFailed, Error: "TestsFailed", Cause: "3 of 112 tests failed: TestCheckout, TestRefund, TestInvoice"}},
		{[]string{"unknown", "running", "running"}, []int{400, 200, 200}, sfntest.TaskState{Status: sfntest.StatusOpen, Heartbeats: 2}},
	} {
		token := corpus.Tokens()[i]
		svc.SFN.AddTask(token)
		res, err := h.Handle(ctx, event(t, input, token))
		if err != nil {
			t.Fatal(err)
		}
		got, headers := c.dispatches()
		d := got[len(got)-1]
		if res.TriggerStatus != http.StatusNoContent || d.EventType != "sfn-callback" || d.ClientPayload.Execution != "release-7" ||
			d.ClientPayload.Expires != "2030-01-01T13:00:00Z" || compact(t, string(d.ClientPayload.Request)) != `{"environment":"staging","ref":"main"}` {
			t.Errorf("dispatch %+v, result %+v", d, res)
		}
		if hd := headers[len(headers)-1]; hd.Get("Authorization") != "Bearer ghp_test" || hd.Get("Accept") != "application/vnd.github+json" {
			t.Errorf("headers %v", hd)
		}
		for j, name := range tc.bodies {
			status, resp := postJSON(t, svc, d.ClientPayload.CallbackURL, body(t, name))
			if status != tc.statuses[j] {
				t.Errorf("case %d: POST %s: %d %s, want %d", i, name, status, resp, tc.statuses[j])
			}
			if name == "unknown" && !strings.Contains(resp, "InvalidPostActionBody") {
				t.Errorf("POST unknown: %s", resp)
			}
		}
		state, _ := svc.SFN.Task(token)
		if diff := cmp.Diff(tc.want, state); diff != "" {
			t.Errorf("case %d: task (-want +got):\n%s", i, diff)
		}
	}

	// GET on the URL is refused: it is for machines that POST.
	got, _ := c.dispatches()
	resp, err := http.Get(got[0].ClientPayload.CallbackURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// compact is s without insignificant space, as the service sends a body.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	c := newCI(t)

	// The deployment has post actions off: CreateUrls says so.
	off := servicetest.Start(t, servicetest.Deployed(config.Config{}))
	_, err := testHandler(t, off, c.URL+"/repos/acme/shop/dispatches").Handle(ctx, event(t, map[string]any{}, corpus.Tokens()[0]))
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != string(client.ErrPostActionsDisabled) {
		t.Errorf("post actions off: %v", err)
	}

	on := servicetest.Start(t, servicetest.Deployed(config.Config{EnablePostActions: true}))
	h := testHandler(t, on, c.URL+"/repos/acme/shop/dispatches")
	// The trigger refuses (a bad token): the function fails, saying why.
	c.mu.Lock()
	c.status, c.response = http.StatusUnauthorized, `{"message":"Bad credentials"}`
	c.mu.Unlock()
	if _, err := h.Handle(ctx, event(t, map[string]any{}, corpus.Tokens()[0])); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("401: %v", err)
	}
	h.TriggerURL = c.URL + "/repos/acme/nothing/dispatches"
	if _, err := h.Handle(ctx, event(t, map[string]any{}, corpus.Tokens()[0])); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if _, err := h.Handle(ctx, Event{}); err == nil {
		t.Error("no token: no error")
	}
	big := map[string]any{"notes": strings.Repeat("x", maxRequestBytes)}
	if _, err := h.Handle(ctx, event(t, big, corpus.Tokens()[0])); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("big input: %v", err)
	}
}

func TestNewHandler(t *testing.T) {
	ctx := context.Background()
	sm := awskeyringtest.NewSecretsManager(t)
	sm.Put("ci/github-token", "ghp_fromsecret\n")
	l := lambdatest.New(t)
	cfg := l.Config()
	cfg.BaseEndpoint = &[]string{sm.URL()}[0]
	h, err := newHandler(ctx, cfg, func(k string) string {
		return map[string]string{"CREATE_URLS_FUNCTION": "f", "TRIGGER_URL": "https://api.github.com/repos/acme/shop/dispatches", "TRIGGER_TOKEN_SECRET": "ci/github-token"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Token != "ghp_fromsecret" || h.EventType != "sfn-callback" || len(h.Outcomes) != 3 {
		t.Errorf("handler: token %q, event type %q, %d outcomes", h.Token, h.EventType, len(h.Outcomes))
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no function", map[string]string{"TRIGGER_URL": "https://x"}, "CREATE_URLS_FUNCTION"},
		{"no trigger", map[string]string{"CREATE_URLS_FUNCTION": "f"}, "TRIGGER_URL"},
		{"bad trigger", map[string]string{"CREATE_URLS_FUNCTION": "f", "TRIGGER_URL": "ftp://x"}, "TRIGGER_URL"},
		{"missing secret", map[string]string{"CREATE_URLS_FUNCTION": "f", "TRIGGER_URL": "https://x", "TRIGGER_TOKEN_SECRET": "nope"}, "ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newHandler(ctx, cfg, func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestTriggerRedirect: a trigger that answers a redirect fails the
// function; the redirect is not followed, so the callback URL and the
// token reach nobody else, whatever the code and the target.
func TestTriggerRedirect(t *testing.T) {
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{EnablePostActions: true}))
	elsewhere := newCI(t) // would accept the dispatch
	for _, status := range []int{301, 302, 303, 307, 308} {
		for name, location := range map[string]string{
			"another origin":  elsewhere.URL + "/repos/acme/shop/dispatches",
			"the same origin": "/repos/acme/shop/dispatches",
		} {
			var hits atomic.Int32
			trigger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/hook" {
					hits.Add(1) // the same origin's target
					w.WriteHeader(http.StatusNoContent)
					return
				}
				w.Header().Set("Location", location)
				w.WriteHeader(status)
			}))
			token := corpus.Tokens()[0]
			svc.SFN.AddTask(token)
			h := testHandler(t, svc, trigger.URL+"/hook")
			h.HTTP = &http.Client{} // a client that would follow redirects
			res, err := h.Handle(ctx, event(t, map[string]any{"ref": "main"}, token))
			trigger.Close()
			if err == nil || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "not followed") {
				t.Errorf("%d to %s: %+v, %v; want an error saying the redirect was not followed", status, name, res, err)
			}
			if got, _ := elsewhere.dispatches(); len(got)+int(hits.Load()) != 0 {
				t.Errorf("%d to %s: the redirect was followed", status, name)
			}
		}
	}
}

// TestReservedErrorNames: a failed build's error may not be one of Step
// Functions' reserved names (States.Timeout, States.ALL, ...: the
// States. prefix is Step Functions' own, and a Catch on States.Timeout
// would take a CI failure for a timeout). Such a body matches no outcome:
// 400, and the task keeps waiting.
func TestReservedErrorNames(t *testing.T) {
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{EnablePostActions: true}))
	c := newCI(t)
	h := testHandler(t, svc, c.URL+"/repos/acme/shop/dispatches")
	for i, tc := range []struct {
		error  string
		status int
	}{
		{"States.Timeout", 400}, {"States.ALL", 400}, {"States.TaskFailed", 400}, {"States.", 400},
		{"Statesman.Failed", 200}, {"StatesTimeout", 200}, {"TestsFailed", 200},
	} {
		token := corpus.Tokens()[i%len(corpus.Tokens())] + fmt.Sprint(i)
		svc.SFN.AddTask(token)
		if _, err := h.Handle(ctx, event(t, map[string]any{}, token)); err != nil {
			t.Fatal(err)
		}
		got, _ := c.dispatches()
		status, resp := postJSON(t, svc, got[len(got)-1].ClientPayload.CallbackURL,
			fmt.Sprintf(`{"status": "failed", "error": %q, "message": "m"}`, tc.error))
		state, _ := svc.SFN.Task(token)
		if tc.status == 400 {
			if status != 400 || !strings.Contains(resp, "InvalidPostActionBody") || state.Status != sfntest.StatusOpen {
				t.Errorf("error %q: %d %s, task %+v; want 400 InvalidPostActionBody and the task open", tc.error, status, resp, state)
			}
			continue
		}
		if status != 200 || state.Status != sfntest.StatusFailed || state.Error != tc.error {
			t.Errorf("error %q: %d %s, task %+v; want the task failed with it", tc.error, status, resp, state)
		}
	}
}

// TestExpiresInSeconds: an expires_in_seconds that is not a positive
// number of seconds a duration holds fails the function and dispatches
// nothing (it used to wrap around into a URL already expired); more than
// a year is cut to a year.
func TestExpiresInSeconds(t *testing.T) {
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{EnablePostActions: true}))
	c := newCI(t)
	h := testHandler(t, svc, c.URL+"/repos/acme/shop/dispatches")
	token := corpus.Tokens()[0]
	svc.SFN.AddTask(token)
	for _, seconds := range []int64{0, -1, 9223372037, 18446744074, 9223372036854775807} {
		ev := event(t, map[string]any{}, token)
		ev.ExpiresInSeconds = &seconds
		if _, err := h.Handle(ctx, ev); err == nil || !strings.Contains(err.Error(), "expires_in_seconds") {
			t.Errorf("%d s: %v, want an error naming expires_in_seconds", seconds, err)
		}
	}
	if got, _ := c.dispatches(); len(got) != 0 {
		t.Errorf("%d dispatches", len(got))
	}
	tenYears := int64(10 * 365 * 86400)
	ev := event(t, map[string]any{}, token)
	ev.ExpiresInSeconds = &tenYears
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.dispatches(); len(got) != 1 || got[0].ClientPayload.Expires != "2031-01-01T12:00:00Z" {
		t.Errorf("dispatches %+v, want one expiring in a year", got)
	}
}
