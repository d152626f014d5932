package callbackurls_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func ptr[T any](v T) *T { return &v }

func TestParseInputSchema(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   []callbackurls.InputField
	}{
		{"one string", `{"type":"object","properties":{"comment":{"type":"string"}}}`,
			[]callbackurls.InputField{{Name: "comment", Kind: callbackurls.FieldString}}},
		{"order kept, not sorted", `{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"boolean"},"m":{"type":"number"}}}`,
			[]callbackurls.InputField{{Name: "z", Kind: "s"}, {Name: "a", Kind: "b"}, {Name: "m", Kind: "n"}}},
		{"multiline with bounds, title and help", `{"type":"object","required":["why"],"properties":{"why":{"type":"string","format":"multiline",
			"title":"Why?","description":"Tell the author what to change.","minLength":3,"maxLength":500,"default":"Because"}}}`,
			[]callbackurls.InputField{{Name: "why", Kind: "m", Title: "Why?", Help: "Tell the author what to change.", Required: true,
				Default: "Because", Min: ptr(3.0), Max: ptr(500.0)}}},
		{"minLength 0 dropped", `{"type":"object","properties":{"s":{"type":"string","minLength":0}}}`,
			[]callbackurls.InputField{{Name: "s", Kind: "s"}}},
		{"enum", `{"type":"object","properties":{"env":{"type":"string","enum":["staging","production"],"default":"staging"}}}`,
			[]callbackurls.InputField{{Name: "env", Kind: "e", Enum: []string{"staging", "production"}, Default: "staging"}}},
		{"integer with bounds", `{"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":10,"default":3}}}`,
			[]callbackurls.InputField{{Name: "n", Kind: "i", Min: ptr(1.0), Max: ptr(10.0), Default: int64(3)}}},
		{"number", `{"type":"object","properties":{"amount":{"type":"number","minimum":-1.5,"default":2.25}}}`,
			[]callbackurls.InputField{{Name: "amount", Kind: "n", Min: ptr(-1.5), Default: 2.25}}},
		{"boolean default true kept, false dropped", `{"type":"object","properties":{"a":{"type":"boolean","default":true},"b":{"type":"boolean","default":false}}}`,
			[]callbackurls.InputField{{Name: "a", Kind: "b", Default: true}, {Name: "b", Kind: "b"}}},
		{"annotations accepted", `{"$schema":"https://json-schema.org/draft/2020-12/schema","$comment":"x","title":"T","description":"D",
			"type":"object","additionalProperties":false,"properties":{"a":{"type":"string","$comment":"y"}}}`,
			[]callbackurls.InputField{{Name: "a", Kind: "s"}}},
		{"required before properties", `{"required":["a"],"type":"object","properties":{"a":{"type":"boolean"}}}`,
			[]callbackurls.InputField{{Name: "a", Kind: "b", Required: true}}},
		{"names with _ and -", `{"type":"object","properties":{"_a-b_9":{"type":"string"}}}`,
			[]callbackurls.InputField{{Name: "_a-b_9", Kind: "s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := callbackurls.ParseInputSchema(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			// The compact form survives the payload's round trip.
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back callbackurls.InputSchema
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if diff := cmp.Diff(tt.want, back.Fields); diff != "" {
				t.Errorf("after %s (-want +got):\n%s", b, diff)
			}
		})
	}
}

func TestParseInputSchemaErrors(t *testing.T) {
	many := map[string]any{}
	for i := range callbackurls.MaxInputFields + 1 {
		many["f"+strings.Repeat("x", i)] = map[string]any{"type": "string"}
	}
	manyJSON, _ := json.Marshal(map[string]any{"type": "object", "properties": many})
	tests := []struct{ name, schema, want string }{
		{"not an object", `[]`, "must be a JSON Schema object"},
		{"no type", `{"properties":{"a":{"type":"string"}}}`, `input.type is required`},
		{"type array", `{"type":"array","properties":{"a":{"type":"string"}}}`, `input.type must be "object"`},
		{"no properties", `{"type":"object"}`, "at least one property"},
		{"empty properties", `{"type":"object","properties":{}}`, "at least one property"},
		{"too many properties", string(manyJSON), "at most 20 properties"},
		{"unknown top keyword", `{"type":"object","properties":{"a":{"type":"string"}},"oneOf":[]}`, "input.oneOf is not supported"},
		{"additionalProperties true", `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":true}`, "may only be false"},
		{"required unknown", `{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}`, `names "b", which is not in input.properties`},
		{"required twice", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a","a"]}`, `names "a" twice`},
		{"required not strings", `{"type":"object","properties":{"a":{"type":"string"}},"required":[1]}`, "array of property names"},
		{"duplicate property", `{"type":"object","properties":{"a":{"type":"string"},"a":{"type":"string"}}}`, "properties must be an object"},
		{"bad name", `{"type":"object","properties":{"a b":{"type":"string"}}}`, `the name "a b" must be`},
		{"name starts with a digit", `{"type":"object","properties":{"1a":{"type":"string"}}}`, `the name "1a"`},
		{"long name", `{"type":"object","properties":{"` + strings.Repeat("a", 65) + `":{"type":"string"}}}`, "must be 1 to 64"},
		{"property not an object", `{"type":"object","properties":{"a":"string"}}`, "input.properties.a must be an object"},
		{"property without type", `{"type":"object","properties":{"a":{}}}`, "input.properties.a.type is required"},
		{"type object", `{"type":"object","properties":{"a":{"type":"object"}}}`, `type "object" is not supported`},
		{"type array of types", `{"type":"object","properties":{"a":{"type":["string","null"]}}}`, "input.properties.a: type: expected a string"},
		{"pattern", `{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}`, "input.properties.a.pattern is not supported for type string"},
		{"maxLength on a number", `{"type":"object","properties":{"a":{"type":"number","maxLength":3}}}`, "maxLength is not supported for type number"},
		{"minimum on a string", `{"type":"object","properties":{"a":{"type":"string","minimum":3}}}`, "minimum is not supported for type string"},
		{"enum on a boolean", `{"type":"object","properties":{"a":{"type":"boolean","enum":[true]}}}`, "enum is not supported for type boolean"},
		{"format email", `{"type":"object","properties":{"a":{"type":"string","format":"email"}}}`, `format "email" is not supported`},
		{"maxLength too big", `{"type":"object","properties":{"a":{"type":"string","maxLength":4001}}}`, "from 0 to 4000"},
		{"maxLength fractional", `{"type":"object","properties":{"a":{"type":"string","maxLength":1.5}}}`, "whole numbers"},
		{"minLength over maxLength", `{"type":"object","properties":{"a":{"type":"string","minLength":5,"maxLength":4}}}`, "minLength is greater"},
		{"minimum over maximum", `{"type":"object","properties":{"a":{"type":"integer","minimum":5,"maximum":4}}}`, "minimum is greater"},
		{"huge bound", `{"type":"object","properties":{"a":{"type":"integer","maximum":1e300}}}`, "between -2^53 and 2^53"},
		{"empty enum", `{"type":"object","properties":{"a":{"type":"string","enum":[]}}}`, "1 to 50 strings"},
		{"enum of numbers", `{"type":"object","properties":{"a":{"type":"string","enum":[1,2]}}}`, "1 to 50 strings"},
		{"enum duplicate", `{"type":"object","properties":{"a":{"type":"string","enum":["x","x"]}}}`, `lists "x" twice`},
		{"enum empty value", `{"type":"object","properties":{"a":{"type":"string","enum":[""]}}}`, "1 to 200 characters"},
		{"enum with multiline", `{"type":"object","properties":{"a":{"type":"string","enum":["x"],"format":"multiline"}}}`, "cannot be combined"},
		{"default of the wrong type", `{"type":"object","properties":{"a":{"type":"integer","default":"3"}}}`, "default does not fit the property: Expected a number."},
		{"default out of range", `{"type":"object","properties":{"a":{"type":"integer","maximum":2,"default":3}}}`, "at most 2"},
		{"default not an option", `{"type":"object","properties":{"a":{"type":"string","enum":["x"],"default":"y"}}}`, "Choose one of the options"},
		{"default too long", `{"type":"object","properties":{"a":{"type":"string","maxLength":2,"default":"abc"}}}`, "at most 2 characters"},
		{"long title", `{"type":"object","properties":{"a":{"type":"string","title":"` + strings.Repeat("t", 201) + `"}}}`, "title is longer than 200"},
		{"long description", `{"type":"object","properties":{"a":{"type":"string","description":"` + strings.Repeat("d", 501) + `"}}}`, "description is longer than 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := callbackurls.ParseInputSchema(json.RawMessage(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// testForm is a schema with one field of every kind.
const testForm = `{"type":"object","required":["decision"],"properties":{
	"decision":{"type":"string","enum":["ship","hold"]},
	"comment":{"type":"string","format":"multiline","maxLength":20},
	"ticket":{"type":"string","minLength":3,"default":"NONE"},
	"urgent":{"type":"boolean"},
	"notify":{"type":"boolean","default":true},
	"amount":{"type":"number","minimum":0,"maximum":100.5},
	"count":{"type":"integer","minimum":1}}}`

func TestInputValues(t *testing.T) {
	s, err := callbackurls.ParseInputSchema(json.RawMessage(testForm))
	if err != nil {
		t.Fatal(err)
	}
	// defaults are what a JSON submission of the decision alone delivers.
	defaults := map[string]any{"decision": "ship", "ticket": "NONE", "urgent": false, "notify": true}
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// A form's box that is not ticked is absent, and false: browsers send
	// nothing for it, so a default of true cannot stand in for it.
	formDefaults := with(defaults, "notify", false)
	tests := []struct {
		name string
		form url.Values // nil: use body
		body string
		want map[string]any
		errs callbackurls.InputErrors
	}{
		// Forms.
		{name: "form, minimal", form: url.Values{"decision": {"ship"}}, want: formDefaults},
		{name: "form, everything", form: url.Values{"decision": {"hold"}, "comment": {"line 1\r\nline 2"}, "ticket": {"ABC-1"},
			"urgent": {"true"}, "notify": {"on"}, "amount": {"12.5"}, "count": {"7"}},
			want: map[string]any{"decision": "hold", "comment": "line 1\nline 2", "ticket": "ABC-1", "urgent": true, "notify": true,
				"amount": 12.5, "count": int64(7)}},
		{name: "form, empty fields are absent", form: url.Values{"decision": {"ship"}, "comment": {""}, "ticket": {""}, "amount": {" "}, "count": {""}},
			want: formDefaults},
		{name: "form, unticked box with a default true is false", form: url.Values{"decision": {"ship"}, "notify": {"false"}},
			want: formDefaults},
		{name: "form, ticked box", form: url.Values{"decision": {"ship"}, "notify": {"true"}}, want: with(formDefaults, "notify", true)},
		// One set of rules for forms and JSON (docs/PAGES.md, "Values"):
		// a name the form does not have, or a name given twice, is refused.
		{name: "form, unknown field", form: url.Values{"decision": {"ship"}, "comentt": {"typo"}}, errs: callbackurls.InputErrors{"": `the form has no field "comentt"`}},
		{name: "form, unknown fields: the first in order is named", form: url.Values{"decision": {"ship"}, "submit": {"1"}, "data": {"3-x"}},
			errs: callbackurls.InputErrors{"": `the form has no field "data"`}},
		{name: "form, duplicated field", form: url.Values{"decision": {"ship", "hold"}}, errs: callbackurls.InputErrors{"decision": "Given more than once: send one value."}},
		{name: "form, integer written 1e0", form: url.Values{"decision": {"ship"}, "count": {"1e0"}}, want: with(formDefaults, "count", int64(1))},
		{name: "form, integer written 1.0", form: url.Values{"decision": {"ship"}, "count": {"1.0"}}, want: with(formDefaults, "count", int64(1))},
		{name: "form, integer written +1", form: url.Values{"decision": {"ship"}, "count": {"+1"}}, errs: callbackurls.InputErrors{"count": "Enter a number."}},
		{name: "form, integer written 01", form: url.Values{"decision": {"ship"}, "count": {"01"}}, errs: callbackurls.InputErrors{"count": "Enter a number."}},
		{name: "form, number exponent", form: url.Values{"decision": {"ship"}, "amount": {"1e2"}}, want: with(formDefaults, "amount", 100.0)},
		{name: "form, integer written 5.0", form: url.Values{"decision": {"ship"}, "count": {"5.0"}}, want: with(formDefaults, "count", int64(5))},
		{name: "form, non-ASCII counted in characters", form: url.Values{"decision": {"ship"}, "comment": {strings.Repeat("é", 20)}},
			want: with(formDefaults, "comment", strings.Repeat("é", 20))},
		{name: "form, missing required", form: url.Values{}, errs: callbackurls.InputErrors{"decision": "Please fill in this field."}},
		{name: "form, not an option", form: url.Values{"decision": {"maybe"}}, errs: callbackurls.InputErrors{"decision": "Choose one of the options."}},
		{name: "form, too long", form: url.Values{"decision": {"ship"}, "comment": {strings.Repeat("x", 21)}},
			errs: callbackurls.InputErrors{"comment": "Use at most 20 characters (this has 21)."}},
		{name: "form, too short", form: url.Values{"decision": {"ship"}, "ticket": {"AB"}},
			errs: callbackurls.InputErrors{"ticket": "Use at least 3 characters."}},
		{name: "form, not a number", form: url.Values{"decision": {"ship"}, "amount": {"12,5"}}, errs: callbackurls.InputErrors{"amount": "Enter a number."}},
		{name: "form, hex is not a number", form: url.Values{"decision": {"ship"}, "amount": {"0x10"}}, errs: callbackurls.InputErrors{"amount": "Enter a number."}},
		{name: "form, Inf", form: url.Values{"decision": {"ship"}, "amount": {"Inf"}}, errs: callbackurls.InputErrors{"amount": "Enter a number."}},
		{name: "form, over maximum", form: url.Values{"decision": {"ship"}, "amount": {"100.6"}}, errs: callbackurls.InputErrors{"amount": "Enter a number of at most 100.5."}},
		{name: "form, under minimum", form: url.Values{"decision": {"ship"}, "count": {"0"}}, errs: callbackurls.InputErrors{"count": "Enter a number of at least 1."}},
		{name: "form, fraction for an integer", form: url.Values{"decision": {"ship"}, "count": {"1.5"}}, errs: callbackurls.InputErrors{"count": "Enter a whole number."}},
		{name: "form, bad boolean", form: url.Values{"decision": {"ship"}, "urgent": {"perhaps"}}, errs: callbackurls.InputErrors{"urgent": "Expected true or false."}},
		{name: "form, invalid UTF-8", form: url.Values{"decision": {"ship"}, "comment": {"\xff"}}, errs: callbackurls.InputErrors{"comment": "Use valid UTF-8 text."}},
		{name: "form, several errors", form: url.Values{"amount": {"x"}, "count": {"-1"}},
			errs: callbackurls.InputErrors{"decision": "Please fill in this field.", "amount": "Enter a number.", "count": "Enter a number of at least 1."}},

		// JSON.
		{name: "JSON, minimal", body: `{"decision":"ship"}`, want: defaults},
		{name: "JSON, everything", body: `{"decision":"hold","comment":"a\nb","ticket":"T-1","urgent":true,"notify":false,"amount":0,"count":2}`,
			want: map[string]any{"decision": "hold", "comment": "a\nb", "ticket": "T-1", "urgent": true, "notify": false, "amount": 0.0, "count": int64(2)}},
		{name: "JSON, null is absent", body: `{"decision":"ship","ticket":null}`, want: defaults},
		{name: "JSON, empty body", body: ``, errs: callbackurls.InputErrors{"decision": "Please fill in this field."}},
		{name: "JSON, not an object", body: `["ship"]`, errs: callbackurls.InputErrors{"": "the body must be a JSON object of the form's values"}},
		{name: "JSON, not JSON", body: `decision=ship`, errs: callbackurls.InputErrors{"": "the body must be a JSON object of the form's values"}},
		{name: "JSON, trailing data", body: `{"decision":"ship"} {}`, errs: callbackurls.InputErrors{"": "the body must be a JSON object of the form's values"}},
		{name: "JSON, unknown field", body: `{"decision":"ship","comentt":"typo"}`, errs: callbackurls.InputErrors{"": `the form has no field "comentt"`}},
		{name: "JSON, unknown fields: the first in order is named", body: `{"decision":"ship","submit":1,"data":"3-x"}`,
			errs: callbackurls.InputErrors{"": `the form has no field "data"`}},
		{name: "JSON, duplicated field", body: `{"decision":"ship","decision":"hold"}`, errs: callbackurls.InputErrors{"decision": "Given more than once: send one value."}},
		{name: "JSON, a name three times", body: `{"decision":"ship","count":1,"count":2,"count":3}`, errs: callbackurls.InputErrors{"count": "Given more than once: send one value."}},
		{name: "JSON, many unknown names", body: `{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1}`, errs: callbackurls.InputErrors{"": `the form has no field "a"`}},
		{name: "JSON, integer written 1e0", body: `{"decision":"ship","count":1e0}`, want: with(defaults, "count", int64(1))},
		{name: "JSON, integer written 1.0", body: `{"decision":"ship","count":1.0}`, want: with(defaults, "count", int64(1))},
		{name: "JSON, integer written +1 is not JSON", body: `{"decision":"ship","count":+1}`, errs: callbackurls.InputErrors{"": "the body must be a JSON object of the form's values"}},
		{name: "JSON, absent box takes its default", body: `{"decision":"ship","urgent":true}`, want: with(defaults, "urgent", true)},
		{name: "JSON, string for a number", body: `{"decision":"ship","amount":"5"}`, errs: callbackurls.InputErrors{"amount": "Expected a number."}},
		{name: "JSON, number for a string", body: `{"decision":5}`, errs: callbackurls.InputErrors{"decision": "Expected a string."}},
		{name: "JSON, string for a boolean", body: `{"decision":"ship","urgent":"true"}`, errs: callbackurls.InputErrors{"urgent": "Expected true or false."}},
		{name: "JSON, big integer", body: `{"decision":"ship","count":9007199254740993}`, errs: callbackurls.InputErrors{"count": "Enter a whole number."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := s.FromSubmission(tt.form, []byte(tt.body))
			if diff := cmp.Diff(tt.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputErrorsMessage(t *testing.T) {
	errs := callbackurls.InputErrors{"b": "Enter a number.", "": "whole", "a": "Please fill in this field."}
	if got, want := errs.Error(), "whole; a: Please fill in this field.; b: Enter a number."; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func FuzzInputSchema(f *testing.F) {
	f.Add(testForm, `{"decision":"ship","count":3}`)
	f.Add(`{"type":"object","properties":{"a":{"type":"number","default":1e-7}}}`, `{"a":1e308}`)
	f.Fuzz(func(t *testing.T, schema, body string) {
		s, err := callbackurls.ParseInputSchema(json.RawMessage(schema))
		if err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back callbackurls.InputSchema
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("a parsed schema does not survive the payload: %s: %v", b, err)
		}
		values, errs := back.FromJSON([]byte(body))
		if (values == nil) == (errs == nil) {
			t.Fatalf("values %v and errors %v", values, errs)
		}
		if values != nil {
			if _, err := json.Marshal(values); err != nil {
				t.Fatal(err)
			}
		}
		q, _ := url.ParseQuery(body)
		back.FromForm(q)
	})
}
