package asl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeExample(t *testing.T, definition, template string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte(definition), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const definition = `{"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
  "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
  "Parameters": {"FunctionName": "${Fn}", "Payload": {"step": "ask", "token.$": "$$.Task.Token",
    "who.$": "$.person.name", "all.$": "$", "list": [{"n.$": "$$.Execution.Name"}]}},
  "End": true}}}`

const template = `Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine.asl.json
      DefinitionSubstitutions:
        Fn: !GetAtt F.Arn
  F:
    Type: AWS::Serverless::Function
`

func TestReadAndParameters(t *testing.T) {
	dir := writeExample(t, definition, template)
	if subs, err := TemplateSubstitutions(dir); err != nil || !cmp.Equal(subs, []string{"Fn"}) {
		t.Errorf("TemplateSubstitutions = %v, %v", subs, err)
	}
	def, err := Read(dir, map[string]string{"Fn": `arn:aws:lambda:us-east-1:1:function:"quoted"`})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), `"FunctionName": "arn:aws:lambda:us-east-1:1:function:\"quoted\""`) {
		t.Errorf("substituted as JSON string text: %s", def)
	}
	got, err := Parameters(def, "Ask", "Payload", map[string]any{"person": map[string]any{"name": "Ann"}}, Context{TaskToken: "tok", ExecutionName: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(got, &v)
	want := map[string]any{"step": "ask", "token": "tok", "who": "Ann", "all": map[string]any{"person": map[string]any{"name": "Ann"}}, "list": []any{map[string]any{"n": "e1"}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("Payload (-want +got):\n%s", diff)
	}

	for name, f := range map[string]func() error{
		"missing value": func() error { _, err := Read(dir, map[string]string{}); return err },
		"unused value":  func() error { _, err := Read(dir, map[string]string{"Fn": "x", "Other": "y"}); return err },
		"missing input": func() error { _, err := Parameters(def, "Ask", "Payload", map[string]any{}, Context{}); return err },
		"no state":      func() error { _, err := Parameters(def, "Nope", "Payload", nil, Context{}); return err },
		"no field":      func() error { _, err := Parameters(def, "Ask", "MessageBody", nil, Context{}); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := TemplateSubstitutions(writeExample(t, definition, "Resources: {}\n")); err == nil {
		t.Error("a template without the state machine: no error")
	}
}

// TestJSONataArguments: a JSONata state's Arguments, with the expressions
// the examples use, and an error for any other.
func TestJSONataArguments(t *testing.T) {
	def := []byte(`{"QueryLanguage": "JSONata", "StartAt": "Ask", "States": {"Ask": {"Type": "Task",
	  "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
	  "Arguments": {"FunctionName": "f", "Payload": {"step": "ask", "token": "{% $states.context.Task.Token %}",
	    "who": "{% $states.input.person.name %}", "all": "{%$states.input%}", "list": [{"n": "{% $states.context.Execution.Name %}"}]}},
	  "End": true},
	  "Odd": {"Type": "Task", "Resource": "r", "Arguments": {"x": "{% $uppercase($states.input.a) %}"}, "End": true},
	  "Old": {"Type": "Task", "Resource": "r", "QueryLanguage": "JSONPath", "Parameters": {"x.$": "$.a"}, "End": true}}}`)
	input := map[string]any{"person": map[string]any{"name": "Ann"}, "a": "b"}
	got, err := Parameters(def, "Ask", "Payload", input, Context{TaskToken: "tok", ExecutionName: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(got, &v)
	want := map[string]any{"step": "ask", "token": "tok", "who": "Ann", "all": input, "list": []any{map[string]any{"n": "e1"}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("Payload (-want +got):\n%s", diff)
	}
	if _, err := Parameters(def, "Odd", "x", input, Context{}); err == nil || !strings.Contains(err.Error(), "$uppercase") {
		t.Errorf("an unknown expression: %v", err)
	}
	if got, err := Parameters(def, "Old", "", input, Context{}); err != nil || string(got) != `{"x":"b"}` {
		t.Errorf("a JSONPath state in a JSONata machine: %s, %v", got, err)
	}
}
