// Package examples holds the example applications; its test checks what
// they have in common: each has a README with a diagram, a SAM template
// and a state machine whose substitutions match, and every state machine
// is valid Amazon States Language as the npm package asl-validator checks
// it.
package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/samtemplate"
)

// The examples, each a directory of this one.
var examples = []string{"activity-worker", "approval-email", "durable-approval", "no-code-approval", "sqs-callback", "webhook"}

// withoutStateMachine are the examples that wait in a Lambda durable
// function instead of a state machine.
var withoutStateMachine = []string{"durable-approval"}

func withStateMachine() []string {
	var out []string
	for _, ex := range examples {
		if !slices.Contains(withoutStateMachine, ex) {
			out = append(out, ex)
		}
	}
	return out
}

func TestExamplesAreComplete(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" {
			dirs = append(dirs, e.Name())
		}
	}
	if !slices.Equal(dirs, examples) {
		t.Errorf("example directories %v, want %v (update the list and examples/README.md)", dirs, examples)
	}
	index, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join(ex, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"```mermaid", "## Deploy", "## Try it", "sam delete"} {
				if !bytes.Contains(readme, []byte(want)) {
					t.Errorf("README.md lacks %q", want)
				}
			}
			if !bytes.Contains(index, []byte("("+ex+"/)")) {
				t.Errorf("examples/README.md does not link %s/", ex)
			}
			if slices.Contains(withoutStateMachine, ex) {
				return
			}
			def, err := os.ReadFile(filepath.Join(ex, asl.File))
			if err != nil {
				t.Fatal(err)
			}
			subs, err := asl.TemplateSubstitutions(ex)
			if err != nil {
				t.Fatal(err)
			}
			if used := asl.Placeholders(def); !slices.Equal(used, subs) {
				t.Errorf("%s uses ${...} %v; template.yaml's DefinitionSubstitutions are %v", asl.File, used, subs)
			}
		})
	}
}

// sampleValues are values of the shape each substitution takes once
// deployed, from the type of the resource it refers to.
func sampleValues(t *testing.T, dir string) map[string]string {
	t.Helper()
	tmpl, err := samtemplate.Load(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	resources, _ := tmpl["Resources"].(map[string]any)
	typeOf := func(id string) string {
		r, _ := resources[id].(map[string]any)
		s, _ := r["Type"].(string)
		return s
	}
	out := map[string]string{}
	for _, r := range resources {
		res, _ := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		subs, _ := props["DefinitionSubstitutions"].(map[string]any)
		for name, v := range subs {
			ref := v.(map[string]any)
			var kind string
			switch {
			case ref["Ref"] != nil && typeOf(ref["Ref"].(string)) == "":
				// A parameter: its name says what it holds.
				kind = "Parameter " + ref["Ref"].(string)
			case ref["Ref"] != nil:
				kind = "Ref " + typeOf(ref["Ref"].(string))
			case ref["Fn::GetAtt"] != nil:
				ga := ref["Fn::GetAtt"].([]any)
				kind = "GetAtt " + typeOf(ga[0].(string)) + "." + ga[1].(string)
			}
			sample, ok := map[string]string{
				"Ref AWS::SQS::Queue":                      "https://sqs.us-east-1.amazonaws.com/123456789012/example-queue",
				"Ref AWS::StepFunctions::Activity":         "arn:aws:states:us-east-1:123456789012:activity:example",
				"GetAtt AWS::Serverless::Function.Arn":     "arn:aws:lambda:us-east-1:123456789012:function:example",
				"Ref AWS::SNS::Topic":                      "arn:aws:sns:us-east-1:123456789012:example",
				"GetAtt AWS::StepFunctions::Activity.Name": "example",
				"Parameter FunctionArn":                    "arn:aws:lambda:us-east-1:123456789012:function:sfn-callback-urls-create-urls",
			}[kind]
			if !ok {
				t.Fatalf("${%s} is %v: add a sample value for %q here", name, v, kind)
			}
			out[name] = sample
		}
	}
	return out
}

// aslValidator finds asl-validator; without it the test skips, except
// under CI=true, where it fails.
func aslValidator(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("asl-validator")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("asl-validator is not on PATH (CI=true: the state machines must be validated); install: npm install -g asl-validator")
	}
	t.Skip("asl-validator is not on PATH: state machines not validated (install: npm install -g asl-validator)")
	return ""
}

// validate runs asl-validator once on the definitions (by name) and
// returns its report of each.
func validate(t *testing.T, validator string, definitions map[string][]byte) (map[string]string, error) {
	t.Helper()
	dir := t.TempDir()
	args := []string{}
	paths := map[string]string{}
	for name, def := range definitions {
		f := filepath.Join(dir, name+".asl.json")
		if err := os.WriteFile(f, def, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--json-path", f)
		paths[name] = f
	}
	out, err := exec.Command(validator, args...).CombinedOutput()
	// Each report starts with a line naming the file; an invalid one's
	// problems follow on lines of their own.
	reports := map[string]string{}
	current := ""
	for _, line := range strings.Split(string(out), "\n") {
		for name, f := range paths {
			if strings.Contains(line, `"`+f+`"`) {
				current, line = name, strings.ReplaceAll(line, f, name)
			}
		}
		if current != "" && line != "" {
			reports[current] += line + "\n"
		}
	}
	if len(reports) == 0 {
		reports[""] = string(out)
	}
	return reports, err
}

func TestStateMachinesAreValid(t *testing.T) {
	validator := aslValidator(t)

	// The check can fail: a definition with a dangling Next is refused.
	bad := []byte(`{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}`)
	if out, err := validate(t, validator, map[string][]byte{"dangling-next": bad}); err == nil {
		t.Fatalf("asl-validator accepted a dangling Next:\n%v", out)
	}

	defs := map[string][]byte{}
	for _, ex := range withStateMachine() {
		def, err := asl.Read(ex, sampleValues(t, ex))
		if err != nil {
			t.Fatal(err)
		}
		defs[ex] = def
	}
	reports, err := validate(t, validator, defs)
	for _, ex := range withStateMachine() {
		if r := reports[ex]; !strings.Contains(r, "is valid") || strings.Contains(r, "invalid") {
			t.Errorf("%s/%s: asl-validator says:\n%s", ex, asl.File, r)
		} else {
			t.Log(strings.TrimSpace(r))
		}
	}
	if err != nil && !t.Failed() {
		t.Errorf("asl-validator: %v\n%v", err, reports)
	}
}
