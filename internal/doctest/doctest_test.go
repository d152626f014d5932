package doctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDocs runs every shell block of README.md and docs/*.md, in order,
// against the built CLI's local server, and compares their output with
// the documents'.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs the documents")
	}
	RequireTools(t)
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{filepath.Join(root, "README.md")}, docs...)
	// DOCTEST_DOCS (paths, space-separated, relative to the module root)
	// checks other documents instead.
	if list := os.Getenv("DOCTEST_DOCS"); list != "" {
		docs = nil
		for _, doc := range strings.Fields(list) {
			if !filepath.IsAbs(doc) {
				doc = filepath.Join(root, doc)
			}
			docs = append(docs, doc)
		}
	}
	cli := BuildCLI(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("%d documents in %v", len(docs), time.Since(start).Round(time.Millisecond)) })
	for _, doc := range docs {
		t.Run(filepath.Base(doc), func(t *testing.T) {
			t.Parallel()
			Run(t, doc, Env{CLI: cli})
		})
	}
}

func TestParse(t *testing.T) {
	doc := "# T\n\n" +
		"```sh\nmake run   # a comment\nmake test\n```\n\n" +
		"<!-- doctest: skip (needs an AWS account) -->\n```sh\nsam deploy\n```\n\n" +
		"<!-- doctest: serve --enable-post-actions -->\n\n```console\n" +
		"$ TOKEN=$(curl -s -X POST localhost:8080/local/tasks \\\n    -d '{}' | jq -r .token)\n" +
		"$ curl -s localhost:8080/urls -d @- <<EOF | jq .\n{\"token\": \"$TOKEN\"}\nEOF\n{\n  \"a\": 1\n}\n" +
		"$ X=$(cat <<EOF\nbody\nEOF\n)\n" +
		"$ echo 'a\nb'\na\nb\n```\n\n" +
		"```json\n{\"not\": \"shell\"}\n```\n\n" +
		"- a list\n\n  ```bash\n  $ echo indented\n  indented\n  ```\n"
	got, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{Line: 3, Commands: []Command{{Line: 4, Text: "make run   # a comment\nmake test"}}},
		{Line: 9, Skip: "needs an AWS account", Commands: []Command{{Line: 10, Text: "sam deploy"}}},
		{Line: 15, Serve: []string{"--enable-post-actions"}, Commands: []Command{
			{Line: 16, Text: "TOKEN=$(curl -s -X POST localhost:8080/local/tasks \\\n    -d '{}' | jq -r .token)"},
			{Line: 18, Text: "curl -s localhost:8080/urls -d @- <<EOF | jq .\n{\"token\": \"$TOKEN\"}\nEOF", Want: "{\n  \"a\": 1\n}"},
			{Line: 24, Text: "X=$(cat <<EOF\nbody\nEOF\n)"},
			{Line: 28, Text: "echo 'a\nb'", Want: "a\nb"},
		}},
		{Line: 40, Commands: []Command{{Line: 41, Text: "echo indented", Want: "indented"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}

	for _, bad := range []string{
		"```sh\n$ echo\n",                               // not closed
		"<!-- doctest: skip -->\n```sh\nx\n```\n",       // no reason
		"<!-- doctest: frobnicate -->\n```sh\nx\n```\n", // unknown
		"```sh\noutput first\n$ echo\n```\n",            // output before a command
		"```sh\n$ cat <<EOF\nnever ends\n```\n",         // an open here-document
		"```sh\n$ echo \"open quote\n```\n",             // an open quote
		"```sh\n$ curl -s \\\n```\n",                    // a final backslash
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, command, want, got string
		ok                       bool
	}{
		{"same text", "", "HTTP/1.1 303 See Other\nLocation: x", "HTTP/1.1 303 See Other\r\nLocation: x  ", true},
		{"other text", "", "Allow: POST", "Allow: GET", false},
		{"line count", "", "a\nb", "a", false},
		{"JSON spacing and order", "", `{"a": 1, "b": [true, null]}`, "{\n  \"b\": [true, null],\n  \"a\": 1\n}", true},
		{"JSON number", "", `{"a": 1}`, `{"a": 2}`, false},
		{"JSON 1 is not 1.0", "", `{"a": 1}`, `{"a": 1.0}`, false},
		{"JSON member missing", "", `{"a": 1, "b": 2}`, `{"a": 1}`, false},
		{"JSON member extra", "", `{"a": 1}`, `{"a": 1, "b": 2}`, false},
		{"JSON array length", "", `[1, 2]`, `[1]`, false},
		{"JSON want, text got", "", `{"a": 1}`, `oops`, false},
		{"several JSON values", "", "{\"a\":1}\n{\"b\":2}", `{"a":1} {"b":2}`, true},
		{"ids masked", "", `{"transaction_id":"4f6e1c0b8d0a4c3e9a3b6d2f1e0c9b8a"}`, `{"transaction_id":"0123456789abcdef0123456789abcdef"}`, true},
		{"ids in text", "", `{"message":"x 4f6e1c0b8d0a4c3e9a3b6d2f1e0c9b8a"}`, `{"message":"y 0123456789abcdef0123456789abcdef"}`, false},
		{"data masked, the rest kept", "", `"http://127.0.0.1:9000/respond?action=a&type=success&data=3-AQQ..."`,
			`"http://127.0.0.1:9000/respond?action=a&type=success&data=3-Zm9v_-x"`, true}, // a string alone is text
		{"URL in JSON", "", `{"u": "http://h/respond?action=a&type=success&data=3-AQQ..."}`, `{"u": "http://h/respond?action=a&type=success&data=3-Zm9v_-x"}`, true},
		{"URL with a cut data parameter", "", `{"u": "http://h/respond?action=a&type=post&data=3-AQRhZX...IcE"}`, `{"u": "http://h/respond?action=a&type=post&data=3-AQQ4em_-x"}`, true},
		{"URL's action differs", "", `{"u": "http://h/respond?action=a&type=success&data=3-AQQ"}`, `{"u": "http://h/respond?action=b&type=success&data=3-AQQ"}`, false},
		{"timestamps masked", "", `{"created": "2030-01-01T00:00:00Z"}`, `{"created": "2026-05-04T12:13:14.123+02:00"}`, true},
		{"a timestamp the command names is kept", `-d '{"expiration": "2030-01-01T00:00:00Z"}'`, `{"expiration": "2030-01-01T00:00:00Z"}`, `{"expiration": "2030-01-01T00:00:01Z"}`, false},
		{"ellipsis", "", `Location: https://x/done?by=Zo%C3%AB...`, `Location: https://x/done?by=Zo%C3%AB&z=1`, true},
		{"unicode ellipsis", "", `{"token": "AQCEAA…wXyZ"}`, `{"token": "AQCEAAanythingwXyZ"}`, true},
		{"ellipsis keeps both ends", "", `{"token": "AQCEAA…wXyZ"}`, `{"token": "anything"}`, false},
		{"ellipsis keeps the rest", "", `{"token": "AQC…"}`, `{"token": "BQC"}`, false},
		{"bare number is text", "", `1173`, `1174`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Match(tt.command, tt.want, tt.got)
			if (err == nil) != tt.ok {
				t.Errorf("Match(%q, %q) = %v, want ok %t", tt.want, tt.got, err, tt.ok)
			}
		})
	}
}

// TestCheckReports: the runner runs blocks in order in one shell, starts
// the server, and reports a wrong output, a failing command (and stops
// there) and what it skipped.
func TestCheckReports(t *testing.T) {
	RequireTools(t)
	cli := BuildCLI(t)
	doc := filepath.Join(t.TempDir(), "DOC.md")
	write := func(s string) {
		if err := os.WriteFile(doc, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("```sh\n$ X=kept\n```\n\n" +
		"<!-- doctest: skip (needs an AWS account) -->\n```sh\naws sts get-caller-identity\n```\n\n" +
		"<!-- doctest: serve -->\n```sh\n$ curl -s localhost:8080/healthz\n{\"status\": \"ok\"}\n" +
		"$ echo \"$X\"\nkept\n$ echo wrong\nright\n$ false\n$ echo never\nnever\n```\n")
	res, err := Check(doc, Env{CLI: cli, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "DOC.md:6: not run: needs an AWS account") {
		t.Errorf("notes %q", res.Notes)
	}
	if len(res.Problems) != 2 || !strings.HasPrefix(res.Problems[0], "DOC.md:16: the output differs") ||
		!strings.HasPrefix(res.Problems[1], "DOC.md:18: the command failed") {
		t.Errorf("problems:\n%s", strings.Join(res.Problems, "\n\n"))
	}

	// The server starts in the directory, with its default key file.
	write("```sh\n$ sfn-callback-urls serve --enable-post-actions\nsfn-callback-urls listening on 127.0.0.1:8080\n" +
		"  base URL:       http://127.0.0.1:8080\n  Step Functions: local task store .local/tasks.db\n" +
		"  keys:           new key file .local/keyring.json (mode 0600)\n  local tasks:    http://127.0.0.1:8080/local/\n" +
		"$ ls .local\nkeyring.json\ntasks.db\n```\n")
	res, err = Check(doc, Env{CLI: cli, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || res.Commands != 2 {
		t.Errorf("%d commands, problems:\n%s", res.Commands, strings.Join(res.Problems, "\n\n"))
	}
}

// TestTools: without bash, curl and jq on PATH the check names them (and
// RequireTools skips, or fails under CI=true).
func TestTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if diff := cmp.Diff([]string{"bash", "curl", "jq"}, Tools()); diff != "" {
		t.Errorf("missing tools (-want +got):\n%s", diff)
	}
}
