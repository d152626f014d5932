package samtemplate

import (
	"debug/elf"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// The convention every template's Go functions follow (template.yaml's and
// the examples'): `Metadata: {BuildMethod: makefile}`, CodeUri the module
// root (relative to the template), and a root Makefile target
// build-<LogicalId> whose `go build` names the main package and writes
// $(ARTIFACTS_DIR)/bootstrap, which is what `sam build` runs.

// goFunction is a SAM function built from this repository's Go code.
type goFunction struct {
	tf  samTemplate
	id  string
	res map[string]any
}

func (f goFunction) name() string { return f.tf.name + "/" + f.id }

// goFunctions returns every function of every template whose code is a
// local path (others, such as InlineCode, are not built here).
func goFunctions(t *testing.T) []goFunction {
	var out []goFunction
	for _, tf := range templates(t) {
		for _, id := range resourcesOfType(tf.doc, "AWS::Serverless::Function") {
			fn := mapAt(section(tf.doc, "Resources")[id])
			uri, ok := effective(tf.doc, fn, "CodeUri").(string)
			if !ok || strings.HasPrefix(uri, "s3://") {
				continue
			}
			// Node.js functions (examples/durable-approval) are built by
			// sam's esbuild, not the Makefile.
			if rt, _ := effective(tf.doc, fn, "Runtime").(string); strings.HasPrefix(rt, "nodejs") {
				continue
			}
			out = append(out, goFunction{tf: tf, id: id, res: fn})
		}
	}
	return out
}

func TestFunctionsFollowTheBuildConvention(t *testing.T) {
	fns := goFunctions(t)
	for _, id := range functionIDs {
		if !slices.ContainsFunc(fns, func(f goFunction) bool { return f.tf.path == templatePath && f.id == id }) {
			t.Errorf("template.yaml: function %s missing", id)
		}
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		t.Run(f.name(), func(t *testing.T) {
			uri := effective(f.tf.doc, f.res, "CodeUri").(string)
			if dir, _ := filepath.Abs(filepath.Join(f.tf.dir(), uri)); dir != root {
				t.Errorf("CodeUri %q is %s, want the module root %s", uri, dir, root)
			}
			if got := mapAt(f.res, "Metadata")["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
			}
			for prop, want := range map[string]any{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": []any{"arm64"},
			} {
				if got := effective(f.tf.doc, f.res, prop); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", prop, got, want)
				}
			}
			if timeout, _ := effective(f.tf.doc, f.res, "Timeout").(int); timeout < 1 || timeout > 900 {
				t.Errorf("Timeout = %v", effective(f.tf.doc, f.res, "Timeout"))
			}
		})
	}

	// template.yaml's two: small and quick.
	doc := loadTemplate(t)
	for _, id := range functionIDs {
		fn := resource(t, doc, id)
		if got := effective(doc, fn, "MemorySize"); got != 128 {
			t.Errorf("%s: MemorySize %v, want 128", id, got)
		}
		if timeout, _ := effective(doc, fn, "Timeout").(int); timeout < 1 || timeout > 30 {
			t.Errorf("%s: Timeout %v, want a short timeout", id, effective(doc, fn, "Timeout"))
		}
	}
}

// goTool returns the go command: the one on PATH, or GOROOT's.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// makeTarget returns the package a function's Makefile target builds, from
// what `make -n` would run.
func makeTarget(t *testing.T, id, artifacts string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "--no-print-directory", "-n", "build-"+id, "GO=go")
	cmd.Dir = repoRoot
	cmd.Env = makeEnv("ARTIFACTS_DIR=" + artifacts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build-%s (sam build runs this target): %v\n%s", id, err, out)
	}
	text := string(out)
	var pkg string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		i := slices.Index(fields, "build")
		if i < 1 || fields[i-1] != "go" {
			continue
		}
		for _, f := range fields[i+1:] {
			if strings.HasPrefix(f, "./") {
				pkg = f
			}
		}
		if !strings.Contains(line, "GOOS=linux") || !strings.Contains(line, "GOARCH=") || !strings.Contains(line, "CGO_ENABLED=0") {
			t.Errorf("build-%s does not build a static linux binary: %s", id, line)
		}
	}
	if pkg == "" {
		t.Fatalf("build-%s runs no `go build ./...`:\n%s", id, text)
	}
	if !strings.Contains(text, artifacts+"/bootstrap") {
		t.Errorf("build-%s does not write $(ARTIFACTS_DIR)/bootstrap:\n%s", id, text)
	}
	return pkg
}

// Each function's Makefile target builds a main package into a static
// linux/arm64 bootstrap, by running the target as `sam build` does.
func TestFunctionsBuildForLinuxArm64(t *testing.T) {
	for _, f := range goFunctions(t) {
		t.Run(f.name(), func(t *testing.T) {
			t.Parallel()
			// The build the stacks on moto upload too (calls_test.go).
			b := build(t, f)
			list := exec.Command(goTool(), "list", "-f", "{{.Name}}", b.pkg)
			list.Dir = repoRoot
			out, err := list.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "main" {
				t.Fatalf("%s is not a main package: %v %s", b.pkg, err, out)
			}
			bin, err := elf.Open(b.bin)
			if err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
			defer bin.Close()
			if bin.Machine != elf.EM_AARCH64 {
				t.Errorf("bootstrap is for %v, want EM_AARCH64", bin.Machine)
			}
			for _, p := range bin.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("bootstrap is dynamically linked; provided.al2023 wants a static binary")
				}
			}
		})
	}
}

// ---------------------------------------------------------------- environment

var (
	fromEnvOnce  sync.Once
	fromEnvNames map[string]bool
)

// configNames records every variable config.FromEnv reads.
func configNames() map[string]bool {
	fromEnvOnce.Do(func() {
		fromEnvNames = map[string]bool{}
		record := func(v string) func(string) string {
			return func(name string) string { fromEnvNames[name] = true; return v }
		}
		// Empty and set, in case a name is read only when another is set.
		_, _ = config.FromEnv(record(""))
		_, _ = config.FromEnv(record("1"))
	})
	return fromEnvNames
}

// envReadBy returns the environment variables a main package's code reads:
// config.FromEnv's when it links pkg/config, and every name given as a
// constant to a Getenv or LookupEnv call in the module's packages it links.
func envReadBy(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, p := range linkedModulePackages(t, pkg) {
		if p.importPath == modulePath+"/pkg/config" {
			for n := range configNames() {
				names[n] = true
			}
		}
		for n := range getenvConstants(t, p.dir, p.goFiles) {
			names[n] = true
		}
	}
	return names
}

// linkedPackage is a package of the module that a main package links.
type linkedPackage struct {
	importPath, dir string
	goFiles         []string
}

// linkedModulePackages lists the module's packages that pkg links when
// built as the functions are (linux/arm64, no cgo), pkg included.
func linkedModulePackages(t *testing.T, pkg string) []linkedPackage {
	t.Helper()
	list := exec.Command(goTool(), "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}", pkg)
	list.Dir = repoRoot
	list.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var pkgs []linkedPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 || (parts[0] != modulePath && !strings.HasPrefix(parts[0], modulePath+"/")) {
			continue
		}
		pkgs = append(pkgs, linkedPackage{importPath: parts[0], dir: parts[1], goFiles: strings.Fields(parts[2])})
	}
	return pkgs
}

// getenvConstants finds the names a package passes to os.Getenv,
// os.LookupEnv or a function named getenv, as string literals or string
// constants of the package.
func getenvConstants(t *testing.T, dir string, files []string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	var parsed []*ast.File
	consts := map[string]string{}
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	names := map[string]bool{}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var fn string
			switch x := call.Fun.(type) {
			case *ast.Ident:
				fn = x.Name
			case *ast.SelectorExpr:
				fn = x.Sel.Name
			}
			if fn != "Getenv" && fn != "LookupEnv" && fn != "getenv" && fn != "lookupEnv" {
				return true
			}
			switch a := call.Args[0].(type) {
			case *ast.BasicLit:
				if v, err := strconv.Unquote(a.Value); err == nil && a.Kind == token.STRING {
					names[v] = true
				}
			case *ast.Ident:
				if v, ok := consts[a.Name]; ok {
					names[v] = true
				}
			}
			return true
		})
	}
	return names
}

// Every variable a template sets on a function is one its code reads: a
// misspelt or stale name would otherwise be silently ignored.
func TestFunctionEnvironmentIsReadByTheCode(t *testing.T) {
	for _, f := range goFunctions(t) {
		t.Run(f.name(), func(t *testing.T) {
			pkg := makeTarget(t, f.id, t.TempDir())
			read := envReadBy(t, pkg)
			if len(read) == 0 {
				t.Skipf("%s reads no environment variable by a constant name: nothing to compare", pkg)
			}
			var unread []string
			for name := range mapAt(effective(f.tf.doc, f.res, "Environment"), "Variables") {
				if !read[name] {
					unread = append(unread, name)
				}
			}
			slices.Sort(unread)
			if len(unread) > 0 {
				t.Errorf("%s sets %v, which %s never reads", f.id, unread, pkg)
			}
		})
	}
}

// The variables the two functions must have set, whatever the parameters
// (the key source is checked per mode in TestKeyModesReachTheCode).
var requiredEnv = map[string][]string{
	"CreateUrlsFunction": {"API_ID", "STAGE", "MAX_URL_LENGTH", "DISABLE_ENCRYPTION", "ENABLE_OUTPUT_PARAMETERS", "ENABLE_POST_ACTIONS", "VERBOSE"},
	"ProcessCallbackFunction": {"CONFIRM_BROWSER_GET", "DISABLE_ENCRYPTION", "ENABLE_OUTPUT_PARAMETERS", "ENABLE_POST_ACTIONS", "VERBOSE",
		"KMS_COLD_CALLS_PER_SECOND", "KMS_COLD_CALLS_BURST"},
}

func TestRequiredEnvironment(t *testing.T) {
	doc := loadTemplate(t)
	s := evaluate(t, doc, nil)
	for id, names := range requiredEnv {
		env := s.functionEnv(id)
		for _, n := range names {
			if _, ok := env[n]; !ok {
				t.Errorf("%s: %s not set", id, n)
			}
			if !configNames()[n] {
				t.Errorf("%s: %s is required here but config.FromEnv no longer reads it", id, n)
			}
		}
	}
	// The recorder sees what FromEnv reads, or the check above is empty.
	for _, n := range []string{"KEY_ID", "KEYRING_SECRET_ID", "PREVIOUS_KEY_IDS", "MAX_URL_LENGTH", "CONFIRM_BROWSER_GET", "DISABLE_POST_ACTIONS"} {
		if !configNames()[n] {
			t.Errorf("config.FromEnv read no %s", n)
		}
	}
}

// The scan finds names given as literals and as constants, and only to
// getenv-like calls.
func TestGetenvConstants(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import "os"

const nameKey = "KEY_NAME"

func main() {
	_ = os.Getenv("LITERAL")
	_, _ = os.LookupEnv(nameKey)
	getenv := func(string) string { return "" }
	_ = getenv("VIA_FUNC")
	_ = fmt("NOT_ENV")
}

func fmt(string) string { return "" }
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := getenvConstants(t, dir, []string{"main.go"})
	want := map[string]bool{"LITERAL": true, "KEY_NAME": true, "VIA_FUNC": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("found %v, want %v", got, want)
	}
}

// `make deploy` is `sam build` then `sam deploy`, which reads samconfig.toml.
func TestMakeDeploy(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	if _, err := os.Stat(makefilePath); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "-n", "deploy", "SAM_DEPLOY_FLAGS=--guided")
	cmd.Dir = repoRoot
	cmd.Env = makeEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n deploy: %v\n%s", err, out)
	}
	want := "sam build\nsam deploy --guided\n"
	if string(out) != want {
		t.Errorf("make -n deploy runs\n%s\nwant\n%s", out, want)
	}
}

// makeEnv is the environment for a make the test runs: this process's,
// without what an outer make (make test) passes to its children (flags,
// level, jobserver), which would change what the inner one prints.
func makeEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
