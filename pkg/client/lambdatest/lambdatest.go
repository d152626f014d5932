// Package lambdatest is a stand-in for AWS Lambda's Invoke API for tests,
// on internal/standin's base (REST-JSON, signatures verified against
// Credentials, failure injection, call log).
//
// It serves Invoke's REST route
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
// answer with x-amzn-RequestId, a function's with X-Amz-Executed-Version.
// Function names may be given as a name, a partial ARN or an ARN, with a
// qualifier in the ARN or the Qualifier parameter. Event invocations
// answer 202 after the function ran, DryRun 204 without running it.
package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// The credentials the server accepts and Config signs with, its region
// and account (standin's).
const (
	AccessKeyID     = standin.AccessKeyID
	SecretAccessKey = standin.SecretAccessKey
	Region          = standin.Region
	AccountID       = standin.Account
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

// Server is a running stand-in. Its methods are safe for concurrent use;
// the base's (URL, Config, FailNext, Throttle, ...) come with it.
type Server struct {
	*standin.Server

	mu        sync.Mutex
	functions map[string]*function
}

type function struct {
	fn      Function
	timeout time.Duration
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{functions: map[string]*function{}}
	s.Server = standin.New(t, standin.Service{Name: "lambdatest", Protocol: standin.RESTJSON, SigningName: "lambda",
		MaxRequestBytes: MaxRequestBytes})
	standin.HandleREST(s.Server, "Invoke", "POST /2015-03-31/functions/{FunctionName}/invocations", s.invoke)
	return s
}

// Credentials are the credentials the server accepts.
func Credentials() aws.Credentials { return standin.Credentials() }

// FastRetryer is the SDK's standard retryer with a 1 ms backoff and no
// retry quota.
func FastRetryer() aws.Retryer { return standin.FastRetryer() }

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

// Calls returns a copy of every request received so far, in order.
func (s *Server) Calls() []Call {
	return standin.CallsAs(s.Server, func(c standin.Call) Call {
		call := Call{Status: c.Status, ErrorType: c.Code}
		if in, ok := c.Input.(*invokeInput); ok {
			call.Function, call.Qualifier, _ = in.target()
			call.InvocationType, call.Payload = in.invocationType(), in.Payload
		}
		if out, ok := c.Output.(*standin.Response); ok {
			call.FunctionError = out.Header.Get("X-Amz-Function-Error")
		}
		return call
	})
}

// invokeInput is Invoke's input as its REST binding places it.
type invokeInput struct {
	FunctionName   string `path:"FunctionName"`
	InvocationType string `header:"X-Amz-Invocation-Type"`
	Qualifier      string `query:"Qualifier"`
	Payload        []byte `payload:""`
}

// target is the function's name and qualifier, from a name, a partial ARN
// (123456789012:function:name) or an ARN, each with an optional
// ":qualifier", and the Qualifier parameter; ok is false when the two
// qualifiers differ.
func (in *invokeInput) target() (name, qualifier string, ok bool) {
	s := in.FunctionName
	if i := strings.Index(s, "function:"); i >= 0 {
		s = s[i+len("function:"):]
	}
	name, qualifier, _ = strings.Cut(s, ":")
	switch {
	case qualifier == "":
		return name, in.Qualifier, true
	case in.Qualifier != "" && in.Qualifier != qualifier:
		return name, in.Qualifier, false
	}
	return name, qualifier, true
}

func (in *invokeInput) invocationType() string {
	if in.InvocationType == "" {
		return "RequestResponse"
	}
	return in.InvocationType
}

func (s *Server) invoke(r *standin.Request, in *invokeInput) (any, error) {
	name, qualifier, ok := in.target()
	if !ok {
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier.")
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}
	s.mu.Lock()
	f := s.functions[name]
	s.mu.Unlock()
	if f == nil {
		return nil, standin.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:%s:%s:function:%s", Region, AccountID, name)
	}
	version := "$LATEST"
	if qualifier != "" && strings.Trim(qualifier, "0123456789") == "" {
		version = qualifier
	}
	resp := &standin.Response{Header: http.Header{"X-Amz-Executed-Version": {version}}}
	switch in.invocationType() {
	case "RequestResponse":
	case "Event":
		_, _ = run(r.Context(), r.ID, f, in.Payload)
		resp.Status = http.StatusAccepted
		return resp, nil
	case "DryRun":
		resp.Status = http.StatusNoContent
		return resp, nil
	default:
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidParameterValueException", "Invalid InvocationType: %s", in.InvocationType)
	}

	out, ferr := run(r.Context(), r.ID, f, in.Payload)
	if ferr == nil && len(out) > MaxResponseBytes {
		ferr = &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}
	}
	resp.Header.Set("Content-Type", "application/json")
	if ferr != nil {
		resp.Header.Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(map[string]string{"errorType": errorTypeOf(ferr), "errorMessage": errorMessageOf(ferr)})
	}
	resp.Body = out
	return resp, nil
}

// run calls the function as the runtime does: its result marshalled as
// JSON, within its timeout.
func run(ctx context.Context, reqID string, f *function, payload []byte) ([]byte, error) {
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
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", reqID, f.timeout.Seconds())}
	}
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
