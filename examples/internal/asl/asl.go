// Package asl reads the examples' state machines for their tests: the
// Amazon States Language of an example's statemachine.asl.json with the
// DefinitionSubstitutions its template.yaml declares, and the Parameters a
// state would send (the Lambda Payload, the SQS MessageBody), so a test can
// build the very event the state machine sends.
package asl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/samtemplate"
)

// File is an example's state machine file name.
const File = "statemachine.asl.json"

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_:.]+)\}`)

// Placeholders are the ${Name} substitutions the definition uses, sorted.
func Placeholders(definition []byte) []string {
	var names []string
	for _, m := range placeholder.FindAllSubmatch(definition, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TemplateSubstitutions are the keys of DefinitionSubstitutions of the
// state machine in dir/template.yaml whose DefinitionUri is File, sorted.
func TemplateSubstitutions(dir string) ([]string, error) {
	tmpl, err := samtemplate.Load(filepath.Join(dir, "template.yaml"))
	if err != nil {
		return nil, err
	}
	resources, _ := tmpl["Resources"].(map[string]any)
	var found []string
	n := 0
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::StateMachine" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		if props["DefinitionUri"] != File {
			continue
		}
		n++
		subs, _ := props["DefinitionSubstitutions"].(map[string]any)
		for k := range subs {
			found = append(found, k)
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%s: %d state machines with DefinitionUri %s, want 1", dir, n, File)
	}
	slices.Sort(found)
	return found, nil
}

// Read returns dir's definition with each ${Name} replaced by values[Name].
// Every placeholder must have a value and every value a placeholder, as
// the template's substitutions must match the file.
func Read(dir string, values map[string]string) ([]byte, error) {
	def, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, err
	}
	names := Placeholders(def)
	for _, n := range names {
		if _, ok := values[n]; !ok {
			return nil, fmt.Errorf("%s: no value for ${%s}", dir, n)
		}
	}
	for n := range values {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("%s: ${%s} is not used", dir, n)
		}
	}
	out := placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		v := values[string(placeholder.FindSubmatch(m)[1])]
		// Substitutions stand inside JSON strings here.
		b, _ := json.Marshal(v)
		return b[1 : len(b)-1]
	})
	if !json.Valid(out) {
		return nil, fmt.Errorf("%s: not JSON after substitution", dir)
	}
	return out, nil
}

// Context is what a state's "$$" paths read (the context object).
type Context struct {
	ExecutionID   string
	ExecutionName string
	StateName     string
	EnteredTime   string
	TaskToken     string
}

// Parameters evaluates the member field (such as "Payload" or
// "MessageBody") of state's Parameters (JSONPath) or Arguments (JSONata),
// or with field "" the whole of them (an activity's input), as Step
// Functions does for the expressions the examples use. JSONPath: a key
// "k.$" takes the value at its path, "$" or "$.a.b" in the state's input
// or one of Context's "$$" paths. JSONata: a string "{% expr %}" takes
// the value of expr, $states.input or $states.input.a.b, or one of
// Context's $states.context paths. Other values are copied; any other
// path or expression is an error, so a test never reads a value its
// state machine would not send.
func Parameters(definition []byte, state, field string, input any, c Context) (json.RawMessage, error) {
	var def struct {
		QueryLanguage string
		States        map[string]struct {
			QueryLanguage string
			Parameters    map[string]any
			Arguments     map[string]any
		}
	}
	if err := json.Unmarshal(definition, &def); err != nil {
		return nil, err
	}
	st, ok := def.States[state]
	if !ok {
		return nil, fmt.Errorf("no state %q", state)
	}
	lang, member, args := def.QueryLanguage, "Parameters", st.Parameters
	if st.QueryLanguage != "" {
		lang = st.QueryLanguage
	}
	if lang == "JSONata" {
		member, args = "Arguments", st.Arguments
		if st.Parameters != nil {
			return nil, fmt.Errorf("state %q: a JSONata state has Arguments, not Parameters", state)
		}
	} else if st.Arguments != nil {
		return nil, fmt.Errorf("state %q: a JSONPath state has Parameters, not Arguments", state)
	}
	var tmpl any = args
	ok = args != nil
	if field != "" {
		tmpl, ok = args[field]
	}
	if !ok {
		return nil, fmt.Errorf("state %q has no %s.%s", state, member, field)
	}
	var in any
	b, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	eval := evaluate
	if lang == "JSONata" {
		eval = evaluateJSONata
	}
	v, err := eval(tmpl, in, c)
	if err != nil {
		return nil, fmt.Errorf("state %q: %w", state, err)
	}
	return json.Marshal(v)
}

// evaluateJSONata fills a JSONata state's Arguments: "{% expr %}" strings
// are the value of expr (see Parameters).
func evaluateJSONata(tmpl, input any, c Context) (any, error) {
	switch t := tmpl.(type) {
	case string:
		expr, ok := strings.CutPrefix(t, "{%")
		if !ok {
			return t, nil
		}
		expr, ok = strings.CutSuffix(expr, "%}")
		if !ok {
			return nil, fmt.Errorf("%q: a JSONata string is {%% expr %%}", t)
		}
		expr = strings.TrimSpace(expr)
		if rest, ok := strings.CutPrefix(expr, "$states.context."); ok {
			return lookup("$$."+rest, input, c)
		}
		if expr == "$states.input" {
			return input, nil
		}
		if rest, ok := strings.CutPrefix(expr, "$states.input."); ok {
			return lookup("$."+rest, input, c)
		}
		return nil, fmt.Errorf("the JSONata expression %q is not one this evaluator knows", expr)
	case map[string]any:
		out := map[string]any{}
		for k, v := range t {
			ev, err := evaluateJSONata(v, input, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			ev, err := evaluateJSONata(v, input, c)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return tmpl, nil
}

func evaluate(tmpl, input any, c Context) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range t {
			name, isPath := strings.CutSuffix(k, ".$")
			if !isPath {
				ev, err := evaluate(v, input, c)
				if err != nil {
					return nil, err
				}
				out[k] = ev
				continue
			}
			path, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: a path must be a string", k)
			}
			ev, err := lookup(path, input, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[name] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			ev, err := evaluate(v, input, c)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return tmpl, nil
}

func lookup(path string, input any, c Context) (any, error) {
	switch path {
	case "$$.Execution.Id":
		return c.ExecutionID, nil
	case "$$.Execution.Name":
		return c.ExecutionName, nil
	case "$$.State.Name":
		return c.StateName, nil
	case "$$.State.EnteredTime":
		return c.EnteredTime, nil
	case "$$.Task.Token":
		return c.TaskToken, nil
	case "$":
		return input, nil
	}
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok {
		return nil, fmt.Errorf("path %q is not one this evaluator knows", path)
	}
	v := input
	for _, key := range strings.Split(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("path %q: %q is not in an object", path, key)
		}
		if v, ok = m[key]; !ok {
			return nil, fmt.Errorf("path %q: no %q in the input (States.Runtime)", path, key)
		}
	}
	return v, nil
}
