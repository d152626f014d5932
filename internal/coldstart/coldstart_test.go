// Package coldstart measures how the real Lambda bootstraps start. Each is
// built once per run as for deployment (-trimpath -tags lambda.norpc
// -ldflags='-s -w', CGO_ENABLED=0), for this machine so that it runs here,
// then started under a stand-in of the Lambda Runtime API
// (runtimeapi_test.go) with the AWS-protocol stand-ins for Step Functions
// and KMS on loopback, and sent events.
//
// BenchmarkColdStart times them against the floor, a do-nothing
// aws-lambda-go function (testdata/nothing) built and run the same way;
// TestColdStartWorkloads runs each of its workloads once, so that a
// benchmark that no longer runs fails the tests. Timings are benchmark
// figures, never pass/fail tests.
//
// What the functions answer is tested under AWS's own emulator instead
// (internal/lambdarie). The stand-in stays here because the emulator cannot
// give these figures: it adds its own latency to every invoke (an HTTP hop,
// its reservation and logging: a warm invoke of any function takes about
// 1.5 ms through it, against 0.35 ms for the do-nothing function and 0.6 to
// 1.1 ms for ours under the stand-in, and a cold one 2.5 to 3 ms more),
// which would flatten the ratios to the do-nothing function that the goal
// is stated in; it starts the bootstrap only at its first invoke and once
// per emulator start (a new emulator, about 25 ms, for each sample); it
// measures no memory (its REPORT line's "Max Memory Used" repeats the
// configured size); and it shows neither when the bootstrap first polled
// nor when an event was handed out, which the stand-in records.
package coldstart

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/lambdarie"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// The deployment the events come through: an API Gateway stage, as the
// functions' API_ID, STAGE and AWS_REGION name it.
const (
	apiID   = "abc123defg"
	stage   = "v1"
	region  = "us-east-1"
	account = "123456789012"
)

// gateway makes the events of the stage the functions are deployed on.
var gateway = lambdarie.Stage{APIID: apiID, Name: stage, Region: region, Account: account}

var (
	functions = []string{"create-urls", "process-callback"}
	// static-signin is static with OpenID Connect sign-in configured (an
	// issuer never called: discovery waits for the first sign-in), what
	// issue 17's functions start with when a deployment names an issuer.
	// static-slack is static with the Slack app configured (a signing
	// secret and a bot token, neither used before the first click or
	// delivery), what issue 19's functions start with.
	keyModes = []string{"static", "kms", "kms-hmac", "static-signin", "static-slack"}
)

// Every wait is bounded, so that a hung bootstrap fails its test rather
// than the whole run.
const (
	// invokeTimeout is generous: a cold start on a busy 2-core machine.
	invokeTimeout = 30 * time.Second
	// processTimeout kills any process still running after it.
	processTimeout = 5 * time.Minute
)

// builds are the bootstraps, built as for deployment (lambdarie.Build);
// -short never gets to them.
var builds = lambdarie.NewBootstraps("coldstart", map[string]string{
	"create-urls":      "../../functions/create-urls",
	"process-callback": "../../functions/process-callback",
	"nothing":          "./testdata/nothing",
})

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Close()
	os.Exit(code)
}

// binaries are the paths of the bootstraps of names.
func binaries(tb testing.TB, names ...string) []string {
	tb.Helper()
	return builds.Paths(tb, names...)
}

func binary(tb testing.TB, name string) string {
	tb.Helper()
	return binaries(tb, name)[0]
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
	case "static-signin":
		d.settings = append(d.settings, "KEYRING="+staticKeyring(tb), "OIDC_ISSUER=https://login.example.com",
			"OIDC_CLIENT_ID=sfn-callback-urls", "OIDC_CLIENT_SECRET=not-a-secret")
	case "static-slack":
		d.settings = append(d.settings, "KEYRING="+staticKeyring(tb), "SLACK_SIGNING_SECRET=not-a-secret",
			"SLACK_BOT_TOKEN=xoxb-not-a-token", "SLACK_API_URL=http://127.0.0.1:9/api")
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
	out     testkit.Buffer // stdout and stderr
	started time.Time      // just before the fork

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

// createRequest is a CreateUrls request for token: the event of a direct
// invoke and the body of POST /urls.
func createRequest(token string) []byte {
	tok, _ := json.Marshal(token)
	return []byte(`{"token": ` + string(tok) + `, "actions": [` +
		`{"name": "approve", "type": "success", "output": {"ok": true}}, ` +
		`{"name": "reject", "type": "failure"}]}`)
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
		if !strings.HasPrefix(u, gateway.URL()+"/respond?") {
			tb.Errorf("URL %s = %s, want one on the stage, %s/respond?...", name, u, gateway.URL())
		}
	}
	return r
}

// clickEvent is the proxy event of an API client's GET of a callback URL.
func clickEvent(tb testing.TB, callbackURL string) []byte {
	tb.Helper()
	ev, err := gateway.URLEvent(http.MethodGet, callbackURL, map[string]string{
		"Accept":     "application/json",
		"User-Agent": "coldstart-test/1.0",
	}, "")
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// TestColdStartWorkloads starts each of BenchmarkColdStart's workloads
// once as the benchmark does, in each key mode, and checks its answer (not
// its timing).
func TestColdStartWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Lambda bootstraps")
	}
	binaries(t, "nothing", "create-urls", "process-callback")
	token := corpus.Tokens()[0]
	for _, mode := range keyModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, mode)
			ws := []*workload{nothingWorkload(t, d)}
			for _, fn := range functions {
				ws = append(ws, functionWorkload(t, fn, d, token))
			}
			for _, w := range ws {
				t.Run(w.name, func(t *testing.T) {
					if s := w.coldStart(t); s.cold <= 0 || s.first <= 0 {
						t.Errorf("cold start %v, first invoke %v: not measured", s.cold, s.first)
					}
				})
			}
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
