package postaction

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// suiteDir holds the official JSON-Schema-Test-Suite
// (github.com/json-schema-org/JSON-Schema-Test-Suite, commit 44401e0c,
// MIT licence in its LICENSE) for every draft the contract honours: each
// draft's required tests, and the optional format tests of drafts 4, 6 and
// 7, whose formats WEBHOOKS.md says are checked. Not copied: the other
// optional tests (ECMA-262 regular expressions, big numbers, content
// keywords, cross-draft references: nothing the contract promises), draft 3
// and v1 (not honoured), the format tests of 2019-09 and 2020-12 (format is
// an annotation there, as the contract says), and remotes/: the contract
// loads no document from outside the schema, so a case that needs one must
// be refused, and that is what is checked.
const suiteDir = "testdata/JSON-Schema-Test-Suite/tests"

// suiteDrafts are the suite's directories and the $schema added to their
// schemas that have none: the suite's draft-04 and draft-06 schemas say
// nothing, and without $schema our default is draft-07. A user writing for
// those drafts says $schema; draft-07's schemas are left as they are, so
// that the default is what they run under.
var suiteDrafts = []struct{ dir, schema string }{
	{"draft4", "http://json-schema.org/draft-04/schema#"},
	{"draft6", "http://json-schema.org/draft-06/schema#"},
	{"draft7", ""},
	{"draft2019-09", ""},
	{"draft2020-12", ""},
}

// suiteRemote is where the suite's remote documents live; refusedMessage is
// what compiling a schema that needs one says (see refuseLoader).
const (
	suiteRemote    = "http://localhost:1234/"
	refusedMessage = "references outside the schema are not loaded"
)

type suiteCase struct {
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Tests       []struct {
		Description string          `json:"description"`
		Data        json.RawMessage `json:"data"`
		Valid       bool            `json:"valid"`
	} `json:"tests"`
}

// suiteCount is one draft's tally.
type suiteCount struct{ tests, passed, known, refused int }

// TestJSONSchemaSuite runs the suite through Compile and Select, as a post
// action's outcome: a test passes when Select picks the outcome exactly
// when the suite says the data is valid. A failure that suiteKnownFailures
// does not list fails the test, and so does a listed test that passes (the
// list must stay exact); run with -v for each draft's counts.
func TestJSONSchemaSuite(t *testing.T) {
	known := map[string]string{}
	for _, k := range suiteKnownFailures {
		if k.reason == "" || len(k.tests) == 0 {
			t.Errorf("a group of known failures without a reason or tests: %q", k.reason)
		}
		for _, test := range k.tests {
			if _, dup := known[test]; dup {
				t.Errorf("known failure %q is listed twice", test)
			}
			known[test] = k.reason
		}
	}
	seen := map[string]bool{}
	for _, d := range suiteDrafts {
		t.Run(d.dir, func(t *testing.T) {
			var files []string
			err := filepath.WalkDir(filepath.Join(suiteDir, d.dir), func(path string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() && strings.HasSuffix(path, ".json") {
					files = append(files, path)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var n suiteCount
			for _, file := range files {
				rel, err := filepath.Rel(suiteDir, file)
				if err != nil {
					t.Fatal(err)
				}
				runSuiteFile(t, file, filepath.ToSlash(rel), d.schema, known, seen, &n)
			}
			t.Logf("%s: %d of %d tests pass, %d known failures, %d refused (they need a document from outside the schema)",
				d.dir, n.passed, n.tests, n.known, n.refused)
			if n.tests == 0 || n.passed == 0 {
				t.Errorf("%s: %d tests, %d passed", d.dir, n.tests, n.passed)
			}
		})
	}
	for test := range known {
		if !seen[test] {
			t.Errorf("known failure %q names no test of the suite", test)
		}
	}
}

func runSuiteFile(t *testing.T, file, rel, draftSchema string, known map[string]string, seen map[string]bool, n *suiteCount) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []suiteCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	for _, c := range cases {
		schema, err := withSchema(c.Schema, draftSchema)
		if err != nil {
			t.Fatalf("%s: %s: %v", rel, c.Description, err)
		}
		e := New()
		stored, compileErr := e.Compile(json.RawMessage(`[{"name": "t", "type": "heartbeat", "schema": ` + string(schema) + `}]`))
		refused := compileErr != nil && strings.Contains(compileErr.Error(), refusedMessage)
		if refused && !strings.Contains(string(schema), suiteRemote) {
			t.Errorf("%s: %s: refused, but it names no remote document: %v", rel, c.Description, compileErr)
		}
		for _, tt := range c.Tests {
			key := rel + ": " + c.Description + ": " + tt.Description
			if seen[key] {
				t.Fatalf("two tests are named %q", key)
			}
			seen[key] = true
			n.tests++
			reason, isKnown := known[key]
			if refused {
				n.refused++
				if isKnown {
					t.Errorf("%s: refused, but listed as a known failure (%s)", key, reason)
				}
				continue
			}
			var failure string
			if compileErr != nil {
				failure = "Compile: " + compileErr.Error()
			} else {
				_, err := e.Select(stored, tt.Data)
				switch c := code(err); {
				case c == "" && !tt.Valid:
					failure = "matched an invalid body"
				case c == callbackurls.CodeInvalidPostActionBody && tt.Valid:
					failure = "refused a valid body: " + err.Error()
				case c != "" && c != callbackurls.CodeInvalidPostActionBody:
					failure = "Select: " + err.Error()
				}
			}
			switch {
			case failure == "":
				n.passed++
				if isKnown {
					t.Errorf("%s: passes now: remove it from the known failures (%s)", key, reason)
				}
			case isKnown:
				n.known++
			default:
				t.Errorf("%s: %s (schema %s, data %s)", key, failure, schema, tt.Data)
			}
		}
	}
}

// withSchema adds $schema to a schema object that has none.
func withSchema(schema json.RawMessage, draftSchema string) (json.RawMessage, error) {
	if draftSchema == "" || !strings.HasPrefix(strings.TrimSpace(string(schema)), "{") {
		return schema, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(schema, &members); err != nil {
		return nil, err
	}
	if _, ok := members["$schema"]; ok {
		return schema, nil
	}
	var err error
	members["$schema"], err = json.Marshal(draftSchema)
	if err != nil {
		return nil, err
	}
	return json.Marshal(members)
}
