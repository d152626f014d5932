package coldstart

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/lambdarie"
)

// Runtime API paths (version 2018-06-01), as a bootstrap finds them under
// http://$AWS_LAMBDA_RUNTIME_API.
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathInvoke    = "/2018-06-01/runtime/invocation/"
	pathInitError = "/2018-06-01/runtime/init/error"
)

// Headers of the protocol. The error type is a header of an error request
// and a trailer of a response that failed mid-stream.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
)

const (
	maxResponseBytes = 6291556 // Lambda's limit on a synchronous invoke's response
	functionTimeout  = 30 * time.Second
)

// runtimeAPI is a stand-in for the AWS Lambda Runtime API, the HTTP API a
// provided.al2023 bootstrap polls for work:
//
//   - GET  /2018-06-01/runtime/invocation/next blocks until an event is
//     queued, then answers it as the body (200) with the headers
//     Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn and
//     -Trace-Id. Events are handed out one at a time, in order: asking for
//     the next one ends the current one (as a failure if it was not
//     answered).
//   - POST /2018-06-01/runtime/invocation/{id}/response records the body as
//     the invocation's response (202); a mid-stream error reported in the
//     Lambda-Runtime-Function-Error-Type/-Body trailers makes it a failure.
//   - POST /2018-06-01/runtime/invocation/{id}/error records a function
//     error, {"errorMessage", "errorType", "stackTrace"} (202).
//   - POST /2018-06-01/runtime/init/error records an initialisation error
//     (202).
//
// An answer for an unknown or already answered request id gets 400, a
// response over Lambda's 6,291,556 bytes 413.
type runtimeAPI struct {
	srv   *httptest.Server
	arn   string
	queue chan *invocation

	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	polls   []time.Time   // arrival of each /next
	polled  chan struct{} // closed and replaced at each /next
	current *invocation   // handed out and not yet answered
	initErr *functionError
	initBad chan struct{} // closed at the first init error
}

// invocation is one queued event and, once done is closed, its answer.
type invocation struct {
	event []byte
	done  chan struct{}

	// Set when handed out.
	id        string
	handedOut time.Time
	// Set when answered, before done is closed.
	answered time.Time
	body     []byte
	err      *functionError // nil for a response
}

// functionError is a Lambda function error as the runtime reports it.
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
	// Header is the Lambda-Runtime-Function-Error-Type header, if sent.
	Header string `json:"-"`
}

func (e *functionError) String() string {
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// newRuntimeAPI starts a stand-in on 127.0.0.1 for the function named
// function and stops it when the test ends.
func newRuntimeAPI(tb testing.TB, function string) *runtimeAPI {
	rt := &runtimeAPI{
		arn:     "arn:aws:lambda:" + region + ":" + account + ":function:" + function,
		queue:   make(chan *invocation, 1024),
		closed:  make(chan struct{}),
		polled:  make(chan struct{}),
		initBad: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, rt.next)
	mux.HandleFunc("POST "+pathInvoke+"{id}/response", rt.response)
	mux.HandleFunc("POST "+pathInvoke+"{id}/error", rt.invocationError)
	mux.HandleFunc("POST "+pathInitError, rt.initError)
	rt.srv = httptest.NewServer(mux)
	tb.Cleanup(rt.Close)
	return rt
}

// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (rt *runtimeAPI) Addr() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

// Close ends pending polls and stops the server; it may be called twice.
func (rt *runtimeAPI) Close() {
	rt.closeOnce.Do(func() { close(rt.closed) })
	rt.srv.Close()
}

// Enqueue queues an event for the next poll.
func (rt *runtimeAPI) Enqueue(event []byte) *invocation {
	inv := &invocation{event: event, done: make(chan struct{})}
	rt.queue <- inv
	return inv
}

// Poll is the arrival time of the n-th poll (from 1), waiting for it until
// timeout or stop is closed.
func (rt *runtimeAPI) Poll(n int, timeout time.Duration, stop <-chan struct{}) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		rt.mu.Lock()
		if len(rt.polls) >= n {
			at := rt.polls[n-1]
			rt.mu.Unlock()
			return at, nil
		}
		polled := rt.polled
		rt.mu.Unlock()
		select {
		case <-polled:
		case <-stop:
			return time.Time{}, fmt.Errorf("stopped before poll %d", n)
		case <-timer.C:
			return time.Time{}, fmt.Errorf("no poll %d within %v", n, timeout)
		}
	}
}

// InitError is the init error reported, if any.
func (rt *runtimeAPI) InitError() *functionError {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.initErr
}

func (rt *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	rt.mu.Lock()
	rt.polls = append(rt.polls, time.Now())
	close(rt.polled)
	rt.polled = make(chan struct{})
	if inv := rt.current; inv != nil {
		// Asking for work ends the invocation in hand.
		rt.finishLocked(inv, nil, &functionError{Type: "Runtime.NoResponse",
			Message: "the runtime asked for the next event without answering this one"})
	}
	rt.mu.Unlock()

	var inv *invocation
	select {
	case inv = <-rt.queue:
	case <-r.Context().Done():
		return
	case <-rt.closed:
		// Lambda never ends a poll; the stand-in must, to close.
		return
	}
	rt.mu.Lock()
	inv.id = lambdarie.RequestID()
	inv.handedOut = time.Now()
	rt.current = inv
	rt.mu.Unlock()

	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(inv.handedOut.Add(functionTimeout).UnixMilli(), 10))
	h.Set(headerFunctionARN, rt.arn)
	h.Set(headerTraceID, newTraceID(inv.handedOut))
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.event)
}

func (rt *runtimeAPI) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "could not read the response: "+err.Error())
		return
	}
	var ferr *functionError
	switch {
	case len(body) > maxResponseBytes:
		ferr = &functionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)}
	case r.Trailer.Get(headerErrorType) != "":
		// aws-lambda-go reports a response reader's error in trailers.
		ferr = &functionError{Type: r.Trailer.Get(headerErrorType)}
		if b, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody)); err == nil {
			_ = json.Unmarshal(b, ferr)
		}
	}
	if !rt.finish(r.PathValue("id"), body, ferr) {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if len(body) > maxResponseBytes {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", ferr.Message)
		return
	}
	writeAccepted(w)
}

func (rt *runtimeAPI) invocationError(w http.ResponseWriter, r *http.Request) {
	ferr, ok := readFunctionError(w, r)
	if !ok {
		return
	}
	if !rt.finish(r.PathValue("id"), nil, ferr) {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	writeAccepted(w)
}

func (rt *runtimeAPI) initError(w http.ResponseWriter, r *http.Request) {
	ferr, ok := readFunctionError(w, r)
	if !ok {
		return
	}
	rt.mu.Lock()
	if rt.initErr == nil {
		rt.initErr = ferr
		close(rt.initBad)
	}
	rt.mu.Unlock()
	writeAccepted(w)
}

// readFunctionError reads an error request's body; a body that is not the
// error document still counts, with its text as the message, since Lambda
// records it too.
func readFunctionError(w http.ResponseWriter, r *http.Request) (*functionError, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "could not read the error: "+err.Error())
		return nil, false
	}
	ferr := &functionError{Header: r.Header.Get(headerErrorType)}
	if json.Unmarshal(body, ferr) != nil {
		ferr.Message = string(body)
	}
	if ferr.Type == "" {
		ferr.Type = ferr.Header
	}
	return ferr, true
}

// finish answers the invocation in hand if id names it.
func (rt *runtimeAPI) finish(id string, body []byte, ferr *functionError) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	inv := rt.current
	if inv == nil || inv.id != id {
		return false
	}
	rt.finishLocked(inv, body, ferr)
	return true
}

func (rt *runtimeAPI) finishLocked(inv *invocation, body []byte, ferr *functionError) {
	inv.answered = time.Now()
	inv.body, inv.err = body, ferr
	rt.current = nil
	close(inv.done)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	body, _ := json.Marshal(functionError{Type: typ, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newTraceID is an X-Ray trace header of the form Lambda sends.
func newTraceID(at time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", at.Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}

// TestRuntimeAPI checks the stand-in speaks the protocol as a runtime
// client expects, so that a bootstrap failing under it is the bootstrap's
// fault.
func TestRuntimeAPI(t *testing.T) {
	rt := newRuntimeAPI(t, "fn")
	base := rt.srv.URL
	client := rt.srv.Client()
	post := func(path, body string, header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	next := func() (http.Header, string) {
		t.Helper()
		resp, err := client.Get(base + pathNext)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("next: status %d, want 200", resp.StatusCode)
		}
		return resp.Header, string(b)
	}

	// A poll waits for an event.
	type polled struct {
		header http.Header
		body   string
		err    error
	}
	answer := make(chan polled, 1)
	go func() {
		resp, err := client.Get(base + pathNext)
		if err != nil {
			answer <- polled{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answer <- polled{resp.Header, string(b), err}
	}()
	if _, err := rt.Poll(1, 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	first := rt.Enqueue([]byte(`{"n":1}`))
	got := <-answer
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.body != `{"n":1}` {
		t.Errorf("next body = %q, want the event", got.body)
	}
	header := got.header
	id := header.Get(headerRequestID)
	if id == "" {
		t.Fatalf("no %s", headerRequestID)
	}
	deadline, err := strconv.ParseInt(header.Get(headerDeadline), 10, 64)
	if err != nil || time.UnixMilli(deadline).Before(time.Now()) {
		t.Errorf("%s = %q, want a future Unix time in ms", headerDeadline, header.Get(headerDeadline))
	}
	if got := header.Get(headerFunctionARN); got != "arn:aws:lambda:us-east-1:123456789012:function:fn" {
		t.Errorf("%s = %q", headerFunctionARN, got)
	}
	if got := header.Get(headerTraceID); !strings.HasPrefix(got, "Root=1-") {
		t.Errorf("%s = %q, want an X-Ray trace header", headerTraceID, got)
	}
	if status, body := post(pathInvoke+"not-"+id+"/response", `{}`); status != http.StatusBadRequest || !strings.Contains(body, "InvalidRequestID") {
		t.Errorf("response for an unknown id: %d %s, want 400 InvalidRequestID", status, body)
	}
	if status, body := post(pathInvoke+id+"/response", `{"ok":true}`); status != http.StatusAccepted {
		t.Errorf("response: %d %s, want 202", status, body)
	}
	<-first.done
	if first.id != id {
		t.Errorf("invocation id %q, handed out as %q", first.id, id)
	}
	if string(first.body) != `{"ok":true}` || first.err != nil {
		t.Errorf("recorded response %q, error %v; want the body and no error", first.body, first.err)
	}
	if status, _ := post(pathInvoke+id+"/response", `{}`); status != http.StatusBadRequest {
		t.Errorf("second response to one invocation: %d, want 400", status)
	}

	// A function error.
	second := rt.Enqueue([]byte(`{"n":2}`))
	h, _ := next()
	if status, body := post(pathInvoke+h.Get(headerRequestID)+"/error",
		`{"errorMessage":"boom","errorType":"errorString"}`, headerErrorType, "Unhandled"); status != http.StatusAccepted {
		t.Errorf("error: %d %s, want 202", status, body)
	}
	<-second.done
	if diff := cmp.Diff(&functionError{Message: "boom", Type: "errorString", Header: "Unhandled"}, second.err); diff != "" {
		t.Errorf("recorded function error (-want +got):\n%s", diff)
	}

	// A poll without an answer ends the invocation in hand.
	third := rt.Enqueue([]byte(`{"n":3}`))
	next()
	rt.Enqueue([]byte(`{"n":4}`))
	next()
	<-third.done
	if third.err == nil || third.err.Type != "Runtime.NoResponse" {
		t.Errorf("unanswered invocation: error %v, want Runtime.NoResponse", third.err)
	}

	// An init error.
	if status, body := post(pathInitError, `{"errorMessage":"no key","errorType":"Runtime.ExitError"}`); status != http.StatusAccepted {
		t.Errorf("init error: %d %s, want 202", status, body)
	}
	if got := rt.InitError(); got == nil || got.Message != "no key" {
		t.Errorf("recorded init error %v, want no key", got)
	}

	// A response too large for Lambda.
	fifth := rt.Enqueue([]byte(`{"n":5}`))
	h, _ = next()
	if status, _ := post(pathInvoke+h.Get(headerRequestID)+"/response", string(bytes.Repeat([]byte("x"), maxResponseBytes+1))); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized response: %d, want 413", status)
	}
	<-fifth.done
	if fifth.err == nil || fifth.err.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("oversized response: error %v, want Function.ResponseSizeTooLarge", fifth.err)
	}
}
