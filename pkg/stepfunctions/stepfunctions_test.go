package stepfunctions_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// realisticToken looks like a newer Step Functions token: ~680 characters
// of base64 alphabet with '=' in the middle. seed makes it distinct.
func realisticToken(seed string) string {
	raw := make([]byte, 330)
	for i := range raw {
		raw[i] = byte(i*31) ^ seed[i%len(seed)]
	}
	a := base64.StdEncoding.EncodeToString(raw[:166]) // 224 chars, ends in '='
	return "AQC" + a + base64.StdEncoding.EncodeToString(raw[166:])
}

// outcome summarises an error for comparison: its kind and, where there is
// one, the Step Functions code behind it.
type outcome struct {
	Kind string // "ok", "task", "unavailable", "other"
	Code string // TargetError code, or the API error code found with errors.As
}

func classify(err error) outcome {
	if err == nil {
		return outcome{Kind: "ok"}
	}
	var te *callbackurls.TargetError
	if errors.As(err, &te) {
		return outcome{Kind: "task", Code: te.Code}
	}
	o := outcome{Kind: "other"}
	if errors.Is(err, callbackurls.ErrUnavailable) {
		o.Kind = "unavailable"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		o.Code = apiErr.ErrorCode()
	}
	return o
}

func ptr(s string) *string { return &s }

type op func(ctx context.Context, c *stepfunctions.Client, token string) error

func success(output string) op {
	return func(ctx context.Context, c *stepfunctions.Client, token string) error {
		return c.SendTaskSuccess(ctx, token, output)
	}
}

func failure(code, cause string) op {
	return func(ctx context.Context, c *stepfunctions.Client, token string) error {
		return c.SendTaskFailure(ctx, token, code, cause)
	}
}

func heartbeat(ctx context.Context, c *stepfunctions.Client, token string) error {
	return c.SendTaskHeartbeat(ctx, token)
}

func TestClient(t *testing.T) {
	type injected struct {
		n, status int
		errorType string
	}
	tests := []struct {
		name string
		// open: whether the task is added before the calls.
		open bool
		// token replaces the realistic token when fixedToken is set.
		token      string
		fixedToken bool
		fail       []injected
		ops        []op
		want       []outcome // one per op
		task       *sfntest.TaskState
		calls      int    // requests the server saw, retries included
		inText     string // must appear in the last error's text
	}{
		{
			name: "success",
			open: true,
			ops:  []op{success(`{"approved":true}`)},
			want: []outcome{{Kind: "ok"}},
			task: &sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `{"approved":true}`},
		},
		{
			name: "failure with error and cause",
			open: true,
			ops:  []op{failure("Rejected", "the manager said no")},
			want: []outcome{{Kind: "ok"}},
			task: &sfntest.TaskState{Status: sfntest.StatusFailed, Error: "Rejected", Cause: "the manager said no"},
		},
		{
			name: "heartbeats keep the task open",
			open: true,
			ops:  []op{heartbeat, heartbeat, heartbeat},
			want: []outcome{{Kind: "ok"}, {Kind: "ok"}, {Kind: "ok"}},
			task: &sfntest.TaskState{Status: sfntest.StatusOpen, Heartbeats: 3},
		},
		{
			name: "heartbeat then success",
			open: true,
			ops:  []op{heartbeat, success(`"done"`)},
			want: []outcome{{Kind: "ok"}, {Kind: "ok"}},
			task: &sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `"done"`, Heartbeats: 1},
		},
		{
			name:   "second completion is TaskTimedOut",
			open:   true,
			ops:    []op{success(`1`), failure("E", "C"), heartbeat},
			want:   []outcome{{Kind: "ok"}, {"task", callbackurls.TaskTimedOut}, {"task", callbackurls.TaskTimedOut}},
			task:   &sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `1`},
			inText: "TaskTimedOut",
		},
		{
			name: "unknown task",
			ops:  []op{success(`{}`), failure("", ""), heartbeat},
			want: []outcome{
				{"task", callbackurls.TaskDoesNotExist},
				{"task", callbackurls.TaskDoesNotExist},
				{"task", callbackurls.TaskDoesNotExist},
			},
		},
		{
			name:  "malformed token",
			token: "not a token!", fixedToken: true,
			ops:  []op{success(`{}`)},
			want: []outcome{{"task", callbackurls.InvalidToken}},
		},
		{
			name: "output not JSON leaves the task open",
			open: true,
			ops:  []op{success(`{"a":`), success(``)},
			want: []outcome{{"task", callbackurls.InvalidOutput}, {"task", callbackurls.InvalidOutput}},
			task: &sfntest.TaskState{Status: sfntest.StatusOpen},
		},
		{
			name: "output over 256 KiB",
			open: true,
			ops:  []op{success(`"` + strings.Repeat("x", sfntest.MaxOutputBytes-1) + `"`)},
			want: []outcome{{"task", callbackurls.InvalidOutput}},
			task: &sfntest.TaskState{Status: sfntest.StatusOpen},
		},
		{
			name: "output of exactly 256 KiB",
			open: true,
			ops:  []op{success(`"` + strings.Repeat("x", sfntest.MaxOutputBytes-2) + `"`)},
			want: []outcome{{Kind: "ok"}},
			task: &sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `"` + strings.Repeat("x", sfntest.MaxOutputBytes-2) + `"`},
		},
		{
			name:   "error too long",
			open:   true,
			ops:    []op{failure(strings.Repeat("E", 257), "")},
			want:   []outcome{{"task", stepfunctions.ValidationException}},
			task:   &sfntest.TaskState{Status: sfntest.StatusOpen},
			inText: "error: Member must have length less than or equal to 256",
		},
		{
			name:   "cause too long",
			open:   true,
			ops:    []op{failure("E", strings.Repeat("c", 32769))},
			want:   []outcome{{"task", stepfunctions.ValidationException}},
			inText: "cause: Member must have length less than or equal to 32768",
			task:   &sfntest.TaskState{Status: sfntest.StatusOpen},
		},
		{
			name:  "token too long",
			token: strings.Repeat("A", 2049), fixedToken: true,
			ops:    []op{heartbeat},
			want:   []outcome{{"task", stepfunctions.ValidationException}},
			inText: "taskToken: Member must have length less than or equal to 2048",
		},
		{
			name:  "empty token",
			token: "", fixedToken: true,
			ops:  []op{heartbeat},
			want: []outcome{{"task", stepfunctions.ValidationException}},
		},
		{
			name:  "throttling retried then success",
			open:  true,
			fail:  []injected{{2, 400, "ThrottlingException"}},
			ops:   []op{success(`{}`)},
			want:  []outcome{{Kind: "ok"}},
			task:  &sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `{}`},
			calls: 3,
		},
		{
			name:   "throttling beyond retries",
			open:   true,
			fail:   []injected{{3, 400, "ThrottlingException"}},
			ops:    []op{success(`{}`)},
			want:   []outcome{{"unavailable", "ThrottlingException"}},
			task:   &sfntest.TaskState{Status: sfntest.StatusOpen},
			calls:  3,
			inText: "ThrottlingException: Rate exceeded",
		},
		{
			name:  "TooManyRequestsException",
			open:  true,
			fail:  []injected{{3, 429, "TooManyRequestsException"}},
			ops:   []op{heartbeat},
			want:  []outcome{{"unavailable", "TooManyRequestsException"}},
			calls: 3,
		},
		{
			name:  "500 retried then success",
			open:  true,
			fail:  []injected{{1, 500, "InternalFailure"}},
			ops:   []op{failure("", "")},
			want:  []outcome{{Kind: "ok"}},
			task:  &sfntest.TaskState{Status: sfntest.StatusFailed},
			calls: 2,
		},
		{
			name:  "500 beyond retries",
			open:  true,
			fail:  []injected{{3, 500, "InternalFailure"}},
			ops:   []op{heartbeat},
			want:  []outcome{{"unavailable", "InternalFailure"}},
			calls: 3,
		},
		{
			name:  "503 from a proxy, not JSON",
			open:  true,
			fail:  []injected{{3, 503, ""}},
			ops:   []op{heartbeat},
			want:  []outcome{{Kind: "unavailable"}},
			calls: 3,
		},
		{
			name:   "KmsThrottlingException",
			open:   true,
			fail:   []injected{{1, 400, "KmsThrottlingException"}},
			ops:    []op{success(`{}`)},
			want:   []outcome{{"unavailable", "KmsThrottlingException"}},
			calls:  1, // New keeps the client's retryer, which does not know this code
			inText: "KmsThrottlingException",
		},
		{
			name:   "KmsAccessDeniedException",
			open:   true,
			fail:   []injected{{1, 400, "KmsAccessDeniedException"}},
			ops:    []op{failure("E", "C")},
			want:   []outcome{{"unavailable", "KmsAccessDeniedException"}},
			task:   &sfntest.TaskState{Status: sfntest.StatusOpen},
			calls:  1,
			inText: "KmsAccessDeniedException",
		},
		{
			name:   "KmsInvalidStateException",
			open:   true,
			fail:   []injected{{1, 400, "KmsInvalidStateException"}},
			ops:    []op{heartbeat},
			want:   []outcome{{"unavailable", "KmsInvalidStateException"}},
			calls:  1,
			inText: "KmsInvalidStateException",
		},
		{
			name:   "IAM denial is neither the caller's nor transient",
			open:   true,
			fail:   []injected{{1, 400, "AccessDeniedException"}},
			ops:    []op{success(`{}`)},
			want:   []outcome{{"other", "AccessDeniedException"}},
			calls:  1,
			inText: "AccessDeniedException",
		},
		{
			name:  "unknown 4xx error is passed on",
			open:  true,
			fail:  []injected{{1, 400, "SomethingNew"}},
			ops:   []op{heartbeat},
			want:  []outcome{{"other", "SomethingNew"}},
			calls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			srv := sfntest.New(t)
			c := stepfunctions.New(srv.Client(ctx))
			token := realisticToken(tc.name)
			if tc.fixedToken {
				token = tc.token
			}
			if tc.open {
				srv.AddTask(token)
			}
			for _, f := range tc.fail {
				srv.FailNext(f.n, f.status, f.errorType)
			}
			var got []outcome
			var last error
			for _, o := range tc.ops {
				err := o(ctx, c, token)
				got = append(got, classify(err))
				if err != nil {
					last = err
					if len(token) >= 8 && strings.Contains(err.Error(), token) {
						t.Errorf("error text contains the task token: %.200s", err.Error())
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\nlast error: %.300v", diff, last)
			}
			if tc.inText != "" && (last == nil || !strings.Contains(last.Error(), tc.inText)) {
				t.Errorf("last error %.300v does not contain %q", last, tc.inText)
			}
			if tc.task != nil {
				state, ok := srv.Task(token)
				if !ok {
					t.Fatal("task vanished")
				}
				if diff := cmp.Diff(*tc.task, state); diff != "" {
					t.Errorf("task state (-want +got):\n%s", diff)
				}
			}
			if tc.calls != 0 {
				if n := len(srv.Calls()); n != tc.calls {
					t.Errorf("server saw %d requests, want %d", n, tc.calls)
				}
			}
		})
	}
}

// TestRequests checks what is sent: error and cause are left out when empty
// rather than sent as "".
func TestRequests(t *testing.T) {
	ctx := t.Context()
	srv := sfntest.New(t)
	c := stepfunctions.New(srv.Client(ctx))
	for _, tok := range []string{"t1", "t2", "t3", "t4", "t5"} {
		srv.AddTask(tok)
	}
	calls := []func() error{
		func() error { return c.SendTaskSuccess(ctx, "t1", `{"x":[1,2]}`) },
		func() error { return c.SendTaskFailure(ctx, "t2", "", "") },
		func() error { return c.SendTaskFailure(ctx, "t3", "Code", "") },
		func() error { return c.SendTaskFailure(ctx, "t4", "", "Cause") },
		func() error { return c.SendTaskHeartbeat(ctx, "t5") },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	want := []sfntest.Call{
		{Operation: "SendTaskSuccess", TaskToken: "t1", Output: ptr(`{"x":[1,2]}`), Status: 200},
		{Operation: "SendTaskFailure", TaskToken: "t2", Status: 200},
		{Operation: "SendTaskFailure", TaskToken: "t3", Error: ptr("Code"), Status: 200},
		{Operation: "SendTaskFailure", TaskToken: "t4", Cause: ptr("Cause"), Status: 200},
		{Operation: "SendTaskHeartbeat", TaskToken: "t5", Status: 200},
	}
	if diff := cmp.Diff(want, srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestTypedErrorsReachable checks that the SDK's typed errors stay reachable
// through the adapter's wrapping, for logs and for callers that care.
func TestTypedErrorsReachable(t *testing.T) {
	ctx := t.Context()
	srv := sfntest.New(t)
	c := stepfunctions.New(srv.Client(ctx))
	srv.FailNext(1, 400, "KmsAccessDeniedException")
	// SendTaskSuccess and SendTaskFailure model the KMS errors; for
	// SendTaskHeartbeat the SDK gives a generic API error with the same code,
	// which is why the adapter classifies by code.
	err := c.SendTaskFailure(ctx, realisticToken("kms"), "E", "C")
	var kms *types.KmsAccessDeniedException
	if !errors.As(err, &kms) {
		t.Errorf("errors.As(%v, *types.KmsAccessDeniedException) = false", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ctx := t.Context()
	srv := sfntest.New(t)
	c := stepfunctions.New(srv.Client(ctx))
	srv.Close()
	token := realisticToken("closed")
	err := c.SendTaskSuccess(ctx, token, `{}`)
	if !errors.Is(err, callbackurls.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error text contains the token")
	}
}

func TestDeadlineExceeded(t *testing.T) {
	srv := sfntest.New(t)
	c := stepfunctions.New(srv.Client(t.Context()))
	srv.AddTask("tok")
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	err := c.SendTaskHeartbeat(ctx, "tok")
	if !errors.Is(err, callbackurls.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

// setAWSEnv makes the default config hermetic: the stand-ins' credentials, no
// shared files, no instance metadata, endpoint from AWS_ENDPOINT_URL_SFN.
func setAWSEnv(t *testing.T, endpoint string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SFN":                endpoint,
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_ACCESS_KEY_ID":                   standin.AccessKeyID, // what the stand-in accepts
		"AWS_SECRET_ACCESS_KEY":               standin.SecretAccessKey,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          "eu-west-1",
		"AWS_DEFAULT_REGION":                  "",
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     dir + "/nonexistent-config",
		"AWS_SHARED_CREDENTIALS_FILE":         dir + "/nonexistent-credentials",
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_MAX_ATTEMPTS":                    "",
		"AWS_RETRY_MODE":                      "",
	} {
		t.Setenv(k, v)
	}
}

// fromDefaultConfig is what a main does: load the SDK's default
// configuration once, then build the client from it.
func fromDefaultConfig(t *testing.T, optFns ...func(*config.LoadOptions) error) *stepfunctions.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return stepfunctions.NewFromAWSConfig(cfg)
}

func TestNewFromAWSConfigHonoursEndpointEnv(t *testing.T) {
	srv := sfntest.New(t)
	setAWSEnv(t, srv.URL())
	ctx := t.Context()
	c := fromDefaultConfig(t)
	token := realisticToken("env")
	srv.AddTask(token)
	if err := c.SendTaskSuccess(ctx, token, `{"via":"AWS_ENDPOINT_URL_SFN"}`); err != nil {
		t.Fatal(err)
	}
	state, _ := srv.Task(token)
	if diff := cmp.Diff(sfntest.TaskState{Status: sfntest.StatusSucceeded, Output: `{"via":"AWS_ENDPOINT_URL_SFN"}`}, state); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestNewFromAWSConfigRetriesKmsThrottling(t *testing.T) {
	srv := sfntest.New(t)
	setAWSEnv(t, srv.URL())
	ctx := t.Context()
	c := fromDefaultConfig(t, config.WithRetryer(sfntest.FastRetryer))
	srv.AddTask("tok-kms")
	srv.FailNext(2, 400, "KmsThrottlingException")
	if err := c.SendTaskHeartbeat(ctx, "tok-kms"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, call := range srv.Calls() {
		got = append(got, call.ErrorType)
	}
	if diff := cmp.Diff([]string{"KmsThrottlingException", "KmsThrottlingException", ""}, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func BenchmarkSendTaskSuccess(b *testing.B) {
	srv := sfntest.New(b)
	c := stepfunctions.New(srv.Client(b.Context()))
	token := realisticToken("bench")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		srv.AddTask(token) // reopen: a closed task would answer TaskTimedOut
		if err := c.SendTaskSuccess(ctx, token, `{"approved":true,"by":"someone@example.com"}`); err != nil {
			b.Fatal(err)
		}
	}
}
