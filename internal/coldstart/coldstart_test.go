// Package coldstart runs the real Lambda bootstraps the way Lambda does.
// Each is built once per run as for deployment (-trimpath -tags
// lambda.norpc -ldflags='-s -w', CGO_ENABLED=0), for this machine so that
// it runs here, then started under a stand-in of the Lambda Runtime API
// (runtimeapi_test.go) with the AWS-protocol stand-ins for Step Functions
// and KMS on loopback, and sent events.
//
// TestBootstrapsServe checks their answers to direct invokes and API
// Gateway proxy events; BenchmarkColdStart times them against the floor, a
// do-nothing aws-lambda-go function (testdata/nothing) built and run the
// same way. Timings are benchmark figures, never pass/fail tests.
package coldstart

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// The deployment the events come through: an API Gateway stage, as the
// functions' API_ID, STAGE and AWS_REGION name it.
const (
	apiID    = "abc123defg"
	stage    = "v1"
	region   = "us-east-1"
	account  = "123456789012"
	stageURL = "https://" + apiID + ".execute-api." + region + ".amazonaws.com/" + stage
)

var (
	functions = []string{"create-urls", "process-callback"}
	keyModes  = []string{"static", "kms", "kms-hmac"}
)

// Every wait is bounded, so that a hung bootstrap fails its test rather
// than the whole run.
const (
	// invokeTimeout is generous: a cold start on a busy 2-core machine.
	invokeTimeout = 30 * time.Second
	// processTimeout kills any process still running after it.
	processTimeout = 5 * time.Minute
)

// builds are the bootstraps, by name, and their packages relative to this
// directory. Each is built at most once per run into buildDir, which
// TestMain removes.
var builds = map[string]*build{
	"create-urls":      {src: "../../functions/create-urls"},
	"process-callback": {src: "../../functions/process-callback"},
	"nothing":          {src: "./testdata/nothing"},
}

var buildDir string

type build struct {
	src  string
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binaries are the paths of the bootstraps of names (keys of builds),
// built concurrently by the first call that asks for each; -short never
// gets here. Each is a build of its own, so that a package that does not
// compile fails only the tests that need it.
func binaries(tb testing.TB, names ...string) []string {
	tb.Helper()
	var wg sync.WaitGroup
	for _, name := range names {
		bd := builds[name]
		if bd == nil {
			tb.Fatalf("no bootstrap %q", name)
		}
		wg.Go(func() { bd.once.Do(func() { bd.path, bd.err = bd.build(name) }) })
	}
	wg.Wait()
	paths := make([]string, len(names))
	for i, name := range names {
		if err := builds[name].err; err != nil {
			tb.Fatal(err)
		}
		paths[i] = builds[name].path
	}
	return paths
}

func binary(tb testing.TB, name string) string {
	tb.Helper()
	return binaries(tb, name)[0]
}

// build builds the bootstrap as for deployment, but for this machine.
func (bd *build) build(name string) (string, error) {
	out := filepath.Join(buildDir, name, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, bd.src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", bd.src, err, msg)
	}
	return out, nil
}

// lambdaEnv is the environment Lambda gives a function, with the
// stand-ins' credentials and nothing of this machine's AWS configuration.
func lambdaEnv(function, runtimeAPI string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + standin.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + standin.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
	}
}

// deployment is what the two functions of one deployment share: the key
// mode, Step Functions and their settings.
type deployment struct {
	sfn      *sfntest.Server
	kms      *kmstest.Server // KMS mode only
	settings []string
}

func newDeployment(tb testing.TB, mode string) *deployment {
	tb.Helper()
	d := &deployment{sfn: sfntest.New(tb)}
	d.settings = []string{"API_ID=" + apiID, "STAGE=" + stage, "AWS_ENDPOINT_URL_SFN=" + d.sfn.URL()}
	switch mode {
	case "static":
		d.settings = append(d.settings, "KEYRING="+staticKeyring(tb))
	case "kms", "kms-hmac":
		d.kms = kmstest.New(tb)
		d.settings = append(d.settings, "KEY_ID="+keyAlias(mode), "AWS_ENDPOINT_URL_KMS="+d.kms.URL())
	default:
		tb.Fatalf("unknown key mode %q", mode)
	}
	return d
}

// staticKeyring is a KEYRING value holding one new key. It is written in
// the documented format (README, "Static keyrings"), a deployment
// contract, rather than with package keyring, so that this package builds
// whatever that package's API becomes.
func staticKeyring(tb testing.TB) string {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	doc, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"id":      "cold",
		"key":     base64.StdEncoding.EncodeToString(secret),
		"created": time.Now().UTC().Format(time.RFC3339),
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	return string(doc)
}

// start runs bin as function under a new Runtime API stand-in.
func (d *deployment) start(tb testing.TB, bin, function string) *process {
	tb.Helper()
	rt := newRuntimeAPI(tb, function)
	return startProcess(tb, bin, function, append(lambdaEnv(function, rt.Addr()), d.settings...), rt)
}

// process is a running bootstrap.
type process struct {
	name    string
	rt      *runtimeAPI
	cmd     *exec.Cmd
	out     lockedBuffer // stdout and stderr
	started time.Time    // just before the fork

	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	peakRSS  int64
}

// startProcess starts bin; the test's cleanup kills it.
func startProcess(tb testing.TB, bin, name string, env []string, rt *runtimeAPI) *process {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	p := &process{name: name, rt: rt, exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.WaitDelay = 5 * time.Second
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		cancel()
		close(p.exited)
	}()
	tb.Cleanup(func() { p.stop() })
	return p
}

// stop kills the process, as Lambda ends an idle sandbox, and returns its
// peak RSS in bytes until now (0 if unknown). It may be called twice.
func (p *process) stop() int64 {
	p.stopOnce.Do(func() {
		p.peakRSS, _ = vmHWM(p.cmd.Process.Pid)
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p.peakRSS
}

// await waits for inv's answer, or says why there is none.
func (p *process) await(inv *invocation) error {
	timer := time.NewTimer(invokeTimeout)
	defer timer.Stop()
	select {
	case <-inv.done:
		return nil
	case <-p.rt.initBad:
		return fmt.Errorf("%s reported an init error %s\n%s", p.name, p.rt.InitError(), p.tail())
	case <-p.exited:
		select {
		case <-inv.done:
			return nil
		default:
		}
		return fmt.Errorf("%s exited before answering: %v\n%s", p.name, p.waitErr, p.tail())
	case <-timer.C:
		return fmt.Errorf("%s did not answer within %v\n%s", p.name, invokeTimeout, p.tail())
	}
}

// call invokes the function with event and returns its answer; no answer,
// or a Lambda function error, fails the test.
func (p *process) call(tb testing.TB, event []byte) *invocation {
	tb.Helper()
	inv := p.rt.Enqueue(event)
	if err := p.await(inv); err != nil {
		tb.Fatal(err)
	}
	if inv.err != nil {
		tb.Fatalf("%s answered %s with a Lambda function error, %s\n%s", p.name, event, inv.err, p.tail())
	}
	return inv
}

// tail is the end of the process's output, for failure messages.
func (p *process) tail() string {
	const limit = 4000
	s := p.out.String()
	if len(s) > limit {
		s = "..." + s[len(s)-limit:]
	}
	return "output of " + p.name + ":\n" + s
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// createRequest is a CreateUrls request for token: the event of a direct
// invoke and the body of POST /urls.
func createRequest(token string) []byte {
	tok, _ := json.Marshal(token)
	return []byte(`{"token": ` + string(tok) + `, "actions": [` +
		`{"name": "approve", "type": "success", "output": {"ok": true}}, ` +
		`{"name": "reject", "type": "failure"}]}`)
}

// proxyEvent is an API Gateway REST API (v1) proxy integration event as
// API Gateway sends it for the resource (no {proxy+}) of this stage: both
// single- and multi-value headers and query, null for what is absent.
func proxyEvent(method, resource string, header map[string]string, query url.Values, body string) []byte {
	multiHeader := make(map[string][]string, len(header))
	for k, v := range header {
		multiHeader[k] = []string{v}
	}
	var single map[string]string
	var multi map[string][]string
	if len(query) > 0 {
		single, multi = make(map[string]string), make(map[string][]string)
		for k, vs := range query {
			single[k], multi[k] = vs[len(vs)-1], vs // API Gateway keeps the last
		}
	}
	var b any
	if body != "" {
		b = body
	}
	now := time.Now().UTC()
	ev := map[string]any{
		"resource":                        resource,
		"path":                            resource,
		"httpMethod":                      method,
		"headers":                         header,
		"multiValueHeaders":               multiHeader,
		"queryStringParameters":           single,
		"multiValueQueryStringParameters": multi,
		"pathParameters":                  nil,
		"stageVariables":                  nil,
		"requestContext": map[string]any{
			"accountId":         account,
			"apiId":             apiID,
			"domainName":        apiID + ".execute-api." + region + ".amazonaws.com",
			"domainPrefix":      apiID,
			"extendedRequestId": "Xl0aTFq8IAMEbXw=",
			"httpMethod":        method,
			"identity": map[string]any{
				"sourceIp":  "203.0.113.7",
				"userAgent": header["User-Agent"],
			},
			"path":             "/" + stage + resource,
			"protocol":         "HTTP/1.1",
			"requestId":        newRequestID(),
			"requestTime":      now.Format("02/Jan/2006:15:04:05 -0700"),
			"requestTimeEpoch": now.UnixMilli(),
			"resourceId":       "a1b2c3",
			"resourcePath":     resource,
			"stage":            stage,
		},
		"body":            b,
		"isBase64Encoded": false,
	}
	out, _ := json.Marshal(ev)
	return out
}

// proxyResponse is an API Gateway proxy integration response.
type proxyResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func decodeProxy(tb testing.TB, answer []byte) proxyResponse {
	tb.Helper()
	var r proxyResponse
	if err := json.Unmarshal(answer, &r); err != nil || r.StatusCode == 0 {
		tb.Fatalf("answer %s is not an API Gateway proxy response (%v)", answer, err)
	}
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			tb.Fatalf("answer's base64 body: %v", err)
		}
		r.Body = string(b)
	}
	return r
}

// header is the first value of a response header, from either map.
func (r proxyResponse) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range r.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

type createResponse struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
}

// checkCreate checks a CreateUrls answer to createRequest: a transaction
// id and an approve and a reject URL on the stage.
func checkCreate(tb testing.TB, body []byte) createResponse {
	tb.Helper()
	var r createResponse
	if err := json.Unmarshal(body, &r); err != nil {
		tb.Fatalf("CreateUrls answered %s: %v", body, err)
	}
	if r.TransactionID == "" {
		tb.Errorf("CreateUrls answered %s: no transaction_id", body)
	}
	if diff := cmp.Diff([]string{"approve", "reject"}, slices.Sorted(maps.Keys(r.URLs))); diff != "" {
		tb.Fatalf("CreateUrls answered %s: URLs (-want +got):\n%s", body, diff)
	}
	for name, u := range r.URLs {
		if !strings.HasPrefix(u, stageURL+"/respond?") {
			tb.Errorf("URL %s = %s, want one on the stage, %s/respond?...", name, u, stageURL)
		}
	}
	return r
}

// clickEvent is the proxy event of an API client's GET of a callback URL.
func clickEvent(tb testing.TB, callbackURL string) []byte {
	tb.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil {
		tb.Fatal(err)
	}
	return proxyEvent(http.MethodGet, "/respond", map[string]string{
		"Accept":     "application/json",
		"Host":       u.Host,
		"User-Agent": "coldstart-test/1.0",
	}, u.Query(), "")
}

// TestBootstrapsServe drives a direct invoke and an API Gateway proxy
// event through each built bootstrap, in both key modes: create-urls makes
// URLs, process-callback completes a task with one of them.
func TestBootstrapsServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Lambda bootstraps")
	}
	bins := binaries(t, "create-urls", "process-callback")
	create, callback := bins[0], bins[1]
	tokens := corpus.Tokens()
	for _, mode := range keyModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, mode)
			token := tokens[0]
			var made createResponse // by the direct invoke, for token

			t.Run("create-urls", func(t *testing.T) {
				p := d.start(t, create, "create-urls")
				t.Run("direct", func(t *testing.T) {
					made = checkCreate(t, p.call(t, createRequest(token)).body)
					if d.kms != nil && d.kms.Count("GenerateDataKey")+d.kms.Count("GenerateMac") == 0 {
						t.Errorf("KMS mode made URLs without calling KMS GenerateDataKey")
					}
				})
				t.Run("proxy", func(t *testing.T) {
					r := decodeProxy(t, p.call(t, proxyEvent(http.MethodPost, "/urls", map[string]string{
						"Accept":       "application/json",
						"Content-Type": "application/json",
						"Host":         apiID + ".execute-api." + region + ".amazonaws.com",
						"User-Agent":   "aws-sdk-go-v2/1.0",
					}, nil, string(createRequest(tokens[1])))).body)
					if r.StatusCode != http.StatusOK {
						t.Fatalf("POST /urls: status %d, want 200; body %s", r.StatusCode, r.Body)
					}
					if ct := r.header("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("POST /urls: Content-Type %q, want application/json", ct)
					}
					checkCreate(t, []byte(r.Body))
				})
			})

			t.Run("process-callback", func(t *testing.T) {
				p := d.start(t, callback, "process-callback")
				t.Run("proxy", func(t *testing.T) {
					if made.URLs["approve"] == "" {
						t.Skip("create-urls made no URL to open")
					}
					d.sfn.AddTask(token)
					r := decodeProxy(t, p.call(t, clickEvent(t, made.URLs["approve"])).body)
					if r.StatusCode != http.StatusOK {
						t.Fatalf("GET /respond: status %d, want 200; body %s", r.StatusCode, r.Body)
					}
					var got any
					if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
						t.Fatalf("GET /respond: body %s: %v", r.Body, err)
					}
					want := map[string]any{
						"transaction_id": made.TransactionID,
						"action":         map[string]any{"name": "approve", "type": "success"},
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("GET /respond: body (-want +got):\n%s", diff)
					}
					task, _ := d.sfn.Task(token)
					var output any
					_ = json.Unmarshal([]byte(task.Output), &output)
					if task.Status != sfntest.StatusSucceeded || !cmp.Equal(output, map[string]any{"ok": true}) {
						t.Errorf("task: %s with output %q, want succeeded with {\"ok\":true}", task.Status, task.Output)
					}
					if d.kms != nil && d.kms.Count("Decrypt")+d.kms.Count("GenerateMac") == 0 {
						t.Errorf("KMS mode opened a URL without calling KMS Decrypt")
					}
				})
				t.Run("direct", func(t *testing.T) {
					// Not an API Gateway event: the contract's error body,
					// not a crash or a Lambda error.
					answer := p.call(t, []byte(`{"hello":"world"}`)).body
					var body map[string]any
					if err := json.Unmarshal(answer, &body); err != nil {
						t.Fatalf("answer %s is not a JSON object: %v", answer, err)
					}
					code, _ := body["error"].(string)
					msg, _ := body["message"].(string)
					if code == "" || msg == "" {
						hint := ""
						if _, ok := body["statusCode"]; ok {
							hint = " (this is an API Gateway proxy response: the event was served as an HTTP request)"
						}
						t.Errorf(`answer %s%s; want the contract's error body {"error": "<Code>", "message": "<text>"}`, answer, hint)
					}
				})
			})
		})
	}
}

// keyAlias is the stand-in's key for a KMS key mode: envelope or HMAC.
func keyAlias(mode string) string {
	if mode == "kms-hmac" {
		return kmstest.HMACAlias
	}
	return kmstest.Alias
}
