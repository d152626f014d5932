// Package sfntest is a stand-in for AWS Step Functions' task-token API
// (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) and its activity
// workers' GetActivityTask for tests, on internal/standin's base (AWS JSON
// 1.0, signatures verified, failure injection, call log).
//
// The real SDK client serialises requests, signs them, retries and
// decodes errors into the typed sfn errors exactly as it does against AWS:
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
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Limits Step Functions enforces on the task-token API.
const (
	MaxTokenLength = 2048   // characters
	MaxOutputBytes = 262144 // bytes of output JSON
	MaxErrorLength = 256    // characters
	MaxCauseLength = 32768  // characters
)

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

// Server is a running stand-in. Its methods are safe for concurrent use;
// the base's (URL, Close, Config, FailNext, Throttle, Hold, ...) come with
// it. FailNext's injected errors may be task error codes too
// ("TaskTimedOut"); an empty code answers a non-JSON body, like a load
// balancer's error page.
type Server struct {
	*standin.Server

	mu          sync.Mutex
	tasks       map[string]*TaskState
	pollTimeout time.Duration
	// polling counts the GetActivityTask calls waiting now; cutShort
	// those a client ended before a task or the timeout came.
	polling, cutShort int
	activities        map[string][]activityTask
	queued            chan struct{} // closed, and replaced, when a task is queued
}

// activityTask is a queued task, and GetActivityTask's output.
type activityTask struct {
	Token string `json:"taskToken"`
	Input string `json:"input"`
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{tasks: make(map[string]*TaskState), activities: map[string][]activityTask{}}
	s.Server = standin.New(t, standin.Service{Name: "sfntest", Protocol: standin.JSON10, SigningName: "states",
		TargetPrefix: "AWSStepFunctions", ErrorNamespace: "com.amazonaws.swf.service.v2.model#"})
	for _, op := range []string{"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"} {
		standin.Handle(s.Server, op, s.sendTask)
	}
	standin.Handle(s.Server, "GetActivityTask", s.getActivityTask)
	return s
}

// Client returns an SDK client for this server on its Config: static
// credentials, region us-east-1, the standard retryer's 3 attempts a
// millisecond apart without a retry quota. It reads no environment or
// shared config; optFns may change anything (o.RetryMaxAttempts, for
// example). ctx is accepted for symmetry with config.LoadDefaultConfig.
func (s *Server) Client(ctx context.Context, optFns ...func(*sfn.Options)) *sfn.Client {
	_ = ctx
	return sfn.NewFromConfig(s.Config(), optFns...)
}

// FastRetryer is the SDK's standard retryer (3 attempts, same retryable
// errors) with a 1 ms backoff and no retry quota, for tests that build their
// own client.
func FastRetryer() aws.Retryer { return standin.FastRetryer() }

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
	return standin.CallsAs(s.Server, func(c standin.Call) Call {
		call := Call{Operation: c.Operation, Status: c.Status, ErrorType: c.Code}
		switch in := c.Input.(type) {
		case *taskInput:
			call.TaskToken, call.Output, call.Error, call.Cause = aws.ToString(in.TaskToken), in.Output, in.Error, in.Cause
		case *activityInput:
			call.ActivityArn, call.WorkerName = aws.ToString(in.ActivityArn), aws.ToString(in.WorkerName)
			if out, ok := c.Output.(*activityTask); ok {
				call.TaskToken, call.Output = out.Token, &out.Input
			}
		}
		return call
	})
}

// taskInput is the three task operations' inputs. Pointers tell an
// absent member from an empty one, as Step Functions does.
type taskInput struct {
	TaskToken *string `json:"taskToken"`
	Output    *string `json:"output"`
	Error     *string `json:"error"`
	Cause     *string `json:"cause"`
}

func (s *Server) sendTask(r *standin.Request, in *taskInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := validate(r.Operation, in); err != nil {
		return nil, err
	}
	token := *in.TaskToken
	if !validTokenChars(token) {
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", token)
	}
	task, ok := s.tasks[token]
	if !ok {
		return nil, standin.Errorf(http.StatusBadRequest, "TaskDoesNotExist", "Task does not exist anymore: '%s'", token)
	}
	if task.Status != StatusOpen {
		return nil, standin.Errorf(http.StatusBadRequest, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
	}
	switch r.Operation {
	case "SendTaskSuccess":
		out := *in.Output
		if len(out) > MaxOutputBytes || !json.Valid([]byte(out)) {
			return nil, standin.Errorf(http.StatusBadRequest, "InvalidOutput", "Invalid Output: 'The provided output is not valid JSON or exceeds the maximum size'")
		}
		task.Status, task.Output = StatusSucceeded, out
	case "SendTaskFailure":
		task.Status = StatusFailed
		task.Error, task.Cause = aws.ToString(in.Error), aws.ToString(in.Cause)
	case "SendTaskHeartbeat":
		task.Heartbeats++
	}
	return nil, nil
}

// validate applies the model's constraints, reporting them as Coral does.
func validate(op string, in *taskInput) error {
	var problems []string
	switch {
	case in.TaskToken == nil:
		problems = append(problems, "Value null at 'taskToken' failed to satisfy constraint: Member must not be null")
	case *in.TaskToken == "":
		problems = append(problems, "Value '' at 'taskToken' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case utf8.RuneCountInString(*in.TaskToken) > MaxTokenLength:
		problems = append(problems, fmt.Sprintf("Value '%s' at 'taskToken' failed to satisfy constraint: Member must have length less than or equal to %d", *in.TaskToken, MaxTokenLength))
	}
	if op == "SendTaskSuccess" && in.Output == nil {
		problems = append(problems, "Value null at 'output' failed to satisfy constraint: Member must not be null")
	}
	if op == "SendTaskFailure" {
		if in.Error != nil && utf8.RuneCountInString(*in.Error) > MaxErrorLength {
			problems = append(problems, fmt.Sprintf("Value at 'error' failed to satisfy constraint: Member must have length less than or equal to %d", MaxErrorLength))
		}
		if in.Cause != nil && utf8.RuneCountInString(*in.Cause) > MaxCauseLength {
			problems = append(problems, fmt.Sprintf("Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to %d", MaxCauseLength))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return standin.Validation(problems...)
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

// AddActivityTask queues a task with token and input (JSON) for the
// activity activityARN, and opens its token as AddTask does.
func (s *Server) AddActivityTask(activityARN, token, input string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[token] = &TaskState{Status: StatusOpen}
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

// PollsWaiting is how many GetActivityTask calls wait for a task now.
func (s *Server) PollsWaiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polling
}

// PollsCutShort is how many GetActivityTask calls their client ended
// before a task or the poll timeout came (a worker that stops).
func (s *Server) PollsCutShort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cutShort
}

// ActivityTasksQueued is how many tasks of the activity wait for a worker.
func (s *Server) ActivityTasksQueued(activityARN string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.activities[activityARN])
}

type activityInput struct {
	ActivityArn *string `json:"activityArn"`
	WorkerName  *string `json:"workerName"`
}

// getActivityTask hands out the activity's next task, waiting for one up
// to the poll timeout or until the request ends.
func (s *Server) getActivityTask(r *standin.Request, in *activityInput) (any, error) {
	switch arn := aws.ToString(in.ActivityArn); {
	case arn == "":
		return nil, standin.Validation("Value null at 'activityArn' failed to satisfy constraint: Member must not be null")
	case !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":activity:"):
		return nil, standin.Errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	case utf8.RuneCountInString(aws.ToString(in.WorkerName)) > 80:
		return nil, standin.Validation("Value at 'workerName' failed to satisfy constraint: Member must have length less than or equal to 80")
	}
	s.mu.Lock()
	timeout := s.pollTimeout
	s.mu.Unlock()
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	s.mu.Lock()
	s.polling++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.polling--
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		if q := s.activities[*in.ActivityArn]; len(q) > 0 {
			s.activities[*in.ActivityArn] = q[1:]
			s.mu.Unlock()
			return &q[0], nil
		}
		if s.queued == nil {
			s.queued = make(chan struct{})
		}
		queued := s.queued
		s.mu.Unlock()
		select {
		case <-queued:
		case <-deadline.C:
			return nil, nil // no task: an empty answer, as Step Functions gives
		case <-r.Context().Done():
			s.mu.Lock()
			s.cutShort++
			s.mu.Unlock()
			return nil, nil
		}
	}
}
