package postaction

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

// fuzzOutcomes exercises every outcome and path kind.
const fuzzOutcomes = `[
  {"name": "done", "type": "success", "schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "done"}}}, "output_path": "$.result..*"},
  {"name": "body", "type": "success", "schema": {"type": "object", "required": ["echo"]}, "output_body": true},
  {"name": "failed", "type": "failure", "schema": {"type": "object", "required": ["code"]}, "error_path": "$.code", "cause_path": "$..[?@.msg && length(@.msg) > 0].msg"},
  {"name": "beat", "type": "heartbeat", "schema": {"type": "array", "items": {"type": "number"}, "minItems": 1}},
  {"name": "str", "type": "success", "schema": {"type": "string", "pattern": "^ok"}, "output": {"ok": true}}
]`

// FuzzSelect: any body is either matched by an outcome or refused with a
// 4xx; nothing panics, and a match's output is valid JSON.
func FuzzSelect(f *testing.F) {
	for _, s := range []string{
		`{"status": "done", "result": {"a": [1, 2]}}`, `{"echo": "<>"}`, `{"code": 5, "x": {"msg": "m"}}`,
		`[1, 2.5e3]`, `"ok then"`, `null`, `{}`, `[]`, `"no"`, `{"status": "done"}`, `[[[[[[]]]]]]`,
		`{"code": "E", "msg": ["a"], "y": [{"msg": "b"}]}`, "\"\\ud800\"", `1e999`, `{"a":1,"a":2}`,
		`{"status": "done", "result": ` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}`,
	} {
		f.Add([]byte(s))
	}
	e := New()
	stored, err := e.Compile(json.RawMessage(fuzzOutcomes))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > callbackurls.MaxPostBodyBytes || !json.Valid(body) {
			return // the core refuses these before Select
		}
		got, err := e.Select(stored, body)
		if err != nil {
			switch c := code(err); c {
			case callbackurls.CodeInvalidPostActionBody, callbackurls.CodeOutputFormatting:
			default:
				t.Fatalf("Select(%q) = %v: want a match or InvalidPostActionBody", body, err)
			}
			return
		}
		switch got.Type {
		case callbackurls.Success:
			if !json.Valid(got.Output) {
				t.Fatalf("Select(%q) output %q is not JSON", body, got.Output)
			}
		case callbackurls.Failure, callbackurls.Heartbeat:
		default:
			t.Fatalf("Select(%q) type %q", body, got.Type)
		}
	})
}

// FuzzCompile: any outcome list compiles or is refused with one of the two
// creation codes; what compiles is a fixed point that Select can use.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		fuzzOutcomes, webhook, `[]`, `{}`, `[{"name": "a"}]`,
		`[{"name": "a", "type": "success", "schema": {"$ref": "#"}, "output": 1}]`,
		`[{"name": "a", "type": "success", "schema": {"$ref": "https://example.com"}, "output": 1}]`,
		`[{"name": "a", "type": "failure", "schema": {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 1, "exclusiveMinimum": true}, "error_path": "$[?match(@, 'a.*')]"}]`,
		`[{"name": "a", "type": "success", "schema": true, "output_path": "$..['a', 0, 1:3, *]"}]`,
	} {
		f.Add(s, []byte(`{"status": "done"}`))
	}
	f.Fuzz(func(t *testing.T, outcomes string, body []byte) {
		e := New()
		stored, err := e.Compile(json.RawMessage(outcomes))
		if err != nil {
			switch c := code(err); c {
			case callbackurls.CodeInvalidPostActionOutcome, callbackurls.CodeInvalidJSONPath:
			default:
				t.Fatalf("Compile(%q) = %v", outcomes, err)
			}
			return
		}
		again, err := New().Compile(stored)
		if err != nil || string(again) != string(stored) {
			t.Fatalf("stored form %s compiles to %s, %v", stored, again, err)
		}
		if len(body) <= callbackurls.MaxPostBodyBytes && json.Valid(body) {
			_, _ = e.Select(stored, body)
		}
	})
}

func BenchmarkSelect(b *testing.B) {
	e := New()
	stored := mustCompile(b, e, webhook)
	bodies := map[string][]byte{
		"first":  []byte(`{"status": "done", "result": {"id": "r-123", "items": [1, 2, 3]}}`),
		"second": []byte(`{"status": "failed", "code": "E42", "messages": ["disk full", "retry later"]}`),
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Select(stored, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New().Compile(json.RawMessage(webhook)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPathAnalysis: the cost analysis reads every expression the library
// parses (it may refuse one as too costly, never fail to read it), and the
// expression it rewrites for match() and search() means the same: both
// select the same nodes from a body.
func FuzzPathAnalysis(f *testing.F) {
	for _, s := range []string{
		`$`, `$.a`, `$..a`, `$['a', 0, 1:3, *]`, `$[?@.a == 1 && !(@.b < 2) || $.c]`, `$[?match(@.name, 'a.c')]`,
		`$..[?search(@, "x|y") && count(@.*) > 1]`, `$[?length(@) >= 2]`, `$.a[-1:0:-1]`, `$ [ ? @ . a ]`,
		`$[?value(@..x) == 'a']`, `$["\u00e9"]`, `$.é`, `$[?@[?@.a]]`, `$[?match(@, '.')]`, `$[?!match(@, 'a|b')]`,
	} {
		f.Add(s, []byte(`[{"a": 1, "name": "abc", "b": [1, 2]}, "x", "a\nb", "ab", "xb", {"a": {"x": "a"}}]`))
	}
	f.Fuzz(func(t *testing.T, expr string, body []byte) {
		want, err := pathParser.Parse(expr)
		if err != nil || len(expr) > MaxPathLength {
			return
		}
		a := pathCost(expr, MaxPathValues, MaxBodyDepth)
		if a.err != nil && strings.Contains(a.err.Error(), "cannot read") {
			t.Fatalf("pathCost(%q): %v", expr, a.err)
		}
		if a.err != nil || a.descendants > MaxDescendants || a.functions > MaxPathFunctions || a.work > MaxPathWork {
			return
		}
		got, err := compilePath(0, "a", "output_path", expr, new(meter))
		if err != nil {
			if code(err) != callbackurls.CodeInvalidJSONPath {
				t.Fatalf("compilePath(%q) = %v", expr, err)
			}
			return // a pattern out of bounds
		}
		var doc any
		if json.Unmarshal(body, &doc) != nil {
			return
		}
		if strings.Contains(expr, "match") || strings.Contains(expr, "search") {
			return // ours reads match's pattern anchored as a whole
		}
		if w, g := fmt.Sprint(want.Select(doc)), fmt.Sprint(got.Select(doc)); w != g {
			t.Fatalf("%q selects %s, rewritten %s", expr, w, g)
		}
	})
}
