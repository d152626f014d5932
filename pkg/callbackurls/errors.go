package callbackurls

import (
	"errors"
	"fmt"
	"slices"
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
	// Approvers and receipts (approvers.go): the person signed in may
	// not decide, or nobody is; the deployment cannot sign people in or
	// sign receipts; a sign-in did not complete.
	CodeSignInRequired   = "SignInRequired"
	CodeNotAnApprover    = "NotAnApprover"
	CodeSelfApproval     = "SelfApproval"
	CodeSignInDisabled   = "SignInDisabled"
	CodeReceiptsDisabled = "ReceiptsDisabled"
	CodeSignInFailed     = "SignInFailed"
	// CodeInvalidDelivery: a request's messages or deliver cannot be
	// made or sent as asked (an unknown channel, too many recipients, a
	// topic the deployment does not allow, a line break in a subject).
	CodeInvalidDelivery = "InvalidDelivery"
	// CodeDeliveryFailed: the URLs were made but a channel did not take
	// the message (502; 503 with Retry-After where retrying helps).
	CodeDeliveryFailed = "DeliveryFailed"

	// CodeInvalidSignature: a request that must be signed (Slack's clicks)
	// is unsigned, signed wrongly, or signed more than 5 minutes from now.
	CodeInvalidSignature = "InvalidSignature"
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
	// Upstream: a service this one relies on refused the work (a mail
	// service rejected a message).
	Upstream
	// Forbidden: the person (or program) asking may not do this, or has
	// not shown who they are.
	Forbidden
	// Unauthenticated: the request does not prove where it comes from (a
	// signature that does not verify).
	Unauthenticated
)

var kindNames = [...]string{"bad input", "not found", "not allowed", "too large", "unsupported media", "unavailable", "internal", "upstream", "forbidden", "unauthenticated"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// codeKind is a code's kind, and whether the code also stands for a
// passing outage of a dependency (then Unavailablef makes it Unavailable).
type codeKind struct {
	kind      Kind
	transient bool
}

// codeKinds is the one table from contract codes to kinds: every
// constructor of a contract error reads it, so a code cannot be given a
// status by accident.
var codeKinds = map[string]codeKind{
	CodeInvalidJSON:              {kind: BadInput},
	CodeDuplicateActionName:      {kind: BadInput},
	CodeInvalidAction:            {kind: BadInput},
	CodeInvalidDate:              {kind: BadInput},
	CodeParametersDisabled:       {kind: BadInput},
	CodePostActionsDisabled:      {kind: BadInput},
	CodeInvalidPostActionOutcome: {kind: BadInput},
	CodeInvalidJSONPath:          {kind: BadInput},
	CodeOutputFormatting:         {kind: BadInput},
	CodeInvalidPayload:           {kind: BadInput},
	CodeExpiredPayload:           {kind: BadInput},
	CodeActionMismatched:         {kind: BadInput},
	CodeEncryptionRequired:       {kind: BadInput},
	CodeDecryptionUnsupported:    {kind: BadInput},
	CodeEncryptionFailed:         {kind: Internal, transient: true},
	CodeInvalidPostActionBody:    {kind: BadInput},
	CodeStepFunctionsError:       {kind: BadInput},
	CodeServiceError:             {kind: Internal, transient: true},
	CodeURLTooLong:               {kind: BadInput},
	CodeInvalidBaseURL:           {kind: BadInput},
	CodeMethodNotAllowed:         {kind: NotAllowed},
	CodeUnsupportedMedia:         {kind: UnsupportedMedia},
	CodeBodyTooLarge:             {kind: TooLarge},
	CodeNotFound:                 {kind: NotFound},
	CodeInvalidInput:             {kind: BadInput},
	CodeSignInRequired:           {kind: Forbidden},
	CodeNotAnApprover:            {kind: Forbidden},
	CodeSelfApproval:             {kind: Forbidden},
	CodeSignInDisabled:           {kind: BadInput},
	CodeReceiptsDisabled:         {kind: BadInput},
	CodeSignInFailed:             {kind: BadInput},
	CodeInvalidDelivery:          {kind: BadInput},
	CodeDeliveryFailed:           {kind: Upstream, transient: true},
	CodeInvalidSignature:         {kind: Unauthenticated},
}

// KindOf is the kind of a contract code; an unknown code is Internal, so
// that a code missing from the table shows as a fault, not as bad input.
func KindOf(code string) Kind {
	if k, ok := codeKinds[code]; ok {
		return k.kind
	}
	return Internal
}

// Codes lists every contract code, sorted (for tests and docs).
func Codes() []string {
	codes := make([]string, 0, len(codeKinds))
	for c := range codeKinds {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// MayBeUnavailable reports whether code also stands for a passing outage
// (Unavailablef gives it the kind Unavailable).
func MayBeUnavailable(code string) bool { return codeKinds[code].transient }

// Error is an error with an API code, a kind and a message that is safe to
// show to the caller (it never holds a token, a payload or a key).
type Error struct {
	Code    string
	Kind    Kind
	Message string
	// Target is the kind of target a TargetCode comes from.
	Target TargetKind
	// TargetCode is the target's own code behind a refusal of a decision
	// (Step Functions' TaskTimedOut, TaskDoesNotExist, ...).
	TargetCode string
	// Refusal sorts such a refusal (closed, unknown, ...): pages word it.
	Refusal Refusal
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

// Errorf returns an Error with the given contract code, of the code's kind.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Kind: KindOf(code), Message: fmt.Sprintf(format, args...)}
}

// Unavailablef returns an Error with the given code that says a dependency
// failed for now (Unavailable); a code that never means that keeps its
// own kind.
func Unavailablef(code, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	if MayBeUnavailable(code) {
		e.Kind = Unavailable
	}
	return e
}

// AsError turns any error into an *Error; anything that is not already one
// becomes an Internal ServiceError whose message does not leak the cause
// (Unavailable for errors wrapping ErrUnavailable). A *TargetError is read
// as a refusal by a task token's target (Service.Act reads it with the
// target it came from).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *TargetError
	if errors.As(err, &te) {
		return te.apiError(TaskToken)
	}
	if errors.Is(err, ErrUnavailable) {
		e := Unavailablef(CodeServiceError, "a dependency is temporarily unavailable; try again later")
		e.Err = err
		return e
	}
	e = Errorf(CodeServiceError, "internal error")
	e.Err = err
	return e
}

// ErrUnavailable marks a failure of a dependency (a target, KMS) that is
// worth retrying later: throttling, timeouts, 5xx. Its kind is Unavailable.
var ErrUnavailable = errors.New("dependency unavailable")
