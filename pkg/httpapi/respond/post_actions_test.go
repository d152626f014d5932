package respond_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
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

// checkOutcome checks an answer's headers and exact body (unless ""), and
// the task after it (open when task is zero).
func checkOutcome(t *testing.T, e *servicetest.Service, token string, resp *servicetest.Response, header map[string]string, answer string, task servicetest.Task) {
	t.Helper()
	for k, v := range header {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if answer != "" && resp.Body != answer {
		t.Errorf("body %q, want %q", resp.Body, answer)
	}
	if task.Status == "" {
		task = openTask
	}
	if diff := cmp.Diff(task, plainTask(t, e, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func succeeded(output string) servicetest.Task {
	return servicetest.Task{Status: "succeeded", Output: output}
}

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

// TestPostAction POSTs bodies to a post action: the outcome each selects,
// the answer, and what reaches the task.
func TestPostAction(t *testing.T) {
	echoed := succeeded(`{"echo":"hi"}`)
	received := []any{map[string]any{"name": "ok", "type": "success", "schema": true, "output": "received"}}
	// padded is a JSON body of size bytes.
	padded := func(size int) string {
		const prefix, suffix = `{"pad": "`, `"}`
		return prefix + strings.Repeat("x", size-len(prefix)-len(suffix)) + suffix
	}
	tests := []struct {
		name        string
		outcomes    []any  // hookOutcomes when nil
		params      bool   // the request enables output parameters
		method      string // POST when empty
		contentType string // application/json when empty, "-" for none
		query       string // added to the URL
		accept      string
		body        string
		status      int
		code        string // the error's code
		bodyHas     string // in the error's body
		task        servicetest.Task
		answer      string            // the exact body of a success not of the contract's shape
		header      map[string]string // headers of the answer
	}{
		// Each outcome and path kind.
		{name: "output_path", body: `{"status": "done", "result": {"items": [{"id": "a1"}, {"id": 2}, {"other": 3}]}}`,
			status: 200, task: succeeded(`["a1",2]`)},
		{name: "output_body", body: "{\"echo\": \"héllo <b>\",\n \"n\": 1.50}", status: 200, task: succeeded(`{"echo":"héllo <b>","n":1.50}`)},
		{name: "output literal and a response spec", body: `{"fixed": 1}`, status: 200,
			task: succeeded(`{"approved":true,"note":"$literal"}`), answer: `{"thanks":true}`},
		{name: "error_path and cause_path", body: `{"status": "failed", "code": "E42", "messages": ["disk full", "retry later"]}`,
			status: 200, task: servicetest.Task{Status: "failed", Error: "E42", Cause: `["disk full","retry later"]`}},
		{name: "paths with one non-string match and no match", body: `{"status": "failed", "code": 42}`,
			status: 200, task: servicetest.Task{Status: "failed", Error: "[42]"}},
		{name: "error and cause literals, draft-04 schema, redirect", body: `{"score": -1}`, status: 303,
			task:   servicetest.Task{Status: "failed", Error: "Rejected", Cause: "the score was negative"},
			header: map[string]string{"Location": "https://example.com/rejected"}},
		{name: "heartbeat", body: `{"progress": 0.5}`, status: 200, task: servicetest.Task{Status: "open", Heartbeats: 1}},
		{name: "first match wins", body: `{"status": "done", "result": {"items": []}, "echo": 1, "progress": 1}`, status: 200, task: succeeded(`[]`)},
		{name: "no match", body: `{"status": "pending"}`, status: 400, code: callbackurls.CodeInvalidPostActionBody},
		{name: "draft-04 exclusiveMaximum: 0 is not below 0", body: `{"score": 0}`, status: 400, code: callbackurls.CodeInvalidPostActionBody},
		{name: "bad JSON", body: `{"status": "done",`, status: 400, code: callbackurls.CodeInvalidPostActionBody},
		{name: "two documents", body: `{"echo": 1} {"echo": 2}`, status: 400, code: callbackurls.CodeInvalidPostActionBody},
		{name: "empty body", body: ``, status: 400, code: callbackurls.CodeInvalidPostActionBody},
		// As in the reference, a post action is parameterised by its body,
		// not its query.
		{name: "query parameters ignored", params: true, query: "&who=mallory", accept: "text/plain", body: `{}`, status: 200,
			outcomes: []any{map[string]any{"name": "ok", "type": "success", "schema": true, "output": map[string]any{"who": "$who"},
				"response": map[string]any{"text": "thanks $who"}}},
			task: succeeded(`{"who":"$who"}`), answer: "thanks $who"},
		// 200 KB of text 20 levels deep: "$..*" selects it 20 times over.
		{name: "output too large", body: strings.Repeat(`{"a":`, 20) + `"` + strings.Repeat("x", 200_000) + `"` + strings.Repeat("}", 20),
			outcomes: []any{map[string]any{"name": "all", "type": "success", "schema": true, "output_path": "$..*"}},
			status:   400, code: callbackurls.CodeOutputFormatting, bodyHas: "262144"},

		// Content types.
		{name: "application/json; charset=utf-8", contentType: "application/json; charset=utf-8", body: `{"echo": "hi"}`, status: 200, task: echoed},
		{name: "application/json;charset=UTF-8", contentType: "application/json;charset=UTF-8", body: `{"echo": "hi"}`, status: 200, task: echoed},
		{name: "Application/JSON", contentType: "Application/JSON", body: `{"echo": "hi"}`, status: 200, task: echoed},
		{name: "application/cloudevents+json", contentType: "application/cloudevents+json", body: `{"echo": "hi"}`, status: 200, task: echoed},
		{name: "text/plain", contentType: "text/plain", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},
		{name: "no content type", contentType: "-", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},
		{name: "application/jsonx", contentType: "application/jsonx", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},
		{name: "charset without a value", contentType: "application/json; charset", body: `{"echo": "hi"}`, status: 415, code: callbackurls.CodeUnsupportedMedia},

		// Methods.
		{name: "GET", method: http.MethodGet, body: `{"echo": 1}`, status: 405, code: callbackurls.CodeMethodNotAllowed, header: map[string]string{"Allow": "POST"}},
		{name: "HEAD", method: http.MethodHead, body: `{"echo": 1}`, status: 405, header: map[string]string{"Allow": "POST"}},
		{name: "PUT", method: http.MethodPut, body: `{"echo": 1}`, status: 405, code: callbackurls.CodeMethodNotAllowed, header: map[string]string{"Allow": "GET, POST, HEAD"}},
		{name: "DELETE", method: http.MethodDelete, body: `{"echo": 1}`, status: 405, code: callbackurls.CodeMethodNotAllowed, header: map[string]string{"Allow": "GET, POST, HEAD"}},

		// Body sizes.
		{name: "at the limit", outcomes: received, body: padded(callbackurls.MaxPostBodyBytes), status: 200, task: succeeded(`"received"`)},
		{name: "one byte over", outcomes: received, body: padded(callbackurls.MaxPostBodyBytes + 1), status: 413, code: callbackurls.CodeBodyTooLarge},
		{name: "over what the server reads", outcomes: received, body: padded(respond.MaxBodyBytes + 1), status: 413, code: callbackurls.CodeBodyTooLarge},
	}
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcomes := tt.outcomes
			if outcomes == nil {
				outcomes = hookOutcomes
			}
			token, urls := e.NewURLs(t, map[string]any{"enable_output_parameters": tt.params, "actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": outcomes}}})
			method, header := tt.method, map[string]string{"Content-Type": tt.contentType}
			if method == "" {
				method = http.MethodPost
			}
			switch tt.contentType {
			case "":
				header["Content-Type"] = "application/json"
			case "-":
				delete(header, "Content-Type")
			}
			if tt.accept != "" {
				header["Accept"] = tt.accept
			}
			resp := e.Do(t, method, urls["hook"]+tt.query, header, tt.body)
			if resp.Status != tt.status {
				t.Fatalf("%s: %d %.300s, want %d", method, resp.Status, resp.Body, tt.status)
			}
			switch {
			case method == http.MethodHead:
				if resp.Body != "" {
					t.Errorf("HEAD response has a body: %q", resp.Body)
				}
			case resp.Status >= 400:
				if code := resp.ErrorCode(t); code != tt.code || !strings.Contains(resp.Body, tt.bodyHas) {
					t.Errorf("error %q, want %q with %q: %.300s", code, tt.code, tt.bodyHas, resp.Body)
				}
			case tt.answer == "" && resp.Status == 200:
				got := resp.JSON(t)
				want := map[string]any{"transaction_id": got["transaction_id"], "action": map[string]any{"name": "hook", "type": "post"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
			}
			checkOutcome(t, e, token, resp, tt.header, tt.answer, tt.task)
		})
	}
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

// TestPostActionOutcomesCheckedWhenOpened: a URL whose outcomes CreateUrls
// would refuse (sealed by an older release, or forged as a 1- payload
// with encryption off) is refused when it is opened, before any body is
// read: the review's schema pattern \p{L}{1000} on every item of 32
// outcomes, with a 250 KiB body, took a minute of CPU (issue 20).
func TestPostActionOutcomesCheckedWhenOpened(t *testing.T) {
	var outcomes []string
	for i := range 32 {
		outcomes = append(outcomes, fmt.Sprintf(`{"name":"o%d","type":"heartbeat","schema":{"items":{"pattern":"\\p{L}{1000}"}}}`, i))
	}
	body := `["` + strings.Repeat("é", 125<<10) + `"]`
	for _, encrypted := range []bool{true, false} {
		t.Run(map[bool]string{true: "sealed by an older release", false: "forged, encryption off"}[encrypted], func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{Settings: config.Config{EnablePostActions: true}, NoEncryption: !encrypted})
			token := e.NewTask(t)
			codec := &payload.Codec{}
			if encrypted {
				codec.Keys = servicetest.Keyring(t)
			}
			data, err := codec.Encode(context.Background(), &callbackurls.Payload{
				Target: callbackurls.TargetRef{ID: token}, Action: "hook", Type: callbackurls.Post,
				Outcomes: json.RawMessage("[" + strings.Join(outcomes, ",") + "]"),
			})
			if err != nil {
				t.Fatal(err)
			}
			u := e.URL + callbackurls.CallbackPath + "?data=" + data
			for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodHead} {
				resp := e.Do(t, method, u, map[string]string{"Content-Type": "application/json"}, body)
				if resp.Status != http.StatusBadRequest || (method != http.MethodHead && resp.ErrorCode(t) != callbackurls.CodeInvalidPayload) {
					t.Errorf("%s: %d %s, want 400 InvalidPayload", method, resp.Status, resp.Body)
				}
			}
			if diff := cmp.Diff(openTask, plainTask(t, e, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}
