package samtemplate

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/doctest"
)

// The deploy documentation: docs/DEPLOY.md and the README's short section.
var (
	deployDocPath = filepath.Join(repoRoot, "docs", "DEPLOY.md")
	readmePath    = filepath.Join(repoRoot, "README.md")
	hmacKeyPolicy = filepath.Join(repoRoot, "docs", "hmac-key-policy.json")
)

// awsBlocks returns the shell blocks of a document that need AWS (marked
// skip; the documentation check runs the others).
func awsBlocks(t *testing.T, path string) []doctest.Block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := doctest.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []doctest.Block
	for _, b := range blocks {
		if strings.Contains(b.Skip, "AWS") {
			out = append(out, b)
		}
	}
	return out
}

// shellKnown are the commands the deploy blocks may call: the tools the
// checklist names and bash's own.
var shellKnown = map[string]bool{
	"aws": true, "sam": true, "make": true, "jq": true, "curl": true, "go": true, "sed": true, "grep": true,
	"sleep": true, "echo": true, "cat": true, "rm": true, "printf": true, "test": true, "true": true, "false": true,
	"cd": true, "export": true, "read": true, "set": true, "sfn-callback-urls": true,
	// keywords
	"case": true, "esac": true, "for": true, "in": true, "do": true, "done": true, "if": true, "then": true,
	"else": true, "fi": true, "while": true,
}

// shellEnv are the variables a block may read without setting them.
var shellEnv = map[string]bool{"HOME": true, "PATH": true, "AWS_REGION": true, "AWS_PROFILE": true}

var (
	singleQuoted = regexp.MustCompile(`'[^']*'`)
	varUse       = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	assignment   = regexp.MustCompile(`(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=`)
	loopVar      = regexp.MustCompile(`\b(?:for|read(?:\s+-r)?)\s+([A-Za-z_][A-Za-z0-9_]*)`)
	funcDef      = regexp.MustCompile(`(?m)^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)\s*\{`)
	caseArm      = regexp.MustCompile(`(?m)^\s*[A-Za-z0-9_|*.-]+\)\s`)
	commandWord  = regexp.MustCompile(`(?:^|[|;&(\n{]|\$\(|\bthen\b|\bdo\b|\belse\b)[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)([=]?)`)
)

// standAlone reports what keeps a block from running in a fresh shell by
// itself: a syntax error, a variable it reads and never sets, a command
// that is neither a known tool nor a function it defines.
func standAlone(text string) []string {
	var problems []string
	cmd := exec.Command("bash", "--norc", "--noprofile", "-n")
	cmd.Stdin = strings.NewReader(text + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		problems = append(problems, "bash -n: "+strings.TrimSpace(stderr.String()))
	}
	// Single-quoted text is literal (jq programs, JSON): no variables there.
	code := singleQuoted.ReplaceAllString(text, "''")
	code = regexp.MustCompile(`\\\n`).ReplaceAllString(code, " ")
	set := map[string]bool{}
	for _, m := range assignment.FindAllStringSubmatch(code, -1) {
		set[m[1]] = true
	}
	for _, m := range loopVar.FindAllStringSubmatch(code, -1) {
		set[m[1]] = true
	}
	for _, m := range varUse.FindAllStringSubmatch(code, -1) {
		if !set[m[1]] && !shellEnv[m[1]] {
			problems = append(problems, "$"+m[1]+" is never set in the block")
		}
	}
	defined := map[string]bool{}
	for _, m := range funcDef.FindAllStringSubmatch(code, -1) {
		defined[m[1]] = true
	}
	// Comments out, separators inside double quotes out (sed's s|a|b|
	// is no pipe), case arms' patterns out.
	code = regexp.MustCompile(`(?m)(^|\s)#.*$`).ReplaceAllString(code, "")
	code = blankQuotedSeparators(code)
	code = caseArm.ReplaceAllString(code, " ")
	for _, m := range commandWord.FindAllStringSubmatch(code, -1) {
		if m[2] == "=" {
			continue // an assignment
		}
		if !shellKnown[m[1]] && !defined[m[1]] {
			problems = append(problems, "calls "+m[1]+", which the block does not define")
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// blankQuotedSeparators replaces |, ; and & inside double quotes with
// spaces, keeping $( so that a command substitution's command still shows.
func blankQuotedSeparators(code string) string {
	b := []byte(code)
	quoted := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case b[i] == '"':
			quoted = !quoted
		case quoted && (b[i] == '|' || b[i] == ';' || b[i] == '&'):
			b[i] = ' '
		}
	}
	return string(b)
}

// Every AWS block of the deploy documentation runs in a fresh shell on its
// own: none reads a variable or calls a function of another block.
func TestDeployBlocksStandAlone(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		missingTool(t, "bash is not installed")
	}
	for _, doc := range []string{deployDocPath, readmePath} {
		blocks := awsBlocks(t, doc)
		if doc == deployDocPath && len(blocks) < 10 {
			t.Errorf("%s: %d AWS blocks found", doc, len(blocks))
		}
		for _, b := range blocks {
			var text []string
			for _, c := range b.Commands {
				text = append(text, c.Text)
			}
			for _, p := range standAlone(strings.Join(text, "\n")) {
				t.Errorf("%s:%d: %s", filepath.Base(doc), b.Line, p)
			}
		}
	}
	// What the check is there to catch.
	for text, want := range map[string]string{
		`KEY_ARN=$(out KeyArn)`:                             "calls out",
		`aws kms schedule-key-deletion --key-id "$KEY_ARN"`: "$KEY_ARN is never set",
		`echo "unclosed`:                                    "bash -n",
	} {
		if p := standAlone(text); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("%q: %v, want %q", text, p, want)
		}
	}
	ok := "STACK=x\nout() { aws cloudformation describe-stacks --stack-name \"$STACK\" --query 'Stacks[0].Outputs[?OutputKey==`$1`]'; }\n" +
		"K=$(out KeyArn)\ncase \"$K\" in\n  a|b) echo \"$K\" ;;\n  *) jq -n '$x' ;;\nesac\nfor F in a b; do echo \"$F\"; done"
	if p := standAlone(ok); len(p) > 0 {
		t.Errorf("a block that stands alone: %v", p)
	}
}

// The deploy doc names every parameter and output of the template, and
// every resource type moto could not create.
func TestDeployDocCoversTheTemplate(t *testing.T) {
	data, err := os.ReadFile(deployDocPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	doc := loadTemplate(t)
	for _, sec := range []string{"Parameters", "Outputs"} {
		for name := range section(doc, sec) {
			if !strings.Contains(text, "`"+name+"`") {
				t.Errorf("%s: %s %s is not documented", deployDocPath, sec, name)
			}
		}
	}
	for typ := range motoCannotCreate {
		if !strings.Contains(text, strings.TrimPrefix(typ, "AWS::ApiGateway::")) {
			t.Errorf("%s does not say moto cannot create %s", deployDocPath, typ)
		}
	}
	if !strings.Contains(text, "1.104.0") {
		t.Error("the minimum SAM CLI version is not stated")
	}
}

// docs/hmac-key-policy.json, which the rotation block gives a new key, is
// the policy the stack gives the HMAC key it creates.
func TestHmacKeyPolicyDoc(t *testing.T) {
	data, err := os.ReadFile(hmacKeyPolicy)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("ACCOUNT_ROOT", "arn:aws:iam::123456789012:root",
		"PROCESS_CALLBACK_ROLE", "<ProcessCallbackFunctionRole.Arn>", "CREATE_URLS_ROLE", "<CreateUrlsFunctionRole.Arn>").Replace(string(data))
	var got any
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatal(err)
	}
	want := mapAt(evaluate(t, loadTemplate(t), nil).resources()["EncryptionKey"], "Properties", "KeyPolicy")
	wantJSON, _ := json.Marshal(want)
	var wantValue any
	if err := json.Unmarshal(wantJSON, &wantValue); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantValue, got); diff != "" {
		t.Errorf("%s differs from the template's HMAC key policy (-template +doc):\n%s", hmacKeyPolicy, diff)
	}
}
