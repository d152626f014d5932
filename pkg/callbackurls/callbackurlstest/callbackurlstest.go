// Package callbackurlstest provides doubles of the core's ports for tests:
// a Target that records decisions and behaves as Step Functions does with
// task tokens (closing tasks, refusing unknown ones, failing on demand), and
// PostActions that select outcomes without JSON Schema.
package callbackurlstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Call is one decision a Target received.
type Call struct {
	Ref    string
	Type   callbackurls.ActionType
	Output string
	Error  string
	Cause  string
}

// Task is what a Target knows of one reference.
type Task struct {
	Status     string // "open", "succeeded" or "failed"
	Output     string
	Error      string
	Cause      string
	Heartbeats int
}

// Target is a callbackurls.Target for tests. Its zero value accepts every
// decision and records it. The fields set its behaviour before first use.
type Target struct {
	// Err, if set, is returned by every call (after recording it).
	Err error
	// CloseTasks makes a success or a failure close its reference: later
	// decisions for it get TaskTimedOut (Closed), as Step Functions answers
	// a second click.
	CloseTasks bool
	// Strict refuses as Step Functions does what it would refuse: a
	// reference not made with Open (TaskDoesNotExist), a malformed one
	// (InvalidToken), output that is not JSON or too large (InvalidOutput).
	// It implies CloseTasks.
	Strict bool
	// Next, if set, receives the decisions that pass (a counting wrapper).
	Next callbackurls.Target
	// Discard keeps no calls (benchmarks: recording allocates).
	Discard bool
	// Stuck makes every decision wait for its context to end and fail as
	// a passing outage, as a client whose calls time out does.
	Stuck bool

	mu       sync.Mutex
	calls    []Call
	count    int
	failNext int
	tasks    map[string]*Task
}

var _ callbackurls.Target = (*Target)(nil)

// Open makes references known (Strict) and open.
func (t *Target) Open(refs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range refs {
		t.task(r, true)
	}
}

// FailNext makes the next n decisions fail as a passing outage (an error
// wrapping callbackurls.ErrUnavailable), before they are recorded.
func (t *Target) FailNext(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failNext = n
}

// Calls are the decisions received, in order (not those failed by FailNext).
func (t *Target) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

// Count is how many decisions reached the target, failed ones included.
func (t *Target) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// Reset forgets the calls and the count (not the tasks).
func (t *Target) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls, t.count = nil, 0
}

// Task reports what the target knows of ref.
func (t *Target) Task(ref string) (Task, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if task, ok := t.tasks[ref]; ok {
		return *task, true
	}
	return Task{}, false
}

func (t *Target) task(ref string, create bool) *Task {
	if t.tasks == nil {
		t.tasks = map[string]*Task{}
	}
	task := t.tasks[ref]
	if task == nil && create {
		task = &Task{Status: "open"}
		t.tasks[ref] = task
	}
	return task
}

// Send records d and answers as the fields say.
func (t *Target) Send(ctx context.Context, ref string, d callbackurls.Decision) error {
	if t.Stuck {
		t.mu.Lock()
		t.count++
		t.mu.Unlock()
		<-ctx.Done()
		return fmt.Errorf("callbackurlstest: stuck: %w: %w", callbackurls.ErrUnavailable, ctx.Err())
	}
	if err := t.decide(ref, d); err != nil {
		return err
	}
	if t.Next != nil {
		return t.Next.Send(ctx, ref, d)
	}
	return nil
}

func (t *Target) decide(ref string, d callbackurls.Decision) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count++
	if t.failNext > 0 {
		t.failNext--
		return fmt.Errorf("callbackurlstest: injected failure: %w", callbackurls.ErrUnavailable)
	}
	if !t.Discard {
		t.calls = append(t.calls, Call{Ref: ref, Type: d.Type, Output: string(d.Output), Error: d.Error, Cause: d.Cause})
	}
	if t.Err != nil {
		return t.Err
	}
	if !t.CloseTasks && !t.Strict {
		return nil
	}
	if t.Strict && (ref == "" || utf8.RuneCountInString(ref) > callbackurls.MaxTokenLength) {
		return &callbackurls.TargetError{Code: callbackurls.InvalidToken, Refusal: callbackurls.InvalidRef, Message: "malformed token"}
	}
	task := t.task(ref, !t.Strict)
	switch {
	case task == nil:
		return &callbackurls.TargetError{Code: callbackurls.TaskDoesNotExist, Refusal: callbackurls.Unknown, Message: "no such task"}
	case task.Status != "open":
		return &callbackurls.TargetError{Code: callbackurls.TaskTimedOut, Refusal: callbackurls.Closed, Message: "the task is closed"}
	}
	switch d.Type {
	case callbackurls.Success:
		if t.Strict && (len(d.Output) > callbackurls.MaxOutputBytes || !json.Valid(d.Output)) {
			return &callbackurls.TargetError{Code: callbackurls.InvalidOutput, Refusal: callbackurls.InvalidDecision, Message: "bad output"}
		}
		task.Status, task.Output = "succeeded", string(d.Output)
	case callbackurls.Failure:
		task.Status, task.Error, task.Cause = "failed", d.Error, d.Cause
	case callbackurls.Heartbeat:
		task.Heartbeats++
	default:
		return fmt.Errorf("callbackurlstest: a task takes no %q decision", d.Type)
	}
	return nil
}

// PostActions is a callbackurls.PostActions without JSON Schema. An
// outcome list is a JSON array of Outcome; Select picks the first whose
// Match equals the body's "decision" member. A body without a decision is
// echoed twice as a success's output ("echo"), which can exceed a target's
// limit.
type PostActions struct {
	// Delay makes Select take that long (a slow choice of outcome).
	Delay time.Duration
}

// Outcome is one outcome of a PostActions list.
type Outcome struct {
	Name     string                     `json:"name"`
	Type     callbackurls.ActionType    `json:"type"`
	Output   json.RawMessage            `json:"output,omitempty"`
	Error    string                     `json:"error,omitempty"`
	Cause    string                     `json:"cause,omitempty"`
	Match    string                     `json:"match"`
	Response *callbackurls.ResponseSpec `json:"response,omitempty"`
}

var _ callbackurls.PostActions = PostActions{}

// Compile checks that outcomes is a list and compacts it.
func (PostActions) Compile(outcomes json.RawMessage) (json.RawMessage, error) {
	var list []Outcome
	if err := json.Unmarshal(outcomes, &list); err != nil {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome, "outcomes must be a list")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, outcomes); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Check refuses a stored list that is not a list of Outcome.
func (PostActions) Check(outcomes json.RawMessage) error {
	var list []Outcome
	if err := json.Unmarshal(outcomes, &list); err != nil {
		return callbackurls.Errorf(callbackurls.CodeInvalidPayload, "damaged outcomes")
	}
	return nil
}

// Select picks the outcome whose Match is the body's "decision".
func (p PostActions) Select(outcomes json.RawMessage, body []byte) (*callbackurls.PostOutcome, error) {
	time.Sleep(p.Delay)
	var list []Outcome
	if err := json.Unmarshal(outcomes, &list); err != nil {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "damaged outcomes")
	}
	var b struct {
		Decision string `json:"decision"`
	}
	_ = json.Unmarshal(body, &b)
	if b.Decision == "" {
		return &callbackurls.PostOutcome{Name: "echo", Type: callbackurls.Success,
			Output: json.RawMessage("[" + string(body) + "," + string(body) + "]")}, nil
	}
	for _, o := range list {
		if o.Match == b.Decision {
			return &callbackurls.PostOutcome{Name: o.Name, Type: o.Type, Output: o.Output, Error: o.Error, Cause: o.Cause, Response: o.Response}, nil
		}
	}
	return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody, "no outcome matches the body")
}

// Signer is a callbackurls.Signer for tests: it records each receipt and
// returns a text that names it ("test-receipt.<n>.<transaction id>"), not
// a JWS (package receipts signs real ones). FailNext makes it fail as a
// passing outage (a KMS Sign throttled).
type Signer struct {
	mu       sync.Mutex
	receipts []callbackurls.Receipt
	failNext int
}

var _ callbackurls.Signer = (*Signer)(nil)

// SignReceipt records r.
func (s *Signer) SignReceipt(_ context.Context, r *callbackurls.Receipt) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return "", fmt.Errorf("callbackurlstest: injected signing failure: %w", callbackurls.ErrUnavailable)
	}
	s.receipts = append(s.receipts, *r)
	return fmt.Sprintf("test-receipt.%d.%s", len(s.receipts), r.TransactionID), nil
}

// FailNext makes the next n receipts fail as a passing outage.
func (s *Signer) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Receipts are the receipts signed, in order.
func (s *Signer) Receipts() []callbackurls.Receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]callbackurls.Receipt(nil), s.receipts...)
}

// Delivery is a callbackurls.Deliverer and Notifier for tests: it records
// the asks and confirmations it is given. Its zero value delivers email
// and any topic; the fields set its behaviour before first use.
type Delivery struct {
	// NoEmail refuses email; Topics, if set, are the only topics allowed.
	NoEmail bool
	Topics  []string
	// Err, if set, is returned by Deliver (after recording the ask);
	// ConfirmErr by Confirm.
	Err, ConfirmErr error

	mu            sync.Mutex
	asks          []callbackurls.Outgoing
	confirmations []callbackurls.Confirmation
}

var (
	_ callbackurls.Deliverer = (*Delivery)(nil)
	_ callbackurls.Notifier  = (*Delivery)(nil)
)

// Check refuses email when NoEmail is set and a topic not in Topics.
func (d *Delivery) Check(spec *callbackurls.Deliver) error {
	if spec.Email != nil && d.NoEmail {
		return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "no email")
	}
	if spec.SNS != nil && d.Topics != nil && !slices.Contains(d.Topics, spec.SNS.TopicARN) {
		return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "topic not allowed")
	}
	return nil
}

// Deliver records out.
func (d *Delivery) Deliver(_ context.Context, out *callbackurls.Outgoing) (*callbackurls.Delivered, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asks = append(d.asks, *out)
	if d.Err != nil {
		return nil, d.Err
	}
	res := &callbackurls.Delivered{}
	if out.Deliver.Email != nil {
		res.Email = &callbackurls.DeliveredMessage{MessageID: fmt.Sprintf("email-%d", len(d.asks))}
	}
	if out.Deliver.SNS != nil {
		res.SNS = &callbackurls.DeliveredMessage{MessageID: fmt.Sprintf("sns-%d", len(d.asks))}
	}
	return res, nil
}

// Confirm records c.
func (d *Delivery) Confirm(_ context.Context, c *callbackurls.Confirmation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.confirmations = append(d.confirmations, *c)
	return d.ConfirmErr
}

// Asks are the asks delivered so far.
func (d *Delivery) Asks() []callbackurls.Outgoing {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.asks)
}

// Confirmations are the confirmations sent so far.
func (d *Delivery) Confirmations() []callbackurls.Confirmation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.confirmations)
}
