// Package durabletest is a stand-in for AWS Lambda's durable execution
// callback API (SendDurableExecutionCallbackSuccess, ...Failure and
// ...Heartbeat) for tests, on internal/standin's base: REST-JSON at Lambda's
// paths (POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed,
// /fail, /heartbeat), SigV4 verified for "lambda", errors with __type and
// X-Amzn-Errortype, failure injection and a call log. The real SDK client
// serialises, signs, retries and decodes errors exactly as against AWS:
//
//	srv := durabletest.New(t)
//	srv.AddCallback("Y2FsbGJhY2stMQ==")
//	c := durablecallbacks.NewFromAWSConfig(srv.Config())
//	err := c.Succeed(ctx, "Y2FsbGJhY2stMQ==", []byte(`{"ok":true}`))
//	cb, _ := srv.Callback("Y2FsbGJhY2stMQ==") // cb.Status == durabletest.StatusSucceeded
//
// Callbacks behave as Lambda's: open until the first success or failure,
// or until they time out (TimeOut); heartbeats on an open callback are
// counted; any call on a closed or timed-out callback gets 400
// CallbackTimeoutException; an id that is not Lambda's pattern
// ([A-Za-z0-9+/]+={0,2}, 1 to 1,024 characters) or a result over 262,144
// bytes gets 400 InvalidParameterValueException, and an id no execution
// made 404 ResourceNotFoundException. Messages quote the id on purpose,
// as Lambda's may, so tests notice when one is passed on. Throttle answers
// 429 TooManyRequestsException with Retry-After (and retryAfterSeconds in
// the body) of RetryAfterSeconds.
package durabletest

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Lambda's limits on the callback API.
const (
	MaxCallbackIDLength = 1024   // characters
	MaxResultBytes      = 262144 // bytes of a success's result
)

// RetryAfterSeconds is the wait a throttled answer asks for.
const RetryAfterSeconds = "7"

// The operations, as the call log names them.
const (
	OpSuccess   = "SendDurableExecutionCallbackSuccess"
	OpFailure   = "SendDurableExecutionCallbackFailure"
	OpHeartbeat = "SendDurableExecutionCallbackHeartbeat"
)

// Status is the state of a callback.
type Status string

// Callback states.
const (
	StatusOpen      Status = "open"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusTimedOut  Status = "timed out"
)

// CallbackState is what the server knows of a callback.
type CallbackState struct {
	Status Status
	// Result is a success's body, as sent.
	Result []byte
	// Error is a failure's error object.
	Error      ErrorObject
	Heartbeats int
}

// ErrorObject is SendDurableExecutionCallbackFailure's body.
type ErrorObject struct {
	ErrorType    *string  `json:",omitempty"`
	ErrorMessage *string  `json:",omitempty"`
	ErrorData    *string  `json:",omitempty"`
	StackTrace   []string `json:",omitempty"`
}

// Call is one request the server answered.
type Call struct {
	Operation  string
	CallbackID string
	Result     []byte       // OpSuccess
	Error      *ErrorObject // OpFailure
	// Status and ErrorType are the answer ("" on success).
	Status    int
	ErrorType string
}

// Server is a running stand-in; the base's methods (URL, Config, FailNext,
// FailNextOp, Throttle, Hold, Count, ...) come with it.
type Server struct {
	*standin.Server

	mu        sync.Mutex
	callbacks map[string]*CallbackState
}

// New starts a server on 127.0.0.1, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{callbacks: map[string]*CallbackState{}}
	s.Server = standin.New(t, standin.Service{Name: "durabletest", Protocol: standin.RESTJSON, SigningName: "lambda",
		Throttling: &standin.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate exceeded",
			Fields: map[string]any{"retryAfterSeconds": RetryAfterSeconds, "Reason": "CallerRateLimitExceeded"},
			Header: http.Header{"Retry-After": {RetryAfterSeconds}}}})
	const base = "POST /2025-12-01/durable-execution-callbacks/{CallbackId}/"
	standin.HandleREST(s.Server, OpSuccess, base+"succeed", s.succeed)
	standin.HandleREST(s.Server, OpFailure, base+"fail", s.fail)
	standin.HandleREST(s.Server, OpHeartbeat, base+"heartbeat", s.heartbeat)
	return s
}

// AddCallback opens a callback (afresh if it existed), as a durable
// function's createCallback does.
func (s *Server) AddCallback(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks[id] = &CallbackState{Status: StatusOpen}
}

// TimeOut makes an open callback time out.
func (s *Server) TimeOut(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cb := s.callbacks[id]; cb != nil && cb.Status == StatusOpen {
		cb.Status = StatusTimedOut
	}
}

// Callback returns a callback's state and whether it exists.
func (s *Server) Callback(id string) (CallbackState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[id]
	if !ok {
		return CallbackState{}, false
	}
	return *cb, true
}

// Calls returns every request answered so far, in order, retries and
// refused ones included.
func (s *Server) Calls() []Call {
	return standin.CallsAs(s.Server, func(c standin.Call) Call {
		call := Call{Operation: c.Operation, Status: c.Status, ErrorType: c.Code}
		switch in := c.Input.(type) {
		case *succeedInput:
			call.CallbackID, call.Result = in.CallbackID, in.Result
		case *failInput:
			e := in.ErrorObject
			call.CallbackID, call.Error = in.CallbackID, &e
		case *heartbeatInput:
			call.CallbackID = in.CallbackID
		}
		return call
	})
}

type succeedInput struct {
	CallbackID string `path:"CallbackId"`
	Result     []byte `payload:""`
}

// failInput is the fail operation's input: the error object is the body.
type failInput struct {
	CallbackID string `path:"CallbackId" json:"-"`
	ErrorObject
}

type heartbeatInput struct {
	CallbackID string `path:"CallbackId"`
}

func (s *Server) succeed(_ *standin.Request, in *succeedInput) (any, error) {
	if len(in.Result) > MaxResultBytes {
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidParameterValueException",
			"Result size %d exceeds the maximum allowed size of %d bytes", len(in.Result), MaxResultBytes)
	}
	return s.update(in.CallbackID, func(cb *CallbackState) {
		cb.Status, cb.Result = StatusSucceeded, append([]byte{}, in.Result...)
	})
}

func (s *Server) fail(_ *standin.Request, in *failInput) (any, error) {
	return s.update(in.CallbackID, func(cb *CallbackState) {
		cb.Status, cb.Error = StatusFailed, in.ErrorObject
	})
}

func (s *Server) heartbeat(_ *standin.Request, in *heartbeatInput) (any, error) {
	return s.update(in.CallbackID, func(cb *CallbackState) { cb.Heartbeats++ })
}

// update checks the id and the callback's state, then changes it. The
// answer is 200 with an empty body, as Lambda's.
func (s *Server) update(id string, change func(*CallbackState)) (any, error) {
	if !ValidID(id) {
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidParameterValueException", "Invalid callbackId: %s", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[id]
	switch {
	case !ok:
		return nil, standin.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Callback %s not found", id)
	case cb.Status != StatusOpen:
		return nil, standin.Errorf(http.StatusBadRequest, "CallbackTimeoutException", "Callback %s has already completed or timed out", id)
	}
	change(cb)
	return &standin.Response{}, nil
}

// ValidID reports whether id is Lambda's callback id pattern,
// [A-Za-z0-9+/]+={0,2}, of 1 to MaxCallbackIDLength characters.
func ValidID(id string) bool {
	body := strings.TrimRight(id, "=")
	if body == "" || len(id)-len(body) > 2 || len(id) > MaxCallbackIDLength {
		return false
	}
	return strings.Trim(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == ""
}
