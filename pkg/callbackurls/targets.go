package callbackurls

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// TargetKind is what a payload's reference names, and so where the
// decisions made through its URLs go. It travels in the payload: a URL made
// for one kind can never be sent to another.
type TargetKind uint8

// The kinds of target. The zero value is what every payload made before
// kinds existed holds: a task token.
const (
	// TaskToken is an AWS Step Functions task token: decisions become
	// SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat.
	TaskToken TargetKind = iota
	// DurableCallback is an AWS Lambda durable function's callback id:
	// decisions become SendDurableExecutionCallbackSuccess, ...Failure and
	// ...Heartbeat.
	DurableCallback
)

// Step Functions' codes for refusals of a task token's decision, as task
// token targets report them in TargetError.Code.
const (
	TaskTimedOut     = "TaskTimedOut"
	TaskDoesNotExist = "TaskDoesNotExist"
	InvalidToken     = "InvalidToken"
	InvalidOutput    = "InvalidOutput"
)

// Lambda's codes for refusals of a durable callback's decision, as
// durable callback targets report them in TargetError.Code.
const (
	CallbackTimeoutException       = "CallbackTimeoutException"
	ResourceNotFoundException      = "ResourceNotFoundException"
	InvalidParameterValueException = "InvalidParameterValueException"
)

// CodeDurableCallbackError is the contract code of a durable callback
// target's refusals (as StepFunctionsError is a task token's); the error
// body names Lambda's code in lambda_error.
const CodeDurableCallbackError = "DurableCallbackError"

// TargetSpec describes a kind of target: how a request names its
// reference, what a valid reference is, and how its refusals read. Adding
// a kind of target is adding a row to targetSpecs and an implementation
// of Target.
type TargetSpec struct {
	Kind TargetKind
	// Name is the reference's name in messages ("task token").
	Name string
	// Field is the CreateUrls request member that carries the reference.
	Field string
	// MaxLength bounds the reference, in characters.
	MaxLength int
	// Format, if set, must accept the whole reference (an alphabet, where
	// padding may stand); FormatText says what it accepts ("the base64
	// alphabet").
	Format     func(string) bool
	FormatText string
	// ErrorCode is the contract code of the target's refusals, ErrorField
	// the error body's member that names the target's own code, and
	// LogField the log line's.
	ErrorCode, ErrorField, LogField string
	// refusals words each Refusal for callers and pages; the
	// target's own message stands in for an empty one.
	refusals [refusalCount]string
}

// Refusal sorts a target's refusal of a decision, so that pages and
// callers can say what it means whatever the target.
type Refusal uint8

// The refusals.
const (
	// RefusedOther: the target's message says why (a constraint of its own).
	RefusedOther Refusal = iota
	// Closed: the waiting task or callback was already answered, failed or
	// timed out (a second click gets this).
	Closed
	// Unknown: there is no such task or callback.
	Unknown
	// InvalidRef: the reference is malformed.
	InvalidRef
	// InvalidDecision: the output, error or cause is not accepted.
	InvalidDecision
	refusalCount
)

var targetSpecs = [...]TargetSpec{
	TaskToken: {
		Kind: TaskToken, Name: "task token", Field: "token", MaxLength: MaxTokenLength,
		ErrorCode: CodeStepFunctionsError, ErrorField: "step_functions_error", LogField: "sfn_error",
		refusals: [refusalCount]string{
			Closed:          "the task is already closed: it was completed, failed or timed out",
			Unknown:         "the task does not exist",
			InvalidRef:      "the task token is not valid",
			InvalidDecision: "the output is not valid for Step Functions",
		},
	},
	DurableCallback: {
		Kind: DurableCallback, Name: "callback id", Field: "callback_id", MaxLength: MaxCallbackIDLength,
		Format: isBase64Text, FormatText: "the base64 alphabet (A-Z, a-z, 0-9, + and /) with at most two = at the end",
		ErrorCode: CodeDurableCallbackError, ErrorField: "lambda_error", LogField: "lambda_error",
		refusals: [refusalCount]string{
			Closed:          "the callback is already closed: it was answered, failed or timed out",
			Unknown:         "the durable execution or its callback does not exist",
			InvalidRef:      "the callback id is not valid",
			InvalidDecision: "the result or error is not valid for Lambda",
		},
	},
}

// MaxCallbackIDLength is Lambda's limit on a callback id, in characters.
const MaxCallbackIDLength = 1024

// isBase64Text reports whether s is Lambda's callback id pattern,
// [A-Za-z0-9+/]+={0,2}: one run of the standard base64 alphabet and at
// most two '=' at its end.
func isBase64Text(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" || len(s)-len(body) > 2 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// A target's refusals are the caller's problem, never a 5xx: each kind's
// ErrorCode is bad input. Registered from targetSpecs, so that adding a
// kind of target needs no row in codeKinds.
func init() {
	for i := range targetSpecs {
		if _, ok := codeKinds[targetSpecs[i].ErrorCode]; !ok {
			codeKinds[targetSpecs[i].ErrorCode] = codeKind{kind: BadInput}
		}
	}
}

// Spec describes the kind; nil for a kind this build does not know.
func (k TargetKind) Spec() *TargetSpec {
	if int(k) < len(targetSpecs) {
		return &targetSpecs[k]
	}
	return nil
}

// TargetSpecs lists the kinds of target, in the order of their kinds.
func TargetSpecs() []TargetSpec { return targetSpecs[:] }

func (k TargetKind) String() string {
	if s := k.Spec(); s != nil {
		return s.Name
	}
	return "unknown target kind"
}

// Valid reports whether id is a reference this kind accepts: 1 to
// MaxLength characters of valid UTF-8 in its format.
func (s *TargetSpec) Valid(id string) bool {
	if id == "" || !utf8.ValidString(id) || utf8.RuneCountInString(id) > s.MaxLength {
		return false
	}
	return s.Format == nil || s.Format(id)
}

// invalidText says why id is not a valid reference.
func (s *TargetSpec) invalidText(id string) string {
	chars := "valid UTF-8"
	if s.FormatText != "" {
		chars = s.FormatText
	}
	return fmt.Sprintf("%s must be 1 to %d characters of %s (got %d)", s.Field, s.MaxLength, chars, utf8.RuneCountInString(id))
}

// placeholder stands in for the reference in texts shown to callers.
func (s *TargetSpec) placeholder() string { return "<" + s.Name + ">" }

// TargetRef names what a decision is for: a kind of target and the
// reference it knows the waiting task by.
type TargetRef struct {
	Kind TargetKind
	ID   string
}

// Decision is what a callback sends to its target: a success with its
// output, a failure with its error and cause, or a heartbeat.
type Decision struct {
	Type   ActionType
	Output json.RawMessage // JSON text (success)
	Error  string          // failure; empty: not sent
	Cause  string          // failure; empty: not sent
}

// Target receives decisions for the references of one kind (or several).
// Implementations report refusals as *TargetError, passing failures as
// errors wrapping ErrUnavailable, and never quote the reference in either.
// A decision of a type the target cannot take is an error, not a panic.
type Target interface {
	Send(ctx context.Context, ref string, d Decision) error
}

// Targets is the target of each kind a deployment sends to.
type Targets map[TargetKind]Target

// TargetError is a target's refusal of a decision (the task is closed,
// unknown, or the output is bad): the caller's problem, not ours.
type TargetError struct {
	// Code is the target's own code (TaskTimedOut, ...).
	Code    string
	Refusal Refusal
	// Message is the target's detail, written without the reference.
	Message string
}

func (e *TargetError) Error() string { return e.Code + ": " + e.Message }

// apiError is the contract's error for a refusal by a target of kind k.
func (e *TargetError) apiError(k TargetKind) *Error {
	spec := k.Spec()
	if spec == nil {
		spec = TaskToken.Spec()
	}
	text := ""
	if int(e.Refusal) < len(spec.refusals) {
		text = spec.refusals[e.Refusal]
	}
	switch {
	case text != "":
	case e.Message != "":
		text = e.Message
	default:
		text = "the callback was refused"
	}
	err := Errorf(spec.ErrorCode, "%s: %s", e.Code, text)
	err.Target, err.TargetCode, err.Refusal, err.Err = k, e.Code, e.Refusal, e
	return err
}
