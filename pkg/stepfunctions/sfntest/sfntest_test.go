package sfntest_test

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// TestProtocolErrors sends hand-made requests and checks the answers look
// like AWS's: status, Content-Type and a __type naming the error.
func TestProtocolErrors(t *testing.T) {
	good := map[string]string{
		"Content-Type": "application/x-amz-json-1.0",
		"X-Amz-Target": "AWSStepFunctions.SendTaskHeartbeat",
	}
	tests := []struct {
		name     string
		method   string
		header   map[string]string // set before signing; "" deletes after
		sign     string            // the signing service, "" for none
		body     string
		status   int
		wantType string // "" means success: body {}
	}{
		{"well-formed", "POST", nil, "states", `{"taskToken":"tok"}`, 200, ""},
		{"unsigned", "POST", nil, "", `{"taskToken":"tok"}`, 400,
			"com.amazon.coral.service#MissingAuthenticationTokenException"},
		{"other scheme", "POST", map[string]string{"Authorization": "Bearer x"}, "", `{"taskToken":"tok"}`, 400,
			"com.amazon.coral.service#IncompleteSignatureException"},
		{"wrong service", "POST", nil, "lambda", `{"taskToken":"tok"}`, 400,
			"com.amazon.coral.service#InvalidSignatureException"},
		{"no date", "POST", map[string]string{"X-Amz-Date": ""}, "states", `{"taskToken":"tok"}`, 400,
			"com.amazon.coral.service#IncompleteSignatureException"},
		{"plain JSON content type", "POST", map[string]string{"Content-Type": "application/json"}, "states", `{"taskToken":"tok"}`, 400,
			"com.amazon.coral.service#SerializationException"},
		{"unknown target", "POST", map[string]string{"X-Amz-Target": "AWSStepFunctions.StartExecution"}, "states", `{}`, 400,
			"com.amazon.coral.service#UnknownOperationException"},
		{"body not JSON", "POST", nil, "states", `taskToken=tok`, 400,
			"com.amazon.coral.service#SerializationException"},
		{"wrong member type", "POST", nil, "states", `{"taskToken":1}`, 400,
			"com.amazon.coral.service#SerializationException"},
		{"missing token", "POST", nil, "states", `{}`, 400,
			"com.amazon.coral.validate#ValidationException"},
		{"GET", "GET", nil, "states", ``, 404,
			"com.amazon.coral.service#UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := sfntest.New(t)
			srv.AddTask("tok")
			header := maps.Clone(good)
			maps.Copy(header, tc.header)
			resp, body := srv.Do(t, standin.RawRequest{Method: tc.method, Path: "/", Header: header, Body: tc.body, Sign: tc.sign})
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (body %s)", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
			var got struct {
				Type string `json:"__type"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if got.Type != tc.wantType {
				t.Errorf("__type %q, want %q", got.Type, tc.wantType)
			}
		})
	}
}

// TestSDKDecodesTypedErrors checks that the real SDK client turns the
// server's answers into the typed sfn errors, and generic API errors with
// the right code where the operation does not model the error.
func TestSDKDecodesTypedErrors(t *testing.T) {
	ctx := t.Context()
	srv := sfntest.New(t)
	c := srv.Client(ctx, func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
	srv.AddTask("closed")
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("closed"), Output: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	srv.AddTask("open")

	success := func(token, output string) error {
		_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(output)})
		return err
	}
	fail := func(status int, code string) func() error {
		return func() error {
			srv.FailNext(1, status, code)
			return success("open", "{}")
		}
	}
	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
		code  string
	}{
		{"TaskTimedOut", func() error { return success("closed", "{}") },
			func(err error) bool { var e *types.TaskTimedOut; return errors.As(err, &e) }, "TaskTimedOut"},
		{"TaskDoesNotExist", func() error { return success("unknown", "{}") },
			func(err error) bool { var e *types.TaskDoesNotExist; return errors.As(err, &e) }, "TaskDoesNotExist"},
		{"InvalidToken", func() error { return success("bad token", "{}") },
			func(err error) bool { var e *types.InvalidToken; return errors.As(err, &e) }, "InvalidToken"},
		{"InvalidOutput", func() error { return success("open", "{") },
			func(err error) bool { var e *types.InvalidOutput; return errors.As(err, &e) }, "InvalidOutput"},
		{"KmsAccessDeniedException", fail(400, "KmsAccessDeniedException"),
			func(err error) bool { var e *types.KmsAccessDeniedException; return errors.As(err, &e) }, "KmsAccessDeniedException"},
		{"KmsInvalidStateException", fail(400, "KmsInvalidStateException"),
			func(err error) bool { var e *types.KmsInvalidStateException; return errors.As(err, &e) }, "KmsInvalidStateException"},
		{"KmsThrottlingException", fail(400, "KmsThrottlingException"),
			func(err error) bool { var e *types.KmsThrottlingException; return errors.As(err, &e) }, "KmsThrottlingException"},
		{"ThrottlingException", fail(400, "ThrottlingException"),
			func(err error) bool { var e *smithy.GenericAPIError; return errors.As(err, &e) }, "ThrottlingException"},
		{"ValidationException", func() error { return success("", "{}") },
			func(err error) bool { var e *smithy.GenericAPIError; return errors.As(err, &e) }, "ValidationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v: not the expected type", err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
				t.Errorf("code of %v, want %s", err, tc.code)
			}
		})
	}
	if state, _ := srv.Task("open"); state.Status != sfntest.StatusOpen {
		t.Errorf("open task is %s after refused calls", state.Status)
	}
}

func TestCallsRecordRetries(t *testing.T) {
	ctx := t.Context()
	srv := sfntest.New(t)
	c := srv.Client(ctx)
	srv.AddTask("tok")
	srv.FailNext(1, 503, "ServiceUnavailable")
	srv.FailNext(1, 400, "ThrottlingException")
	start := time.Now()
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("tok")}); err != nil {
		t.Fatal(err)
	}
	// Speed is BenchmarkRetriedCall's to track; a loaded machine must
	// not fail this test.
	t.Logf("two retries took %v", time.Since(start))
	want := []sfntest.Call{
		{Operation: "SendTaskHeartbeat", TaskToken: "tok", Status: 503, ErrorType: "ServiceUnavailable"},
		{Operation: "SendTaskHeartbeat", TaskToken: "tok", Status: 400, ErrorType: "ThrottlingException"},
		{Operation: "SendTaskHeartbeat", TaskToken: "tok", Status: 200},
	}
	if diff := cmp.Diff(want, srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sfntest.TaskState{Status: sfntest.StatusOpen, Heartbeats: 1}, mustTask(t, srv, "tok")); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func mustTask(t *testing.T, srv *sfntest.Server, token string) sfntest.TaskState {
	t.Helper()
	state, ok := srv.Task(token)
	if !ok {
		t.Fatalf("no task %q", token)
	}
	return state
}

// BenchmarkRetriedCall is a call retried twice (a 503, then throttling)
// with the stand-in's FastRetryer: milliseconds, not the SDK's default
// backoff of up to seconds.
func BenchmarkRetriedCall(b *testing.B) {
	ctx := b.Context()
	srv := sfntest.New(b)
	c := srv.Client(ctx)
	srv.AddTask("tok")
	in := &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("tok")}
	for b.Loop() {
		srv.FailNext(1, 503, "ServiceUnavailable")
		srv.FailNext(1, 400, "ThrottlingException")
		if _, err := c.SendTaskHeartbeat(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
