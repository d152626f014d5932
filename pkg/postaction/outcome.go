package postaction

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/theory/jsonpath"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// outcome is one compiled outcome of a post action.
type outcome struct {
	name   string
	typ    callbackurls.ActionType
	schema *jsonschema.Schema

	// success: exactly one of output, outputBody, outputPath.
	output     json.RawMessage
	outputBody bool
	outputPath *jsonpath.Path

	// failure: a literal or a path for each; empty means not sent.
	errCode, cause       string
	errorPath, causePath *jsonpath.Path

	response *callbackurls.ResponseSpec

	stored storedOutcome
}

type outcomeList []outcome

// compiledList is a compiled outcome list and the meter of its callbacks,
// which take it one at a time.
type compiledList struct {
	mu       sync.Mutex
	meter    meter
	outcomes outcomeList
}

// storedOutcome is an outcome as the URL carries it: the request's field
// names, compacted, without fields its type does not use.
type storedOutcome struct {
	Name       string                  `json:"name"`
	Type       callbackurls.ActionType `json:"type"`
	Schema     json.RawMessage         `json:"schema"`
	Output     json.RawMessage         `json:"output,omitempty"`
	OutputBody bool                    `json:"output_body,omitempty"`
	OutputPath string                  `json:"output_path,omitempty"`
	Error      string                  `json:"error,omitempty"`
	ErrorPath  string                  `json:"error_path,omitempty"`
	Cause      string                  `json:"cause,omitempty"`
	CausePath  string                  `json:"cause_path,omitempty"`
	Response   json.RawMessage         `json:"response,omitempty"`
}

// marshal is the stored form of the list.
func (l outcomeList) marshal() (json.RawMessage, error) {
	stored := make([]storedOutcome, len(l))
	for i := range l {
		stored[i] = l[i].stored
	}
	return jsontext.Marshal(stored)
}

// parseOutcomes checks and compiles an outcome list (a CreateUrls request's
// or a stored one).
func parseOutcomes(raw json.RawMessage) (*compiledList, error) {
	if len(raw) > MaxOutcomesBytes {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome,
			"outcomes is %d bytes, more than the %d a post action may have", len(raw), MaxOutcomesBytes)
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome, "outcomes must be a list of outcome objects")
	}
	switch {
	case len(items) == 0:
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome, "outcomes must list at least one outcome")
	case len(items) > MaxOutcomes:
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome,
			"outcomes lists %d outcomes, more than the %d a post action may have", len(items), MaxOutcomes)
	}
	c := &compiledList{outcomes: make(outcomeList, len(items))}
	list := c.outcomes
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		if err := list[i].parse(i, item, &c.meter); err != nil {
			return nil, err
		}
		if seen[list[i].name] {
			return nil, outcomeError(i, list[i].name, "the name is used by an earlier outcome: names must be unique")
		}
		seen[list[i].name] = true
	}
	return c, nil
}

// fields is an outcome object. A map rather than a struct, because
// encoding/json would match field names case-insensitively.
type fields map[string]json.RawMessage

// str reads an optional string field; null counts as absent.
func (f fields) str(key string) (string, bool, error) {
	raw, ok := f[key]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("%s must be a string", key)
	}
	return s, true, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func (o *outcome) parse(i int, raw json.RawMessage, m *meter) error {
	var f fields
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &f) != nil {
		return outcomeError(i, "", "each outcome must be an object")
	}
	fail := func(format string, args ...any) error { return outcomeError(i, o.name, format, args...) }

	name, ok, err := f.str("name")
	switch {
	case err != nil:
		return fail("%v", err)
	case !ok || name == "":
		return fail("name is required")
	case !callbackurls.ValidActionName(name):
		return outcomeError(i, "", "name must be 1 to %d letters, digits or underscores", callbackurls.MaxActionName)
	}
	o.name = name

	typ, ok, err := f.str("type")
	switch {
	case err != nil:
		return fail("%v", err)
	case !ok:
		return fail("type is required")
	}
	o.typ = callbackurls.ActionType(typ)
	spec := o.typ.Spec()
	if spec == nil || !spec.PostOutcome {
		return fail("type must be %s", callbackurls.TypeList(func(s *callbackurls.ActionSpec) bool { return s.PostOutcome }))
	}

	if err := o.parseSchema(f, m, fail); err != nil {
		return err
	}
	o.stored = storedOutcome{Name: o.name, Type: o.typ, Schema: o.stored.Schema}

	if spec.Output {
		err = o.parseSuccess(i, f, m, fail)
	}
	if spec.ErrorCause && err == nil {
		err = o.parseFailure(i, f, m, fail)
	}
	if err != nil {
		return err
	}
	return o.parseResponse(f, fail)
}

func (o *outcome) parseSchema(f fields, m *meter, fail func(string, ...any) error) error {
	raw, ok := f["schema"]
	if !ok {
		return fail("schema is required: a JSON Schema the body must match (true matches any body)")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fail("schema is not valid JSON")
	}
	if c := buf.Bytes()[0]; c != '{' && c != 't' && c != 'f' {
		return fail("schema must be a JSON Schema: an object, true or false")
	}
	if buf.Len() > MaxSchemaBytes {
		return fail("schema is %d bytes, more than the %d allowed", buf.Len(), MaxSchemaBytes)
	}
	sch, err := compileSchema(buf.Bytes(), m)
	if err != nil {
		return fail("schema: %s", schemaReason(err))
	}
	o.schema = sch
	o.stored.Schema = buf.Bytes()
	return nil
}

func (o *outcome) parseSuccess(i int, f fields, m *meter, fail func(string, ...any) error) error {
	n := 0
	if raw, ok := f["output"]; ok {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return fail("output is not valid JSON")
		}
		if buf.Len() > maxSelectedBytes {
			return fail("output is larger than Step Functions' %d bytes", maxSelectedBytes)
		}
		o.output, o.stored.Output = buf.Bytes(), buf.Bytes()
		n++
	}
	if raw, ok := f["output_body"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &o.outputBody); err != nil {
			return fail("output_body must be true or false")
		}
		if o.outputBody {
			o.stored.OutputBody = true
			n++
		}
	}
	path, ok, err := f.str("output_path")
	if err != nil {
		return fail("%v", err)
	}
	if ok {
		if o.outputPath, err = compilePath(i, o.name, "output_path", path, m); err != nil {
			return err
		}
		o.stored.OutputPath = path
		n++
	}
	if n != 1 {
		return fail("a success outcome needs exactly one of output, output_body: true or output_path")
	}
	return nil
}

func (o *outcome) parseFailure(i int, f fields, m *meter, fail func(string, ...any) error) error {
	for _, p := range []struct {
		key   string
		limit int
		text  *string
		path  **jsonpath.Path
		dst   *string
		dstP  *string
	}{
		{"error", callbackurls.MaxErrorLength, &o.errCode, &o.errorPath, &o.stored.Error, &o.stored.ErrorPath},
		{"cause", callbackurls.MaxCauseLength, &o.cause, &o.causePath, &o.stored.Cause, &o.stored.CausePath},
	} {
		text, hasText, err := f.str(p.key)
		if err != nil {
			return fail("%v", err)
		}
		path, hasPath, err := f.str(p.key + "_path")
		if err != nil {
			return fail("%v", err)
		}
		switch {
		case hasText && hasPath:
			return fail("%s and %s_path are mutually exclusive: give one", p.key, p.key)
		case hasText:
			if utf8.RuneCountInString(text) > p.limit {
				return fail("%s is longer than Step Functions' %d characters", p.key, p.limit)
			}
			*p.text, *p.dst = text, text
		case hasPath:
			if *p.path, err = compilePath(i, o.name, p.key+"_path", path, m); err != nil {
				return err
			}
			*p.dstP = path
		}
	}
	return nil
}

func (o *outcome) parseResponse(f fields, fail func(string, ...any) error) error {
	raw, ok := f["response"]
	if !ok || isNull(raw) {
		return nil
	}
	var spec callbackurls.ResponseSpec
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &spec) != nil {
		return fail("response must be an object with redirect, json, html or text")
	}
	if err := checkResponse(&spec); err != nil {
		return fail("%s", err)
	}
	b, err := jsontext.Marshal(&spec)
	if err != nil {
		return fail("response is not valid JSON")
	}
	if !bytes.Equal(b, []byte("{}")) {
		// Read back, so that the callback sees the compacted json body.
		var compact callbackurls.ResponseSpec
		if err := json.Unmarshal(b, &compact); err != nil {
			return fail("response is not valid JSON")
		}
		o.response, o.stored.Response = &compact, b
	}
	return nil
}

// checkResponse validates a response spec exactly as an action's is, by
// asking the core to validate an action that has it.
func checkResponse(spec *callbackurls.ResponseSpec) error {
	const probe = "outcome"
	req := callbackurls.CreateRequest{Target: callbackurls.TargetRef{ID: probe}, Actions: []callbackurls.Action{
		{Name: probe, Type: callbackurls.Heartbeat, Response: spec},
	}}
	err := req.Validate()
	if err == nil {
		return nil
	}
	var ae *callbackurls.Error
	if errors.As(err, &ae) {
		return errors.New(strings.TrimPrefix(ae.Message, "action "+probe+": "))
	}
	return err
}
