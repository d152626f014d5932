package main

// The end-to-end test on moto: the sqs-callback state machine runs in
// moto's ASL interpreter; its task sends the real SQS message; this
// example's handler consumes it, creates URLs through sfn-callback-urls
// (the CLI's local server with --sfn aws, every endpoint pointed at moto)
// and publishes the mail to SNS; the mail is read back from a queue
// subscribed to the topic, and its link is clicked; the execution must
// succeed with the output, or fail with the error. In each key mode.
//
// What moto 5.2.1 does not do as Step Functions does, and so is tested
// against the sfntest stand-in instead (handler_test.go and the service's
// own tests): its task tokens are 36-character UUIDs, not 600 or more
// characters (TestLinkLengths measures real ones); it drops a
// SendTaskFailure's cause; it accepts a second completion of a task.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/mototest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// Bounds: every wait of the test ends by itself.
const (
	motoStartTimeout   = 60 * time.Second
	serverStartTimeout = 30 * time.Second
)

// motoRegions: moto 5.2.1 refuses a StartExecution while another
// execution runs in the same region, so each execution gets its own.
var motoRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"}

// motoCredentials are moto's conventional fakes.
var motoCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "moto"}, nil
})

// A static keyring for the keyring mode (keygen's format).
const testKeyring = `{"keys":[{"id":"e2e1","key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","created":"2030-01-01T00:00:00Z"}]}`

func TestEndToEndOnMoto(t *testing.T) {
	motoServer := lookTool(t, "moto_server", "pip install 'moto[server]' (5.2.1)")
	if testing.Short() {
		t.Skip("end-to-end test on moto: not in -short mode")
	}
	start := time.Now()
	endpoint := startMoto(t, motoServer)
	cli := buildCLI(t)

	modes := []struct {
		name string
		// keyEnv is the server's key setting, made in region.
		keyEnv func(t *testing.T, region string) string
		// inspected is the key mode `sfn-callback-urls inspect` finds in
		// the links.
		inspected string
	}{
		{"keyring", func(*testing.T, string) string { return "KEYRING=" + testKeyring }, "static"},
		{"kms-envelope", func(t *testing.T, region string) string {
			return "KEY_ID=" + createKey(t, endpoint, region, kmstypes.KeySpecSymmetricDefault, kmstypes.KeyUsageTypeEncryptDecrypt)
		}, "kms"},
		{"kms-hmac", func(t *testing.T, region string) string {
			return "KEY_ID=" + createKey(t, endpoint, region, kmstypes.KeySpecHmac256, kmstypes.KeyUsageTypeGenerateVerifyMac)
		}, "kms-hmac"},
	}
	i := 0
	for _, mode := range modes {
		for _, decision := range []string{"approve", "reject"} {
			region := motoRegions[i]
			i++
			t.Run(mode.name+"/"+decision, func(t *testing.T) {
				runExecution(t, endpoint, cli, region, mode.keyEnv(t, region), decision, mode.inspected)
			})
		}
	}
	t.Logf("moto end to end: %d executions in %v", i, time.Since(start).Round(10*time.Millisecond))
}

// runExecution runs one execution of the state machine in region to the
// decision, checking what each part does on the way.
func runExecution(t *testing.T, endpoint, cli, region, keyEnv, decision, keyMode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := aws.Config{Region: region, Credentials: motoCredentials, BaseEndpoint: aws.String(endpoint)}
	sqsc, snsc, sfnc := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg), sfn.NewFromConfig(cfg)

	// The stack: the request queue, the topic, a queue subscribed to the
	// topic to read the mail back, and the state machine.
	queue := must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("requests")}))(t).QueueUrl
	topic := must(snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("approvals")}))(t).TopicArn
	inbox := must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")}))(t).QueueUrl
	inboxARN := "arn:aws:sqs:" + region + ":123456789012:inbox"
	must(snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic, Protocol: aws.String("sqs"), Endpoint: aws.String(inboxARN)}))(t)
	def, err := asl.Read(".", map[string]string{"QueueUrl": *queue})
	if err != nil {
		t.Fatal(err)
	}
	machine := must(sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("approval"), Definition: aws.String(string(def)),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/approval-state-machine"),
	}))(t).StateMachineArn

	// sfn-callback-urls, as `make run` would run it against AWS.
	serverURL := startServer(t, cli, endpoint, region, keyEnv)

	h := &Handler{
		URLs:   client.NewHTTP(cfg, serverURL),
		Mail:   mail.NewSNS(snsc, *topic, 0),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    time.Now,
	}

	input := `{"title": "Trip to Lisbon", "description": "Three days in March, EUR 890."}`
	execution := must(sfnc.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: machine, Name: aws.String("trip-" + decision), Input: aws.String(input),
	}))(t).ExecutionArn

	// The task's real message, handed to the handler as Lambda would.
	msg := mototest.Receive(ctx, t, sqsc, *queue)
	ev := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: *msg.MessageId, ReceiptHandle: *msg.ReceiptHandle, Body: *msg.Body,
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + region + ":123456789012:requests", AWSRegion: region,
	}}}
	resp, err := h.Handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handler: %v, failures %+v", err, resp.BatchItemFailures)
	}
	must(sqsc.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queue, ReceiptHandle: msg.ReceiptHandle}))(t)

	// The mail, as the topic's subscribers get it.
	note := mototest.Receive(ctx, t, sqsc, *inbox)
	var envelope struct{ Type, Subject, Message string }
	if err := json.Unmarshal([]byte(*note.Body), &envelope); err != nil || envelope.Type != "Notification" {
		t.Fatalf("notification %q: %v", *note.Body, err)
	}
	if envelope.Subject != "Approval needed: Trip to Lisbon" || !strings.Contains(envelope.Message, "Three days in March, EUR 890.") {
		t.Errorf("mail: %q\n%s", envelope.Subject, envelope.Message)
	}
	urls := mailLinks(envelope.Message)
	link := urls[strings.ToUpper(decision[:1])+decision[1:]]
	if !strings.HasPrefix(link, serverURL+"/respond?action="+decision+"&") {
		t.Fatalf("no %s link in the mail:\n%s", decision, envelope.Message)
	}
	// The link is of the key mode the server was given.
	inspect := exec.CommandContext(ctx, cli, "inspect", link)
	inspect.Dir, inspect.Env = t.TempDir(), serverEnv(endpoint, region, keyEnv)
	inspected, err := inspect.Output()
	var payload struct{ Key struct{ Mode string } }
	if err != nil || json.Unmarshal(inspected, &payload) != nil || payload.Key.Mode != keyMode {
		t.Errorf("inspect: key mode %q, want %q (%v)", payload.Key.Mode, keyMode, err)
	}

	// The click: POST, as the confirmation page's button does.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, link, nil)
	req.Header.Set("Accept", "application/json")
	clickResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(clickResp.Body)
	clickResp.Body.Close()
	if clickResp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"`+decision+`"`) {
		t.Fatalf("click: %d %s", clickResp.StatusCode, body)
	}

	out := mototest.WaitForEnd(ctx, t, sfnc, *execution)
	switch decision {
	case "approve":
		var output map[string]any
		if out.Status != sfntypes.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(out.Output)), &output) != nil {
			t.Fatalf("execution %s, output %q, error %q", out.Status, aws.ToString(out.Output), aws.ToString(out.Error))
		}
		want := map[string]any{"title": "Trip to Lisbon", "description": "Three days in March, EUR 890.", "decision": map[string]any{"approved": true}}
		if fmt.Sprint(output) != fmt.Sprint(want) {
			t.Errorf("output %v, want %v", output, want)
		}
	case "reject":
		// moto drops the cause (see the top).
		if out.Status != sfntypes.ExecutionStatusFailed || aws.ToString(out.Error) != RejectedError {
			t.Fatalf("execution %s, error %q, cause %q", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
		}
	}

}

// mailLinks reads "Label:" lines followed by a URL.
func mailLinks(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if label, ok := strings.CutSuffix(lines[i], ":"); ok && strings.HasPrefix(lines[i+1], "http") {
			out[label] = lines[i+1]
		}
	}
	return out
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// lookTool finds a tool on PATH, or skips the test saying how to get it;
// under CI=true a missing tool fails it.
func lookTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH (CI=true: the end-to-end test must run); install: %s", name, install)
	}
	t.Skipf("%s is not on PATH: skipping the end-to-end test (install: %s)", name, install)
	return ""
}

// startMoto runs moto_server on a free port of 127.0.0.1 with state
// machine execution on, until the test ends.
func startMoto(t *testing.T, motoServer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(motoServer, "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group: stopped whole
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("moto_server's log (end):\n%s", tail(b, 4000))
			}
		}
		logFile.Close()
	})
	endpoint := "http://127.0.0.1:" + port
	deadline := time.Now().Add(motoStartTimeout)
	for {
		resp, err := http.Post(endpoint+"/moto-api/config", "application/json",
			strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
				return endpoint
			}
			t.Fatalf("moto-api/config: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within %v: %v", endpoint, motoStartTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// buildCLI builds ./cmd/sfn-callback-urls once.
var buildCLI = func() func(t *testing.T) string {
	var (
		once sync.Once
		path string
		err  error
		out  []byte
	)
	dir, _ := os.MkdirTemp("", "sfn-callback-urls-e2e-")
	return func(t *testing.T) string {
		t.Helper()
		once.Do(func() {
			path = filepath.Join(dir, "sfn-callback-urls")
			cmd := exec.Command("go", "build", "-o", path, "./cmd/sfn-callback-urls")
			cmd.Dir = filepath.Join("..", "..")
			out, err = cmd.CombinedOutput()
		})
		if err != nil {
			t.Fatalf("go build ./cmd/sfn-callback-urls: %v\n%s", err, out)
		}
		return path
	}
}()

// listening finds the base URL in what serve prints at start.
var listening = regexp.MustCompile(`(?:base URL:|listening on)\s+(http://127\.0\.0\.1:[0-9]+)`)

// startServer runs `sfn-callback-urls serve --sfn aws` against moto in
// region until the test ends, and returns its base URL.
func startServer(t *testing.T, cli, endpoint, region, keyEnv string) string {
	t.Helper()
	cmd := exec.Command(cli, "serve", "--sfn", "aws", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = t.TempDir(), serverEnv(endpoint, region, keyEnv)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return stderr.Write(p) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("server's log:\n%s", tail(stderr.Bytes(), 4000))
			mu.Unlock()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case err := <-exited:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the server stopped: %v\n%s", err, stderr.Bytes())
	case <-time.After(serverStartTimeout):
		t.Fatalf("the server did not start within %v", serverStartTimeout)
	}
	return ""
}

// serverEnv is the CLI's whole environment: moto for every AWS endpoint,
// fake credentials, and no profile, file or instance role of the machine.
func serverEnv(endpoint, region, keyEnv string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		keyEnv,
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// createKey makes a KMS key in moto and returns its ARN.
func createKey(t *testing.T, endpoint, region string, spec kmstypes.KeySpec, usage kmstypes.KeyUsageType) string {
	t.Helper()
	c := kms.NewFromConfig(aws.Config{Region: region, Credentials: motoCredentials, BaseEndpoint: aws.String(endpoint)})
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage, Description: aws.String("sfn-callback-urls e2e")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}
