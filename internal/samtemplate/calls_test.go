package samtemplate

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsjson"
)

// What a function's code calls, as IAM actions, read from the function's
// own build: the AWS SDK client operations its binary links (the method
// the archtest package's TestSDKOperationsLinked guards), the awsjson
// calls of the functions it links, and SigV4-signed HTTP calls of
// pkg/client. Linked is a superset of called (CreateUrls links kms.Decrypt
// and never calls it), so "granted but not linked" is certainly granted
// and never called; the report shows linked and granted side by side.

// builtFunction is a function's bootstrap, built as `sam build` builds it.
type builtFunction struct {
	once    sync.Once
	bin     string // the bootstrap
	zip     []byte // the deployment package: bootstrap at the root, executable
	pkg     string // the main package
	err     error
	symOnce sync.Once
	symbols string // the bootstrap linked with its symbol table (make strips it)
	symErr  error
}

var (
	builtMu  sync.Mutex
	builtDir string
	builds   = map[string]*builtFunction{} // by template name and logical id
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// build runs a function's Makefile target for linux/arm64 once per test
// binary and zips the bootstrap.
func build(t *testing.T, f goFunction) *builtFunction {
	t.Helper()
	builtMu.Lock()
	if builtDir == "" {
		dir, err := os.MkdirTemp("", "samtemplate-build-")
		if err != nil {
			builtMu.Unlock()
			t.Fatal(err)
		}
		builtDir = dir
	}
	key := f.name()
	b := builds[key]
	if b == nil {
		b = &builtFunction{}
		builds[key] = b
	}
	dir := filepath.Join(builtDir, strconv.Itoa(len(builds)))
	builtMu.Unlock()
	b.once.Do(func() {
		// Stays if a check below ends the test (t.Fatal in makeTarget).
		b.err = errors.New("the first build failed")
		b.pkg = makeTarget(t, f.id, dir)
		cmd := exec.Command("make", "--no-print-directory", "build-"+f.id, "GO="+goTool())
		cmd.Dir = repoRoot
		cmd.Env = makeEnv("ARTIFACTS_DIR="+dir, "ARCH=arm64")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = err
			t.Errorf("make build-%s: %v\n%s", f.id, err, out)
			return
		}
		b.bin = filepath.Join(dir, "bootstrap")
		data, err := os.ReadFile(b.bin)
		if err != nil {
			b.err = err
			return
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(data)
		}
		if err == nil {
			err = zw.Close()
		}
		b.zip, b.err = buf.Bytes(), err
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", key, b.err)
	}
	return b
}

// iamPrefix maps an SDK service package to its IAM action prefix. The
// SDK's credential clients (sts, sso, ssooidc, signin) come with its
// default configuration and are not the code's calls.
var iamPrefix = map[string]string{
	"sfn": "states", "kms": "kms", "secretsmanager": "secretsmanager", "ssm": "ssm",
	"lambda": "lambda", "sns": "sns", "sesv2": "ses", "sqs": "sqs",
	"sts": "", "sso": "", "ssooidc": "", "signin": "",
}

// iamAction renames the operations whose IAM action differs.
var iamAction = map[string]string{"lambda:Invoke": "lambda:InvokeFunction"}

// signedHTTP: a linked function that sends SigV4-signed HTTP, and the
// action it needs.
var signedHTTP = map[string]string{
	modulePath + "/pkg/client.NewHTTP": "execute-api:Invoke",
}

var sdkMethod = regexp.MustCompile(`github\.com/aws/aws-sdk-go-v2/service/(\w+)\.\(\*Client\)\.([A-Z]\w*)$`)

// calledActions returns the IAM actions a built function's code may call,
// sorted, and for each the evidence ("sdk kms.GenerateMac", "awsjson in
// pkg/awskeyring.FromSecretsManager").
func calledActions(t *testing.T, b *builtFunction) map[string]string {
	t.Helper()
	// The same build as the Makefile's, keeping the symbol table.
	b.symOnce.Do(func() {
		b.symbols = b.bin + ".symbols"
		cmd := exec.Command(goTool(), "build", "-trimpath", "-tags", "lambda.norpc", "-o", b.symbols, b.pkg)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.symErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.symErr != nil {
		t.Fatal(b.symErr)
	}
	out, err := exec.Command(goTool(), "tool", "nm", b.symbols).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	symbols := map[string]bool{}
	actions := map[string]string{}
	for line := range strings.SplitSeq(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		sym := fields[len(fields)-1]
		symbols[sym] = true
		m := sdkMethod.FindStringSubmatch(sym)
		if m == nil || m[2] == "Options" {
			continue
		}
		prefix, known := iamPrefix[m[1]]
		if !known {
			t.Fatalf("%s links the %s client: add its IAM prefix to iamPrefix", b.pkg, m[1])
		}
		if prefix == "" {
			continue
		}
		a := prefix + ":" + m[2]
		if r, ok := iamAction[a]; ok {
			a = r
		}
		actions[a] = "sdk " + m[1] + "." + m[2]
	}
	for fn, a := range awsjsonCalls(t, b.pkg) {
		if symbols[fn] {
			actions[a] = "awsjson in " + strings.TrimPrefix(fn, modulePath+"/")
		}
	}
	for fn, a := range signedHTTP {
		if symbols[fn] {
			actions[a] = "signed HTTP in " + strings.TrimPrefix(fn, modulePath+"/")
		}
	}
	return actions
}

// awsjsonServices are internal/awsjson's services by variable name.
var awsjsonServices = map[string]awsjson.Service{"SecretsManager": awsjson.SecretsManager, "SSM": awsjson.SSM,
	"SESv2": awsjson.SESv2, "SNS": awsjson.SNS, "Lambda": awsjson.Lambda}

// awsjsonCallers are awsjson's functions that call one operation, each
// with (ctx, cfg, service, operation, ...).
var awsjsonCallers = map[string]bool{"Call": true, "CallREST": true, "CallQuery": true, "CallRaw": true}

// awsjsonCalls finds the awsjson calls in the module's packages a
// main package links: the enclosing function's symbol and the IAM action.
func awsjsonCalls(t *testing.T, pkg string) map[string]string {
	t.Helper()
	calls := map[string]string{}
	for _, p := range linkedModulePackages(t, pkg) {
		if p.importPath == modulePath {
			continue
		}
		fset := token.NewFileSet()
		for _, name := range p.goFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				sym := p.importPath + "." + fd.Name.Name
				if fd.Recv != nil && len(fd.Recv.List) == 1 {
					recv := fd.Recv.List[0].Type
					star := ""
					if s, ok := recv.(*ast.StarExpr); ok {
						recv, star = s.X, "*"
					}
					if id, ok := recv.(*ast.Ident); ok {
						sym = p.importPath + ".(" + star + id.Name + ")." + fd.Name.Name
					}
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) < 4 {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || !awsjsonCallers[sel.Sel.Name] || !isIdent(sel.X, "awsjson") {
						return true
					}
					svc, ok := call.Args[2].(*ast.SelectorExpr)
					lit, isLit := call.Args[3].(*ast.BasicLit)
					if !ok || !isIdent(svc.X, "awsjson") || !isLit || lit.Kind != token.STRING {
						t.Errorf("%s: an awsjson.Call whose service or operation is not a constant: add it to the check", sym)
						return true
					}
					s, known := awsjsonServices[svc.Sel.Name]
					if !known {
						t.Fatalf("%s: awsjson.%s is not in awsjsonServices", sym, svc.Sel.Name)
					}
					op, _ := strconv.Unquote(lit.Value)
					calls[sym] = s.SigningName + ":" + op
					return true
				})
			}
		}
	}
	return calls
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// The evidence tells the two functions apart: only ProcessCallback calls
// Step Functions, and both read a keyring secret through awsjson.
func TestCalledActions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions")
	}
	for _, f := range goFunctions(t) {
		if f.tf.path != templatePath {
			continue
		}
		t.Run(f.id, func(t *testing.T) {
			got := calledActions(t, build(t, f))
			t.Logf("%v", got)
			if !strings.HasPrefix(got["secretsmanager:GetSecretValue"], "awsjson in pkg/awskeyring.") {
				t.Errorf("no awsjson evidence of the keyring read: %v", got)
			}
			if !strings.HasPrefix(got["kms:GenerateMac"], "sdk kms.") {
				t.Errorf("no SDK evidence of GenerateMac: %v", got)
			}
			_, sends := got["states:SendTaskSuccess"]
			if sends != (f.id == "ProcessCallbackFunction") {
				t.Errorf("states:SendTaskSuccess found %v", sends)
			}
		})
	}
}
