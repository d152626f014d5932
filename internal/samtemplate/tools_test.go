package samtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The two tools of the AWS SAM ecosystem that check a template offline:
// cfn-lint (the CloudFormation linter) and aws-sam-translator (the SAM
// transform itself, Python module samtranslator). Both are preinstalled on
// the CI machine's Python; elsewhere `pip install cfn-lint
// aws-sam-translator`. Without them these tests skip, and under CI=true
// they fail.

var (
	cfnLintConfig  = filepath.Join(repoRoot, ".cfnlintrc.yaml")
	translateCmd   = filepath.Join("testdata", "sam_translate.py")
	translatorOnce sync.Once
	translatorErr  error
)

// missingTool skips the test, or fails it under CI=true.
func missingTool(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func cfnLint(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short (make test-quick): cfn-lint takes most of a minute")
	}
	p, err := exec.LookPath("cfn-lint")
	if err != nil {
		missingTool(t, "cfn-lint is not installed (pip install cfn-lint): template lint not run")
	}
	return p
}

// cfnLintFinding is one match of cfn-lint's JSON output.
type cfnLintFinding struct {
	Filename string
	Level    string
	Message  string
	Rule     struct{ Id string }
	Location struct {
		Start struct{ LineNumber int }
	}
}

// runCfnLint lints templates in one cfn-lint run (it loads its schemas
// once, which is most of its time).
func runCfnLint(t *testing.T, bin string, paths ...string) []cfnLintFinding {
	t.Helper()
	args := []string{"--config-file", cfnLintConfig, "--format", "json"}
	// Deployment files name their templates; "--" would make the flag a path.
	if len(paths) == 0 || paths[0] != "--deployment-files" {
		args = append(args, "--")
	}
	cmd := exec.Command(bin, append(args, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// The exit status is a bit mask of the levels found; the JSON says the
	// same, and anything else is cfn-lint itself failing.
	var findings []cfnLintFinding
	if jerr := json.Unmarshal(out, &findings); jerr != nil {
		t.Fatalf("cfn-lint %v: %v (%v)\n%s%s", paths, err, jerr, out, stderr.Bytes())
	}
	return findings
}

func TestCfnLint(t *testing.T) {
	bin := cfnLint(t)
	tfs := templates(t)
	var paths []string
	for _, tf := range tfs {
		paths = append(paths, tf.path)
	}
	findings := runCfnLint(t, bin, paths...)
	for _, tf := range tfs {
		t.Run(tf.name, func(t *testing.T) {
			for _, f := range findings {
				if filepath.Clean(f.Filename) != filepath.Clean(tf.path) {
					continue
				}
				msg := f.Rule.Id + " line " + strconv.Itoa(f.Location.Start.LineNumber) + ": " + f.Message
				switch f.Level {
				case "Error", "Warning":
					t.Errorf("%s %s (fix it, or ignore the rule with its reason in .cfnlintrc.yaml)", f.Level, msg)
				default:
					t.Logf("%s %s", f.Level, msg)
				}
			}
		})
	}
	for _, f := range findings {
		if !slices.ContainsFunc(tfs, func(tf samTemplate) bool { return filepath.Clean(f.Filename) == filepath.Clean(tf.path) }) {
			t.Errorf("finding for an unknown file %q: %s", f.Filename, f.Message)
		}
	}
}

// cfn-lint runs, reads the settings, and finds a mistake the schema check
// cannot see (a value outside a CloudFormation property's enum).
func TestCfnLintCatchesMistakes(t *testing.T) {
	t.Parallel()
	bin := cfnLint(t)
	text := templateText(t)
	const old = "!If [CreateHmacKey, GENERATE_VERIFY_MAC, ENCRYPT_DECRYPT]"
	if !strings.Contains(text, old) {
		t.Fatalf("%q not in template.yaml", old)
	}
	bad := filepath.Join(t.TempDir(), "template.yaml")
	mutated := strings.Replace(text, old, "!If [CreateHmacKey, GENERATE_VERIFY_MACS, ENCRYPT_DECRYPT]", 1)
	if err := os.WriteFile(bad, []byte(mutated), 0o600); err != nil {
		t.Fatal(err)
	}
	findings := runCfnLint(t, bin, bad)
	if !slices.ContainsFunc(findings, func(f cfnLintFinding) bool { return f.Level == "Error" && f.Rule.Id == "E3030" }) {
		t.Errorf("cfn-lint missed an invalid KeyUsage: %+v", findings)
	}
}

// ---------------------------------------------------------------- translation

func requireTranslator(t *testing.T) {
	t.Helper()
	translatorOnce.Do(func() {
		if _, err := exec.LookPath("python3"); err != nil {
			translatorErr = err
			return
		}
		if out, err := exec.Command("python3", "-c", "import samtranslator").CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			translatorErr = fmt.Errorf("python3 -c 'import samtranslator': %v: %s", err, lines[len(lines)-1])
		}
	})
	if translatorErr != nil {
		missingTool(t, "the SAM translator is not installed (python3 with aws-sam-translator: pip install aws-sam-translator): "+translatorErr.Error())
	}
}

// translate runs the SAM transform on a decoded template (defaults for the
// parameters, or the given ones) and returns plain CloudFormation, or the
// translator's complaint.
func translate(t *testing.T, doc map[string]any, params ...string) (map[string]any, string) {
	t.Helper()
	requireTranslator(t)
	in, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{translateCmd, "-"}
	for _, p := range params {
		args = append(args, "--parameter", p)
	}
	cmd := exec.Command("python3", args...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			t.Fatalf("run %s: %v", translateCmd, err)
		}
		return nil, strings.TrimSpace(stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("translator output: %v", err)
	}
	return out, ""
}

// realDependencies is the translated template's resource graph: every
// Ref, GetAtt and Sub in a resource's properties and metadata, and
// DependsOn.
func realDependencies(doc map[string]any) map[string][]string {
	d := declarations(doc)
	deps := map[string][]string{}
	for id, r := range section(doc, "Resources") {
		rm := mapAt(r)
		deps[id] = append(deps[id], stringList(rm["DependsOn"])...)
		for _, part := range []any{rm["Properties"], rm["Metadata"]} {
			collectRefs(part, id, func(ref reference) {
				if ref.kind != "Condition" && d.resources[ref.name] {
					deps[id] = append(deps[id], ref.name)
				}
			})
		}
	}
	return deps
}

// Every template translates, and what comes out is sound: every name it
// refers to exists, no dependency cycle, every function has its role.
func TestSAMTranslation(t *testing.T) {
	for _, tf := range templates(t) {
		t.Run(tf.name, func(t *testing.T) {
			t.Parallel()
			out, complaint := translateCached(t, tf, nil)
			if complaint != "" {
				t.Fatalf("sam deploy would refuse %s:\n%s", tf.name, complaint)
			}
			if _, ok := out["Transform"]; ok {
				t.Error("the translated template still has a Transform")
			}
			for _, msg := range undeclared(out) {
				t.Errorf("translated template: undeclared %s", msg)
			}
			if c := findCycle(realDependencies(out)); c != nil {
				t.Errorf("translated template: circular dependency %s", strings.Join(c, " -> "))
			}
			for _, id := range resourcesOfType(out, "AWS::Lambda::Function") {
				role := mapAt(out, "Resources", id, "Properties")["Role"]
				if att, ok := mapAt(role)["Fn::GetAtt"].([]any); ok {
					if r := mapAt(out, "Resources", att[0].(string)); r["Type"] != "AWS::IAM::Role" {
						t.Errorf("%s: role %v is not a role of the stack", id, att[0])
					}
				}
			}
		})
	}
}

// template.yaml's translation per deployment: TestDeploymentsTranslate.

// The translator refuses what CloudFormation's transform would refuse, and
// the script does not let a misspelt managed policy name through.
func TestSAMTranslationCatchesMistakes(t *testing.T) {
	for _, c := range []struct {
		name, want string
		mutate     func(doc map[string]any)
	}{
		{"unknown function property", "property Runtiem not defined", func(doc map[string]any) {
			mapAt(doc, "Resources", "CreateUrlsFunction", "Properties")["Runtiem"] = "go1.x"
		}},
		{"unknown managed policy", "names a managed policy", func(doc map[string]any) {
			// SAM reads Policies only for a role it generates.
			p := mapAt(doc, "Resources", "ProcessCallbackFunction", "Properties")
			delete(p, "Role")
			p["Policies"] = []any{"AWSLambdaBasicExecutionRol"}
		}},
		{"incomplete event", "'Method' is required", func(doc map[string]any) {
			mapAt(doc, "Resources", "ProcessCallbackFunction", "Properties")["Events"] = map[string]any{
				"Hook": map[string]any{"Type": "Api", "Properties": map[string]any{"Path": "/x"}},
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			doc := loadTemplate(t)
			c.mutate(doc)
			if _, complaint := translate(t, doc); !strings.Contains(complaint, c.want) {
				t.Errorf("translator said %q, want %q", complaint, c.want)
			}
		})
	}
}
