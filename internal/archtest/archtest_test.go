// Package archtest guards the module's dependency rules: what each Lambda
// function and each core package may link. The dependencies are those of
// the deployed build (go list -deps, GOOS=linux GOARCH=arm64
// CGO_ENABLED=0, -tags lambda.norpc); a violation is reported with the
// chain of imports that brings the forbidden package in.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rules: a package (relative to the module root) and the import paths it
// must not depend on, directly or not. An entry forbids that path and
// every path under it; one starting with "./" is relative to the module.
var rules = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{"./functions/create-urls", []string{"go.etcd.io/bbolt", "./pkg/localstore", "./pkg/httpapi/home"}, "the local task store, its dashboard and the home page are for the local server only"},
	{"./functions/process-callback", []string{"go.etcd.io/bbolt", "./pkg/localstore", "./pkg/httpapi/home"}, "the local task store, its dashboard and the home page are for the local server only"},
	{"./functions/create-urls", []string{"html/template", "./pkg/httpapi/pages", "./pkg/httpapi/respond", "github.com/aws/aws-sdk-go-v2/service/sfn", "./pkg/stepfunctions"}, "CreateUrls renders no page and never calls Step Functions"},
	{"./functions/create-urls", awsLoaders, "a function's AWS configuration comes from its environment (internal/awsenv): no config files, no STS or SSO clients, no SDK clients for the one-shot keyring reads"},
	{"./functions/process-callback", awsLoaders, "a function's AWS configuration comes from its environment (internal/awsenv): no config files, no STS or SSO clients, no SDK clients for the one-shot keyring reads"},
	{"./functions/create-urls", []string{"github.com/coreos/go-oidc", "golang.org/x/oauth2", "github.com/go-jose", "./pkg/signin"}, "CreateUrls signs nobody in: OpenID Connect is ProcessCallback's, and only when configured"},
	{"./functions/create-urls", []string{"./pkg/slackapp"}, "CreateUrls answers no Slack clicks: the interactivity endpoint is ProcessCallback's"},
	{"./functions/create-urls", []string{"github.com/slack-go/slack", "github.com/gorilla/websocket"}, "Slack is spoken with the standard library (pkg/slack); slack-go is the tests' yardstick"},
	{"./functions/process-callback", []string{"github.com/slack-go/slack", "github.com/gorilla/websocket"}, "Slack is spoken with the standard library (pkg/slack); slack-go is the tests' yardstick"},
	{"./pkg/callbackurls", []string{"net/http", "mime"}, "the core speaks in its own terms; HTTP is the edge's business"},
	{"./pkg/payload", []string{"net/http"}, "the URL format needs no HTTP"},
	{"./pkg/keyring", []string{"github.com/aws"}, "a static keyring (and keygen) links no AWS client"},
}

// awsLoaders are what the functions leave to the local server: the SDK's
// full configuration loader, the credential clients it links, and SDK
// clients for calls internal/awsjson makes (the keyring reads, and
// delivery's SES and SNS calls: each client costs megabytes and
// milliseconds of every cold start).
var awsLoaders = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/ssm",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager",
	"github.com/aws/aws-sdk-go-v2/service/sesv2",
	"github.com/aws/aws-sdk-go-v2/service/sns",
}

// pkg is the part of go list's JSON used here.
type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	DepOnly    bool
	Error      *struct{ Err string }
	Module     *struct{ Path, Dir string }
}

func TestDependencies(t *testing.T) {
	root := moduleRoot(t)
	var patterns []string
	seen := map[string]bool{}
	for _, r := range rules {
		if !seen[r.pkg] {
			seen[r.pkg] = true
			patterns = append(patterns, r.pkg)
		}
	}
	graph, roots := list(t, root, patterns)

	for _, r := range rules {
		for _, f := range r.forbidden {
			// One case per package and forbidden path, named by both.
			t.Run(strings.TrimPrefix(r.pkg, "./")+"/"+strings.TrimPrefix(f, "./"), func(t *testing.T) {
				p := roots[filepath.Join(root, filepath.FromSlash(r.pkg))]
				if p == nil {
					t.Fatalf("go list did not list %s", r.pkg)
				}
				if p.Error != nil {
					t.Fatalf("%s: %s", r.pkg, p.Error.Err)
				}
				if rel, ok := strings.CutPrefix(f, "./"); ok {
					f = p.Module.Path + "/" + rel
				}
				chains := importChains(graph, p.ImportPath)
				first, n := offender(chains, f)
				if n == 0 {
					return
				}
				msg := fmt.Sprintf("%s must not depend on %s (%s), but it imports %s:\n\t%s",
					r.pkg, f, r.why, first, strings.Join(chains[first], "\n\t-> "))
				if n > 1 {
					msg += fmt.Sprintf("\n(%d packages under %s in all)", n, f)
				}
				t.Error(msg)
			})
		}
	}
}

// offender is, of the n packages chains reaches at or under forbidden, the
// one with the shortest chain (then the first by name).
func offender(chains map[string][]string, forbidden string) (first string, n int) {
	for path, chain := range chains {
		if path != forbidden && !strings.HasPrefix(path, forbidden+"/") {
			continue
		}
		n++
		if first == "" || len(chain) < len(chains[first]) || len(chain) == len(chains[first]) && path < first {
			first = path
		}
	}
	return first, n
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(gomod)
}

// list runs go list -deps for the deployed build of patterns and returns
// every package by import path and the patterns' own packages by
// directory.
func list(t *testing.T, root string, patterns []string) (graph map[string]*pkg, roots map[string]*pkg) {
	args := append([]string{"list", "-e", "-deps", "-tags", "lambda.norpc",
		"-json=ImportPath,Dir,Imports,DepOnly,Error,Module"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	graph, roots = map[string]*pkg{}, map[string]*pkg{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		graph[p.ImportPath] = p
		if !p.DepOnly {
			roots[p.Dir] = p
		}
	}
	return graph, roots
}

// importChains is, for every package from depends on, one shortest chain
// of imports from from to it (breadth first, imports in go list's sorted
// order, so the chain is the same on every run).
func importChains(graph map[string]*pkg, from string) map[string][]string {
	chains := map[string][]string{from: {from}}
	queue := []string{from}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		p := graph[path]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, ok := chains[imp]; ok {
				continue
			}
			chain := append(append([]string(nil), chains[path]...), imp)
			chains[imp] = chain
			queue = append(queue, imp)
		}
	}
	delete(chains, from)
	return chains
}
