package respond_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
)

// withSwitchesOn is a deployment with post actions and output parameters
// on, over the local task store.
func withSwitchesOn(t *testing.T) *servicetest.Service {
	return servicetest.Start(t, servicetest.Options{Settings: config.Config{EnablePostActions: true, EnableOutputParameters: true}})
}

// post POSTs body with its Content-Type ("": none).
func post(t *testing.T, e *servicetest.Service, target, contentType, body string) *servicetest.Response {
	t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return e.Do(t, http.MethodPost, target, h, body)
}

// plainTask is a task with its output as plainJSON.
func plainTask(t *testing.T, e *servicetest.Service, token string) servicetest.Task {
	t.Helper()
	task := e.Task(t, token)
	task.Output = plainJSON(t, task.Output)
	return task
}

// plainJSON undoes the store's HTML escaping (it keeps "<" as \u003c),
// keeping numbers as written.
func plainJSON(t *testing.T, raw string) string {
	t.Helper()
	if raw == "" {
		return ""
	}
	dec := json.NewDecoder(strings.NewReader(raw))
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

var openTask = servicetest.Task{Status: "open"}

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
		wantTask    servicetest.Task
		wantBody    string // exact response body, when set
		wantHeaders map[string]string
	}{
		{
			name:       "output_path",
			body:       `{"status": "done", "result": {"items": [{"id": "a1"}, {"id": 2}, {"other": 3}]}}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "succeeded", Output: `["a1",2]`},
		},
		{
			name:       "output_body",
			body:       "{\"echo\": \"héllo <b>\",\n \"n\": 1.50}",
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "succeeded", Output: `{"echo":"héllo <b>","n":1.50}`},
		},
		{
			name:       "output literal and a response spec",
			body:       `{"fixed": 1}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "succeeded", Output: `{"approved":true,"note":"$literal"}`},
			wantBody:   `{"thanks":true}`,
		},
		{
			name:       "error_path and cause_path",
			body:       `{"status": "failed", "code": "E42", "messages": ["disk full", "retry later"]}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "failed", Error: "E42", Cause: `["disk full","retry later"]`},
		},
		{
			name:       "paths with one non-string match and no match",
			body:       `{"status": "failed", "code": 42}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "failed", Error: "[42]"},
		},
		{
			name:        "error and cause literals, draft-04 schema, redirect",
			body:        `{"score": -1}`,
			wantStatus:  303,
			wantTask:    servicetest.Task{Status: "failed", Error: "Rejected", Cause: "the score was negative"},
			wantHeaders: map[string]string{"Location": "https://example.com/rejected"},
		},
		{
			name:       "heartbeat",
			body:       `{"progress": 0.5}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "open", Heartbeats: 1},
		},
		{
			name:       "first match wins",
			body:       `{"status": "done", "result": {"items": []}, "echo": 1, "progress": 1}`,
			wantStatus: 200,
			wantTask:   servicetest.Task{Status: "succeeded", Output: `[]`},
		},
		{
			name:       "no match",
			body:       `{"status": "pending"}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openTask,
		},
		{
			name:       "draft-04 exclusiveMaximum: 0 is not below 0",
			body:       `{"score": 0}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openTask,
		},
		{
			name:       "bad JSON",
			body:       `{"status": "done",`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openTask,
		},
		{
			name:       "two documents",
			body:       `{"echo": 1} {"echo": 2}`,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openTask,
		},
		{
			name:       "empty body",
			body:       ``,
			wantStatus: 400,
			wantCode:   callbackurls.CodeInvalidPostActionBody,
			wantTask:   openTask,
		},
	}
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.NewURLs(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := post(t, e, urls["hook"], "application/json", tt.body)
			if resp.Status != tt.wantStatus {
				t.Fatalf("POST: %d %s, want %d", resp.Status, resp.Body, tt.wantStatus)
			}
			if code := resp.ErrorCode(t); code != tt.wantCode {
				t.Errorf("error code %q, want %q (%s)", code, tt.wantCode, resp.Body)
			}
			if tt.wantStatus == 200 && tt.wantBody == "" {
				got := resp.JSON(t)
				want := map[string]any{"transaction_id": got["transaction_id"], "action": map[string]any{"name": "hook", "type": "post"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
			}
			if tt.wantBody != "" && resp.Body != tt.wantBody {
				t.Errorf("response body %s, want %s", resp.Body, tt.wantBody)
			}
			for k, v := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if diff := cmp.Diff(tt.wantTask, plainTask(t, e, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionOutputTooLarge(t *testing.T) {
	e := withSwitchesOn(t)
	token, urls := e.NewURLs(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "all", "type": "success", "schema": true, "output_path": "$..*"},
		}},
	}})
	// 200 KB of text 20 levels deep: "$..*" selects it 20 times over.
	body := strings.Repeat(`{"a":`, 20) + `"` + strings.Repeat("x", 200_000) + `"` + strings.Repeat("}", 20)
	resp := post(t, e, urls["hook"], "application/json", body)
	if resp.Status != 400 || resp.ErrorCode(t) != callbackurls.CodeOutputFormatting {
		t.Fatalf("POST: %d %s, want 400 OutputFormatting", resp.Status, resp.Body)
	}
	if !strings.Contains(resp.Body, "262144") {
		t.Errorf("the message does not name the limit: %s", resp.Body)
	}
	if diff := cmp.Diff(openTask, plainTask(t, e, token)); diff != "" {
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
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			token, urls := e.NewURLs(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := post(t, e, urls["hook"], tt.contentType, `{"echo": "hi"}`)
			if resp.Status != tt.wantStatus || resp.ErrorCode(t) != tt.wantCode {
				t.Fatalf("POST with %q: %d %s, want %d %s", tt.contentType, resp.Status, resp.Body, tt.wantStatus, tt.wantCode)
			}
			want := openTask
			if tt.wantStatus == 200 {
				want = servicetest.Task{Status: "succeeded", Output: `{"echo":"hi"}`}
			}
			if diff := cmp.Diff(want, plainTask(t, e, token)); diff != "" {
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
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			token, urls := e.NewURLs(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
			}})
			resp := e.Do(t, tt.method, urls["hook"], map[string]string{"Content-Type": "application/json"}, `{"echo": 1}`)
			if resp.Status != tt.wantStatus {
				t.Fatalf("%s: %d %s, want %d", tt.method, resp.Status, resp.Body, tt.wantStatus)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow: %q, want %q", got, tt.wantAllow)
			}
			if tt.wantBody {
				if code := resp.ErrorCode(t); code != callbackurls.CodeMethodNotAllowed {
					t.Errorf("error %q, want %s", code, callbackurls.CodeMethodNotAllowed)
				}
			} else if resp.Body != "" {
				t.Errorf("HEAD response has a body: %q", resp.Body)
			}
			if diff := cmp.Diff(openTask, plainTask(t, e, token)); diff != "" {
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
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.NewURLs(t, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": []any{
					map[string]any{"name": "ok", "type": "success", "schema": true, "output": "received"},
				}},
			}})
			const prefix, suffix = `{"pad": "`, `"}`
			body := prefix + strings.Repeat("x", tt.size-len(prefix)-len(suffix)) + suffix
			resp := post(t, e, urls["hook"], "application/json", body)
			if resp.Status != tt.wantStatus || resp.ErrorCode(t) != tt.wantCode {
				t.Fatalf("POST %d bytes: %d %.200s, want %d %s", len(body), resp.Status, resp.Body, tt.wantStatus, tt.wantCode)
			}
			want := openTask
			if tt.wantStatus == 200 {
				want = servicetest.Task{Status: "succeeded", Output: `"received"`}
			}
			if diff := cmp.Diff(want, plainTask(t, e, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostActionSwitch(t *testing.T) {
	on := servicetest.Start(t, servicetest.Options{Settings: config.Config{EnablePostActions: true}})
	off := on.Redeploy(t, servicetest.Options{})
	action := map[string]any{"actions": []any{map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes}}}

	t.Run("off at creation", func(t *testing.T) {
		action["token"] = off.NewTask(t)
		resp := off.PostURLs(t, action)
		if resp.Status != 400 || resp.ErrorCode(t) != callbackurls.CodePostActionsDisabled {
			t.Fatalf("create: %d %s, want 400 PostActionsDisabled", resp.Status, resp.Body)
		}
	})
	t.Run("off at callback", func(t *testing.T) {
		token, urls := on.NewURLs(t, action)
		// The same URL, served by the deployment with the switch off.
		u := strings.Replace(urls["hook"], on.URL, off.URL, 1)
		resp := post(t, off, u, "application/json", `{"echo": 1}`)
		if resp.Status != 400 || resp.ErrorCode(t) != callbackurls.CodePostActionsDisabled {
			t.Fatalf("POST: %d %s, want 400 PostActionsDisabled", resp.Status, resp.Body)
		}
		if diff := cmp.Diff(openTask, plainTask(t, off, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
		// Switched back on, the URL works.
		if resp := post(t, on, urls["hook"], "application/json", `{"echo": 1}`); resp.Status != 200 {
			t.Fatalf("POST with the switch on: %d %s", resp.Status, resp.Body)
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
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action := map[string]any{"name": "hook", "type": "post"}
			if tt.outcomes != nil {
				action["outcomes"] = tt.outcomes
			}
			resp := e.PostURLs(t, map[string]any{"token": "t", "actions": []any{action}})
			if resp.Status != 400 || resp.ErrorCode(t) != tt.wantCode {
				t.Fatalf("create: %d %s, want 400 %s", resp.Status, resp.Body, tt.wantCode)
			}
			if msg, _ := resp.JSON(t)["message"].(string); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

// TestPostActionIgnoresParameters: as in the reference, a post action is
// parameterised by its body, not its query.
func TestPostActionIgnoresParameters(t *testing.T) {
	e := withSwitchesOn(t)
	token, urls := e.NewURLs(t, map[string]any{"enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "ok", "type": "success", "schema": true, "output": map[string]any{"who": "$who"},
				"response": map[string]any{"text": "thanks $who"}},
		}},
	}})
	resp := e.Do(t, http.MethodPost, urls["hook"]+"&who=mallory", map[string]string{"Content-Type": "application/json", "Accept": "text/plain"}, `{}`)
	if resp.Status != 200 || resp.Body != "thanks $who" {
		t.Fatalf("POST: %d %q", resp.Status, resp.Body)
	}
	if diff := cmp.Diff(servicetest.Task{Status: "succeeded", Output: `{"who":"$who"}`}, plainTask(t, e, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestPostActionTaskClosed(t *testing.T) {
	e := withSwitchesOn(t)
	_, urls := e.NewURLs(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
	}})
	if resp := post(t, e, urls["hook"], "application/json", `{"echo": 1}`); resp.Status != 200 {
		t.Fatalf("first POST: %d %s", resp.Status, resp.Body)
	}
	resp := post(t, e, urls["hook"], "application/json", `{"echo": 2}`)
	if resp.Status != 400 || resp.ErrorCode(t) != callbackurls.CodeStepFunctionsError {
		t.Fatalf("second POST: %d %s, want 400 StepFunctionsError", resp.Status, resp.Body)
	}
	// A heartbeat outcome can be used again and again while the task is open.
	token, urls := e.NewURLs(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes},
	}})
	for range 3 {
		if resp := post(t, e, urls["hook"], "application/json", `{"progress": 1}`); resp.Status != 200 {
			t.Fatalf("heartbeat POST: %d %s", resp.Status, resp.Body)
		}
	}
	if got := plainTask(t, e, token).Heartbeats; got != 3 {
		t.Errorf("heartbeats = %d, want 3", got)
	}
}

// TestPostActionURLLength records the length of a typical webhook URL:
// a real-sized token and two outcomes.
func TestPostActionURLLength(t *testing.T) {
	e := withSwitchesOn(t)
	_, urls := e.NewURLs(t, map[string]any{"actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "done", "type": "success",
				"schema":      map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "done"}}},
				"output_path": "$.result"},
			map[string]any{"name": "failed", "type": "failure",
				"schema":     map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "failed"}}},
				"error_path": "$.code", "cause_path": "$.message"},
		}},
	}})
	n := len(urls["hook"]) - len(e.URL)
	t.Logf("a two-outcome post URL is the base URL plus %d characters (684-character token)", n)
	if n > 2000 {
		t.Errorf("a two-outcome post URL adds %d characters to the base URL; mail clients break URLs over ~2,000", n)
	}
}
