// Package sfntest is a stand-in for AWS Step Functions' task-token API
// (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) and its activity
// workers' GetActivityTask for tests.
//
// It is an HTTP server speaking the real AWS JSON 1.0 protocol, so the real
// SDK client serialises requests, signs them, retries and decodes errors into
// the typed sfn errors exactly as it does against AWS:
//
//	srv := sfntest.New(t)
//	srv.AddTask("token-1")
//	sf := stepfunctions.New(srv.Client(ctx))
//	err := sf.SendTaskSuccess(ctx, "token-1", `{"ok":true}`)
//	state, _ := srv.Task("token-1") // state.Status == sfntest.StatusSucceeded
//
// Tasks behave as in Step Functions: a task is open until its first success
// or failure; heartbeats on an open task are counted; any call on a closed
// task gets TaskTimedOut; an unknown token gets TaskDoesNotExist, a token
// with characters outside the base64 alphabets InvalidToken; output must be
// JSON of at most 262,144 bytes, else InvalidOutput (the task stays open).
// Error messages quote the token on purpose, as Step Functions' may, so
// tests notice when a message is passed on.
//
// Activities: AddActivityTask queues a task (and opens its token) for an
// activity ARN; GetActivityTask hands queued tasks out in order and, when
// there is none, long-polls as Step Functions does: it answers an empty
// task after the poll timeout (60 seconds unless SetPollTimeout), or sooner
// when a task is queued or the request is cancelled.
package sfntest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Fake credentials and region used by Client. The server checks that
// requests are SigV4-signed for the "states" service but does not verify the
// signature, so any credentials work.
const (
	accessKeyID     = "AKIDSFNTEST"
	secretAccessKey = "sfntest-secret"
	region          = "us-east-1"
)

// Limits Step Functions enforces on the task-token API.
const (
	MaxTokenLength = 2048   // characters
	MaxOutputBytes = 262144 // bytes of output JSON
	MaxErrorLength = 256    // characters
	MaxCauseLength = 32768  // characters
)

// maxRequestBytes bounds what the server reads of a body; it is well above
// any valid request.
const maxRequestBytes = 1 << 20

// Status is the state of a task.
type Status string

// Task states.
const (
	StatusOpen      Status = "open"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// TaskState is what the server knows of a task.
type TaskState struct {
	Status     Status
	Output     string // set by SendTaskSuccess
	Error      string // set by SendTaskFailure
	Cause      string // set by SendTaskFailure
	Heartbeats int    // heartbeats accepted while open
}

// Call is one request the server received, decoded.
type Call struct {
	// Operation is X-Amz-Target without its "AWSStepFunctions." prefix:
	// SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat.
	Operation string
	TaskToken string
	// Output, Error and Cause are nil when the request did not carry them.
	Output *string
	Error  *string
	Cause  *string
	// ActivityArn and WorkerName are GetActivityTask's; TaskToken and
	// Output are then the task handed out, if any (its token and input).
	ActivityArn string
	WorkerName  string
	// Status and ErrorType are the answer: the HTTP status and the error
	// code ("" on success).
	Status    int
	ErrorType string
}

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	tasks    map[string]*TaskState
	calls    []Call
	failures []failure
	requests int

	pollTimeout time.Duration
	activities  map[string][]activityTask
	queued      chan struct{} // closed, and replaced, when a task is queued
}

type activityTask struct{ token, input string }

type failure struct {
	status    int
	errorType string
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{tasks: make(map[string]*TaskState)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL (http://127.0.0.1:port), for BaseEndpoint or
// AWS_ENDPOINT_URL_SFN.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server early, so that later calls fail to connect. It is
// called by the test's cleanup anyway and may be called twice.
func (s *Server) Close() { s.srv.Close() }

// Client returns an SDK client for this server: BaseEndpoint is the server,
// credentials are static fakes, the region is us-east-1, and the standard
// retryer keeps its 3 attempts but waits only a millisecond between them
// and has no retry quota, so retry tests are fast and independent. It reads
// no environment variables or shared config files, so it is hermetic;
// optFns may change anything (o.RetryMaxAttempts, for example). ctx is
// accepted for symmetry with config.LoadDefaultConfig; nothing is loaded.
func (s *Server) Client(ctx context.Context, optFns ...func(*sfn.Options)) *sfn.Client {
	_ = ctx
	return sfn.New(sfn.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, Source: "sfntest"}, nil
		}),
		HTTPClient: s.srv.Client(),
		Retryer:    FastRetryer(),
	}, optFns...)
}

// FastRetryer is the SDK's standard retryer (3 attempts, same retryable
// errors) with a 1 ms backoff and no retry quota, for tests that build their
// own client.
func FastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
			return time.Millisecond, nil
		})
		o.RateLimiter = ratelimit.None
	})
}

// AddTask opens a task for token (reopening it, with a fresh state, if it
// existed).
func (s *Server) AddTask(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[token] = &TaskState{Status: StatusOpen}
}

// Task returns the state of the task for token, and whether it exists.
func (s *Server) Task(token string) (TaskState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[token]
	if !ok {
		return TaskState{}, false
	}
	return *t, true
}

// Calls returns a copy of every request received so far, in order,
// including retries and rejected ones.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// FailNext makes the next n well-formed requests fail with status and
// errorType without touching any task, for example 400 and
// "ThrottlingException" or 503 and "ServiceUnavailable" (both retried by the
// SDK), or 400 and "KmsAccessDeniedException". errorType may be a task error
// code too ("TaskTimedOut"). An empty errorType answers a non-JSON body, like
// a load balancer's error page. Calls add up: FailNext(1, ...) twice fails
// the next two requests.
func (s *Server) FailNext(n int, status int, errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, errorType: errorType})
	}
}

// apiError is an error answer: an HTTP status, a code and a message.
type apiError struct {
	status  int
	code    string
	message string
}

// namespaces gives each error code the Smithy shape ID prefix Step Functions
// puts in __type; the SDK strips everything up to '#'.
var namespaces = map[string]string{
	"ThrottlingException":                 "com.amazon.coral.availability#",
	"ValidationException":                 "com.amazon.coral.validate#",
	"UnrecognizedClientException":         "com.amazon.coral.service#",
	"MissingAuthenticationTokenException": "com.amazon.coral.service#",
	"IncompleteSignatureException":        "com.amazon.coral.service#",
	"InvalidSignatureException":           "com.amazon.coral.service#",
	"SerializationException":              "com.amazon.coral.service#",
	"UnknownOperationException":           "com.amazon.coral.service#",
	"AccessDeniedException":               "com.amazon.coral.service#",
	"InternalFailure":                     "com.amazon.coral.service#",
	"ServiceUnavailable":                  "com.amazon.coral.service#",
	"RequestEntityTooLargeException":      "com.amazon.coral.service#",
}

const modelNamespace = "com.amazonaws.swf.service.v2.model#"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{Operation: strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")}
	aerr := s.handle(r, &call)

	s.mu.Lock()
	s.requests++
	reqID := fmt.Sprintf("sfntest-%08d", s.requests)
	if aerr != nil {
		call.Status, call.ErrorType = aerr.status, aerr.code
	} else {
		call.Status = http.StatusOK
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	w.Header().Set("X-Amzn-Requestid", reqID)
	if aerr == nil && call.Operation == "GetActivityTask" {
		body := []byte("{}")
		if call.Output != nil {
			body, _ = json.Marshal(map[string]string{"taskToken": call.TaskToken, "input": *call.Output})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write(body)
		return
	}
	if aerr == nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("Content-Length", "2")
		_, _ = io.WriteString(w, "{}")
		return
	}
	if aerr.code == "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(aerr.status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(aerr.status)+"</body></html>")
		return
	}
	ns, ok := namespaces[aerr.code]
	if !ok {
		ns = modelNamespace
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{ns + aerr.code, aerr.message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(aerr.status)
	_, _ = w.Write(body)
}

// request is the union of the three operations' inputs. Pointers tell an
// absent member from an empty one, as Step Functions does.
type request struct {
	TaskToken *string `json:"taskToken"`
	Output    *string `json:"output"`
	Error     *string `json:"error"`
	Cause     *string `json:"cause"`
	// GetActivityTask's.
	ActivityArn *string `json:"activityArn"`
	WorkerName  *string `json:"workerName"`
}

func (s *Server) handle(r *http.Request, call *Call) *apiError {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return &apiError{http.StatusNotFound, "UnknownOperationException", ""}
	}
	if aerr := checkSignature(r); aerr != nil {
		return aerr
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		return &apiError{http.StatusBadRequest, "SerializationException",
			fmt.Sprintf("Unsupported Content-Type %q; expected application/x-amz-json-1.0", ct)}
	}
	switch call.Operation {
	case "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat", "GetActivityTask":
	default:
		return &apiError{http.StatusBadRequest, "UnknownOperationException", ""}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "could not read the body"}
	}
	if len(data) > maxRequestBytes {
		return &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request is too large"}
	}
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", ""}
	}
	if req.TaskToken != nil {
		call.TaskToken = *req.TaskToken
	}
	call.Output, call.Error, call.Cause = req.Output, req.Error, req.Cause
	if call.Operation == "GetActivityTask" {
		return s.getActivityTask(r.Context(), &req, call)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return &apiError{f.status, f.errorType, injectedMessage(f.errorType)}
	}
	if aerr := validate(call.Operation, &req); aerr != nil {
		return aerr
	}
	token := *req.TaskToken
	if !validTokenChars(token) {
		return &apiError{http.StatusBadRequest, "InvalidToken", fmt.Sprintf("Invalid Token: '%s'", token)}
	}
	task, ok := s.tasks[token]
	if !ok {
		return &apiError{http.StatusBadRequest, "TaskDoesNotExist", fmt.Sprintf("Task does not exist anymore: '%s'", token)}
	}
	if task.Status != StatusOpen {
		return &apiError{http.StatusBadRequest, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"}
	}
	switch call.Operation {
	case "SendTaskSuccess":
		out := *req.Output
		if len(out) > MaxOutputBytes || !json.Valid([]byte(out)) {
			return &apiError{http.StatusBadRequest, "InvalidOutput", "Invalid Output: 'The provided output is not valid JSON or exceeds the maximum size'"}
		}
		task.Status, task.Output = StatusSucceeded, out
	case "SendTaskFailure":
		task.Status = StatusFailed
		if req.Error != nil {
			task.Error = *req.Error
		}
		if req.Cause != nil {
			task.Cause = *req.Cause
		}
	case "SendTaskHeartbeat":
		task.Heartbeats++
	}
	return nil
}

// checkSignature checks the shape of a SigV4 Authorization header and its
// scope (service "states"), answering as AWS's front end does. The signature
// itself is not verified: the SDK's signer is trusted, and this keeps the
// server usable with any fake credentials.
func checkSignature(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "Unsupported authorization scheme; expected AWS4-HMAC-SHA256"}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" ||
		fields["SignedHeaders"] == "" || len(fields["Signature"]) != 64 {
		return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature"}
	}
	if scope[3] != "states" {
		return &apiError{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to correct service: 'states'."}
	}
	signed := ";" + fields["SignedHeaders"] + ";"
	if !strings.Contains(signed, ";host;") || !strings.Contains(signed, ";x-amz-date;") {
		return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "host and x-amz-date must be signed"}
	}
	if _, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date")); err != nil {
		return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "missing or malformed X-Amz-Date"}
	}
	return nil
}

// validate applies the model's constraints, reporting them as Coral does.
func validate(op string, req *request) *apiError {
	var problems []string
	switch {
	case req.TaskToken == nil:
		problems = append(problems, "Value null at 'taskToken' failed to satisfy constraint: Member must not be null")
	case *req.TaskToken == "":
		problems = append(problems, "Value '' at 'taskToken' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case utf8.RuneCountInString(*req.TaskToken) > MaxTokenLength:
		problems = append(problems, fmt.Sprintf("Value '%s' at 'taskToken' failed to satisfy constraint: Member must have length less than or equal to %d", *req.TaskToken, MaxTokenLength))
	}
	if op == "SendTaskSuccess" && req.Output == nil {
		problems = append(problems, "Value null at 'output' failed to satisfy constraint: Member must not be null")
	}
	if op == "SendTaskFailure" {
		if req.Error != nil && utf8.RuneCountInString(*req.Error) > MaxErrorLength {
			problems = append(problems, fmt.Sprintf("Value at 'error' failed to satisfy constraint: Member must have length less than or equal to %d", MaxErrorLength))
		}
		if req.Cause != nil && utf8.RuneCountInString(*req.Cause) > MaxCauseLength {
			problems = append(problems, fmt.Sprintf("Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to %d", MaxCauseLength))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	noun := "error"
	if len(problems) > 1 {
		noun = "errors"
	}
	return &apiError{http.StatusBadRequest, "ValidationException",
		fmt.Sprintf("%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; "))}
}

// validTokenChars reports whether token uses only the characters of real
// tokens (standard and URL-safe base64, '=' anywhere).
func validTokenChars(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '=', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func injectedMessage(code string) string {
	switch code {
	case "ThrottlingException":
		return "Rate exceeded"
	case "":
		return ""
	}
	return "injected by sfntest.FailNext"
}

// AddActivityTask queues a task with token and input (JSON) for the
// activity activityARN, and opens its token as AddTask does.
func (s *Server) AddActivityTask(activityARN, token, input string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[token] = &TaskState{Status: StatusOpen}
	if s.activities == nil {
		s.activities = map[string][]activityTask{}
	}
	s.activities[activityARN] = append(s.activities[activityARN], activityTask{token, input})
	if s.queued != nil {
		close(s.queued)
		s.queued = nil
	}
}

// SetPollTimeout sets how long GetActivityTask waits for a task (0: 60
// seconds, as Step Functions).
func (s *Server) SetPollTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollTimeout = d
}

// ActivityTasksQueued is how many tasks of the activity wait for a worker.
func (s *Server) ActivityTasksQueued(activityARN string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.activities[activityARN])
}

// getActivityTask hands out the activity's next task, waiting for one up
// to the poll timeout or until ctx (the request's) ends.
func (s *Server) getActivityTask(ctx context.Context, req *request, call *Call) *apiError {
	call.Output = nil
	s.mu.Lock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		return &apiError{f.status, f.errorType, injectedMessage(f.errorType)}
	}
	timeout := s.pollTimeout
	s.mu.Unlock()
	switch {
	case req.ActivityArn == nil || *req.ActivityArn == "":
		return &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'activityArn' failed to satisfy constraint: Member must not be null"}
	case !strings.HasPrefix(*req.ActivityArn, "arn:") || !strings.Contains(*req.ActivityArn, ":activity:"):
		return &apiError{http.StatusBadRequest, "InvalidArn", fmt.Sprintf("Invalid Arn: 'Resource type not valid in this context: %s'", *req.ActivityArn)}
	case req.WorkerName != nil && utf8.RuneCountInString(*req.WorkerName) > 80:
		return &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'workerName' failed to satisfy constraint: Member must have length less than or equal to 80"}
	}
	call.ActivityArn = *req.ActivityArn
	if req.WorkerName != nil {
		call.WorkerName = *req.WorkerName
	}
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if q := s.activities[call.ActivityArn]; len(q) > 0 {
			s.activities[call.ActivityArn] = q[1:]
			s.mu.Unlock()
			call.TaskToken, call.Output = q[0].token, &q[0].input
			return nil
		}
		if s.queued == nil {
			s.queued = make(chan struct{})
		}
		queued := s.queued
		s.mu.Unlock()
		select {
		case <-queued:
		case <-deadline.C:
			return nil // no task: an empty answer, as Step Functions gives
		case <-ctx.Done():
			return nil
		}
	}
}
