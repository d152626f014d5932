package archtest

import (
	"slices"
	"strings"
	"testing"
)

// layers are the module's production packages, bottom first: a package may
// import packages of the layers below its own, and of its own layer only
// where sameLayer says. docs/ARCHITECTURE.md draws the same picture.
var layers = []struct {
	name string
	pkgs []string
}{
	{"utilities", []string{"internal/jsontext", "internal/text", "internal/lru", "internal/awserr", "internal/awsenv", "internal/awsjson"}},
	{"core", []string{"pkg/callbackurls"}},
	{"URL format", []string{"pkg/payload"}},
	{"back ends", []string{"pkg/keyring", "pkg/kmskeys", "pkg/awskeyring", "pkg/postaction", "pkg/stepfunctions", "pkg/durablecallbacks", "pkg/localstore",
		"pkg/messages", "pkg/delivery", "pkg/receipts", "pkg/slack"}},
	{"key sources", []string{"pkg/keysource"}},
	{"settings", []string{"pkg/config"}},
	{"adapters", []string{"pkg/httpapi/pages", "pkg/httpapi", "pkg/httpapi/respond", "pkg/httpapi/home", "pkg/lambdaapi", "pkg/localstore/localweb", "pkg/signin", "pkg/slackapp"}},
	{"compositions", []string{"pkg/localserver", "functions/internal/boot"}},
	{"mains", []string{"cmd/sfn-callback-urls", "functions/create-urls", "functions/process-callback"}},
}

// sameLayer are the imports allowed within a layer.
var sameLayer = map[string][]string{
	"pkg/awskeyring":          {"pkg/keyring"},
	"pkg/httpapi":             {"pkg/httpapi/pages"},
	"pkg/httpapi/respond":     {"pkg/httpapi", "pkg/httpapi/pages"},
	"pkg/httpapi/home":        {"pkg/httpapi", "pkg/httpapi/pages"},
	"pkg/lambdaapi":           {"pkg/httpapi"},
	"pkg/localstore/localweb": {"pkg/httpapi", "pkg/httpapi/pages"},
	"pkg/signin":              {"pkg/httpapi", "pkg/httpapi/pages"},
	"pkg/slackapp":            {"pkg/httpapi"},
}

// apart are packages outside the layers, with all the module packages
// each may import: the Go client is the state machine author's, and the
// example applications use the service only through it.
var apart = map[string][]string{
	"pkg/client":               {"pkg/callbackurls", "internal/jsontext", "internal/text"},
	"examples":                 nil,
	"examples/internal/mail":   nil,
	"examples/internal/links":  {"pkg/client"},
	"examples/activity-worker": exampleImports,
	"examples/approval-email":  exampleImports,
	// Its state machine is the example; the package holds its test only.
	"examples/no-code-approval": nil,
	"examples/sqs-callback":     exampleImports,
	"examples/webhook":          exampleImports,
	"examples/durable-approval": nil, // a TypeScript example; Go only runs its npm tests
}

// exampleImports are what an example application may use of the module.
var exampleImports = []string{"pkg/client", "examples/internal/mail", "examples/internal/links"}

// testSupport are packages for tests: doubles, stand-ins, harnesses and the
// checks themselves. They may import anything; nothing above may import
// them.
var testSupport = []string{
	"internal/testkit", "internal/archtest", "internal/coldstart", "internal/corpus", "internal/doctest",
	"internal/lambdarie", "internal/loadtest", "internal/mototest", "internal/samtemplate", "internal/servicetest", "internal/testsummary", "internal/standin", "internal/browsertest",
	"pkg/callbackurls/callbackurlstest", "pkg/kmskeys/kmstest", "pkg/stepfunctions/sfntest",
	"pkg/client/lambdatest", "pkg/client/internal/sigv4check", "pkg/awskeyring/awskeyringtest", "pkg/signin/oidctest", "pkg/durablecallbacks/durabletest", "pkg/slack/slacktest",
	"examples/internal/awstest", "examples/internal/asl",
}

// TestLayers checks every package of the module against the tables above
// with go list: its imports (not its tests') point down the layers, stay
// within its allowance, and never reach a package for tests. A package in
// no table fails too: place it, and in docs/ARCHITECTURE.md.
func TestLayers(t *testing.T) {
	root := moduleRoot(t)
	graph, roots := list(t, root, []string{"./..."})
	layerOf := map[string]int{}
	for i, l := range layers {
		for _, p := range l.pkgs {
			layerOf[p] = i
		}
	}
	for _, p := range roots {
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		modPrefix := p.Module.Path + "/"
		rel := strings.TrimPrefix(p.ImportPath, modPrefix)
		if p.ImportPath == p.Module.Path {
			rel = "."
		}
		if slices.Contains(testSupport, rel) {
			continue
		}
		layer, inLayers := layerOf[rel]
		allowance, isApart := apart[rel]
		if !inLayers && !isApart {
			t.Errorf("%s is in no layer: place it in internal/archtest's tables and in docs/ARCHITECTURE.md", rel)
			continue
		}
		for _, imp := range graph[p.ImportPath].Imports {
			dep, ok := strings.CutPrefix(imp, modPrefix)
			if !ok {
				continue
			}
			switch {
			case slices.Contains(testSupport, dep):
				t.Errorf("%s imports %s, a package for tests", rel, dep)
			case isApart:
				if !slices.Contains(allowance, dep) {
					t.Errorf("%s imports %s: it may import only %v", rel, dep, allowance)
				}
			default:
				depLayer, ok := layerOf[dep]
				switch {
				case !ok:
					t.Errorf("%s (%s) imports %s, which is in no layer", rel, layers[layer].name, dep)
				case depLayer > layer:
					t.Errorf("%s (%s) imports %s (%s): imports point down", rel, layers[layer].name, dep, layers[depLayer].name)
				case depLayer == layer && !slices.Contains(sameLayer[rel], dep):
					t.Errorf("%s imports %s in its own layer (%s), which sameLayer does not allow", rel, dep, layers[layer].name)
				}
			}
		}
	}
}
