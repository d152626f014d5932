package postaction

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Bodies as large as a post action reads: 256 KiB, MaxBodyValues values,
// MaxBodyDepth levels.
var (
	// manyNumbers: an array of MaxBodyValues-1 numbers.
	manyNumbers = jsonArray(MaxBodyValues-1, func(i int) string { return fmt.Sprint(100000 + i) })
	// manyStrings: an array of MaxBodyValues-1 short strings.
	manyStrings = jsonArray(MaxBodyValues-1, func(i int) string { return fmt.Sprintf(`"s%09d"`, i) })
	// longStrings: 256 KiB of letters in 250 strings, none with a z.
	longStrings = jsonArray(250, func(int) string { return `"` + strings.Repeat("é", 500) + `"` })
	// deepNumbers: MaxPathValues values at the bottom of MaxBodyDepth levels.
	deepNumbers = strings.Repeat("[", MaxBodyDepth-1) +
		jsonArray(MaxPathValues-MaxBodyDepth-1, func(int) string { return "1" }) + strings.Repeat("]", MaxBodyDepth-1)
	// bigNumbers: numbers with the largest exponent and digits allowed.
	bigNumbers = jsonArray(2000, func(int) string { return strings.Repeat("9", MaxNumberDigits) + fmt.Sprintf("e-%d", MaxNumberExponent) })
	// manyKeys: an object of MaxBodyValues-1 members.
	manyKeys = "{" + strings.Join(func() []string {
		var m []string
		for i := range MaxBodyValues - 2 {
			m = append(m, fmt.Sprintf(`"k%05d":1`, i))
		}
		return m
	}(), ",") + "}"
)

func jsonArray(n int, item func(int) string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item(i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// times makes an outcome list of n outcomes of one type and schema, plus
// extra members ("" for none).
func times(n int, typ, schema, extra string) string {
	var o []string
	for i := range n {
		o = append(o, fmt.Sprintf(`{"name": "o%d", "type": %q, "schema": %s%s}`, i, typ, schema, extra))
	}
	return "[" + strings.Join(o, ",") + "]"
}

// refFanOut is a schema whose items are checked through n levels of allOf
// with two references each: 2^n applications for every item.
func refFanOut(n int) string {
	defs := []string{}
	for i := range n {
		defs = append(defs, fmt.Sprintf(`"l%d": {"allOf": [{"$ref": "#/$defs/l%d"}, {"$ref": "#/$defs/l%d"}]}`, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"l%d": {"type": "integer", "minimum": 0}`, n))
	return `{"$schema": "https://json-schema.org/draft/2020-12/schema", "items": {"$ref": "#/$defs/l0"}, "$defs": {` + strings.Join(defs, ",") + `}}`
}

// regexCalls is a filter of n match() and search() calls of pattern.
func regexCalls(n int, pattern string) string {
	var calls []string
	for i := range n {
		f := "match"
		if i%2 == 1 {
			f = "search"
		}
		calls = append(calls, fmt.Sprintf("%s(@, '%s')", f, pattern))
	}
	return "$[?" + strings.Join(calls, " || ") + "]"
}

// largestPattern is a regular expression just within the bounds, with many
// states alive at once on a string of letters it never matches.
const largestPattern = `(?:\\p{L}{100}){4}z`

// worstCallbacks are the costliest post action callbacks an attack review
// found (issue 20: a schema pattern \p{L}{1000} on every item across 32
// outcomes with a 250 KiB body took 61 s; JSONPath match() and search()
// compiled their pattern at every value, 20.8 s for 7 calls over 1,000
// values), refused now at creation, and the costliest each construct can
// be within the limits. Each is either refused when the URL is created
// (create), or answered within the work budget: a result, no match, or
// the budget's refusal (want, a code or "" for a result).
var worstCallbacks = []struct {
	name     string
	outcomes string
	body     string
	create   string // the code CreateUrls refuses the outcomes with
	want     string // the code of the callback's answer, "" a result
}{
	{name: "review: pattern \\p{L}{1000} on every item, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"type": "array", "items": {"type": "string", "pattern": "\\p{L}{1000}"}}`, ""),
		body:     longStrings, create: callbackurls.CodeInvalidPostActionOutcome},
	{name: "review: match() \\p{L}{1000}, 7 calls",
		outcomes: times(1, "failure", `true`, `, "error_path": "`+regexCalls(7, `\\\\p{L}{1000}`)+`"`),
		body:     manyStrings, create: callbackurls.CodeInvalidJSONPath},
	{name: "review: match() and search() over 10,000 values, 8 calls in each of two paths",
		outcomes: times(1, "failure", `true`, `, "error_path": "`+regexCalls(8, `[a-z]{1,20}x`)+`", "cause_path": "`+regexCalls(8, `[a-z]{1,20}x`)+`"`),
		body:     jsonArray(MaxPathValues-1, func(int) string { return `"aaaaaaaaaaaaaaaaaaaa"` }), want: callbackurls.CodeInvalidPostActionBody},
	{name: "search() over 10,000 values",
		outcomes: times(1, "failure", `true`, `, "error_path": "$[?search(@, '[a-z]{1,20}x')]"`),
		body:     jsonArray(MaxPathValues-1, func(int) string { return `"aaaaaaaaaaaaaaaaaaaa"` }), want: ""},
	{name: "largest pattern on every long string, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"pattern": "`+largestPattern+`"}, "contains": {"const": 0}}`, ""),
		body:     longStrings, want: callbackurls.CodeInvalidPostActionBody},
	{name: "type integer on every number, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"type": "integer"}, "contains": {"const": 0}}`, ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "type string failing on every number, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"type": "string"}}`, ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "enum of 100 numbers on every number, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"enum": `+jsonArray(100, func(i int) string { return fmt.Sprint(i) })+`}}`, ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "uniqueItems, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"uniqueItems": true, "contains": {"const": 0}}`, ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "allOf and $ref fan-out, 2^10 applications an item",
		outcomes: times(1, "heartbeat", refFanOut(10), ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "anyOf of 100 branches failing last, 8 outcomes",
		outcomes: times(8, "heartbeat", `{"anyOf": [`+strings.TrimSuffix(strings.Repeat(`{"items": {"type": "integer"}, "contains": {"const": "x"}},`, 100), ",")+`]}`, ""),
		body:     manyNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "patternProperties, 20 patterns on every key, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"patternProperties": {`+strings.Join(func() []string {
			var p []string
			for i := range 20 {
				p = append(p, fmt.Sprintf(`"^k[a-z]{1,20}%dx$": true`, i))
			}
			return p
		}(), ",")+`}, "required": ["none"]}`, ""),
		body: manyKeys, want: callbackurls.CodeInvalidPostActionBody},
	{name: "format regex on every string (each compiled), 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"format": "regex"}, "contains": {"const": 0}}`, ""),
		body:     jsonArray(MaxBodyValues/2, func(int) string { return `"(?:x{100}){4}"` }), want: callbackurls.CodeInvalidPostActionBody},
	{name: "formats on every string, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"anyOf": [{"format": "email"}, {"format": "uri"}, {"format": "date-time"}, {"format": "hostname"}]}, "contains": {"const": 0}}`, ""),
		body:     manyStrings, want: callbackurls.CodeInvalidPostActionBody},
	{name: "lengths of long strings, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"minLength": 1, "maxLength": 100000}, "contains": {"const": 0}}`, ""),
		body:     longStrings, want: callbackurls.CodeInvalidPostActionBody},
	{name: "bounds on the largest numbers, 32 outcomes",
		outcomes: times(32, "heartbeat", `{"items": {"minimum": 0, "multipleOf": 0.0001}, "contains": {"const": 0}}`, ""),
		body:     bigNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "$..* and two descendant filters on a deep body",
		outcomes: times(1, "failure", `true`, `, "error_path": "$..[?@ == 1]", "cause_path": "$..[?@ == 2]"`),
		body:     deepNumbers, want: callbackurls.CodeInvalidPostActionBody},
	{name: "$..* on a deep body",
		outcomes: times(1, "success", `true`, `, "output_path": "$..*"`),
		body:     deepNumbers, want: callbackurls.CodeOutputFormatting},
	{name: "$..*..* (refused)",
		outcomes: times(1, "success", `true`, `, "output_path": "$..*..*"`),
		body:     deepNumbers, create: callbackurls.CodeInvalidJSONPath},
	{name: "count($..*) in a filter (refused)",
		outcomes: times(1, "success", `true`, `, "output_path": "$[?count($..*) > 0]"`),
		body:     manyNumbers, create: callbackurls.CodeInvalidJSONPath},
}

// TestWorstCallbacks: each of worstCallbacks gets the answer it should,
// refused at creation or answered within the work budget, also when its
// outcomes come in a forged stored form (a 1- payload: CreateUrls never
// saw them). Run with -v for the CPU time of each; the figures are
// BenchmarkWorstCallbacks's to compare.
func TestWorstCallbacks(t *testing.T) {
	for _, c := range worstCallbacks {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			if len(body) > callbackurls.MaxPostBodyBytes {
				t.Fatalf("the body is %d bytes, over the %d a callback reads", len(body), callbackurls.MaxPostBodyBytes)
			}
			e := New()
			stored, err := e.Compile(json.RawMessage(c.outcomes))
			if c.create != "" {
				if code(err) != c.create {
					t.Fatalf("Compile = %v, want %s", err, c.create)
				}
				// A forged payload carrying them is refused before any
				// body is read.
				start := cpuTime()
				_, err := New().Select(json.RawMessage(c.outcomes), body)
				if code(err) != callbackurls.CodeInvalidPayload {
					t.Fatalf("Select with the refused outcomes = %v, want InvalidPayload", err)
				}
				t.Logf("refused at creation (%s); a forged payload with them: %v of CPU", c.create, cpuTime()-start)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			start := cpuTime()
			_, err = e.Select(stored, body)
			spent := cpuTime() - start
			if code(err) != c.want {
				t.Errorf("Select = %v, want %q", err, c.want)
			}
			t.Logf("%v of CPU: %v", spent, code(err))
		})
	}
}

// BenchmarkWorstCallbacks: the CPU time of each of worstCallbacks (ms-cpu;
// the work budget is calibrated to keep each under 100 ms), with ns/op the
// wall time. A refused one measures the refusal of a forged payload.
func BenchmarkWorstCallbacks(b *testing.B) {
	for _, c := range worstCallbacks {
		b.Run(c.name, func(b *testing.B) {
			e := New()
			stored := json.RawMessage(c.outcomes)
			if c.create == "" {
				stored = mustCompile(b, e, c.outcomes)
			}
			body := []byte(c.body)
			var cpu time.Duration
			for b.Loop() {
				if c.create != "" {
					e = New() // the refusal is not cached: each forged payload compiles
				}
				start := cpuTime()
				_, _ = e.Select(stored, body)
				cpu += cpuTime() - start
			}
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "ms-cpu/op")
		})
	}
}
