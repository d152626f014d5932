package callbackurls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// Limits of an action's input form. They keep the form usable and the URL
// that carries it short.
const (
	MaxInputFields     = 20
	MaxInputString     = 4000 // characters: the default and the largest maxLength
	MaxInputOptions    = 50   // enum values
	MaxInputNameLength = 64
	MaxInputTitle      = 200 // characters of a field's title or an enum value
	MaxInputHelp       = 500 // characters of a field's description
)

// FieldKind is the widget a form field is shown as; its values are the
// compact names the payload stores.
type FieldKind string

// The field kinds of the supported JSON Schema subset.
const (
	FieldString    FieldKind = "s" // "type": "string"
	FieldMultiline FieldKind = "m" // "type": "string", "format": "multiline"
	FieldEnum      FieldKind = "e" // "type": "string", "enum": [...]
	FieldBoolean   FieldKind = "b" // "type": "boolean"
	FieldNumber    FieldKind = "n" // "type": "number"
	FieldInteger   FieldKind = "i" // "type": "integer"
)

// InputField is one property of an input schema, in the compact form a
// payload carries (short keys: the form travels in every URL of its action).
type InputField struct {
	Name     string    `json:"n"`
	Kind     FieldKind `json:"k"`
	Title    string    `json:"t,omitempty"`
	Help     string    `json:"h,omitempty"`
	Required bool      `json:"r,omitempty"`
	// Default pre-fills the form and stands in for an absent value: a
	// string, a bool or a float64 as the kind says.
	Default any      `json:"v,omitempty"`
	Enum    []string `json:"e,omitempty"`
	// Min and Max bound a string's length in characters, or a number.
	Min *float64 `json:"lo,omitempty"`
	Max *float64 `json:"hi,omitempty"`
}

// MaxLength is the most characters a string field takes.
func (f *InputField) MaxLength() int {
	if f.Max != nil {
		return int(*f.Max)
	}
	return MaxInputString
}

// InputSchema is a form: its fields in the order the request listed them.
type InputSchema struct {
	Fields []InputField
}

// MarshalJSON writes the fields as an array (it keeps their order).
func (s *InputSchema) MarshalJSON() ([]byte, error) { return json.Marshal(s.Fields) }

// UnmarshalJSON reads the compact form and checks it, so that a damaged or
// hand-made unencrypted payload cannot make a form that breaks a page.
func (s *InputSchema) UnmarshalJSON(data []byte) error {
	var fields []InputField
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	if len(fields) == 0 || len(fields) > MaxInputFields {
		return fmt.Errorf("input form with %d fields", len(fields))
	}
	seen := map[string]bool{}
	for i := range fields {
		f := &fields[i]
		if !validInputName(f.Name) || seen[f.Name] {
			return fmt.Errorf("input field name %q", f.Name)
		}
		seen[f.Name] = true
		switch f.Kind {
		case FieldString, FieldMultiline, FieldEnum, FieldBoolean, FieldNumber, FieldInteger:
		default:
			return fmt.Errorf("input field kind %q", f.Kind)
		}
		if (f.Kind == FieldEnum) != (len(f.Enum) > 0) || len(f.Enum) > MaxInputOptions {
			return fmt.Errorf("input field %s options", f.Name)
		}
		if f.Default != nil {
			v, msg := f.convert(f.Default, false)
			if msg != "" {
				return fmt.Errorf("input field %s default", f.Name)
			}
			f.Default = v
		}
	}
	s.Fields = fields
	return nil
}

// ParseInputSchema checks an action's "input" JSON Schema against the
// supported subset and returns its compact form. The error says which
// construct is not supported.
func ParseInputSchema(raw json.RawMessage) (*InputSchema, error) {
	top, err := orderedObject(raw)
	if err != nil {
		return nil, fmt.Errorf("input must be a JSON Schema object")
	}
	var props []member
	var required []string
	seenType := false
	for _, m := range top {
		switch m.key {
		case "type":
			var t string
			if json.Unmarshal(m.value, &t) != nil || t != "object" {
				return nil, fmt.Errorf(`input.type must be "object"`)
			}
			seenType = true
		case "properties":
			if props, err = orderedObject(m.value); err != nil {
				return nil, fmt.Errorf("input.properties must be an object")
			}
		case "required":
			if json.Unmarshal(m.value, &required) != nil {
				return nil, fmt.Errorf("input.required must be an array of property names")
			}
		case "additionalProperties":
			var b bool
			if json.Unmarshal(m.value, &b) != nil || b {
				return nil, fmt.Errorf("input.additionalProperties may only be false (values the form does not have are refused anyway)")
			}
		case "$schema", "$comment", "title", "description":
			// Annotations: accepted, not shown (the request's title and
			// description are what the page shows).
		default:
			return nil, fmt.Errorf("input.%s is not supported: an input form takes type, properties, required and additionalProperties: false", m.key)
		}
	}
	if !seenType {
		return nil, fmt.Errorf(`input.type is required and must be "object"`)
	}
	if len(props) == 0 {
		return nil, fmt.Errorf("input.properties must list at least one property")
	}
	if len(props) > MaxInputFields {
		return nil, fmt.Errorf("input.properties: at most %d properties (got %d)", MaxInputFields, len(props))
	}
	s := &InputSchema{Fields: make([]InputField, 0, len(props))}
	for _, m := range props {
		f, err := parseField(m.key, m.value)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, *f)
	}
	seen := map[string]bool{}
	for _, name := range required {
		i := s.index(name)
		if i < 0 {
			return nil, fmt.Errorf("input.required names %q, which is not in input.properties", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("input.required names %q twice", name)
		}
		seen[name] = true
		s.Fields[i].Required = true
	}
	return s, nil
}

func (s *InputSchema) index(name string) int {
	return slices.IndexFunc(s.Fields, func(f InputField) bool { return f.Name == name })
}

func parseField(name string, raw json.RawMessage) (*InputField, error) {
	where := "input.properties." + name
	if !validInputName(name) {
		return nil, fmt.Errorf("input.properties: the name %q must be 1 to %d ASCII letters, digits, '_' or '-', not starting with a digit or '-'", text.Truncate(name, 80), MaxInputNameLength)
	}
	members, err := orderedObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s must be an object", where)
	}
	var p struct {
		Type        *string          `json:"type"`
		Title       *string          `json:"title"`
		Description *string          `json:"description"`
		Default     json.RawMessage  `json:"default"`
		Enum        *json.RawMessage `json:"enum"`
		Format      *string          `json:"format"`
		MinLength   *float64         `json:"minLength"`
		MaxLength   *float64         `json:"maxLength"`
		Minimum     *float64         `json:"minimum"`
		Maximum     *float64         `json:"maximum"`
	}
	allowed := map[string][]string{
		"string":  {"minLength", "maxLength", "format", "enum"},
		"number":  {"minimum", "maximum"},
		"integer": {"minimum", "maximum"},
		"boolean": nil,
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%s: %s", where, strings.TrimPrefix(jsonError(err).Message, "the body is not valid JSON: "))
	}
	if p.Type == nil {
		return nil, fmt.Errorf(`%s.type is required: "string", "boolean", "number" or "integer"`, where)
	}
	extra, ok := allowed[*p.Type]
	if !ok {
		return nil, fmt.Errorf(`%s.type %q is not supported: use "string", "boolean", "number" or "integer"`, where, *p.Type)
	}
	for _, m := range members {
		switch {
		case m.key == "type" || m.key == "title" || m.key == "description" || m.key == "default" || m.key == "$comment":
		case slices.Contains(extra, m.key):
		default:
			return nil, fmt.Errorf("%s.%s is not supported for type %s", where, m.key, *p.Type)
		}
	}
	f := &InputField{Name: name}
	if p.Title != nil {
		if utf8.RuneCountInString(*p.Title) > MaxInputTitle {
			return nil, fmt.Errorf("%s.title is longer than %d characters", where, MaxInputTitle)
		}
		f.Title = *p.Title
	}
	if p.Description != nil {
		if utf8.RuneCountInString(*p.Description) > MaxInputHelp {
			return nil, fmt.Errorf("%s.description is longer than %d characters", where, MaxInputHelp)
		}
		f.Help = *p.Description
	}
	switch *p.Type {
	case "boolean":
		f.Kind = FieldBoolean
	case "number", "integer":
		f.Kind = FieldNumber
		if *p.Type == "integer" {
			f.Kind = FieldInteger
		}
		for _, b := range []*float64{p.Minimum, p.Maximum} {
			if b != nil && (math.IsInf(*b, 0) || math.Abs(*b) > maxSafeInteger) {
				return nil, fmt.Errorf("%s: minimum and maximum must be between -2^53 and 2^53", where)
			}
		}
		if p.Minimum != nil && p.Maximum != nil && *p.Minimum > *p.Maximum {
			return nil, fmt.Errorf("%s: minimum is greater than maximum", where)
		}
		f.Min, f.Max = p.Minimum, p.Maximum
	case "string":
		f.Kind = FieldString
		if p.Format != nil {
			if *p.Format != "multiline" {
				return nil, fmt.Errorf(`%s.format %q is not supported: the only format is "multiline" (a text area)`, where, *p.Format)
			}
			f.Kind = FieldMultiline
		}
		for _, b := range []*float64{p.MinLength, p.MaxLength} {
			if b != nil && (*b < 0 || *b != math.Trunc(*b) || *b > MaxInputString) {
				return nil, fmt.Errorf("%s: minLength and maxLength must be whole numbers from 0 to %d", where, MaxInputString)
			}
		}
		if p.MinLength != nil && p.MaxLength != nil && *p.MinLength > *p.MaxLength {
			return nil, fmt.Errorf("%s: minLength is greater than maxLength", where)
		}
		if p.MinLength != nil && *p.MinLength > 0 {
			f.Min = p.MinLength
		}
		f.Max = p.MaxLength
		if p.Enum != nil {
			if f.Kind == FieldMultiline || f.Min != nil || f.Max != nil {
				return nil, fmt.Errorf("%s: enum cannot be combined with format, minLength or maxLength", where)
			}
			if err := json.Unmarshal(*p.Enum, &f.Enum); err != nil || len(f.Enum) == 0 || len(f.Enum) > MaxInputOptions {
				return nil, fmt.Errorf("%s.enum must be an array of 1 to %d strings", where, MaxInputOptions)
			}
			for i, v := range f.Enum {
				if v == "" || utf8.RuneCountInString(v) > MaxInputTitle {
					return nil, fmt.Errorf("%s.enum values must be 1 to %d characters", where, MaxInputTitle)
				}
				if slices.Contains(f.Enum[:i], v) {
					return nil, fmt.Errorf("%s.enum lists %q twice", where, v)
				}
			}
			f.Kind = FieldEnum
		}
	}
	if p.Default != nil {
		v, err := decodeJSONValue(p.Default)
		if err != nil {
			return nil, fmt.Errorf("%s.default is not valid JSON", where)
		}
		v, msg := f.convert(v, false)
		if msg != "" {
			return nil, fmt.Errorf("%s.default does not fit the property: %s", where, msg)
		}
		// A false default is what an unticked box means anyway.
		if v != false {
			f.Default = v
		}
	}
	return f, nil
}

// maxSafeInteger is 2^53-1, JavaScript's Number.MAX_SAFE_INTEGER: every
// integer up to it is exact in a float64.
const maxSafeInteger = 1<<53 - 1

type member struct {
	key   string
	value json.RawMessage
}

// orderedObject returns a JSON object's members in document order (a Go
// map would lose the order the form shows its fields in). Duplicate keys
// are refused.
func orderedObject(raw json.RawMessage) ([]member, error) {
	out, err := objectMembers(raw)
	if err != nil {
		return nil, err
	}
	for i, m := range out {
		if slices.ContainsFunc(out[:i], func(o member) bool { return o.key == m.key }) {
			return nil, fmt.Errorf("duplicate key %q", m.key)
		}
	}
	return out, nil
}

// objectMembers returns a JSON object's members in document order,
// duplicates included.
func objectMembers(raw json.RawMessage) ([]member, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, fmt.Errorf("not an object")
	}
	var out []member
	err := eachMember(raw, func(key, value []byte) error {
		out = append(out, member{string(key), json.RawMessage(value)})
		return nil
	})
	return out, err
}

func decodeJSONValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

// InputErrors explains, per field name, what is wrong with submitted
// values; the empty name is for the submission as a whole. Messages are
// written for people and never quote the values.
type InputErrors map[string]string

func (e InputErrors) Error() string {
	names := make([]string, 0, len(e))
	for name := range e {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		if name == "" {
			parts = append(parts, e[name])
		} else {
			parts = append(parts, name+": "+e[name])
		}
	}
	return strings.Join(parts, "; ")
}

// FromSubmission validates a callback's values: a browser form's fields
// when form is not nil, else a JSON body (none: no values).
func (s *InputSchema) FromSubmission(form url.Values, body []byte) (map[string]any, InputErrors) {
	if form != nil {
		return s.FromForm(form)
	}
	return s.FromJSON(body)
}

// FromForm validates a browser form's fields. An empty field is absent;
// a box that is not ticked (absent, as browsers send nothing for it) is
// false. Fields the form does not have, and fields given more than once,
// are refused, as in JSON: see FromJSON.
func (s *InputSchema) FromForm(form url.Values) (map[string]any, InputErrors) {
	var unknown string
	var repeated []string
	for name, v := range form {
		switch {
		case s.index(name) < 0:
			if unknown == "" || name < unknown {
				unknown = name
			}
		case len(v) > 1:
			repeated = append(repeated, name)
		}
	}
	if errs := namesError(unknown, repeated); errs != nil {
		return nil, errs
	}
	return s.values(func(name string) (any, bool) {
		v, ok := form[name]
		if !ok || len(v) == 0 {
			return nil, false
		}
		return v[0], true
	}, true)
}

// FromJSON validates an API client's JSON object of values. An empty body
// is an empty object; null is absent. The rules are a form's (FromForm):
// names the form does not have are refused, so that a misspelt name is not
// silently dropped, and so is a name given twice, which would otherwise
// mean the first value to one reader and the last to another.
func (s *InputSchema) FromJSON(body []byte) (map[string]any, InputErrors) {
	obj := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		v, err := decodeJSONValue(body)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, InputErrors{"": "the body must be a JSON object of the form's values"}
		}
		obj = m
		// The map kept one value per name: count the names as written.
		n := 0
		_ = eachMember(body, func(_, _ []byte) error { n++; return nil })
		if n > len(obj) {
			return nil, namesError("", repeatedKeys(body))
		}
	}
	var unknown string
	for name := range obj {
		if s.index(name) < 0 && (unknown == "" || name < unknown) {
			unknown = name
		}
	}
	if errs := namesError(unknown, nil); errs != nil {
		return nil, errs
	}
	return s.values(func(name string) (any, bool) {
		v, ok := obj[name]
		return v, ok && v != nil
	}, false)
}

// repeatedKeys are the member names a JSON object gives more than once.
func repeatedKeys(body []byte) []string {
	seen := map[string]int{}
	var repeated []string
	_ = eachMember(body, func(k, _ []byte) error {
		if seen[string(k)]++; seen[string(k)] == 2 {
			repeated = append(repeated, string(k))
		}
		return nil
	})
	return repeated
}

// namesError refuses a submission naming a field the form does not have
// (the first such name in sorted order is reported), or naming one more
// than once.
func namesError(unknown string, repeated []string) InputErrors {
	if unknown != "" {
		return InputErrors{"": fmt.Sprintf("the form has no field %q", text.Truncate(unknown, 64))}
	}
	if len(repeated) == 0 {
		return nil
	}
	errs := InputErrors{}
	for _, name := range repeated {
		errs[name] = "Given more than once: send one value."
	}
	return errs
}

func (s *InputSchema) values(get func(string) (any, bool), fromForm bool) (map[string]any, InputErrors) {
	out := make(map[string]any, len(s.Fields))
	errs := InputErrors{}
	for i := range s.Fields {
		f := &s.Fields[i]
		raw, ok := get(f.Name)
		if ok {
			v, msg := f.convert(raw, fromForm)
			switch {
			case msg != "":
				errs[f.Name] = msg
				continue
			case v != nil:
				out[f.Name] = v
				continue
			}
		}
		switch {
		case f.Kind == FieldBoolean && fromForm:
			// Browsers send nothing for a box that is not ticked.
			out[f.Name] = false
		case f.Default != nil:
			out[f.Name] = f.Default
		case f.Kind == FieldBoolean:
			out[f.Name] = false
		case f.Required:
			errs[f.Name] = "Please fill in this field."
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// jsonNumber is the grammar of a JSON number, which is also what a
// browser's number field submits.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// convert checks one value and returns it as delivered: a string, a bool,
// a float64 or an int64; nil means absent (an empty string). Form values
// are strings; JSON values come from a decoder with UseNumber (json.Number)
// or are a default already converted.
func (f *InputField) convert(raw any, fromForm bool) (any, string) {
	switch f.Kind {
	case FieldBoolean:
		switch v := raw.(type) {
		case bool:
			return v, ""
		case string:
			if fromForm {
				switch strings.ToLower(v) {
				case "true", "on", "1", "yes":
					return true, ""
				case "false", "off", "0", "no", "":
					return false, ""
				}
			}
		}
		return nil, "Expected true or false."
	case FieldNumber, FieldInteger:
		var text string
		switch v := raw.(type) {
		case json.Number:
			text = v.String()
		case float64:
			text = strconv.FormatFloat(v, 'g', -1, 64)
		case int64:
			text = strconv.FormatInt(v, 10)
		case string:
			if !fromForm {
				return nil, "Expected a number."
			}
			text = strings.TrimSpace(v)
			if text == "" {
				return nil, ""
			}
		default:
			return nil, "Expected a number."
		}
		n, err := strconv.ParseFloat(text, 64)
		if !jsonNumber.MatchString(text) || err != nil || math.IsInf(n, 0) {
			return nil, "Enter a number."
		}
		if f.Kind == FieldInteger {
			// Beyond 2^53 a float64 rounds: read the digits exactly.
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				n = float64(i)
				if i > maxSafeInteger || i < -maxSafeInteger {
					n = math.Inf(1)
				}
			}
			if n != math.Trunc(n) || math.Abs(n) > maxSafeInteger {
				return nil, "Enter a whole number."
			}
		}
		if f.Min != nil && n < *f.Min {
			return nil, "Enter a number of at least " + formatNumber(*f.Min) + "."
		}
		if f.Max != nil && n > *f.Max {
			return nil, "Enter a number of at most " + formatNumber(*f.Max) + "."
		}
		if f.Kind == FieldInteger {
			return int64(n), ""
		}
		return n, ""
	default:
		v, ok := raw.(string)
		if !ok {
			return nil, "Expected a string."
		}
		if !utf8.ValidString(v) {
			return nil, "Use valid UTF-8 text."
		}
		// Browsers submit a text area's line breaks as CRLF.
		v = strings.ReplaceAll(v, "\r\n", "\n")
		if v == "" {
			return nil, ""
		}
		if f.Kind == FieldEnum {
			if !slices.Contains(f.Enum, v) {
				return nil, "Choose one of the options."
			}
			return v, ""
		}
		n := utf8.RuneCountInString(v)
		if limit := f.MaxLength(); n > limit {
			return nil, fmt.Sprintf("Use at most %d characters (this has %d).", limit, n)
		}
		if f.Min != nil && n < int(*f.Min) {
			return nil, fmt.Sprintf("Use at least %d characters.", int(*f.Min))
		}
		return v, ""
	}
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// inputKey is where the values go: a member of a success's output object,
// and of the JSON object a failure's cause becomes.
const inputKey = "input"

// withInput delivers a form's values with the outcome: a success's output
// object gains an "input" member; a failure's cause becomes the JSON text
// {"cause": <the action's cause>, "input": {...}} ("cause" omitted when the
// action has none). Heartbeats carry nothing.
func (d *Decision) withInput(values map[string]any) error {
	vals, err := jsontext.Marshal(values) // sorted keys
	if err != nil {
		return Errorf(CodeInvalidInput, "the values cannot be sent")
	}
	spec := d.Type.Spec()
	switch {
	case spec.Output:
		var members map[string]json.RawMessage
		if json.Unmarshal(d.Output, &members) != nil {
			return Errorf(CodeOutputFormatting, "the output is not a JSON object, so the form's values have nowhere to go")
		}
		if _, ok := members[inputKey]; ok {
			return Errorf(CodeOutputFormatting, `the output already has an "input" member, where the form's values go`)
		}
		out := bytes.TrimSpace(d.Output)
		var b bytes.Buffer
		b.Grow(len(out) + len(vals) + 10)
		b.Write(out[:len(out)-1])
		if len(members) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + inputKey + `":`)
		b.Write(vals)
		b.WriteByte('}')
		if b.Len() > MaxOutputBytes {
			return Errorf(CodeInvalidInput, "the output with the form's values is larger than Step Functions' %d bytes", MaxOutputBytes)
		}
		d.Output = b.Bytes()
	case spec.ErrorCause:
		cause := map[string]any{inputKey: json.RawMessage(vals)}
		if d.Cause != "" {
			cause["cause"] = d.Cause
		}
		b, err := jsontext.Marshal(cause)
		if err != nil {
			return Errorf(CodeInvalidInput, "the values cannot be sent")
		}
		if utf8.RuneCount(b) > MaxCauseLength {
			return Errorf(CodeInvalidInput, "the cause with the form's values is longer than Step Functions' %d characters: shorten the text", MaxCauseLength)
		}
		d.Cause = string(b)
	}
	return nil
}
