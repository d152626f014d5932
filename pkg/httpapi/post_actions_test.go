package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
)

// hookEnv is a real server: the HTTP handler over the core, with a keyring
// codec and the local task store standing in for Step Functions.
type hookEnv struct {
	srv   *httptest.Server
	store *localstore.Store
}

type hookSwitches struct{ posts, params bool }

func hookDeps(t *testing.T) (*keyring.Keyring, *localstore.Store) {
	t.Helper()
	keys, err := keyring.New(keyring.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	store, err := localstore.Open(t.TempDir() + "/t.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return keys, store
}

// newHookEnv serves a deployment with the given switches. Deployments made
// with the same keys and store accept each other's URLs, as a redeployed
// service does.
func newHookEnv(t *testing.T, keys *keyring.Keyring, store *localstore.Store, sw hookSwitches) *hookEnv {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	svc := callbackurls.New(callbackurls.Config{
		BaseURL:                srv.URL,
		EnablePostActions:      sw.posts,
		EnableOutputParameters: sw.params,
		PostActions:            postaction.New(),
	}, &payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: store})
	h = localServer(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), false, store, srv.URL)
	return &hookEnv{srv: srv, store: store}
}

func newHookEnvOn(t *testing.T) *hookEnv {
	keys, store := hookDeps(t)
	return newHookEnv(t, keys, store, hookSwitches{posts: true, params: true})
}

type hookResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r *hookResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", r.status, r.body, err)
	}
	return m
}

// errorCode is the contract's error code of a response ("" for none).
func (r *hookResponse) errorCode(t *testing.T) string {
	t.Helper()
	if r.status < 400 {
		return ""
	}
	code, _ := r.json(t)["error"].(string)
	return code
}

func (e *hookEnv) send(t *testing.T, method, target string, header map[string]string, body []byte) *hookResponse {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &hookResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *hookEnv) post(t *testing.T, target, contentType, body string) *hookResponse {
	t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return e.send(t, http.MethodPost, target, h, []byte(body))
}

// create calls POST /urls with req and returns the response.
func (e *hookEnv) create(t *testing.T, req map[string]any) *hookResponse {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return e.post(t, e.srv.URL+"/urls", "application/json", string(b))
}

// newTask creates a local task and returns its token.
func (e *hookEnv) newTask(t *testing.T) string {
	t.Helper()
	task, err := e.store.CreateTask(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return task.Token
}

// urls creates URLs for a new task and returns the task token and the URLs.
func (e *hookEnv) urls(t *testing.T, req map[string]any) (string, map[string]string) {
	t.Helper()
	token := e.newTask(t)
	req["token"] = token
	resp := e.create(t, req)
	if resp.status != http.StatusOK {
		t.Fatalf("create URLs: %d %s", resp.status, resp.body)
	}
	var created struct {
		URLs map[string]string `json:"urls"`
	}
	if err := json.Unmarshal(resp.body, &created); err != nil {
		t.Fatal(err)
	}
	return token, created.URLs
}

// hookTask is what a test compares of a local task.
type hookTask struct {
	Status     localstore.Status
	Output     string
	Error      string
	Cause      string
	Heartbeats int
}

// taskFor reads a task from the store.
func (e *hookEnv) taskFor(t *testing.T, token string) hookTask {
	t.Helper()
	task, err := e.store.Get(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return hookTask{Status: task.Status, Output: plainJSON(t, task.Output), Error: task.Error, Cause: task.Cause, Heartbeats: task.Heartbeats}
}

// plainJSON undoes the store's HTML escaping (it keeps "<" as \u003c),
// keeping numbers as written.
func plainJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if raw == nil {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("task output %q: %v", raw, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var openHookTask = hookTask{Status: localstore.StatusOpen}

// hookOutcomes has every outcome and path kind.
var hookOutcomes = []any{
	map[string]any{"name": "done", "type": "success",
		"schema":      map[string]any{"type": "object", "required": []any{"status", "result"}, "properties": map[string]any{"status": map[string]any{"const": "done"}}},
		"output_path": "$.result.items[*].id"},
	map[string]any{"name": "echo", "type": "success",
		"schema":      map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": []any{"echo"}},
		"output_body": true},
	map[string]any{"name": "fixed", "type": "success",
		"schema":   map[string]any{"type": "object", "required": []any{"fixed"}},
		"output":   map[string]any{"approved": true, "note": "$literal"},
		"response": map[string]any{"json": map[string]any{"thanks": true}, "text": "thanks\n"}},
	map[string]any{"name": "failed", "type": "failure",
		"schema":     map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "failed"}}},
		"error_path": "$.code", "cause_path": "$.messages[*]"},
	map[string]any{"name": "rejected", "type": "failure",
		"schema": map[string]any{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": []any{"score"},
			"properties": map[string]any{"score": map[string]any{"maximum": 0, "exclusiveMaximum": true}}},
		"error": "Rejected", "cause": "the score was negative",
		"response": map[string]any{"redirect": "https://example.com/rejected"}},
	map[string]any{"name": "progress", "type": "heartbeat",
		"schema": map[string]any{"type": "object", "required": []any{"progress"}}},
}

func TestPostActionOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantStatus  int
		wantCode    string
		wantTask    hookTask
		wantBody    string // exact response body, when set
		wantHeaders map[string]string
	}{
		{
			name:       "output_path",
			body:       `{"status": "done", "result": {"items": [{"id": "a1"}, {"id": 2}, {"other": 3}]}}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `["a1",2]`},
		},
		{
			name:       "output_body",
			body:       "{\"echo\": \"héllo <b>\",\n \"n\": 1.50}",
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"echo":"héllo <b>","n":1.50}`},
		},
		{
			name:       "output literal and a response spec",
			body:       `{"fixed": 1}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"approved":true,"note":"$literal"}`},
			wantBody:   `{"thanks":true}`,
		},
		{
			name:       "error_path and cause_path",
			body:       `{"status": "failed", "code": "E42", "messages": ["disk full", "retry later"]}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusFailed, Error: "E42", Cause: `["disk full","retry later"]`},
		},
		{
			name:       "paths with one non-string match and no match",
			body:       `{"status": "failed", "code": 42}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusFailed, Error: "[42]"},
		},
		{
			name:        "error and cause literals, draft-04 schema, redirect",
			body:        `{"score": -1}`,
			wantStatus:  303,
			wantTask:    hookTask{Status: localstore.StatusFailed, Error: "Rejected", Cause: "the score was negative"},
			wantHeaders: map[string]string{"Location": "https://example.com/rejected"},
		},
		{
			name:       "heartbeat",
			body:       `{"progress": 0.5}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusOpen, Heartbeats: 1},
		},
		{
			name:       "first match wins",
			body:       `{"status": "done", "result": {"items": []}, "echo": 1, "progress": 1}`,
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `[]`},
		},
		{
			name:       "no match",
			body:       `{"status": "pending"}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openHookTask,
		},
		{
			name:       "draft-04 exclusiveMaximum: 0 is not below 0",
			body:       `{"score": 0}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openHookTask,
		},
		{
			name:       "bad JSON",
			body:       `{"status": "done",`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openHookTask,
		},
		{
			name:       "two documents",
			body:       `{"echo": 1} {"echo": 2}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openHookTask,
		},
		{
			name:       "empty body",
			body:       ``,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openHookTask,
		},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.urls(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := e.post(t, urls["hook"], "application/json", tt.body)
			if resp.status != tt.wantStatus {
				t.Fatalf("POST: %d %s, want %d", resp.status, resp.body, tt.wantStatus)
			}
			if code := resp.errorCode(t); code != tt.wantCode {
				t.Errorf("error code %q, want %q (%s)", code, tt.wantCode, resp.body)
			}
			if tt.wantStatus == 200 && tt.wantBody == "" {
				got := resp.json(t)
				want := map[string]any{"transaction_id": got["transaction_id"], "action": map[string]any{"name": "hook", "type": "post"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
			}
			if tt.wantBody != "" && string(resp.body) != tt.wantBody {
				t.Errorf("response body %s, want %s", resp.body, tt.wantBody)
			}
			for k, v := range tt.wantHeaders {
				if got := resp.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if diff := cmp.Diff(tt.wantTask, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionOutputTooLarge(t *testing.T) {
	e := newHookEnvOn(t)
	token, urls := e.urls(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "all", "type": "success", "schema": true, "output_path": "$..*"},
		}},
	}})
	// 200 KB of text 20 levels deep: "$..*" selects it 20 times over.
	body := strings.Repeat(`{"a":`, 20) + `"` + strings.Repeat("x", 200_000) + `"` + strings.Repeat("}", 20)
	resp := e.post(t, urls["hook"], "application/json", body)
	if resp.status != 400 || resp.errorCode(t) != callbackurls.CodeOutputFormatting {
		t.Fatalf("POST: %d %s, want 400 OutputFormatting", resp.status, resp.body)
	}
	if !strings.Contains(string(resp.body), "262144") {
		t.Errorf("the message does not name the limit: %s", resp.body)
	}
	if diff := cmp.Diff(openHookTask, e.taskFor(t, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestPostActionContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		wantStatus  int
		wantCode    string
	}{
		{"application/json", 200, ""},
		{"application/json; charset=utf-8", 200, ""},
		{"application/json;charset=UTF-8", 200, ""},
		{"Application/JSON", 200, ""},
		{"application/cloudevents+json", 200, ""},
		{"text/plain", 415, callbackurls.CodeUnsupportedMedia},
		{"", 415, callbackurls.CodeUnsupportedMedia},
		{"application/x-www-form-urlencoded", 415, callbackurls.CodeUnsupportedMedia},
		{"multipart/form-data; boundary=x", 415, callbackurls.CodeUnsupportedMedia},
		{"application/jsonx", 415, callbackurls.CodeUnsupportedMedia},
		{"application/json; charset", 415, callbackurls.CodeUnsupportedMedia},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			token, urls := e.urls(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := e.post(t, urls["hook"], tt.contentType, `{"echo": "hi"}`)
			if resp.status != tt.wantStatus || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("POST with %q: %d %s, want %d %s", tt.contentType, resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			want := openHookTask
			if tt.wantStatus == 200 {
				want = hookTask{Status: localstore.StatusSucceeded, Output: `{"echo":"hi"}`}
			}
			if diff := cmp.Diff(want, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionMethods(t *testing.T) {
	tests := []struct {
		method     string
		wantStatus int
		wantAllow  string
		wantBody   bool
	}{
		{http.MethodGet, 405, "POST", true},
		{http.MethodHead, 405, "POST", false},
		{http.MethodPut, 405, "GET, POST, HEAD", true},
		{http.MethodDelete, 405, "GET, POST, HEAD", true},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			token, urls := e.urls(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := e.send(t, tt.method, urls["hook"], map[string]string{"Content-Type": "application/json"}, []byte(`{"echo": 1}`))
			if resp.status != tt.wantStatus {
				t.Fatalf("%s: %d %s, want %d", tt.method, resp.status, resp.body, tt.wantStatus)
			}
			if got := resp.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow: %q, want %q", got, tt.wantAllow)
			}
			if tt.wantBody {
				if code := resp.errorCode(t); code != callbackurls.CodeMethodNotAllowed {
					t.Errorf("error %q, want %s", code, callbackurls.CodeMethodNotAllowed)
				}
			} else if len(resp.body) != 0 {
				t.Errorf("HEAD response has a body: %q", resp.body)
			}
			if diff := cmp.Diff(openHookTask, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionBodySize(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		wantStatus int
		wantCode   string
	}{
		{"at the limit", callbackurls.MaxPostBodyBytes, 200, ""},
		{"one byte over", callbackurls.MaxPostBodyBytes + 1, 413, callbackurls.CodeBodyTooLarge},
		{"over what the server reads", respond.MaxBodyBytes + 1, 413, callbackurls.CodeBodyTooLarge},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.urls(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": []any{
					map[string]any{"name": "ok", "type": "success", "schema": true, "output": "received"},
				}},
			}})
			const prefix, suffix = `{"pad": "`, `"}`
			body := prefix + strings.Repeat("x", tt.size-len(prefix)-len(suffix)) + suffix
			resp := e.post(t, urls["hook"], "application/json", body)
			if resp.status != tt.wantStatus || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("POST %d bytes: %d %.200s, want %d %s", len(body), resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			want := openHookTask
			if tt.wantStatus == 200 {
				want = hookTask{Status: localstore.StatusSucceeded, Output: `"received"`}
			}
			if diff := cmp.Diff(want, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionSwitch(t *testing.T) {
	keys, store := hookDeps(t)
	on := newHookEnv(t, keys, store, hookSwitches{posts: true})
	off := newHookEnv(t, keys, store, hookSwitches{posts: false})
	action := map[string]any{"actions": []any{map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes}}}

	t.Run("off at creation", func(t *testing.T) {
		action["token"] = off.newTask(t)
		resp := off.create(t, action)
		if resp.status != 400 || resp.errorCode(t) != callbackurls.CodePostActionsDisabled {
			t.Fatalf("create: %d %s, want 400 PostActionsDisabled", resp.status, resp.body)
		}
	})
	t.Run("off at callback", func(t *testing.T) {
		token, urls := on.urls(t, action)
		// The same URL, served by the deployment with the switch off.
		u := strings.Replace(urls["hook"], on.srv.URL, off.srv.URL, 1)
		resp := off.post(t, u, "application/json", `{"echo": 1}`)
		if resp.status != 400 || resp.errorCode(t) != callbackurls.CodePostActionsDisabled {
			t.Fatalf("POST: %d %s, want 400 PostActionsDisabled", resp.status, resp.body)
		}
		if diff := cmp.Diff(openHookTask, off.taskFor(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
		// Switched back on, the URL works.
		if resp := on.post(t, urls["hook"], "application/json", `{"echo": 1}`); resp.status != 200 {
			t.Fatalf("POST with the switch on: %d %s", resp.status, resp.body)
		}
	})
}

func TestPostActionCreateErrors(t *testing.T) {
	tests := []struct {
		name     string
		outcomes any
		wantCode string
		wantMsg  string
	}{
		{"missing schema", []any{map[string]any{"name": "a", "type": "success", "output": 1}},
			callbackurls.CodeInvalidPostActionOutcome, "outcomes[0] (a): schema is required"},
		{"invalid schema", []any{map[string]any{"name": "a", "type": "success", "schema": map[string]any{"minimum": "5"}, "output": 1}},
			callbackurls.CodeInvalidPostActionOutcome, "metaschema"},
		{"remote $ref", []any{map[string]any{"name": "a", "type": "success", "schema": map[string]any{"$ref": "https://example.com/s.json"}, "output": 1}},
			callbackurls.CodeInvalidPostActionOutcome, "not loaded"},
		{"duplicate names", []any{
			map[string]any{"name": "a", "type": "heartbeat", "schema": true},
			map[string]any{"name": "a", "type": "heartbeat", "schema": false}},
			callbackurls.CodeInvalidPostActionOutcome, "outcomes[1] (a)"},
		{"two outputs", []any{map[string]any{"name": "a", "type": "success", "schema": true, "output": 1, "output_body": true}},
			callbackurls.CodeInvalidPostActionOutcome, "exactly one of"},
		{"bad output_path", []any{map[string]any{"name": "a", "type": "success", "schema": true, "output_path": "$.a[?"}},
			callbackurls.CodeInvalidJSONPath, `output_path "$.a[?"`},
		{"jsonpath_rw style path", []any{map[string]any{"name": "a", "type": "failure", "schema": true, "error_path": "code"}},
			callbackurls.CodeInvalidJSONPath, "start with $"},
		{"outcomes not a list", map[string]any{"name": "a"},
			callbackurls.CodeInvalidPostActionOutcome, "list"},
		{"outcomes missing", nil,
			callbackurls.CodeInvalidJSON, "outcomes is required"},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action := map[string]any{"name": "hook", "type": "post"}
			if tt.outcomes != nil {
				action["outcomes"] = tt.outcomes
			}
			resp := e.create(t, map[string]any{"token": "t", "actions": []any{action}})
			if resp.status != 400 || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("create: %d %s, want 400 %s", resp.status, resp.body, tt.wantCode)
			}
			if msg, _ := resp.json(t)["message"].(string); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

// TestPostActionIgnoresParameters: as in the reference, a post action is
// parameterised by its body, not its query.
func TestPostActionIgnoresParameters(t *testing.T) {
	e := newHookEnvOn(t)
	token, urls := e.urls(t, map[string]any{"enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "ok", "type": "success", "schema": true, "output": map[string]any{"who": "$who"},
				"response": map[string]any{"text": "thanks $who"}},
		}},
	}})
	resp := e.send(t, http.MethodPost, urls["hook"]+"&who=mallory", map[string]string{"Content-Type": "application/json", "Accept": "text/plain"}, []byte(`{}`))
	if resp.status != 200 || string(resp.body) != "thanks $who" {
		t.Fatalf("POST: %d %q", resp.status, resp.body)
	}
	if diff := cmp.Diff(hookTask{Status: localstore.StatusSucceeded, Output: `{"who":"$who"}`}, e.taskFor(t, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestPostActionTaskClosed(t *testing.T) {
	e := newHookEnvOn(t)
	_, urls := e.urls(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
	}})
	if resp := e.post(t, urls["hook"], "application/json", `{"echo": 1}`); resp.status != 200 {
		t.Fatalf("first POST: %d %s", resp.status, resp.body)
	}
	resp := e.post(t, urls["hook"], "application/json", `{"echo": 2}`)
	if resp.status != 400 || resp.errorCode(t) != callbackurls.CodeStepFunctionsError {
		t.Fatalf("second POST: %d %s, want 400 StepFunctionsError", resp.status, resp.body)
	}
	// A heartbeat outcome can be used again and again while the task is open.
	token, urls := e.urls(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
	}})
	for range 3 {
		if resp := e.post(t, urls["hook"], "application/json", `{"progress": 1}`); resp.status != 200 {
			t.Fatalf("heartbeat POST: %d %s", resp.status, resp.body)
		}
	}
	if got := e.taskFor(t, token).Heartbeats; got != 3 {
		t.Errorf("heartbeats = %d, want 3", got)
	}
}

// TestPostActionURLLength records the length of a typical webhook URL:
// a real-sized token and two outcomes.
func TestPostActionURLLength(t *testing.T) {
	e := newHookEnvOn(t)
	_, urls := e.urls(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "done", "type": "success",
				"schema":      map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "done"}}},
				"output_path": "$.result"},
			map[string]any{"name": "failed", "type": "failure",
				"schema":     map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "failed"}}},
				"error_path": "$.code", "cause_path": "$.message"},
		}},
	}})
	n := len(urls["hook"]) - len(e.srv.URL)
	t.Logf("a two-outcome post URL is the base URL plus %d characters (684-character token)", n)
	if n > 2000 {
		t.Errorf("a two-outcome post URL adds %d characters to the base URL; mail clients break URLs over ~2,000", n)
	}
}

// TestPostActionOutcomesCheckedWhenOpened: a URL whose outcomes CreateUrls
// would refuse (sealed by an older release, or forged as a 1- payload
// with encryption off) is refused when it is opened, before any body is
// read: the review's schema pattern \p{L}{1000} on every item of 32
// outcomes, with a 250 KiB body, took a minute of CPU (issue 20).
func TestPostActionOutcomesCheckedWhenOpened(t *testing.T) {
	keys, store := hookDeps(t)
	e := newHookEnv(t, keys, store, hookSwitches{posts: true})
	var outcomes []string
	for i := range 32 {
		outcomes = append(outcomes, fmt.Sprintf(`{"name":"o%d","type":"heartbeat","schema":{"items":{"pattern":"\\p{L}{1000}"}}}`, i))
	}
	token := e.newTask(t)
	data, err := (&payload.Codec{Keys: keys}).Encode(context.Background(), &callbackurls.Payload{
		Target: callbackurls.TargetRef{ID: token}, Action: "hook", Type: callbackurls.Post,
		Outcomes: json.RawMessage("[" + strings.Join(outcomes, ",") + "]"),
	})
	if err != nil {
		t.Fatal(err)
	}
	u := e.srv.URL + "/respond?data=" + data
	body := `["` + strings.Repeat("é", 125<<10) + `"]`
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodHead} {
		resp := e.send(t, method, u, map[string]string{"Content-Type": "application/json"}, []byte(body))
		if resp.status != http.StatusBadRequest || (method != http.MethodHead && resp.errorCode(t) != callbackurls.CodeInvalidPayload) {
			t.Errorf("%s: %d %s, want 400 InvalidPayload", method, resp.status, resp.body)
		}
	}
	if diff := cmp.Diff(openHookTask, e.taskFor(t, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}
