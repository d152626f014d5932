package standin_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// One small service per protocol, each with one operation that accepts
// one input and refuses the others with the service's own typed error.

type heartbeatInput struct {
	TaskToken string `json:"taskToken"`
}

func newJSON10(t testing.TB) *standin.Server {
	s := standin.New(t, standin.Service{Name: "json10", Protocol: standin.JSON10, SigningName: "states",
		TargetPrefix: "AWSStepFunctions", ErrorNamespace: "com.amazonaws.swf.service.v2.model#"})
	standin.Handle(s, "SendTaskHeartbeat", func(_ *standin.Request, in *heartbeatInput) (any, error) {
		if in.TaskToken != "open" {
			return nil, standin.Errorf(400, "TaskDoesNotExist", "Task does not exist anymore")
		}
		return nil, nil
	})
	return s
}

type describeKeyInput struct{ KeyId string }

func newJSON11(t testing.TB) *standin.Server {
	s := standin.New(t, standin.Service{Name: "json11", Protocol: standin.JSON11, SigningName: "kms", TargetPrefix: "TrentService"})
	standin.Handle(s, "DescribeKey", func(_ *standin.Request, in *describeKeyInput) (any, error) {
		if in.KeyId != "alias/known" {
			return nil, standin.Errorf(400, "NotFoundException", "Alias %s is not found.", in.KeyId)
		}
		return map[string]any{"KeyMetadata": map[string]any{"KeyId": "k-1", "KeyState": "Enabled"}}, nil
	})
	return s
}

type invokeInput struct {
	FunctionName   string  `path:"FunctionName"`
	InvocationType *string `header:"X-Amz-Invocation-Type"`
	Qualifier      string  `query:"Qualifier"`
	Payload        []byte  `payload:""`
}

func newRESTJSON(t testing.TB) *standin.Server {
	s := standin.New(t, standin.Service{Name: "restjson", Protocol: standin.RESTJSON, SigningName: "lambda"})
	standin.HandleREST(s, "Invoke", "POST /2015-03-31/functions/{FunctionName}/invocations", func(_ *standin.Request, in *invokeInput) (any, error) {
		if in.FunctionName != "echo" {
			return nil, standin.Errorf(404, "ResourceNotFoundException", "Function not found: %s", in.FunctionName)
		}
		return &standin.Response{Header: http.Header{"X-Amz-Executed-Version": {"$LATEST"}}, Body: in.Payload}, nil
	})
	return s
}

type publishInput struct {
	TopicArn string  `query:"TopicArn"`
	Message  string  `query:"Message"`
	Subject  *string `query:"Subject"`
}

func newQuery(t testing.TB) *standin.Server {
	s := standin.New(t, standin.Service{Name: "query", Protocol: standin.Query, SigningName: "sns",
		Version: "2010-03-31", XMLNamespace: "http://sns.amazonaws.com/doc/2010-03-31/"})
	standin.Handle(s, "Publish", func(_ *standin.Request, in *publishInput) (any, error) {
		if in.TopicArn != "arn:aws:sns:us-east-1:111122223333:t" {
			return nil, standin.Errorf(404, "NotFound", "Topic does not exist")
		}
		return struct{ MessageId string }{"m-1"}, nil
	})
	return s
}

// protocolCase is one protocol's service and a call of its operation
// through the SDK's own client.
type protocolCase struct {
	name  string
	start func(testing.TB) *standin.Server
	op    string
	// call calls op with cfg's client: with an input the operation
	// accepts (good) or one it refuses.
	call      func(ctx context.Context, cfg aws.Config, good bool) error
	goodInput any // as the log keeps it
	refused   func(error) bool
	refusal   string // the refusal's code
	throttle  string // the protocol's throttling code
	// badSignature and unknownKey are the protocol's codes for a wrong
	// secret and an unknown access key.
	badSignature, unknownKey string
}

var protocols = []protocolCase{
	{
		name: "JSON 1.0", start: newJSON10, op: "SendTaskHeartbeat",
		call: func(ctx context.Context, cfg aws.Config, good bool) error {
			_, err := sfn.NewFromConfig(cfg).SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(map[bool]string{true: "open", false: "gone"}[good])})
			return err
		},
		goodInput: &heartbeatInput{TaskToken: "open"},
		refused:   func(err error) bool { var e *sfntypes.TaskDoesNotExist; return errors.As(err, &e) },
		refusal:   "TaskDoesNotExist", throttle: "ThrottlingException",
		badSignature: "InvalidSignatureException", unknownKey: "UnrecognizedClientException",
	},
	{
		name: "JSON 1.1", start: newJSON11, op: "DescribeKey",
		call: func(ctx context.Context, cfg aws.Config, good bool) error {
			out, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(map[bool]string{true: "alias/known", false: "alias/nope"}[good])})
			if err == nil && (aws.ToString(out.KeyMetadata.KeyId) != "k-1" || out.KeyMetadata.KeyState != kmstypes.KeyStateEnabled) {
				return errors.New("output not decoded")
			}
			return err
		},
		goodInput: &describeKeyInput{KeyId: "alias/known"},
		refused:   func(err error) bool { var e *kmstypes.NotFoundException; return errors.As(err, &e) },
		refusal:   "NotFoundException", throttle: "ThrottlingException",
		badSignature: "InvalidSignatureException", unknownKey: "UnrecognizedClientException",
	},
	{
		name: "REST-JSON", start: newRESTJSON, op: "Invoke",
		call: func(ctx context.Context, cfg aws.Config, good bool) error {
			out, err := lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String(map[bool]string{true: "echo", false: "nope"}[good]),
				Qualifier:    aws.String("7"), Payload: []byte(`{"a":1}`),
			})
			if err == nil && (string(out.Payload) != `{"a":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST") {
				return errors.New("output not decoded")
			}
			return err
		},
		goodInput: &invokeInput{FunctionName: "echo", Qualifier: "7", Payload: []byte(`{"a":1}`)},
		refused:   func(err error) bool { var e *lambdatypes.ResourceNotFoundException; return errors.As(err, &e) },
		refusal:   "ResourceNotFoundException", throttle: "TooManyRequestsException",
		badSignature: "InvalidSignatureException", unknownKey: "UnrecognizedClientException",
	},
	{
		name: "query", start: newQuery, op: "Publish",
		call: func(ctx context.Context, cfg aws.Config, good bool) error {
			out, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{
				TopicArn: aws.String(map[bool]string{true: "arn:aws:sns:us-east-1:111122223333:t", false: "arn:aws:sns:us-east-1:111122223333:nope"}[good]),
				Message:  aws.String("hello & goodbye"),
			})
			if err == nil && aws.ToString(out.MessageId) != "m-1" {
				return errors.New("output not decoded")
			}
			return err
		},
		goodInput: &publishInput{TopicArn: "arn:aws:sns:us-east-1:111122223333:t", Message: "hello & goodbye"},
		refused:   func(err error) bool { var e *snstypes.NotFoundException; return errors.As(err, &e) },
		refusal:   "NotFound", throttle: "Throttling",
		badSignature: "SignatureDoesNotMatch", unknownKey: "InvalidClientTokenId",
	},
}

// ignoreTime leaves out the calls' arrival times, checked apart.
var ignoreTime = cmpopts.IgnoreFields(standin.Call{}, "Time", "Output")

// TestProtocols: the SDK's own clients call, get their typed errors, and
// retry injected failures; the log keeps every call with its input.
func TestProtocols(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := t.Context()
			srv := p.start(t)
			cfg := srv.Config()
			before := time.Now()
			if err := p.call(ctx, cfg, true); err != nil {
				t.Fatalf("accepted input: %v", err)
			}
			err := p.call(ctx, cfg, false)
			if !p.refused(err) || standin.ErrorCode(err) != p.refusal {
				t.Errorf("refused input: %v, want the typed %s", err, p.refusal)
			}
			want := []standin.Call{{Operation: p.op, Input: p.goodInput, Status: 200}}
			calls := srv.Calls()
			if diff := cmp.Diff(want, calls[:1], ignoreTime); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
			if len(calls) != 2 || calls[1].Code != p.refusal || calls[1].Output != nil {
				t.Errorf("refusal logged as %+v", calls[1:])
			}
			if at := calls[0].Time; at.Before(before) || at.After(time.Now()) {
				t.Errorf("call time %v", at)
			}

			// An injected 500 is retried; throttling beyond the retries
			// is the protocol's throttling error.
			srv.Reset()
			srv.FailNext(1, 500, "InternalFailure")
			if err := p.call(ctx, cfg, true); err != nil || srv.Count(p.op) != 2 {
				t.Errorf("one 500: %v after %d calls, want success after 2", err, srv.Count(p.op))
			}
			srv.Reset()
			srv.Throttle(p.op, 3)
			if err := p.call(ctx, cfg, true); standin.ErrorCode(err) != p.throttle || srv.Count(p.op) != 3 {
				t.Errorf("throttled: %v after %d calls, want %s after 3", err, srv.Count(p.op), p.throttle)
			}
			if err := p.call(ctx, cfg, true); err != nil {
				t.Errorf("after the throttling: %v", err)
			}
		})
	}
}

// TestSignatures: a signature is computed again from the secret of the
// key it names; credentials added are accepted, with their session token.
func TestSignatures(t *testing.T) {
	other := aws.Credentials{AccessKeyID: "ASIAOTHER", SecretAccessKey: "other-secret", SessionToken: "session"}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := t.Context()
			srv := p.start(t)
			with := func(c aws.Credentials) aws.Config {
				cfg := srv.Config()
				cfg.RetryMaxAttempts = 1
				cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
				return cfg
			}
			wrongSecret := standin.Credentials()
			wrongSecret.SecretAccessKey = "wrong"
			wrongToken := other
			wrongToken.SessionToken = "other-session"
			otherRegion := srv.Config()
			otherRegion.Region = "eu-west-1"
			tests := []struct {
				name string
				cfg  aws.Config
				want string
			}{
				{"wrong secret", with(wrongSecret), p.badSignature},
				{"unknown key", with(other), p.unknownKey},
				{"any region", otherRegion, ""},
			}
			for _, tc := range tests {
				if err := p.call(ctx, tc.cfg, true); standin.ErrorCode(err) != tc.want {
					t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
				}
			}
			srv.AddCredentials(other)
			if err := p.call(ctx, with(other), true); err != nil {
				t.Errorf("added credentials: %v", err)
			}
			if err := p.call(ctx, with(wrongToken), true); standin.ErrorCode(err) != p.badSignature {
				t.Errorf("added credentials, another session token: %v, want %s", err, p.badSignature)
			}
		})
	}
}

// rawCase is a hand-made request and the answer the front end gives.
type rawCase struct {
	name   string
	req    standin.RawRequest
	status int
	code   string
}

func raw(method, path string, header map[string]string, body, sign string) standin.RawRequest {
	return standin.RawRequest{Method: method, Path: path, Header: header, Body: body, Sign: sign}
}

// errorCode reads an error answer's code in the protocol's shape.
func errorCode(t *testing.T, p standin.Protocol, resp *http.Response, body []byte) string {
	t.Helper()
	switch p {
	case standin.Query:
		var e struct {
			Code string `xml:"Error>Code"`
		}
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		return e.Code
	case standin.RESTJSON:
		var e struct {
			Type string `json:"__type"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Type != resp.Header.Get("X-Amzn-Errortype") {
			t.Errorf("body %q (%v): __type is not X-Amzn-Errortype %q", body, err, resp.Header.Get("X-Amzn-Errortype"))
		}
		return e.Type
	}
	var e struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return e.Type
}

// TestFrontEnd: what the front end refuses before any operation, in each
// protocol's statuses, codes and shapes.
func TestFrontEnd(t *testing.T) {
	publish := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {"arn:aws:sns:us-east-1:111122223333:t"}, "Message": {"m"}}.Encode()
	big := strings.Repeat("x", 1<<20+1)
	tests := []struct {
		name        string
		protocol    standin.Protocol
		start       func(testing.TB) *standin.Server
		contentType string
		signing     string
		cases       []rawCase
	}{
		{"JSON 1.0", standin.JSON10, newJSON10, "application/x-amz-json-1.0", "states", []rawCase{
			{"well-formed", raw("POST", "/", nil, `{"taskToken":"open"}`, "states"), 200, ""},
			{"unsigned", raw("POST", "/", nil, `{"taskToken":"open"}`, ""), 400, "com.amazon.coral.service#MissingAuthenticationTokenException"},
			{"other scheme", raw("POST", "/", map[string]string{"Authorization": "Bearer x"}, `{}`, ""), 400, "com.amazon.coral.service#IncompleteSignatureException"},
			{"wrong service", raw("POST", "/", nil, `{"taskToken":"open"}`, "lambda"), 400, "com.amazon.coral.service#InvalidSignatureException"},
			{"no date", raw("POST", "/", map[string]string{"X-Amz-Date": ""}, `{"taskToken":"open"}`, "states"), 400, "com.amazon.coral.service#IncompleteSignatureException"},
			{"plain JSON content type", raw("POST", "/", map[string]string{"Content-Type": "application/json"}, `{"taskToken":"open"}`, "states"), 400, "com.amazon.coral.service#SerializationException"},
			{"unknown target", raw("POST", "/", map[string]string{"X-Amz-Target": "AWSStepFunctions.StartExecution"}, `{}`, "states"), 400, "com.amazon.coral.service#UnknownOperationException"},
			{"body not JSON", raw("POST", "/", nil, `taskToken=open`, "states"), 400, "com.amazon.coral.service#SerializationException"},
			{"wrong member type", raw("POST", "/", nil, `{"taskToken":1}`, "states"), 400, "com.amazon.coral.service#SerializationException"},
			{"the service's own error", raw("POST", "/", nil, `{"taskToken":"gone"}`, "states"), 400, "com.amazonaws.swf.service.v2.model#TaskDoesNotExist"},
			{"GET", raw("GET", "/", nil, ``, "states"), 404, "com.amazon.coral.service#UnknownOperationException"},
			{"too large", raw("POST", "/", nil, big, "states"), 413, "com.amazon.coral.service#RequestEntityTooLargeException"},
		}},
		{"REST-JSON", standin.RESTJSON, newRESTJSON, "", "lambda", []rawCase{
			{"well-formed", raw("POST", "/2015-03-31/functions/echo/invocations", nil, `{}`, "lambda"), 200, ""},
			{"unsigned", raw("POST", "/2015-03-31/functions/echo/invocations", nil, `{}`, ""), 403, "MissingAuthenticationTokenException"},
			{"wrong service", raw("POST", "/2015-03-31/functions/echo/invocations", nil, `{}`, "states"), 403, "InvalidSignatureException"},
			{"no route", raw("POST", "/2015-03-31/functions/echo", nil, `{}`, "lambda"), 404, "UnknownOperationException"},
			{"other method", raw("GET", "/2015-03-31/functions/echo/invocations", nil, ``, "lambda"), 404, "UnknownOperationException"},
			{"the service's own error", raw("POST", "/2015-03-31/functions/nope/invocations", nil, `{}`, "lambda"), 404, "ResourceNotFoundException"},
			{"too large", raw("POST", "/2015-03-31/functions/echo/invocations", nil, big, "lambda"), 413, "RequestEntityTooLargeException"},
		}},
		{"query", standin.Query, newQuery, "application/x-www-form-urlencoded", "sns", []rawCase{
			{"well-formed", raw("POST", "/", nil, publish, "sns"), 200, ""},
			{"unsigned", raw("POST", "/", nil, publish, ""), 403, "MissingAuthenticationToken"},
			{"wrong service", raw("POST", "/", nil, publish, "ses"), 403, "SignatureDoesNotMatch"},
			{"unknown action", raw("POST", "/", nil, "Action=Subscribe&Version=2010-03-31", "sns"), 400, "InvalidAction"},
			{"other version", raw("POST", "/", nil, strings.Replace(publish, "2010-03-31", "2009-01-01", 1), "sns"), 400, "InvalidAction"},
			{"malformed", raw("POST", "/", nil, "Action=%zz", "sns"), 400, "MalformedQueryString"},
			{"the service's own error", raw("POST", "/", nil, strings.Replace(publish, "%3At&", "%3Anope&", 1), "sns"), 404, "NotFound"},
			{"too large", raw("POST", "/", nil, big, "sns"), 413, "RequestEntityTooLarge"},
		}},
	}
	for _, tt := range tests {
		srv := tt.start(t)
		for _, tc := range tt.cases {
			t.Run(tt.name+"/"+tc.name, func(t *testing.T) {
				header := map[string]string{"Content-Type": tt.contentType, "X-Amz-Target": "AWSStepFunctions.SendTaskHeartbeat"}
				maps.Copy(header, tc.req.Header)
				tc.req.Header = header
				resp, body := srv.Do(t, tc.req)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d (body %s)", resp.StatusCode, tc.status, body)
				}
				if resp.Header.Get("X-Amzn-Requestid") == "" {
					t.Error("no x-amzn-RequestId")
				}
				if tc.code == "" {
					return
				}
				if got := errorCode(t, tt.protocol, resp, body); got != tc.code {
					t.Errorf("code %q, want %q (body %s)", got, tc.code, body)
				}
			})
		}
	}
}

// TestErrorShapes: an operation's error with more members and headers,
// and a code-less failure answered as a load balancer's page.
func TestErrorShapes(t *testing.T) {
	type callbackInput struct {
		CallbackID string `path:"CallbackId"`
		Result     []byte `payload:""`
	}
	srv := standin.New(t, standin.Service{Name: "durable", Protocol: standin.RESTJSON, SigningName: "lambda"})
	standin.HandleREST(srv, "SendDurableExecutionCallbackSuccess", "POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed",
		func(_ *standin.Request, in *callbackInput) (any, error) {
			return nil, &standin.Error{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded",
				Fields: map[string]any{"retryAfterSeconds": 3}, Header: http.Header{"Retry-After": {"3"}}}
		})
	req := raw("POST", "/2025-12-01/durable-execution-callbacks/cb%2F1/succeed", nil, `{"ok":true}`, "lambda")
	resp, body := srv.Do(t, req)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	want := map[string]any{"__type": "TooManyRequestsException", "message": "Rate exceeded", "retryAfterSeconds": 3.0}
	if diff := cmp.Diff(want, got); diff != "" || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" ||
		resp.Header.Get("X-Amzn-Errortype") != "TooManyRequestsException" {
		t.Errorf("status %d, Retry-After %q, body (-want +got):\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), diff)
	}
	if in := srv.Calls()[0].Input.(*callbackInput); in.CallbackID != "cb/1" || string(in.Result) != `{"ok":true}` {
		t.Errorf("decoded %+v", in)
	}

	srv.FailNext(1, 502, "")
	resp, body = srv.Do(t, req)
	if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "text/html" || !strings.Contains(string(body), "Bad Gateway") {
		t.Errorf("a load balancer's page: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	srv.FailNext(1, 0, "Unspecified")
	if resp, body = srv.Do(t, req); resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "Unspecified" {
		t.Errorf("an error without a status: %d %s, want 400", resp.StatusCode, body)
	}
}

// TestRESTBinding: labels, headers and query parameters reach the input's
// fields of each kind; absent ones leave them zero or nil.
func TestRESTBinding(t *testing.T) {
	type input struct {
		Name    string  `path:"Name"`
		Version *string `path:"Version"`
		Mode    *string `header:"X-Mode"`
		Count   int     `query:"count"`
		DryRun  bool    `query:"dry"`
		Tag     *string `query:"tag"`
		Doc     struct{ A int }
	}
	srv := standin.New(t, standin.Service{Name: "rest", Protocol: standin.RESTJSON, SigningName: "lambda"})
	standin.HandleREST(srv, "Get", "POST /things/{Name}/versions/{Version}", func(*standin.Request, *input) (any, error) {
		return map[string]string{"ok": "yes"}, nil
	})
	tests := []struct {
		path, mode, body string
		want             *input
		code             string
	}{
		{"/things/a%3Ab/versions/2?count=7&dry=true", "fast", `{"Doc":{"A":1}}`,
			&input{Name: "a:b", Version: aws.String("2"), Mode: aws.String("fast"), Count: 7, DryRun: true, Doc: struct{ A int }{1}}, ""},
		{"/things/x/versions/1", "", ``, &input{Name: "x", Version: aws.String("1")}, ""},
		{"/things/x/versions/1?count=many", "", ``, nil, "SerializationException"},
		{"/things/x/versions/1", "", `[1]`, nil, "SerializationException"},
	}
	for _, tc := range tests {
		srv.Reset()
		resp, body := srv.Do(t, raw("POST", tc.path, map[string]string{"X-Mode": tc.mode}, tc.body, "lambda"))
		c := srv.Calls()[0]
		if c.Code != tc.code {
			t.Errorf("%s: %d %s, want %q", tc.path, resp.StatusCode, body, tc.code)
			continue
		}
		if tc.want == nil {
			continue
		}
		if diff := cmp.Diff(tc.want, c.Input); diff != "" {
			t.Errorf("%s: input (-want +got):\n%s", tc.path, diff)
		}
		if string(body) != `{"ok":"yes"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: answer %q %s", tc.path, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestFailNextOp: a failure for one operation waits for it; others pass.
func TestFailNextOp(t *testing.T) {
	ctx := t.Context()
	srv := newJSON10(t)
	standin.Handle(srv, "SendTaskSuccess", func(*standin.Request, *struct{}) (any, error) { return nil, nil })
	srv.FailNextOp("SendTaskSuccess", 1, 400, "TaskTimedOut")
	c := sfn.NewFromConfig(srv.Config())
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("open")}); err != nil {
		t.Errorf("another operation: %v", err)
	}
	_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("open"), Output: aws.String("{}")})
	var timedOut *sfntypes.TaskTimedOut
	if !errors.As(err, &timedOut) {
		t.Errorf("the operation: %v, want TaskTimedOut", err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("open"), Output: aws.String("{}")}); err != nil {
		t.Errorf("after its one failure: %v", err)
	}
	got := standin.CallsAs(srv, func(c standin.Call) string { return c.Operation + " " + c.Code })
	if diff := cmp.Diff([]string{"SendTaskHeartbeat ", "SendTaskSuccess TaskTimedOut", "SendTaskSuccess "}, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestHold: held requests wait, uncounted, until released.
func TestHold(t *testing.T) {
	ctx := t.Context()
	srv := newJSON11(t)
	release := srv.Hold()
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- protocols[1].call(ctx, srv.Config(), true) }()
	}
	for srv.Held() < 2 {
		time.Sleep(time.Millisecond)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls answered while held", n)
	}
	release()
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if srv.Held() != 0 || srv.Count("DescribeKey") != 2 {
		t.Errorf("after release: %d held, %d calls", srv.Held(), srv.Count("DescribeKey"))
	}
}

// TestNoSigning: a service that is not AWS checks no signature.
func TestNoSigning(t *testing.T) {
	srv := standin.New(t, standin.Service{Name: "slack", Protocol: standin.RESTJSON})
	standin.HandleREST(srv, "chat.postMessage", "POST /api/chat.postMessage", func(r *standin.Request, in *struct{ Channel string }) (any, error) {
		if r.Header.Get("Authorization") != "Bearer xoxb-test" {
			return map[string]any{"ok": false, "error": "invalid_auth"}, nil
		}
		return map[string]any{"ok": true, "channel": in.Channel}, nil
	})
	resp, body := srv.Do(t, raw("POST", "/api/chat.postMessage", map[string]string{"Authorization": "Bearer xoxb-test"}, `{"Channel":"C1"}`, ""))
	if resp.StatusCode != 200 || string(body) != `{"channel":"C1","ok":true}` {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}
