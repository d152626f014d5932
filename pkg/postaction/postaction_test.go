package postaction

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func code(err error) string {
	var e *callbackurls.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func mustCompile(t testing.TB, e *Evaluator, outcomes string) json.RawMessage {
	t.Helper()
	stored, err := e.Compile(json.RawMessage(outcomes))
	if err != nil {
		t.Fatalf("Compile(%s): %v", outcomes, err)
	}
	return stored
}

func strp(s string) *string { return &s }

// webhook is a typical two-outcome action.
const webhook = `[
  {"name": "done", "type": "success",
   "schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "done"}}},
   "output_path": "$.result"},
  {"name": "failed", "type": "failure",
   "schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "failed"}}},
   "error_path": "$.code", "cause_path": "$.messages[*]"}
]`

func TestSelect(t *testing.T) {
	tests := []struct {
		name     string
		outcomes string
		body     string
		want     *callbackurls.PostOutcome
		wantCode string
	}{
		{
			name:     "output literal",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": {"approved": true, "n": [1, 2.50]}}]`,
			body:     `{}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`{"approved":true,"n":[1,2.50]}`)},
		},
		{
			name:     "output null literal",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": null}]`,
			body:     `1`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`null`)},
		},
		{
			name:     "output_body compacts and keeps the text",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_body": true}]`,
			body:     "{ \"a\" : 1.0e3,\n \"html\": \"<b>&</b>\", \"é\": \"\\u00e9\" }",
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`{"a":1.0e3,"html":"<b>&</b>","é":"\u00e9"}`)},
		},
		{
			name:     "output_path: every match, in an array",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$.items[*].id"}]`,
			body:     `{"items": [{"id": 1}, {"id": "two"}, {"x": 3}, {"id": 12345678901234567890}]}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`[1,"two",12345678901234567890]`)},
		},
		{
			name:     "output_path: one match is still an array",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$.result"}]`,
			body:     `{"result": {"b": "<x>", "a": 1}}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`[{"a":1,"b":"<x>"}]`)},
		},
		{
			name:     "output_path: no match is an empty array",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$.missing"}]`,
			body:     `{"result": 1}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`[]`)},
		},
		{
			name:     "output_path: root of a null body",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$"}]`,
			body:     `null`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`[null]`)},
		},
		{
			name:     "output_path: filter and descendants (RFC 9535)",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$..book[?@.price < 10 && match(@.cat, 'fic.*')].title"}]`,
			body:     `{"store": {"book": [{"title": "A", "price": 8, "cat": "fiction"}, {"title": "B", "price": 12, "cat": "fiction"}, {"title": "C", "price": 5, "cat": "ref"}]}}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`["A"]`)},
		},
		{
			name:     "failure literals",
			outcomes: `[{"name": "no", "type": "failure", "schema": true, "error": "Rejected", "cause": "said no"}]`,
			body:     `{}`,
			want:     &callbackurls.PostOutcome{Name: "no", Type: callbackurls.Failure, Error: "Rejected", Cause: "said no"},
		},
		{
			name:     "failure with neither error nor cause",
			outcomes: `[{"name": "no", "type": "failure", "schema": true}]`,
			body:     `{}`,
			want:     &callbackurls.PostOutcome{Name: "no", Type: callbackurls.Failure},
		},
		{
			name:     "error_path single string match is the string",
			outcomes: webhook,
			body:     `{"status": "failed", "code": "E42", "messages": ["disk full"]}`,
			want:     &callbackurls.PostOutcome{Name: "failed", Type: callbackurls.Failure, Error: "E42", Cause: "disk full"},
		},
		{
			name:     "paths: several matches or a non-string are JSON text",
			outcomes: webhook,
			body:     `{"status": "failed", "code": 42, "messages": ["a", "b\u00e9"]}`,
			want:     &callbackurls.PostOutcome{Name: "failed", Type: callbackurls.Failure, Error: "[42]", Cause: `["a","bé"]`},
		},
		{
			name:     "paths: no match sends nothing",
			outcomes: webhook,
			body:     `{"status": "failed"}`,
			want:     &callbackurls.PostOutcome{Name: "failed", Type: callbackurls.Failure},
		},
		{
			name:     "error literal with cause_path",
			outcomes: `[{"name": "no", "type": "failure", "schema": true, "error": "Hook", "cause_path": "$.why"}]`,
			body:     `{"why": {"k": "v"}}`,
			want:     &callbackurls.PostOutcome{Name: "no", Type: callbackurls.Failure, Error: "Hook", Cause: `[{"k":"v"}]`},
		},
		{
			name:     "heartbeat",
			outcomes: `[{"name": "beat", "type": "heartbeat", "schema": {"required": ["progress"]}}, {"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     `{"progress": 50}`,
			want:     &callbackurls.PostOutcome{Name: "beat", Type: callbackurls.Heartbeat},
		},
		{
			name:     "first match wins",
			outcomes: `[{"name": "first", "type": "success", "schema": {"type": "object"}, "output": 1}, {"name": "second", "type": "success", "schema": true, "output": 2}]`,
			body:     `{"a": 1}`,
			want:     &callbackurls.PostOutcome{Name: "first", Type: callbackurls.Success, Output: json.RawMessage(`1`)},
		},
		{
			name:     "later outcome when earlier ones refuse",
			outcomes: `[{"name": "first", "type": "success", "schema": {"type": "object"}, "output": 1}, {"name": "second", "type": "success", "schema": true, "output": 2}]`,
			body:     `[1]`,
			want:     &callbackurls.PostOutcome{Name: "second", Type: callbackurls.Success, Output: json.RawMessage(`2`)},
		},
		{
			name:     "response spec",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1, "response": {"redirect": "https://example.com/thanks?a=1&b=<2>"}}]`,
			body:     `{}`,
			want: &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`1`),
				Response: &callbackurls.ResponseSpec{Redirect: "https://example.com/thanks?a=1&b=<2>"}},
		},
		{
			name:     "response bodies",
			outcomes: `[{"name": "ok", "type": "heartbeat", "schema": true, "response": {"json": {"ok": true}, "text": "fine", "html": "<p>fine</p>"}}]`,
			body:     `{}`,
			want: &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Heartbeat,
				Response: &callbackurls.ResponseSpec{JSON: json.RawMessage(`{"ok":true}`), Text: strp("fine"), HTML: strp("<p>fine</p>")}},
		},
		{
			name:     "empty response spec is none",
			outcomes: `[{"name": "ok", "type": "heartbeat", "schema": true, "response": {}}]`,
			body:     `{}`,
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Heartbeat},
		},
		{
			name:     "false schema never matches",
			outcomes: `[{"name": "never", "type": "success", "schema": false, "output": 1}]`,
			body:     `{}`,
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "no match",
			outcomes: webhook,
			body:     `{"status": "pending"}`,
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "too deep",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     strings.Repeat("[", MaxBodyDepth+1) + strings.Repeat("]", MaxBodyDepth+1),
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "deep but allowed",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     `["[[[[",` + strings.Repeat("[", MaxBodyDepth-1) + strings.Repeat("]", MaxBodyDepth),
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`1`)},
		},
		{
			name:     "trailing data",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     `{} {}`,
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "too many values",
			outcomes: `[{"name": "ok", "type": "success", "schema": {"type": "array"}, "output_body": true}]`,
			body:     "[" + strings.Repeat("0,", MaxBodyValues) + "0]",
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "as many values as allowed",
			outcomes: `[{"name": "ok", "type": "success", "schema": {"type": "array", "items": {"type": "integer"}}, "output_path": "$[0]"}]`,
			body:     "[" + strings.Repeat("0,", MaxBodyValues-2) + "0]",
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage("[0]")},
		},
		{
			name:     "a number with too many digits",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     "[" + strings.Repeat("1", MaxNumberDigits+1) + "]",
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "a number with too large an exponent",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output": 1}]`,
			body:     fmt.Sprintf(`{"a": 1E-%d}`, MaxNumberExponent+1),
			wantCode: callbackurls.CodeInvalidPostActionBody,
		},
		{
			name:     "the largest number allowed",
			outcomes: `[{"name": "ok", "type": "success", "schema": {"items": {"maximum": 0, "multipleOf": 0.5}}, "output": 1}]`,
			body:     fmt.Sprintf(`[-%s.%se+%d]`, strings.Repeat("9", MaxNumberDigits/2), strings.Repeat("9", MaxNumberDigits/2), MaxNumberExponent),
			want:     &callbackurls.PostOutcome{Name: "ok", Type: callbackurls.Success, Output: json.RawMessage(`1`)},
		},
		{
			name:     "output larger than Step Functions takes",
			outcomes: `[{"name": "ok", "type": "success", "schema": true, "output_path": "$..*"}]`,
			body:     strings.Repeat(`{"a":`, 60) + `"` + strings.Repeat("x", 20000) + `"` + strings.Repeat("}", 60),
			wantCode: callbackurls.CodeOutputFormatting,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			stored := mustCompile(t, e, tt.outcomes)
			got, err := e.Select(stored, []byte(tt.body))
			if c := code(err); c != tt.wantCode {
				t.Fatalf("Select error = %v, want code %q", err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	ok := `"schema": true, "output": 1`
	tests := []struct {
		name     string
		outcomes string
		wantCode string
		wantMsg  string // a substring of the message
	}{
		{"not a list", `{"name": "a"}`, callbackurls.CodeInvalidPostActionOutcome, "must be a list"},
		{"not JSON", `[`, callbackurls.CodeInvalidPostActionOutcome, "must be a list"},
		{"empty", `[]`, callbackurls.CodeInvalidPostActionOutcome, "at least one"},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{"name": "a", "type": "heartbeat", "schema": true},`, MaxOutcomes+1), ",") + "]",
			callbackurls.CodeInvalidPostActionOutcome, "33 outcomes"},
		{"too large", `[{"name": "a", "type": "success", "schema": true, "output": "` + strings.Repeat("x", MaxOutcomesBytes) + `"}]`,
			callbackurls.CodeInvalidPostActionOutcome, "bytes"},
		{"outcome not an object", `["a"]`, callbackurls.CodeInvalidPostActionOutcome, "outcomes[0]: each outcome must be an object"},
		{"name missing", `[{"type": "success", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "name is required"},
		{"name not a string", `[{"name": 1, "type": "success", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "name must be a string"},
		{"name with a space", `[{"name": "a b", "type": "success", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "letters, digits or underscores"},
		{"Name is not name", `[{"Name": "a", "type": "success", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "name is required"},
		{"duplicate names", `[{"name": "a", "type": "success", ` + ok + `}, {"name": "a", "type": "heartbeat", "schema": true}]`,
			callbackurls.CodeInvalidPostActionOutcome, "outcomes[1] (a): the name is used by an earlier outcome"},
		{"type missing", `[{"name": "a", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "outcomes[0] (a): type is required"},
		{"type post", `[{"name": "a", "type": "post", ` + ok + `}]`, callbackurls.CodeInvalidPostActionOutcome, "success, failure or heartbeat"},
		{"schema missing", `[{"name": "a", "type": "success", "output": 1}]`, callbackurls.CodeInvalidPostActionOutcome, "schema is required"},
		{"schema a string", `[{"name": "a", "type": "success", "schema": "object", "output": 1}]`, callbackurls.CodeInvalidPostActionOutcome, "an object, true or false"},
		{"schema null", `[{"name": "a", "type": "success", "schema": null, "output": 1}]`, callbackurls.CodeInvalidPostActionOutcome, "an object, true or false"},
		{"schema invalid against draft-07", `[{"name": "a", "type": "success", "schema": {"type": "thing"}, "output": 1}]`,
			callbackurls.CodeInvalidPostActionOutcome, "not valid against metaschema"},
		{"schema with a bad regex", `[{"name": "a", "type": "success", "schema": {"pattern": "(?=lookahead)"}, "output": 1}]`,
			callbackurls.CodeInvalidPostActionOutcome, "not valid regex"},
		{"schema too large", `[{"name": "a", "type": "success", "schema": {"enum": ["` + strings.Repeat("x", MaxSchemaBytes) + `"]}, "output": 1}]`,
			callbackurls.CodeInvalidPostActionOutcome, "schema is"},
		{"schema with an unknown draft", `[{"name": "a", "type": "success", "schema": {"$schema": "https://json-schema.org/draft/2099-01/schema"}, "output": 1}]`,
			callbackurls.CodeInvalidPostActionOutcome, "schema:"},
		{"schema with a dangling pointer", `[{"name": "a", "type": "success", "schema": {"$ref": "#/definitions/nope"}, "output": 1}]`,
			callbackurls.CodeInvalidPostActionOutcome, "schema:"},
		{"success without output", `[{"name": "a", "type": "success", "schema": true}]`, callbackurls.CodeInvalidPostActionOutcome, "exactly one of"},
		{"success with output_body false", `[{"name": "a", "type": "success", "schema": true, "output_body": false}]`, callbackurls.CodeInvalidPostActionOutcome, "exactly one of"},
		{"success with two outputs", `[{"name": "a", "type": "success", "schema": true, "output": 1, "output_path": "$"}]`, callbackurls.CodeInvalidPostActionOutcome, "exactly one of"},
		{"success with output and output_body", `[{"name": "a", "type": "success", "schema": true, "output": 1, "output_body": true}]`, callbackurls.CodeInvalidPostActionOutcome, "exactly one of"},
		{"output_body not a boolean", `[{"name": "a", "type": "success", "schema": true, "output_body": "yes"}]`, callbackurls.CodeInvalidPostActionOutcome, "output_body must be true or false"},
		{"error and error_path", `[{"name": "a", "type": "failure", "schema": true, "error": "E", "error_path": "$.e"}]`, callbackurls.CodeInvalidPostActionOutcome, "mutually exclusive"},
		{"cause and cause_path", `[{"name": "a", "type": "failure", "schema": true, "cause": "C", "cause_path": "$.c"}]`, callbackurls.CodeInvalidPostActionOutcome, "mutually exclusive"},
		{"error not a string", `[{"name": "a", "type": "failure", "schema": true, "error": 5}]`, callbackurls.CodeInvalidPostActionOutcome, "error must be a string"},
		{"error too long", `[{"name": "a", "type": "failure", "schema": true, "error": "` + strings.Repeat("é", 257) + `"}]`, callbackurls.CodeInvalidPostActionOutcome, "256 characters"},
		{"response redirect not absolute", `[{"name": "a", "type": "success", ` + ok + `, "response": {"redirect": "/thanks"}}]`, callbackurls.CodeInvalidPostActionOutcome, "outcomes[0] (a): response.redirect must be an absolute http or https URL"},
		{"response json not an object", `[{"name": "a", "type": "success", ` + ok + `, "response": {"json": [1]}}]`, callbackurls.CodeInvalidPostActionOutcome, "response.json must be an object"},
		{"response not an object", `[{"name": "a", "type": "success", ` + ok + `, "response": "x"}]`, callbackurls.CodeInvalidPostActionOutcome, "response must be an object"},
		{"output_path without $", `[{"name": "a", "type": "success", "schema": true, "output_path": "foo.bar"}]`, callbackurls.CodeInvalidJSONPath, `output_path "foo.bar" is not an RFC 9535 JSONPath expression`},
		{"output_path empty", `[{"name": "a", "type": "success", "schema": true, "output_path": ""}]`, callbackurls.CodeInvalidJSONPath, "output_path"},
		{"output_path not a string", `[{"name": "a", "type": "success", "schema": true, "output_path": ["$"]}]`, callbackurls.CodeInvalidPostActionOutcome, "output_path must be a string"},
		{"error_path unclosed", `[{"name": "a", "type": "failure", "schema": true, "error_path": "$.a["}]`, callbackurls.CodeInvalidJSONPath, `outcomes[0] (a): error_path "$.a["`},
		{"cause_path bad filter", `[{"name": "a", "type": "failure", "schema": true, "cause_path": "$[?@.a = 1]"}]`, callbackurls.CodeInvalidJSONPath, "cause_path"},
		{"unknown function", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?shell(@)]"}]`, callbackurls.CodeInvalidJSONPath, "output_path"},
		{"jsonpath_rw extension", `[{"name": "a", "type": "success", "schema": true, "output_path": "$.a.` + "`this`" + `"}]`, callbackurls.CodeInvalidJSONPath, "output_path"},
		{"too many descendants", `[{"name": "a", "type": "success", "schema": true, "output_path": "$..a..b..c"}]`, callbackurls.CodeInvalidJSONPath, "3 descendant segments"},
		{"path too long", `[{"name": "a", "type": "success", "schema": true, "output_path": "$` + strings.Repeat(".a", MaxPathLength) + `"}]`, callbackurls.CodeInvalidJSONPath, "longer than"},

		// The bounds on the work of a callback (issue 20).
		{"pattern repeated 1000 times", `[{"name": "a", "type": "heartbeat", "schema": {"items": {"pattern": "\\p{L}{1000}"}}}]`,
			callbackurls.CodeInvalidPostActionOutcome, `schema: at /items/pattern: the regular expression "\\p{L}{1000}" repeats 1000 times, more than the 100 allowed`},
		{"pattern too large", `[{"name": "a", "type": "heartbeat", "schema": {"pattern": "(?:\\p{L}{100}){6}"}}]`,
			callbackurls.CodeInvalidPostActionOutcome, "compiles to 6"},
		{"pattern too long", `[{"name": "a", "type": "heartbeat", "schema": {"pattern": "` + strings.Repeat("a", MaxPatternLength+1) + `"}}]`,
			callbackurls.CodeInvalidPostActionOutcome, "the regular expression is 1025 bytes"},
		{"patternProperties key repeated", `[{"name": "a", "type": "heartbeat", "schema": {"patternProperties": {"x{101}": true}}}]`,
			callbackurls.CodeInvalidPostActionOutcome, "repeats 101 times"},
		{"patterns too large in all", `[{"name": "a", "type": "heartbeat", "schema": {"properties": {` + strings.Join(func() []string {
			var p []string
			for i := range 12 {
				p = append(p, fmt.Sprintf(`"p%d": {"pattern": "(?:\\p{L}{100}){4}%d"}`, i, i))
			}
			return p
		}(), ",") + `}}}]`, callbackurls.CodeInvalidPostActionOutcome, "more than the 4000 allowed in all"},
		{"schema nested too deep", `[{"name": "a", "type": "heartbeat", "schema": ` + strings.Repeat(`{"not":`, MaxSchemaDepth+1) + `true` + strings.Repeat(`}`, MaxSchemaDepth+1) + `}]`,
			callbackurls.CodeInvalidPostActionOutcome, "nested 33 levels deep, more than the 32 allowed"},
		{"schema with too many references", `[{"name": "a", "type": "heartbeat", "schema": {"$defs": {"x": true}, "allOf": [` +
			strings.TrimSuffix(strings.Repeat(`{"$ref": "#/$defs/x"},`, MaxSchemaRefs+1), ",") + `]}}]`,
			callbackurls.CodeInvalidPostActionOutcome, "65 references"},
		{"reserved keyword", `[{"name": "a", "type": "heartbeat", "schema": {"properties": {"a": {"\u0000sfncb:enum": [1]}}}}]`,
			callbackurls.CodeInvalidPostActionOutcome, "reserved"},
		{"match with a pattern from the body", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?match(@.a, @.b)]"}]`,
			callbackurls.CodeInvalidJSONPath, "not a string literal"},
		{"match repeated 1000 times", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?match(@, 'a{1000}')]"}]`,
			callbackurls.CodeInvalidJSONPath, "match(): the regular expression"},
		{"search too large", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?search(@, '(?:a{100}){6}')]"}]`,
			callbackurls.CodeInvalidJSONPath, "search(): the regular expression"},
		{"root wildcard in a filter", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?count($.*) > 1]"}]`,
			callbackurls.CodeInvalidJSONPath, "$ may only name one node"},
		{"descendants in a filter", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?@..a]"}]`,
			callbackurls.CodeInvalidJSONPath, "inside a filter"},
		{"filters three deep", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?@[?@[?@.a]]]"}]`,
			callbackurls.CodeInvalidJSONPath, "nested 3 deep"},
		{"too many functions", `[{"name": "a", "type": "success", "schema": true, "output_path": "$[?` + strings.TrimSuffix(strings.Repeat("length(@) > 1 && ", MaxPathFunctions+1), " && ") + `]"}]`,
			callbackurls.CodeInvalidJSONPath, "calls 9 functions"},
		{"descendants of descendants", `[{"name": "a", "type": "success", "schema": true, "output_path": "$..a..b"}]`,
			callbackurls.CodeInvalidJSONPath, "may take about"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Compile(json.RawMessage(tt.outcomes))
			if c := code(err); c != tt.wantCode {
				t.Fatalf("Compile error = %v, want code %q", err, tt.wantCode)
			}
			var e *callbackurls.Error
			errors.As(err, &e)
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			if e.Kind != callbackurls.BadInput {
				t.Errorf("kind = %s, want %s", e.Kind, callbackurls.BadInput)
			}
		})
	}
}

// TestRefsNotLoaded: a schema never makes the service fetch a URL or read a
// file, whatever keyword names it.
func TestRefsNotLoaded(t *testing.T) {
	for _, schema := range []string{
		`{"$ref": "https://example.com/schema.json"}`,
		`{"$ref": "http://169.254.169.254/latest/meta-data/"}`,
		`{"$ref": "file:///etc/passwd"}`,
		`{"$ref": "/etc/passwd"}`,
		`{"$ref": "other.json"}`,
		`{"$ref": "urn:example:schema"}`,
		`{"properties": {"a": {"$ref": "https://example.com/a.json#/definitions/x"}}}`,
		`{"$schema": "https://example.com/my-meta-schema"}`,
		`{"$schema": "file:///etc/passwd"}`,
		`{"$id": "https://example.com/root.json", "$ref": "sibling.json"}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$dynamicRef": "https://example.com/x#meta"}`,
		`{"$schema": "https://json-schema.org/draft/2019-09/schema", "$recursiveRef": "https://example.com/x"}`,
	} {
		t.Run(schema, func(t *testing.T) {
			_, err := New().Compile(json.RawMessage(`[{"name": "a", "type": "heartbeat", "schema": ` + schema + `}]`))
			if code(err) != callbackurls.CodeInvalidPostActionOutcome {
				t.Fatalf("Compile = %v, want InvalidPostActionOutcome", err)
			}
		})
	}
	// What is inside the schema, and the standard meta-schemas, resolve.
	for _, schema := range []string{
		`{"$ref": "#/definitions/a", "definitions": {"a": {"type": "object"}}}`,
		`{"$id": "https://example.com/root.json", "properties": {"x": {"$ref": "https://example.com/root.json#/definitions/a"}}, "definitions": {"a": {"type": "object"}}}`,
		`{"$id": "https://example.com/root.json", "properties": {"x": {"$ref": "item.json"}}, "definitions": {"i": {"$id": "item.json", "type": "string"}}}`,
		`{"$ref": "http://json-schema.org/draft-07/schema#"}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/$defs/a", "$defs": {"a": {"type": "object"}}}`,
	} {
		t.Run(schema, func(t *testing.T) {
			if _, err := New().Compile(json.RawMessage(`[{"name": "a", "type": "heartbeat", "schema": ` + schema + `}]`)); err != nil {
				t.Fatalf("Compile = %v", err)
			}
		})
	}
}

// TestDrafts: $schema picks the draft; without it the draft is draft-07.
// Each case uses a keyword whose meaning differs between drafts.
func TestDrafts(t *testing.T) {
	const (
		d4   = `"$schema": "http://json-schema.org/draft-04/schema#", `
		d6   = `"$schema": "http://json-schema.org/draft-06/schema#", `
		d7   = `"$schema": "http://json-schema.org/draft-07/schema#", `
		d201 = `"$schema": "https://json-schema.org/draft/2019-09/schema", `
		d202 = `"$schema": "https://json-schema.org/draft/2020-12/schema", `
	)
	boolExclusive := `"minimum": 5, "exclusiveMinimum": true}`
	numExclusive := `"exclusiveMinimum": 5}`
	refSibling := `"$ref": "#/definitions/any", "definitions": {"any": {}}, "type": "string"}`
	tupleItems := `"items": [{"type": "string"}], "additionalItems": false}`
	prefixItems := `"prefixItems": [{"type": "string"}]}`
	ifThen := `"if": {"required": ["a"]}, "then": {"required": ["b"]}}`
	tests := []struct {
		name    string
		schema  string
		compile bool            // the schema is valid under its draft
		bodies  map[string]bool // body -> matches
	}{
		{"draft-04 boolean exclusiveMinimum", "{" + d4 + boolExclusive, true, map[string]bool{"5": false, "6": true}},
		{"draft-06 rejects boolean exclusiveMinimum", "{" + d6 + boolExclusive, false, nil},
		{"draft-07 rejects boolean exclusiveMinimum", "{" + d7 + boolExclusive, false, nil},
		{"default rejects boolean exclusiveMinimum (not draft-04)", "{" + boolExclusive, false, nil},
		{"draft-06 numeric exclusiveMinimum", "{" + d6 + numExclusive, true, map[string]bool{"5": false, "6": true}},
		{"default numeric exclusiveMinimum", "{" + numExclusive, true, map[string]bool{"5": false, "5.5": true}},
		{"draft-04 ignores numeric exclusiveMinimum? no: invalid", "{" + d4 + numExclusive, false, nil},
		{"draft-07 ignores $ref siblings", "{" + d7 + refSibling, true, map[string]bool{"5": true, `"s"`: true}},
		{"default ignores $ref siblings (not 2019-09+)", "{" + refSibling, true, map[string]bool{"5": true, `"s"`: true}},
		{"2019-09 applies $ref siblings", "{" + d201 + refSibling, true, map[string]bool{"5": false, `"s"`: true}},
		{"2020-12 applies $ref siblings", "{" + d202 + refSibling, true, map[string]bool{"5": false, `"s"`: true}},
		{"default tuple items (not 2020-12)", "{" + tupleItems, true, map[string]bool{`["a"]`: true, `["a", 1]`: false, `[1]`: false}},
		{"2020-12 rejects array items", "{" + d202 + tupleItems, false, nil},
		{"2020-12 prefixItems", "{" + d202 + prefixItems, true, map[string]bool{`["a", 1]`: true, `[1]`: false}},
		{"default ignores prefixItems (draft-07)", "{" + prefixItems, true, map[string]bool{`[1]`: true}},
		{"default if/then (draft-07, not 6)", "{" + ifThen, true, map[string]bool{`{"a": 1}`: false, `{"a": 1, "b": 2}`: true, `{}`: true}},
		{"draft-06 ignores if/then", "{" + d6 + ifThen, true, map[string]bool{`{"a": 1}`: true}},
		{"draft-07 asserts format", `{"format": "email"}`, true, map[string]bool{`"a@example.com"`: true, `"nope"`: false, `5`: true}},
		{"2020-12 format is an annotation", "{" + d202 + `"format": "email"}`, true, map[string]bool{`"nope"`: true}},
		{"unknown format is ignored", `{"format": "x-custom"}`, true, map[string]bool{`"anything"`: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			stored, err := e.Compile(json.RawMessage(`[{"name": "m", "type": "heartbeat", "schema": ` + tt.schema + `}]`))
			if (err == nil) != tt.compile {
				t.Fatalf("Compile error = %v, want valid %t", err, tt.compile)
			}
			for body, match := range tt.bodies {
				_, err := e.Select(stored, []byte(body))
				if got := err == nil; got != match {
					t.Errorf("body %s: matched %t (%v), want %t", body, got, err, match)
				}
			}
		})
	}
}

func TestStoredForm(t *testing.T) {
	in := `[
	  {"name": "ok", "type": "success", "schema": {"type": "object"}, "output": {"x": "<&>"},
	   "error": "ignored", "cause_path": "$.ignored", "extra": 1, "response": {}},
	  {"name": "no", "type": "failure", "schema": true, "error": "E", "cause_path": "$.c", "output": 5,
	   "response": {"redirect": "https://example.com/?a=1&b=2"}},
	  {"name": "body", "type": "success", "schema": false, "output_body": true, "output": null, "output_path": null},
	  {"name": "hb", "type": "heartbeat", "schema": true, "output_path": "not even checked"}
	]`
	_, err := New().Compile(json.RawMessage(in))
	if code(err) != callbackurls.CodeInvalidPostActionOutcome {
		// output: null is an output, so "body" has two.
		t.Fatalf("Compile = %v, want InvalidPostActionOutcome", err)
	}
	in = strings.Replace(in, `, "output": null, "output_path": null`, `, "output_path": null`, 1)
	e := New()
	stored := mustCompile(t, e, in)
	want := `[{"name":"ok","type":"success","schema":{"type":"object"},"output":{"x":"<&>"}},` +
		`{"name":"no","type":"failure","schema":true,"error":"E","cause_path":"$.c","response":{"redirect":"https://example.com/?a=1&b=2"}},` +
		`{"name":"body","type":"success","schema":false,"output_body":true},` +
		`{"name":"hb","type":"heartbeat","schema":true}]`
	if diff := cmp.Diff(want, string(stored)); diff != "" {
		t.Errorf("stored form (-want +got):\n%s", diff)
	}
	// The stored form compiles to itself.
	again := mustCompile(t, New(), string(stored))
	if diff := cmp.Diff(string(stored), string(again)); diff != "" {
		t.Errorf("stored form is not a fixed point (-first +second):\n%s", diff)
	}
}

func TestCache(t *testing.T) {
	creator, responder := New(), New()
	stored := mustCompile(t, creator, webhook)
	if n := creator.cache.len(); n != 1 {
		t.Errorf("creator cache has %d lists, want 1", n)
	}
	// Another process (the callback Lambda) compiles on first use only.
	body := []byte(`{"status": "done", "result": 1}`)
	for range 3 {
		if _, err := responder.Select(stored, body); err != nil {
			t.Fatal(err)
		}
	}
	if n := responder.cache.len(); n != 1 {
		t.Errorf("responder cache has %d lists, want 1", n)
	}
	if allocs := testing.AllocsPerRun(20, func() { _, _ = responder.Select(stored, body) }); allocs > 200 {
		t.Errorf("a warm Select allocates %v times: is it compiling?", allocs)
	}

	// Bounded: the oldest list goes first.
	for i := range CacheSize + 10 {
		mustCompile(t, creator, fmt.Sprintf(`[{"name": "n%d", "type": "heartbeat", "schema": true}]`, i))
	}
	if n := creator.cache.len(); n != CacheSize {
		t.Errorf("cache has %d lists, want %d", n, CacheSize)
	}
	if _, ok := creator.cache.get(sha(stored)); ok {
		t.Error("the oldest list is still cached")
	}
	if _, err := creator.Select(stored, body); err != nil {
		t.Errorf("an evicted list does not compile again: %v", err)
	}
}

func TestSelectDamagedStoredForm(t *testing.T) {
	_, err := New().Select(json.RawMessage(`[{"name": "a", "type": "success", "schema": {"type": "thing"}, "output": 1}]`), []byte(`{}`))
	if code(err) != callbackurls.CodeInvalidPayload {
		t.Fatalf("Select = %v, want InvalidPayload", err)
	}
}

func TestDescendants(t *testing.T) {
	tests := map[string]int{
		`$`:                  0,
		`$..a`:               1,
		`$..a..b`:            2,
		`$['..']`:            0,
		`$["a..b"]..c`:       1,
		`$['it\'s..']..x`:    1,
		`$[?@..a]..b`:        2,
		`$[?@.a == '..']`:    0,
		`$..[?@..a == ".."]`: 2,
	}
	for expr, want := range tests {
		if strings.Contains(expr, "?@..") {
			if _, err := analyzePath(expr); err == nil {
				t.Errorf("analyzePath(%s) accepted a descendant segment in a filter", expr)
			}
			continue
		}
		if a := pathCost(expr, 10, 2); a.err != nil || a.descendants != want {
			t.Errorf("pathCost(%s): %d descendants, %v; want %d", expr, a.descendants, a.err, want)
		}
	}
}

func TestShape(t *testing.T) {
	tests := []struct {
		body          string
		depth, values int
	}{
		{`1`, 0, 1},
		{`[]`, 1, 2},
		{`[1, 2, 3]`, 1, 4},
		{`{"a": [1, {"b": 2}]}`, 3, 5},
		{`"[[[[,,"`, 0, 1},
		{`["\"[[,", [[]]]`, 3, 5},
		{`{"\\": [[]]}`, 3, 4},
	}
	for _, tt := range tests {
		d, v, _, _ := shape([]byte(tt.body))
		if d != tt.depth || v != tt.values {
			t.Errorf("shape(%s) = %d, %d, want %d, %d", tt.body, d, v, tt.depth, tt.values)
		}
	}
}
