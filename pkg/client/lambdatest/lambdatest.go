// Package lambdatest is a stand-in for AWS Lambda's Invoke API for tests.
//
// It is an HTTP server speaking Invoke's REST protocol
// (POST /2015-03-31/functions/{FunctionName}/invocations), so the real SDK
// client serialises, signs, retries and decodes exactly as it does against
// AWS; Go functions stand in for the Lambda functions:
//
//	srv := lambdatest.New(t)
//	srv.AddFunction("create-urls", lambdaapi.CreateURLsHandler(svc, router, logger))
//	c := client.NewLambda(srv.Config(), "create-urls")
//
// As Lambda does, it answers a function's result as the payload (JSON);
// a function's error, a timeout or a response over 6 MB with 200 and
// X-Amz-Function-Error: Unhandled and the runtime's
// {"errorType", "errorMessage"} body; an unknown function with 404
// ResourceNotFoundException, a request over 6 MB with 413
// RequestEntityTooLargeException, a bad signature with 403; and every
// answer with X-Amz-Executed-Version and x-amzn-RequestId. Function names
// may be given as a name, a partial ARN or an ARN, with a qualifier in the
// ARN or the Qualifier parameter. Event invocations answer 202 after the
// function ran, DryRun 204 without running it.
package lambdatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/internal/sigv4check"
)

// Fake credentials and region of Config. Signatures are verified against
// them.
const (
	AccessKeyID     = "AKIDLAMBDATEST"
	SecretAccessKey = "lambdatest-secret"
	Region          = "us-east-1"
	AccountID       = "123456789012"
)

// Lambda's limits on synchronous invocations.
const (
	MaxRequestBytes  = 6291456 // "Request must be smaller than 6291456 bytes"
	MaxResponseBytes = 6291556 // "Response payload size exceeded maximum allowed payload size (6291556 bytes)"
)

// Function is a Go function standing in for a Lambda function: the
// signature of a lambda.Start handler taking raw JSON (lambdaapi.Handler
// is one). An error it returns is the function's error; a *FunctionError
// chooses the error type.
type Function = func(ctx context.Context, payload json.RawMessage) (any, error)

// FunctionError is a function error with the type the runtime reports
// (Runtime.ExitError, Sandbox.Timedout, ...). Other errors are reported
// with the name of their Go type, as aws-lambda-go does.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Call is one request the server received.
type Call struct {
	Function       string // the name, from any form of FunctionName
	Qualifier      string
	InvocationType string
	Payload        []byte
	// The answer: HTTP status, error type of a service error, and the
	// function error if any.
	Status        int
	ErrorType     string
	FunctionError string
}

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	functions map[string]*function
	calls     []Call
	failures  []failure
}

type function struct {
	fn      Function
	timeout time.Duration
}

type failure struct {
	status    int
	errorType string
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{functions: map[string]*function{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for BaseEndpoint or AWS_ENDPOINT_URL_LAMBDA.
func (s *Server) URL() string { return s.srv.URL }

// Config is an aws.Config for this server: BaseEndpoint is the server, the
// credentials are AccessKeyID and SecretAccessKey, the region Region, and
// the retryer the SDK's standard one (3 attempts) waiting a millisecond
// between attempts and without a retry quota. Nothing is read from the
// environment.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return Credentials(), nil
		}),
		HTTPClient: s.srv.Client(),
		Retryer:    func() aws.Retryer { return FastRetryer() },
	}
}

// Credentials are the credentials the server accepts.
func Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Source: "lambdatest"}
}

// FastRetryer is the SDK's standard retryer with a 1 ms backoff and no
// retry quota.
func FastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

// AddFunction deploys fn as the function name (replacing any), with no
// timeout.
func (s *Server) AddFunction(name string, fn Function) {
	s.AddFunctionWithTimeout(name, fn, 0)
}

// AddFunctionWithTimeout deploys fn with a timeout: its context ends then,
// and an invocation still running is answered as Lambda answers a timeout
// (Sandbox.Timedout) without waiting for fn.
func (s *Server) AddFunctionWithTimeout(name string, fn Function, timeout time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functions[name] = &function{fn: fn, timeout: timeout}
}

// FailNext makes the next n invocations fail with status and errorType
// without running the function: 429 and "TooManyRequestsException" or 500
// and "ServiceException" (both retried by the SDK), 403 and
// "AccessDeniedException", ... Calls add up.
func (s *Server) FailNext(n, status int, errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, errorType})
	}
}

// Calls returns a copy of every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

const invokePrefix = "/2015-03-31/functions/"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{InvocationType: r.Header.Get("X-Amz-Invocation-Type"), Qualifier: r.URL.Query().Get("Qualifier")}
	if call.InvocationType == "" {
		call.InvocationType = "RequestResponse"
	}
	status, errType, funcErr := s.handle(w, r, &call)
	call.Status, call.ErrorType, call.FunctionError = status, errType, funcErr
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

// handle answers one request and reports the answer for Calls.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, call *Call) (status int, errorType, functionError string) {
	w.Header().Set("X-Amzn-Requestid", requestID())
	fail := func(status int, errorType, message string) (int, string, string) {
		writeServiceError(w, status, errorType, message)
		return status, errorType, ""
	}
	raw := strings.TrimPrefix(r.URL.EscapedPath(), invokePrefix)
	escapedName, ok := strings.CutSuffix(raw, "/invocations")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.EscapedPath(), invokePrefix) || !ok || strings.Contains(escapedName, "/") {
		return fail(http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return fail(http.StatusBadRequest, "InvalidRequestContentException", "could not read the request body")
	}
	if len(body) > MaxRequestBytes {
		return fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxRequestBytes))
	}
	if p := sigv4check.Verify(r, body, Credentials(), "lambda", Region); p != nil {
		return fail(http.StatusForbidden, p.Type, p.Message)
	}
	call.Payload = body
	name, err := url.PathUnescape(escapedName)
	if err != nil {
		return fail(http.StatusBadRequest, "ValidationException", "malformed function name")
	}
	name, qualifier := parseFunctionName(name)
	call.Function = name
	if qualifier != "" {
		if call.Qualifier != "" && call.Qualifier != qualifier {
			return fail(http.StatusBadRequest, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier.")
		}
		call.Qualifier = qualifier
	}
	if len(body) > 0 && !json.Valid(body) {
		return fail(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}

	s.mu.Lock()
	f := s.functions[name]
	var injected *failure
	if f != nil && len(s.failures) > 0 {
		injected = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if f == nil {
		return fail(http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", Region, AccountID, name))
	}
	if injected != nil {
		return fail(injected.status, injected.errorType, injectedMessage(injected.errorType))
	}
	version := "$LATEST"
	if call.Qualifier != "" && strings.Trim(call.Qualifier, "0123456789") == "" {
		version = call.Qualifier
	}
	w.Header().Set("X-Amz-Executed-Version", version)

	switch call.InvocationType {
	case "RequestResponse":
	case "Event":
		_, _ = s.run(r.Context(), f, body)
		w.WriteHeader(http.StatusAccepted)
		return http.StatusAccepted, "", ""
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, "", ""
	default:
		return fail(http.StatusBadRequest, "InvalidParameterValueException", "Invalid InvocationType: "+call.InvocationType)
	}

	out, ferr := s.run(r.Context(), f, body)
	if ferr == nil && len(out) > MaxResponseBytes {
		ferr = &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}
	}
	w.Header().Set("Content-Type", "application/json")
	if ferr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(map[string]string{"errorType": errorTypeOf(ferr), "errorMessage": errorMessageOf(ferr)})
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return http.StatusOK, "", "Unhandled"
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return http.StatusOK, "", ""
}

// run calls the function as the runtime does: its result marshalled as
// JSON, within its timeout.
func (s *Server) run(ctx context.Context, f *function, payload []byte) ([]byte, error) {
	type result struct {
		out []byte
		err error
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	done := make(chan result, 1)
	go func() {
		v, err := f.fn(ctx, payload)
		if err != nil {
			done <- result{err: err}
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			err = &FunctionError{Type: "Runtime.MarshalError", Message: "the result cannot be marshalled as JSON"}
		}
		done <- result{out, err}
	}()
	var timeout <-chan time.Time
	if f.timeout > 0 {
		timer := time.NewTimer(f.timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case res := <-done:
		return res.out, res.err
	case <-timeout:
		return nil, &FunctionError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID(), f.timeout.Seconds())}
	}
}

// parseFunctionName takes a name, a partial ARN (123456789012:function:name)
// or an ARN, each with an optional ":qualifier", to the name and qualifier.
func parseFunctionName(s string) (name, qualifier string) {
	if i := strings.Index(s, "function:"); i >= 0 {
		s = s[i+len("function:"):]
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

func errorTypeOf(err error) string {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe.Type
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func errorMessageOf(err error) string {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// writeServiceError answers as Lambda's REST-JSON front end does.
func writeServiceError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", errorType)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "message": message})
	_, _ = w.Write(b)
}

func injectedMessage(errorType string) string {
	switch errorType {
	case "TooManyRequestsException":
		return "Rate Exceeded."
	case "AccessDeniedException":
		return "User: arn:aws:iam::" + AccountID + ":user/test is not authorized to perform: lambda:InvokeFunction"
	}
	return "injected " + errorType
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
