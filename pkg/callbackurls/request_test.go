package callbackurls_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// apiError asserts that err is a *callbackurls.Error with the given code and
// status and returns it.
func apiError(t testing.TB, err error, code string, kind callbackurls.Kind) *callbackurls.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s (%s)", code, kind)
	}
	var e *callbackurls.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *callbackurls.Error %s", err, err, code)
	}
	if e.Code != code || e.Kind != kind {
		t.Fatalf("got %s (%s) %q, want %s (%s)", e.Code, e.Kind, e.Message, code, kind)
	}
	if e.Message == "" {
		t.Errorf("%s has an empty message", e.Code)
	}
	return e
}

// body builds a request body from a JSON-able value.
func body(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// actionsN returns n distinct heartbeat actions.
func actionsN(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("a%d", i), "type": "heartbeat"}
	}
	return out
}

func req(fields map[string]any) map[string]any {
	r := map[string]any{
		"token":   "tok",
		"actions": []any{map[string]any{"name": "approve", "type": "success", "output": map[string]any{}}},
	}
	for k, v := range fields {
		if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
	}
	return r
}

func act(fields map[string]any) map[string]any {
	a := map[string]any{"name": "approve", "type": "success", "output": map[string]any{"a": 1}}
	for k, v := range fields {
		if v == nil {
			delete(a, k)
		} else {
			a[k] = v
		}
	}
	return a
}

func oneAction(fields map[string]any) []byte {
	b, _ := json.Marshal(req(map[string]any{"actions": []any{act(fields)}}))
	return b
}

func TestParseCreateRequestErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"empty body", []byte(""), callbackurls.CodeInvalidJSON},
		{"not JSON", []byte("token=abc"), callbackurls.CodeInvalidJSON},
		{"truncated JSON", []byte(`{"token": "abc", "actions": [`), callbackurls.CodeInvalidJSON},
		{"trailing garbage", []byte(`{"token":"t","actions":[{"name":"a","type":"heartbeat"}]} x`), callbackurls.CodeInvalidJSON},
		{"JSON array", []byte(`[{"token":"t"}]`), callbackurls.CodeInvalidJSON},
		{"JSON string", []byte(`"token"`), callbackurls.CodeInvalidJSON},
		{"JSON number", []byte(`42`), callbackurls.CodeInvalidJSON},
		{"JSON null", []byte(`null`), callbackurls.CodeInvalidJSON},
		{"JSON true", []byte(`true`), callbackurls.CodeInvalidJSON},
		{"empty object", []byte(`{}`), callbackurls.CodeInvalidJSON},
		{"missing token", body(t, req(map[string]any{"token": nil})), callbackurls.CodeInvalidJSON},
		{"empty token", body(t, req(map[string]any{"token": ""})), callbackurls.CodeInvalidJSON},
		{"token 2049 chars", body(t, req(map[string]any{"token": long(2049)})), callbackurls.CodeInvalidJSON},
		{"token 2049 multibyte chars", body(t, req(map[string]any{"token": strings.Repeat("é", 2049)})), callbackurls.CodeInvalidJSON},
		{"token number", body(t, req(map[string]any{"token": 12345})), callbackurls.CodeInvalidJSON},
		{"token object", body(t, req(map[string]any{"token": map[string]any{"a": "b"}})), callbackurls.CodeInvalidJSON},
		{"token array", body(t, req(map[string]any{"token": []any{"a"}})), callbackurls.CodeInvalidJSON},
		{"token bool", body(t, req(map[string]any{"token": true})), callbackurls.CodeInvalidJSON},
		{"missing actions", body(t, req(map[string]any{"actions": nil})), callbackurls.CodeInvalidJSON},
		{"actions null", []byte(`{"token":"t","actions":null}`), callbackurls.CodeInvalidJSON},
		{"actions object (reference v1.0 shape)", body(t, req(map[string]any{"actions": map[string]any{"approve": map[string]any{"type": "heartbeat"}}})), callbackurls.CodeInvalidJSON},
		{"actions string", body(t, req(map[string]any{"actions": "approve"})), callbackurls.CodeInvalidJSON},
		{"0 actions", body(t, req(map[string]any{"actions": []any{}})), callbackurls.CodeInvalidJSON},
		{"65 actions", body(t, req(map[string]any{"actions": actionsN(65)})), callbackurls.CodeInvalidJSON},
		{"1000 actions", body(t, req(map[string]any{"actions": actionsN(1000)})), callbackurls.CodeInvalidJSON},
		{"action null", body(t, req(map[string]any{"actions": []any{nil}})), callbackurls.CodeInvalidJSON},
		{"action string", body(t, req(map[string]any{"actions": []any{"approve"}})), callbackurls.CodeInvalidJSON},
		{"action missing name", oneAction(map[string]any{"name": nil}), callbackurls.CodeInvalidJSON},
		{"action name number", oneAction(map[string]any{"name": 7}), callbackurls.CodeInvalidJSON},
		{"action name empty", oneAction(map[string]any{"name": ""}), callbackurls.CodeInvalidJSON},
		{"action name $foo", oneAction(map[string]any{"name": "$foo"}), callbackurls.CodeInvalidJSON},
		{"action name a-b", oneAction(map[string]any{"name": "a-b"}), callbackurls.CodeInvalidJSON},
		{"action name a b", oneAction(map[string]any{"name": "a b"}), callbackurls.CodeInvalidJSON},
		{"action name a&b", oneAction(map[string]any{"name": "a&b"}), callbackurls.CodeInvalidJSON},
		{"action name trailing newline", oneAction(map[string]any{"name": "approve\n"}), callbackurls.CodeInvalidJSON},
		{"action name 129 chars", oneAction(map[string]any{"name": long(129)}), callbackurls.CodeInvalidJSON},
		{"duplicate names", body(t, req(map[string]any{"actions": []any{
			map[string]any{"name": "ping", "type": "heartbeat"},
			map[string]any{"name": "other", "type": "heartbeat"},
			map[string]any{"name": "ping", "type": "failure"},
		}})), callbackurls.CodeDuplicateActionName},
		{"unknown type", oneAction(map[string]any{"type": "approve"}), callbackurls.CodeInvalidJSON},
		{"type in upper case", oneAction(map[string]any{"type": "SUCCESS"}), callbackurls.CodeInvalidJSON},
		{"missing type", oneAction(map[string]any{"type": nil}), callbackurls.CodeInvalidJSON},
		{"type number", oneAction(map[string]any{"type": 1}), callbackurls.CodeInvalidJSON},
		{"success without output", oneAction(map[string]any{"output": nil}), callbackurls.CodeInvalidJSON},
		{"success output too large", oneAction(map[string]any{"output": long(callbackurls.MaxOutputBytes)}), callbackurls.CodeInvalidAction},
		{"failure error number", oneAction(map[string]any{"type": "failure", "output": nil, "error": 5}), callbackurls.CodeInvalidJSON},
		{"failure cause object", oneAction(map[string]any{"type": "failure", "output": nil, "cause": map[string]any{}}), callbackurls.CodeInvalidJSON},
		{"failure error too long", oneAction(map[string]any{"type": "failure", "output": nil, "error": long(callbackurls.MaxErrorLength + 1)}), callbackurls.CodeInvalidAction},
		{"failure cause too long", oneAction(map[string]any{"type": "failure", "output": nil, "cause": long(callbackurls.MaxCauseLength + 1)}), callbackurls.CodeInvalidAction},
		{"post without outcomes", oneAction(map[string]any{"type": "post", "output": nil}), callbackurls.CodeInvalidJSON},
		{"post with outcomes null", []byte(`{"token":"t","actions":[{"name":"hook","type":"post","outcomes":null}]}`), callbackurls.CodeInvalidJSON},
		{"response not an object", oneAction(map[string]any{"response": "https://example.com"}), callbackurls.CodeInvalidJSON},
		{"response.redirect relative", oneAction(map[string]any{"response": map[string]any{"redirect": "/done"}}), callbackurls.CodeInvalidJSON},
		{"response.redirect no scheme", oneAction(map[string]any{"response": map[string]any{"redirect": "example.com/done"}}), callbackurls.CodeInvalidJSON},
		{"response.redirect javascript", oneAction(map[string]any{"response": map[string]any{"redirect": "javascript:alert(1)"}}), callbackurls.CodeInvalidJSON},
		{"response.redirect ftp", oneAction(map[string]any{"response": map[string]any{"redirect": "ftp://example.com/x"}}), callbackurls.CodeInvalidJSON},
		{"response.redirect number", oneAction(map[string]any{"response": map[string]any{"redirect": 3}}), callbackurls.CodeInvalidJSON},
		{"response.json string", oneAction(map[string]any{"response": map[string]any{"json": "hello"}}), callbackurls.CodeInvalidJSON},
		{"response.json array", oneAction(map[string]any{"response": map[string]any{"json": []any{1}}}), callbackurls.CodeInvalidJSON},
		{"response.html number", oneAction(map[string]any{"response": map[string]any{"html": 1}}), callbackurls.CodeInvalidJSON},
		{"base_url object missing stage", body(t, req(map[string]any{"base_url": map[string]any{"api_id": "abc123"}})), callbackurls.CodeInvalidJSON},
		{"base_url object missing api_id", body(t, req(map[string]any{"base_url": map[string]any{"stage": "v1"}})), callbackurls.CodeInvalidJSON},
		{"base_url object stage number", body(t, req(map[string]any{"base_url": map[string]any{"api_id": "abc123", "stage": 1}})), callbackurls.CodeInvalidJSON},
		{"base_url number", body(t, req(map[string]any{"base_url": 5})), callbackurls.CodeInvalidJSON},
		{"base_url array", body(t, req(map[string]any{"base_url": []any{"https://example.com"}})), callbackurls.CodeInvalidJSON},
		{"base_url bool", body(t, req(map[string]any{"base_url": true})), callbackurls.CodeInvalidJSON},
		{"expiration number", body(t, req(map[string]any{"expiration": 1700000000})), callbackurls.CodeInvalidJSON},
		{"enable_output_parameters string", body(t, req(map[string]any{"enable_output_parameters": "true"})), callbackurls.CodeInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := callbackurls.ParseCreateRequest(tt.body)
			if r != nil {
				t.Errorf("got a request with the error: %+v", r)
			}
			e := apiError(t, err, tt.code, callbackurls.BadInput)
			// Messages never echo the token.
			if strings.Contains(e.Message, long(100)) {
				t.Errorf("message echoes the input: %.200s", e.Message)
			}
		})
	}
}

func TestParseCreateRequestTooLarge(t *testing.T) {
	b := []byte(`{"token":"t","actions":[{"name":"a","type":"success","output":"` +
		strings.Repeat("x", callbackurls.MaxCreateBodyBytes) + `"}]}`)
	_, err := callbackurls.ParseCreateRequest(b)
	apiError(t, err, callbackurls.CodeBodyTooLarge, callbackurls.TooLarge)

	// Exactly at the limit is read (and refused for its content, not its size).
	// The padding is an action's extra field: action objects stay open.
	b = append([]byte(`{"token":"t","actions":[{"name":"a","type":"heartbeat","x":"`), strings.Repeat("y", callbackurls.MaxCreateBodyBytes)...)
	b = append(b[:callbackurls.MaxCreateBodyBytes-4], `"}]}`...)
	if len(b) != callbackurls.MaxCreateBodyBytes {
		t.Fatalf("len %d", len(b))
	}
	if _, err := callbackurls.ParseCreateRequest(b); err != nil {
		t.Errorf("a body of exactly %d bytes: %v", callbackurls.MaxCreateBodyBytes, err)
	}
}

func TestParseCreateRequestValid(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		body string
		want *callbackurls.CreateRequest
	}{
		{
			name: "minimal heartbeat",
			body: `{"token":"t","actions":[{"name":"ping","type":"heartbeat"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "ping", Type: callbackurls.Heartbeat}}},
		},
		{
			name: "unicode action name",
			body: `{"token":"t","actions":[{"name":"ñandú_1","type":"heartbeat"},{"name":"approve","type":"heartbeat"},{"name":"_","type":"heartbeat"},{"name":"漢字","type":"heartbeat"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{
				{Name: "ñandú_1", Type: callbackurls.Heartbeat}, {Name: "approve", Type: callbackurls.Heartbeat},
				{Name: "_", Type: callbackurls.Heartbeat}, {Name: "漢字", Type: callbackurls.Heartbeat}}},
		},
		{
			name: "128-character name, 2048-character token",
			body: `{"token":"` + strings.Repeat("t", 2048) + `","actions":[{"name":"` + strings.Repeat("n", 128) + `","type":"heartbeat"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: strings.Repeat("t", 2048)}, Actions: []callbackurls.Action{{Name: strings.Repeat("n", 128), Type: callbackurls.Heartbeat}}},
		},
		{
			name: "2048 multibyte characters",
			body: `{"token":"` + strings.Repeat("漢", 2048) + `","actions":[{"name":"a","type":"heartbeat"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: strings.Repeat("漢", 2048)}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}}},
		},
		{
			name: "success output null",
			body: `{"token":"t","actions":[{"name":"a","type":"success","output":null}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Success, Output: json.RawMessage("null")}}},
		},
		{
			name: "success output string",
			body: `{"token":"t","actions":[{"name":"a","type":"success","output":"yes"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Success, Output: json.RawMessage(`"yes"`)}}},
		},
		{
			name: "success output array",
			body: `{"token":"t","actions":[{"name":"a","type":"success","output":[1, 2]}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Success, Output: json.RawMessage(`[1, 2]`)}}},
		},
		{
			name: "failure with and without error and cause, limits",
			body: `{"token":"t","actions":[{"name":"r","type":"failure","error":"` + strings.Repeat("e", 256) + `","cause":"c"},{"name":"r2","type":"failure"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{
				{Name: "r", Type: callbackurls.Failure, Error: s(strings.Repeat("e", 256)), Cause: s("c")},
				{Name: "r2", Type: callbackurls.Failure}}},
		},
		{
			name: "64 actions",
			body: string(body(t, req(map[string]any{"actions": actionsN(64)}))),
		},
		{
			name: "post with outcomes (validated later)",
			body: `{"token":"t","actions":[{"name":"hook","type":"post","outcomes":[]}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "hook", Type: callbackurls.Post, Outcomes: json.RawMessage(`[]`)}}},
		},
		{
			name: "response spec",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat","response":{"redirect":"https://example.com/done?x=1","json":{"k":"v"},"html":"<b>ok</b>","text":"ok"}}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat,
				Response: &callbackurls.ResponseSpec{Redirect: "https://example.com/done?x=1", JSON: json.RawMessage(`{"k":"v"}`), HTML: s("<b>ok</b>"), Text: s("ok")}}}},
		},
		{
			name: "everything",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"expiration":"2030-01-02T03:04:05Z","enable_output_parameters":true,"base_url":"https://example.com/prod"}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				Expiration: "2030-01-02T03:04:05Z", EnableOutputParameters: true, BaseURL: &callbackurls.BaseURL{URL: "https://example.com/prod"}},
		},
		{
			name: "base_url object",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":{"api_id":"abc123","stage":"v1","region":"eu-west-1"}}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				BaseURL: &callbackurls.BaseURL{APIID: "abc123", Stage: "v1", Region: "eu-west-1"}},
		},
		{
			name: "base_url object without region",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":{"api_id":"abc123","stage":"v1"}}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				BaseURL: &callbackurls.BaseURL{APIID: "abc123", Stage: "v1"}},
		},
		{
			name: "base_url bad string is parsed (refused when resolved)",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":"ftp://example.com"}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				BaseURL: &callbackurls.BaseURL{URL: "ftp://example.com"}},
		},
		{
			name: "base_url null",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":null}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}}},
		},
		{
			name: "unknown action fields are ignored",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat","color":"red"}]}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}}},
		},
		{
			name: "every top-level field, title and description included",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"expiration":"2030-01-02T03:04:05Z","enable_output_parameters":false,` +
				`"base_url":"https://example.com","title":"T","description":"D"}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				Expiration: "2030-01-02T03:04:05Z", BaseURL: &callbackurls.BaseURL{URL: "https://example.com"}, Title: "T", Description: "D"},
		},
		{
			name: "a base_url object's extra members are ignored, as in the reference's schema",
			body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":{"api_id":"abc123","stage":"v1","note":"x"}}`,
			want: &callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: "t"}, Actions: []callbackurls.Action{{Name: "a", Type: callbackurls.Heartbeat}},
				BaseURL: &callbackurls.BaseURL{APIID: "abc123", Stage: "v1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callbackurls.ParseCreateRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseCreateRequest: %v", err)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate after a successful parse: %v", err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestValidActionName(t *testing.T) {
	for name, want := range map[string]bool{
		"approve": true, "ñandú_1": true, "A_9": true, "_": true, "漢字": true,
		"e\u0301": true, // combining accent (Mn), as Python's \w
		"$foo":    false, "a-b": false, "a b": false, "a.b": false, "a\n": false, "": false,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		strings.Repeat("é", 128): true, strings.Repeat("é", 129): false,
	} {
		if got := callbackurls.ValidActionName(name); got != want {
			t.Errorf("ValidActionName(%q) = %t, want %t", name, got, want)
		}
	}
}

func TestBaseURLResolve(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		region  string
		want    string
		wantErr bool
	}{
		{"https", `"https://example.com/prod"`, "", "https://example.com/prod", false},
		{"trailing slash removed", `"https://example.com/prod/"`, "", "https://example.com/prod", false},
		{"http with port", `"http://localhost:8080"`, "", "http://localhost:8080", false},
		{"highest port", `"https://example.com:65535/v1"`, "", "https://example.com:65535/v1", false},
		{"port 99999", `"https://example.com:99999/v1"`, "", "", true},
		{"port 65536", `"http://[::1]:65536"`, "", "", true},
		{"port 0", `"http://localhost:0"`, "", "", true},
		{"empty port", `"http://localhost:/v1"`, "", "", true},
		{"relative", `"/prod"`, "", "", true},
		{"no scheme", `"example.com/prod"`, "", "", true},
		{"ftp", `"ftp://example.com/prod"`, "", "", true},
		{"with query", `"https://example.com/prod?x=1"`, "", "", true},
		{"with empty query", `"https://example.com/prod?"`, "", "", true},
		{"with fragment", `"https://example.com/prod#x"`, "", "", true},
		{"with user", `"https://user:pw@example.com/prod"`, "", "", true},
		{"empty host", `"https:///prod"`, "", "", true},
		{"api object", `{"api_id":"abc123defg","stage":"v1","region":"us-east-1"}`, "", "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1", false},
		{"api object default region", `{"api_id":"abc123","stage":"prod"}`, "eu-west-2", "https://abc123.execute-api.eu-west-2.amazonaws.com/prod", false},
		{"api object request region wins", `{"api_id":"abc123","stage":"prod","region":"ap-south-1"}`, "eu-west-2", "https://abc123.execute-api.ap-south-1.amazonaws.com/prod", false},
		{"api object no region at all", `{"api_id":"abc123","stage":"prod"}`, "", "", true},
		{"api id with a dot", `{"api_id":"evil.com/x","stage":"prod","region":"us-east-1"}`, "", "", true},
		{"stage with a slash", `{"api_id":"abc","stage":"a/b","region":"us-east-1"}`, "", "", true},
		{"bad region", `{"api_id":"abc","stage":"v1","region":"evil.com#"}`, "", "", true},
		{"string with a space", `"https://x.example/a b"`, "", "", true},
		{"string already escaped", `"https://x.example/a%20b/"`, "", "https://x.example/a%20b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b callbackurls.BaseURL
			if err := json.Unmarshal([]byte(tt.json), &b); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			got, err := b.Resolve(tt.region)
			if tt.wantErr {
				apiError(t, err, callbackurls.CodeInvalidBaseURL, callbackurls.BadInput)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
			// MarshalJSON writes what UnmarshalJSON reads.
			out, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			var again callbackurls.BaseURL
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("unmarshal %s: %v", out, err)
			}
			if diff := cmp.Diff(b, again); diff != "" {
				t.Errorf("marshal round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseCreateRequestUnknownFields: the reference's schema refuses
// unknown top-level fields (additionalProperties: false), so a misspelt
// "expiraton" is an error rather than a URL that never expires. The
// message names the field and, when one is close, the field meant.
func TestParseCreateRequestUnknownFields(t *testing.T) {
	const actions = `"token":"t","actions":[{"name":"a","type":"heartbeat"}]`
	tests := []struct{ name, body, want string }{
		{"misspelt expiration", `{` + actions + `,"expiraton":"2030-01-01T00:00:00Z"}`, `unknown field "expiraton" (did you mean "expiration"?)`},
		{"transposed letters", `{` + actions + `,"expiraiton":"2030-01-01T00:00:00Z"}`, `(did you mean "expiration"?)`},
		{"expires", `{` + actions + `,"expires":"2030-01-01T00:00:00Z"}`, `unknown field "expires" (did you mean "expiration"?)`},
		{"camel case", `{` + actions + `,"baseUrl":"https://example.com"}`, `unknown field "baseUrl" (did you mean "base_url"?)`},
		{"case matters", `{"Token":"t","actions":[{"name":"a","type":"heartbeat"}]}`, `unknown field "Token" (did you mean "token"?)`},
		{"singular", `{` + actions + `,"enable_output_parameter":true}`, `(did you mean "enable_output_parameters"?)`},
		{"nothing close", `{` + actions + `,"colour":"red"}`, `unknown field "colour": a request has token, callback_id, actions, expiration`},
		{"a deployment switch is not a request field", `{` + actions + `,"enable_post_actions":true}`, `unknown field "enable_post_actions": a request has`},
		{"escaped name", `{` + actions + `,"expira\u0074on":"x"}`, `unknown field "expiraton"`},
		{"several", `{"zz":1,` + actions + `,"yy":2}`, `unknown field "zz": a request has token, callback_id, actions, expiration, enable_output_parameters, base_url, title, description, messages, message_actions, deliver, approvers, requester and receipt; and 1 more unknown field(s)`},
		{"long name truncated", `{` + actions + `,"` + strings.Repeat("q", 500) + `":1}`, `unknown field "` + strings.Repeat("q", 64) + `..."`},
		{"nested values are skipped", `{"token":"t","x":{"actions":[1,{"}":"]"}],"s":"\"}"},"actions":[{"name":"a","type":"heartbeat"}]}`, `unknown field "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := callbackurls.ParseCreateRequest([]byte(tt.body))
			e := apiError(t, err, callbackurls.CodeInvalidJSON, callbackurls.BadInput)
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestParseExpiration(t *testing.T) {
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := []struct {
		in   string
		want time.Time
	}{
		{"2030-01-02T03:04:05Z", want},
		{"2030-01-02T05:04:05+02:00", want},
		{"2030-01-01T20:04:05-07:00", want},
		{"2030-01-02T03:04:05.123456Z", want.Add(123456 * time.Microsecond)},
		{"2030-01-02T03:04:05.5+00:00", want.Add(500 * time.Millisecond)},
		{"2030-01-02T05:04:05+0200", want},
		{"2030-01-02T03:04:05.25-0000", want.Add(250 * time.Millisecond)},
		{"2030-01-02 03:04:05Z", want},
		{"2030-01-02 05:04:05+02:00", want},
		{"2030-01-02T03:04Z", want.Add(-5 * time.Second)},
	}
	for _, tt := range ok {
		got, err := callbackurls.ParseExpiration(tt.in)
		if err != nil {
			t.Errorf("ParseExpiration(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseExpiration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}

	for _, in := range []string{"2030-01-02T03:04:05", "2030-01-02T03:04:05.123"} {
		_, err := callbackurls.ParseExpiration(in)
		e := apiError(t, err, callbackurls.CodeInvalidDate, callbackurls.BadInput)
		if !strings.Contains(e.Message, "offset") {
			t.Errorf("ParseExpiration(%q): message %q does not mention the offset", in, e.Message)
		}
	}
	for _, in := range []string{"", "tomorrow", "2030-01-02", "2030-13-02T03:04:05Z", "2030-01-02T25:04:05Z",
		"1700000000", "2030-01-02T03:04:05+25:00", "2030-01-02T03:04:05ZZ", "\x00\xff"} {
		_, err := callbackurls.ParseExpiration(in)
		apiError(t, err, callbackurls.CodeInvalidDate, callbackurls.BadInput)
	}
	// RFC 3339's offsets end at 23:59; time.Parse takes up to 24:60.
	for _, in := range []string{"2030-01-02T03:04:05+24:00", "2030-01-02T03:04:05-24:00", "2030-01-02T03:04:05+23:60",
		"2030-01-02T03:04:05+24:59", "2030-01-02T03:04:05.5+24:00", "2030-01-02T03:04:05+2400", "2030-01-02 03:04:05+24:00",
		"2030-01-02T03:04+24:00", "2030-01-02T03:04:05-0060"} {
		_, err := callbackurls.ParseExpiration(in)
		e := apiError(t, err, callbackurls.CodeInvalidDate, callbackurls.BadInput)
		if !strings.Contains(e.Message, "offset") {
			t.Errorf("ParseExpiration(%q): message %q does not mention the offset", in, e.Message)
		}
	}
	for in, wantOffset := range map[string]int{"2030-01-02T03:04:05+23:59": 23*3600 + 59*60, "2030-01-02T03:04:05-23:59": -(23*3600 + 59*60),
		"2030-01-02T03:04:05-0000": 0, "2030-01-02T03:04:05.9+1400": 14 * 3600} {
		got, err := callbackurls.ParseExpiration(in)
		if err != nil {
			t.Errorf("ParseExpiration(%q): %v", in, err)
		} else if _, off := got.Zone(); off != wantOffset {
			t.Errorf("ParseExpiration(%q): offset %d s, want %d (it is kept for the response)", in, off, wantOffset)
		}
	}
}

func FuzzParseCreateRequest(f *testing.F) {
	seeds := []string{
		`{"token":"t","actions":[{"name":"ping","type":"heartbeat"}]}`,
		`{"token":"t","actions":[{"name":"approve","type":"success","output":{"name_in_output":"Ben"},"response":{"redirect":"https://example.com"}},{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"}],"expiration":"2030-01-02T03:04:05Z","enable_output_parameters":true}`,
		`{"token":"t","actions":[{"name":"hook","type":"post","outcomes":[{"name":"ok","type":"success","schema":{},"output_body":true}]}]}`,
		`{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":{"api_id":"abc","stage":"v1","region":"us-east-1"}}`,
		`{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":"https://example.com"}`,
		`{"token":"t","actions":[{"name":"a","type":"heartbeat"}],"base_url":5}`,
		`{"token":"t","actions":[{"name":"a","type":"success","output":null,"response":{"json":[]}}]}`,
		`{"token":"","actions":[]}`,
		`{"token":"t","actions":[{"name":"a","type":"heartbeat"},{"name":"a","type":"heartbeat"}]}`,
		`{"token":"t","actions":[{"name":"a-b","type":"failure","error":1}]}`,
		`[]`, `"x"`, `1`, `null`, `{`, ``, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := callbackurls.ParseCreateRequest(b)
		if err != nil {
			var e *callbackurls.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *callbackurls.Error", err, err)
			}
			if (e.Kind != callbackurls.BadInput && e.Kind != callbackurls.TooLarge) || e.Code == "" || e.Message == "" {
				t.Fatalf("error %+v is not a 4xx with a code and message", e)
			}
			if r != nil {
				t.Fatalf("a request returned with an error")
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed request does not validate: %v", err)
		}
		if r.BaseURL != nil {
			// Resolving never panics and fails only with a 4xx.
			if _, err := r.BaseURL.Resolve("us-east-1"); err != nil {
				apiError(t, err, callbackurls.CodeInvalidBaseURL, callbackurls.BadInput)
			}
		}
		if r.Expiration != "" {
			if _, err := callbackurls.ParseExpiration(r.Expiration); err != nil {
				apiError(t, err, callbackurls.CodeInvalidDate, callbackurls.BadInput)
			}
		}
	})
}
