// Package standin is the base of the module's stand-ins for AWS services in
// tests (kmstest, sfntest, lambdatest, awskeyringtest, examples' awstest):
// an HTTP server on 127.0.0.1 that speaks a service's real wire protocol,
// so the real SDK clients serialise, sign, retry and decode errors exactly
// as they do against AWS. The base does what every stand-in needs; a
// stand-in keeps only its own operations and state.
//
// What the base does, in the order a request meets it:
//   - Hold: requests wait while a test holds them (Server.Hold);
//   - reads the body, bounded (413 RequestEntityTooLargeException);
//   - checks the SigV4 signature for real: the signature is computed again
//     with the SDK's signer from the secret of the access key it names
//     (Credentials, or any added with AddCredentials), over the headers
//     it says it signed and the body, for the service's signing name; the
//     region may be any (a stand-in answers for every region). Missing,
//     malformed, unknown, expired or wrong signatures are refused as AWS
//     refuses them;
//   - dispatches by protocol: AWS JSON 1.0 and 1.1 by X-Amz-Target, REST-JSON
//     by method and path pattern, the query protocol by its Action (and
//     Version);
//   - decodes the input into the operation's Go type (JSON body; REST
//     labels, headers and query parameters by struct tags; query
//     parameters);
//   - injects failures (FailNext, FailNextOp, Throttle);
//   - runs the operation and writes its answer, or its error in the
//     protocol's shape: JSON 1.x {"__type": "ns#Code", "message"}; REST-JSON
//     the X-Amzn-Errortype header and {"__type", "message", ...}; the query
//     protocol's <ErrorResponse> XML; an empty code answers an HTML page,
//     as a load balancer would;
//   - logs the call (operation, decoded input, answer, time): Calls, Count.
//
// Config is an aws.Config for the server: static Credentials, Region, a
// fast retryer and the server as endpoint, reading nothing of the
// environment.
//
// # A stand-in
//
// A stand-in embeds *Server (so its users get URL, Config, FailNext,
// Throttle, Hold, Count, Reset and AddCredentials) and registers its
// operations. An AWS JSON operation:
//
//	srv := standin.New(t, standin.Service{Name: "kmstest", Protocol: standin.JSON11,
//		SigningName: "kms", TargetPrefix: "TrentService"})
//	standin.Handle(srv, "DescribeKey", func(r *standin.Request, in *describeKeyInput) (any, error) {
//		if in.KeyId == "" {
//			return nil, standin.Validation("Value null at 'keyId' failed to satisfy constraint: Member must not be null")
//		}
//		return &describeKeyOutput{...}, nil
//	})
//
// # Adding a REST-JSON operation
//
// Name the route with a method and a path pattern whose {Labels} are
// single path segments; tag the input's fields with where they come from
// (path, header, query; payload for a raw body, otherwise the body is the
// input's JSON); return the output (written as JSON with 200), a
// *Response for another status, headers or a raw body, or an *Error:
//
//	type succeedInput struct {
//		CallbackID string `path:"CallbackId"`
//		Result     []byte `payload:""`
//	}
//	standin.HandleREST(srv, "SendDurableExecutionCallbackSuccess",
//		"POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed",
//		func(r *standin.Request, in *succeedInput) (any, error) {
//			if !open[in.CallbackID] {
//				return nil, standin.Errorf(404, "ResourceNotFoundException", "Callback %s not found", in.CallbackID)
//			}
//			return nil, nil // 200 {}
//		})
//
// An *Error's Fields are more members of its body (&standin.Error{Status:
// 429, Code: "TooManyRequestsException", Fields:
// map[string]any{"retryAfterSeconds": 1}}); srv.Throttle(op, 2) fails the
// next two calls of op with the protocol's throttling error. Tests of what
// the front end refuses send hand-made requests with Do (signed or not).
//
// A service that is not AWS (a Slack Web API) leaves SigningName empty:
// no signature is checked, and the operation checks its own token.
package standin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// The stand-ins' static credentials, region and account. Every server
// accepts these credentials; tests that set AWS_ACCESS_KEY_ID for a
// process use them, or add their own with AddCredentials.
const (
	AccessKeyID     = "AKIDSTANDIN"
	SecretAccessKey = "standin-secret"
	Region          = "us-east-1"
	Account         = "111122223333"
)

// Credentials are the credentials every server accepts and Config signs
// with.
func Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Source: "standin"}
}

// FastRetryer is the SDK's standard retryer (3 attempts, the same
// retryable errors) with a 1 ms backoff and no retry quota, so that retry
// tests are fast and independent of each other.
func FastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

// Config is an aws.Config for a server at url: Region, Credentials,
// FastRetryer, url as every service's endpoint. It reads no environment
// or shared configuration.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return Credentials(), nil
		}),
		Retryer: FastRetryer,
	}
}

// Protocol is an AWS wire protocol.
type Protocol int

// The protocols.
const (
	// JSON10 is AWS JSON 1.0: POST /, X-Amz-Target: <TargetPrefix>.<Op>,
	// Content-Type application/x-amz-json-1.0 (Step Functions).
	JSON10 Protocol = iota + 1
	// JSON11 is AWS JSON 1.1, the same with application/x-amz-json-1.1
	// (KMS, Secrets Manager, SSM).
	JSON11
	// RESTJSON is REST-JSON: the operation is the method and path
	// (Lambda, SES v2).
	RESTJSON
	// Query is the query protocol: a form with Action and Version, XML
	// answers (SNS).
	Query
)

// Service describes the service a server stands in for.
type Service struct {
	// Name names the stand-in in request ids and injected messages
	// ("kmstest").
	Name     string
	Protocol Protocol
	// SigningName is the SigV4 service name ("kms", "states"); "" checks
	// no signature (a service that is not AWS).
	SigningName string
	// TargetPrefix is X-Amz-Target's part before the dot (JSON protocols:
	// "TrentService", "AWSStepFunctions").
	TargetPrefix string
	// ErrorNamespace prefixes the service's own error codes in __type
	// (JSON protocols: "com.amazonaws.swf.service.v2.model#"); the front
	// end's codes get Coral's namespaces.
	ErrorNamespace string
	// Version is the API version the query protocol requires
	// ("2010-03-31"); XMLNamespace the answers' xmlns.
	Version, XMLNamespace string
	// MaxRequestBytes bounds a body (default 1 MiB); a larger one is 413.
	MaxRequestBytes int64
	// Throttling is what Throttle injects; by default the protocol's usual
	// throttling error (400 ThrottlingException for JSON, 429
	// TooManyRequestsException for REST-JSON, 400 Throttling for Query).
	Throttling *Error
}

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	svc Service
	srv *httptest.Server

	mu       sync.Mutex
	ops      map[string]*operation // JSON and Query, by name
	routes   []*operation          // REST-JSON, in registration order
	creds    map[string]aws.Credentials
	failures []failure
	calls    []Call
	requests int
	hold     chan struct{} // requests wait on it while not nil
	held     int
}

// New starts a server for svc on 127.0.0.1, closed when the test ends.
func New(t testing.TB, svc Service) *Server {
	t.Helper()
	if svc.MaxRequestBytes <= 0 {
		svc.MaxRequestBytes = 1 << 20
	}
	s := &Server{svc: svc, ops: map[string]*operation{},
		creds: map[string]aws.Credentials{AccessKeyID: Credentials()}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL (http://127.0.0.1:port), for BaseEndpoint
// or AWS_ENDPOINT_URL_<SERVICE>.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server early, so that later calls fail to connect. The
// test's cleanup calls it anyway; it may be called twice.
func (s *Server) Close() { s.srv.Close() }

// HTTPClient is an HTTP client for the server.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Config is Config(s.URL()) with the server's HTTP client.
func (s *Server) Config() aws.Config {
	cfg := Config(s.srv.URL)
	cfg.HTTPClient = s.srv.Client()
	return cfg
}

// AddCredentials makes the server accept signatures made with creds too
// (a process given its own AWS_ACCESS_KEY_ID). A session token, if any,
// must then be sent.
func (s *Server) AddCredentials(creds ...aws.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range creds {
		s.creds[c.AccessKeyID] = c
	}
}

// Hold makes requests wait, before anything is read, until release is
// called, so that a test can pile up concurrent callers behind one.
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Held is the number of requests waiting for Hold's release.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Call is one request the server answered.
type Call struct {
	// Operation is the operation's name (for JSON, X-Amz-Target without
	// its prefix, known or not; "" for a REST request matching no route).
	Operation string
	// Input is the decoded input (a *In of the operation's handler, as
	// the handler left it); nil when the request was refused before.
	Input any
	// Output is what the handler returned; nil on an error.
	Output any
	// Status and Code are the answer's HTTP status and error code ("" on
	// success).
	Status int
	Code   string
	// Time is when the request arrived.
	Time time.Time
}

// Calls returns every request answered so far, in order, retries and
// refused ones included.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsAs is s.Calls() in a stand-in's own terms: f makes each call one
// of the stand-in's (from the decoded input and the output).
func CallsAs[T any](s *Server, f func(Call) T) []T {
	var out []T
	for _, c := range s.Calls() {
		out = append(out, f(c))
	}
	return out
}

// Count is the number of requests for operation, retries and failures
// included.
func (s *Server) Count(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Operation == operation {
			n++
		}
	}
	return n
}

// Reset forgets the calls answered so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

type failure struct {
	op  string // "" for any
	err Error
}

// FailNext makes the next n well-formed requests, of any operation, fail
// with status and code without reaching the operation: for example 400
// "ThrottlingException" or 500 "InternalFailure" (both retried by the
// SDK), 400 "AccessDeniedException". An empty code answers an HTML page,
// as a load balancer would. Calls add up.
func (s *Server) FailNext(n, status int, code string) { s.FailNextOp("", n, status, code) }

// FailNextOp is FailNext for the next n requests of operation op only.
func (s *Server) FailNextOp(op string, n, status int, code string) {
	s.inject(op, n, Error{Status: status, Code: code, Message: s.injectedMessage(code)})
}

// Throttle makes the next n requests of op ("" for any operation) fail
// with the service's throttling error.
func (s *Server) Throttle(op string, n int) {
	e := s.svc.Throttling
	if e == nil {
		e = map[Protocol]*Error{
			JSON10:   {Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
			JSON11:   {Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
			RESTJSON: {Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
			Query:    {Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		}[s.svc.Protocol]
	}
	s.inject(op, n, *e)
}

func (s *Server) inject(op string, n int, e Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{op, e})
	}
}

func (s *Server) injectedMessage(code string) string {
	switch code {
	case "":
		return ""
	case "ThrottlingException", "Throttling", "TooManyRequestsException":
		return "Rate exceeded"
	}
	return "injected by " + s.svc.Name + ".FailNext"
}

// nextFailure takes the first injected failure for op, if any.
func (s *Server) nextFailure(op string) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if f.op == "" || f.op == op {
			s.failures = slices.Delete(s.failures, i, i+1)
			return &f.err
		}
	}
	return nil
}

// Request is one request being answered: the HTTP request (its context,
// headers, path values; for the query protocol, Form holds the
// parameters of the body and the URL), the operation and the body.
type Request struct {
	*http.Request
	ID        string // the request id answered in x-amzn-RequestId
	Operation string
	Body      []byte
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.waitHold(r) {
		return
	}
	s.mu.Lock()
	s.requests++
	reqID := fmt.Sprintf("%s-%08d", s.svc.Name, s.requests)
	s.mu.Unlock()
	call := Call{Time: time.Now()}
	out, err := s.handle(r, reqID, &call)
	if err != nil && err.Status == 0 {
		withStatus := *err
		withStatus.Status = http.StatusBadRequest
		err = &withStatus
	}

	s.mu.Lock()
	call.Status = http.StatusOK
	if err != nil {
		call.Status, call.Code = err.Status, err.Code
	} else {
		call.Output = out
		if resp, ok := out.(*Response); ok && resp.Status != 0 {
			call.Status = resp.Status
		}
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	w.Header().Set("X-Amzn-Requestid", reqID)
	if err != nil {
		s.writeError(w, err, reqID)
		return
	}
	s.writeOutput(w, call.Operation, out, reqID)
}

// waitHold waits while requests are held; false if the request ended.
func (s *Server) waitHold(r *http.Request) bool {
	s.mu.Lock()
	hold := s.hold
	if hold != nil {
		s.held++
	}
	s.mu.Unlock()
	if hold == nil {
		return true
	}
	select {
	case <-hold:
	case <-r.Context().Done():
	}
	s.mu.Lock()
	s.held--
	s.mu.Unlock()
	return r.Context().Err() == nil
}

// handle runs the pipeline up to the operation's answer.
func (s *Server) handle(r *http.Request, reqID string, call *Call) (any, *Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, s.svc.MaxRequestBytes+1))
	if err != nil {
		return nil, s.frontEnd(serialization, "could not read the body")
	}
	req := &Request{Request: r, ID: reqID, Body: body}
	op, routeErr := s.route(req)
	if op != nil {
		call.Operation = op.name
	}
	req.Operation = call.Operation
	if int64(len(body)) > s.svc.MaxRequestBytes {
		return nil, s.frontEnd(tooLarge, fmt.Sprintf("Request must be at most %d bytes", s.svc.MaxRequestBytes))
	}
	if s.svc.SigningName != "" {
		if e := s.verify(r, body); e != nil {
			return nil, e
		}
	}
	if routeErr != nil {
		return nil, routeErr
	}
	if e := s.checkContentType(r); e != nil {
		return nil, e
	}
	in := op.newInput()
	if e := s.bind(req, in); e != nil {
		return nil, e
	}
	call.Input = in
	if f := s.nextFailure(op.name); f != nil {
		return nil, f
	}
	out, herr := op.call(req, in)
	if herr != nil {
		return nil, asError(herr)
	}
	return out, nil
}

func (s *Server) checkContentType(r *http.Request) *Error {
	ct := r.Header.Get("Content-Type")
	switch s.svc.Protocol {
	case JSON10, JSON11:
		if want := jsonContentType(s.svc.Protocol); ct != want {
			return s.frontEnd(serialization, fmt.Sprintf("Unsupported Content-Type %q; expected %s", ct, want))
		}
	case Query:
		if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return s.frontEnd(serialization, "Content-Type must be application/x-www-form-urlencoded")
		}
	}
	return nil
}

func jsonContentType(p Protocol) string {
	if p == JSON10 {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}
