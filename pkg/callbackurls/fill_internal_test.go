package callbackurls

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFillString(t *testing.T) {
	params := map[string]string{"who": "Ben", "x": "$y", "_a1": "A", "empty": "", "ünï": "no"}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "", false},
		{"plain", "plain", false},
		{"$who", "Ben", false},
		{"${who}", "Ben", false},
		{"hi $who!", "hi Ben!", false},
		{"hi ${who}s", "hi Bens", false},
		{"$whos", "", true}, // the longest identifier is the name
		{"$who$who", "BenBen", false},
		{"$$", "$", false},
		{"$$who", "$who", false},
		{"$$$who", "$Ben", false},
		{"cost: $$5", "cost: $5", false},
		{"$x", "$y", false}, // values are not substituted again
		{"$_a1.", "A.", false},
		{"[$empty]", "[]", false},
		{"$who-$who", "Ben-Ben", false},
		{"é $who 漢", "é Ben 漢", false},
		{"$", "", true},
		{"end $", "", true},
		{"$ who", "", true},
		{"$1", "", true},
		{"${}", "", true},
		{"${who", "", true},
		{"${ who}", "", true},
		{"${1a}", "", true},
		{"${missing}", "", true},
		{"$missing", "", true},
		{"$ünï", "", true}, // Python's Template identifiers are ASCII
		{"${who}${missing}", "", true},
	}
	for _, tt := range tests {
		got, err := fillString(tt.in, params)
		if tt.wantErr {
			if err == nil {
				t.Errorf("fillString(%q) = %q, want an error", tt.in, got)
				continue
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeOutputFormatting || e.Kind != BadInput {
				t.Errorf("fillString(%q): error %v, want OutputFormatting", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("fillString(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFillJSON(t *testing.T) {
	params := map[string]string{"who": `Ben "Q" <&>`, "k": "key", "n": "7"}
	tests := []struct {
		in, want string
		wantCode string
	}{
		{`{}`, `{}`, ""},
		{`"$who"`, `"Ben \"Q\" <&>"`, ""},
		{`{"k":"$n","list":["${who}",1.50,-0,1e400,true,null,{"deep":{"$$k$$":"$$"}}]}`,
			`{"k":"7","list":["Ben \"Q\" <&>",1.50,-0,1e400,true,null,{"deep":{"$k$":"$"}}]}`, ""},
		// A key is never a placeholder: the URL's holder would choose
		// which member a value lands in.
		{`{"decision":"reject","$k":"$n"}`, "", CodeOutputFormatting},
		{`{"${k}":1}`, "", CodeOutputFormatting},
		{`[{"deep":{"x$k":1}}]`, "", CodeOutputFormatting},
		{`{"$$$k":1}`, "", CodeOutputFormatting},
		{`12345678901234567890123`, `12345678901234567890123`, ""},
		{`{"a":"$missing"}`, "", CodeOutputFormatting},
		{`{"$missing":1}`, "", CodeOutputFormatting},
		{`[[[["$"]]]]`, "", CodeOutputFormatting},
		{`{not json`, "", CodeInvalidPayload},
	}
	for _, tt := range tests {
		got, err := fillJSON(json.RawMessage(tt.in), params)
		if tt.wantCode != "" {
			e, ok := err.(*Error)
			if !ok || e.Code != tt.wantCode {
				t.Errorf("fillJSON(%s) = %s, %v; want %s", tt.in, got, err, tt.wantCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("fillJSON(%s): %v", tt.in, err)
			continue
		}
		g, err := decodeNumbers(got)
		if err != nil {
			t.Fatalf("fillJSON(%s) = %s is not JSON: %v", tt.in, got, err)
		}
		w, _ := decodeNumbers([]byte(tt.want))
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("fillJSON(%s) (-want +got):\n%s", tt.in, diff)
		}
		// Numbers keep their text (json.Number), not float64 rounding.
		for _, num := range []string{"1.50", "1e400", "12345678901234567890123"} {
			if strings.Contains(tt.in, num) && !strings.Contains(string(got), num) {
				t.Errorf("fillJSON(%s) = %s lost the number %s", tt.in, got, num)
			}
		}
	}
}

func decodeNumbers(b []byte) (any, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	err := dec.Decode(&v)
	return v, err
}

func TestQueryParameters(t *testing.T) {
	q := map[string][]string{"data": {"3-x"}, "action": {"a"}, "type": {"success"}, "who": {"1", "2"}, "none": {}}
	want := map[string]string{"action": "a", "type": "success", "who": "1"}
	if diff := cmp.Diff(want, queryParameters(q)); diff != "" {
		t.Errorf("queryParameters (-want +got):\n%s", diff)
	}
}

func FuzzFillString(f *testing.F) {
	for _, s := range []string{"", "plain", "$who", "${who}", "$$", "$", "${", "${who", "a$b$c", "$who$x", "é$who漢", "${x}}", "$$$$who", "\xff$\xfe"} {
		f.Add(s, "Ben")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		params := map[string]string{"who": value, "x": "$who", "a": ""}
		got, err := fillString(s, params)
		// Escaping every $ as $$ gives the input back, whatever it holds.
		if lit, err := fillString(strings.ReplaceAll(s, "$", "$$"), nil); err != nil || lit != s {
			t.Fatalf("fillString(escaped %q) = %q, %v", s, lit, err)
		}
		if !strings.Contains(s, "$") {
			if err != nil || got != s {
				t.Fatalf("fillString(%q) = %q, %v: a string without $ must be unchanged", s, got, err)
			}
			return
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != CodeOutputFormatting || e.Kind != BadInput {
				t.Fatalf("fillString(%q): error %v, want OutputFormatting", s, err)
			}
			return
		}
		// Substitution is one pass: each '$' adds at most the longest value.
		if longest := max(len(value), len("$who")); len(got) > len(s)+longest*strings.Count(s, "$") {
			t.Fatalf("fillString(%q) = %q is longer than one pass allows", s, got)
		}
	})
}
