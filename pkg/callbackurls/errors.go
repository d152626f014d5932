package callbackurls

import (
	"errors"
	"fmt"
)

// Error codes of the API contract. They keep the meanings they have in
// sfn-callback-urls 1.1.0; callers branch on them.
const (
	CodeInvalidJSON              = "InvalidJSON"
	CodeDuplicateActionName      = "DuplicateActionName"
	CodeInvalidAction            = "InvalidAction"
	CodeInvalidDate              = "InvalidDate"
	CodeParametersDisabled       = "ParametersDisabled"
	CodePostActionsDisabled      = "PostActionsDisabled"
	CodeInvalidPostActionOutcome = "InvalidPostActionOutcome"
	CodeInvalidJSONPath          = "InvalidJsonPath"
	CodeOutputFormatting         = "OutputFormatting"
	CodeInvalidPayload           = "InvalidPayload"
	CodeExpiredPayload           = "ExpiredPayload"
	CodeActionMismatched         = "ActionMismatched"
	CodeEncryptionRequired       = "EncryptionRequired"
	CodeDecryptionUnsupported    = "DecryptionUnsupported"
	CodeEncryptionFailed         = "EncryptionFailed"
	CodeInvalidPostActionBody    = "InvalidPostActionBody"
	CodeStepFunctionsError       = "StepFunctionsError"
	CodeServiceError             = "ServiceError"

	// Codes added by this implementation.
	CodeURLTooLong       = "UrlTooLong"
	CodeInvalidBaseURL   = "InvalidBaseUrl"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeUnsupportedMedia = "UnsupportedMediaType"
	CodeBodyTooLarge     = "RequestTooLarge"
	CodeNotFound         = "NotFound"
	// CodeInvalidInput: the values submitted for an action's input form
	// do not fit its schema.
	CodeInvalidInput = "InvalidInput"
)

// Kind sorts errors by what the caller can do about them. The edges pick a
// protocol's status from it (HTTP's in package httpapi, in one table).
type Kind uint8

// The kinds of error.
const (
	// BadInput: the request or the URL is wrong; sending it again will not help.
	BadInput Kind = iota
	// NotFound: there is no such endpoint or thing.
	NotFound
	// NotAllowed: the endpoint does not take this kind of request.
	NotAllowed
	// TooLarge: a body beyond its bound.
	TooLarge
	// UnsupportedMedia: a body in a form the endpoint does not read.
	UnsupportedMedia
	// Unavailable: a dependency failed for now; try again later.
	Unavailable
	// Internal: a fault of this service or of its deployment.
	Internal
)

var kindNames = [...]string{"bad input", "not found", "not allowed", "too large", "unsupported media", "unavailable", "internal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Error is an error with an API code, a kind and a message that is safe to
// show to the caller (it never holds a token, a payload or a key).
type Error struct {
	Code    string
	Kind    Kind
	Message string
	// StepFunctionsCode is the Step Functions error code behind a
	// StepFunctionsError (TaskTimedOut, TaskDoesNotExist, ...).
	StepFunctionsCode string
	// Err is the underlying cause, for logs; it is not shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a BadInput Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Kind: BadInput, Message: fmt.Sprintf(format, args...)}
}

// NewError returns an Error of any kind.
func NewError(kind Kind, code, format string, args ...any) *Error {
	return &Error{Code: code, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// AsError turns any error into an *Error; anything that is not already one
// becomes an Internal ServiceError whose message does not leak the cause
// (Unavailable for errors wrapping ErrUnavailable).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *TaskError
	if errors.As(err, &te) {
		return te.apiError()
	}
	if errors.Is(err, ErrUnavailable) {
		return &Error{Code: CodeServiceError, Kind: Unavailable,
			Message: "a dependency is temporarily unavailable; try again later", Err: err}
	}
	return &Error{Code: CodeServiceError, Kind: Internal, Message: "internal error", Err: err}
}

// ErrUnavailable marks a failure of a dependency (Step Functions, KMS) that
// is worth retrying later: throttling, timeouts, 5xx. Its kind is
// Unavailable.
var ErrUnavailable = errors.New("dependency unavailable")

// Step Functions error codes that mean the caller's request cannot succeed.
const (
	TaskTimedOut     = "TaskTimedOut"
	TaskDoesNotExist = "TaskDoesNotExist"
	InvalidToken     = "InvalidToken"
	InvalidOutput    = "InvalidOutput"
)

// TaskError is a Step Functions refusal of a callback (the task is closed,
// unknown, or the output is bad). It is the caller's problem, not ours.
type TaskError struct {
	Code    string // one of TaskTimedOut, TaskDoesNotExist, InvalidToken, InvalidOutput
	Message string
}

func (e *TaskError) Error() string { return e.Code + ": " + e.Message }

// taskErrorText explains each code without echoing Step Functions' own
// message, which can quote the token.
var taskErrorText = map[string]string{
	TaskTimedOut:     "the task is already closed: it was completed, failed or timed out",
	TaskDoesNotExist: "the task does not exist",
	InvalidToken:     "the task token is not valid",
	InvalidOutput:    "the output is not valid for Step Functions",
}

func (e *TaskError) apiError() *Error {
	// The four codes read the same whatever the back end; others (such as
	// ValidationException) keep the adapter's detail, which the adapters
	// build without the token.
	text, ok := taskErrorText[e.Code]
	switch {
	case ok:
	case e.Message != "":
		text = e.Message
	default:
		text = "the callback was refused"
	}
	return &Error{Code: CodeStepFunctionsError, Kind: BadInput,
		Message: e.Code + ": " + text, StepFunctionsCode: e.Code, Err: e}
}
