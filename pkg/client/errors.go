package client

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Error is an error answered by the service (or found by the client before
// sending, with the code the service would answer). Get it with errors.As;
// test its code with errors.Is(err, ErrInvalidJSON) and the like.
type Error struct {
	// Code is the contract's error code (InvalidJSON, ...); for a Lambda
	// function error it is ServiceError; for an API Gateway refusal that is
	// not the service's (an IAM denial, throttling) it is API Gateway's
	// error type, such as AccessDeniedException, or empty.
	Code    string
	Message string
	// TransactionID is the attempt's transaction id, once one was assigned.
	TransactionID string
	// StepFunctionsError is the Step Functions code behind a
	// StepFunctionsError.
	StepFunctionsError string
	// StatusCode is the HTTP status, or 0 for a direct invoke and a local
	// error.
	StatusCode int
	// FunctionError is the Lambda function error (X-Amz-Function-Error,
	// "Unhandled" for a crash or a timeout), if any; Message then has the
	// Lambda error's type and message.
	FunctionError string
	// RequestID is the AWS request id of the call (Lambda's, or API
	// Gateway's x-amzn-RequestId), when known.
	RequestID string
	// Local: the client found the problem and sent nothing.
	Local bool

	err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("CreateUrls: ")
	switch {
	case e.Local:
		b.WriteString("not sent: ")
	case e.FunctionError != "":
		b.WriteString("Lambda function error (" + e.FunctionError + "): ")
	case e.StatusCode != 0:
		b.WriteString(strconv.Itoa(e.StatusCode) + " ")
	}
	if e.Code != "" && e.FunctionError == "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	if e.TransactionID != "" {
		b.WriteString(" (transaction " + e.TransactionID + ")")
	}
	return b.String()
}

// Unwrap is the cause of a local error (a value encoding/json refused).
func (e *Error) Unwrap() error { return e.err }

// Is matches an ErrorCode to the error's code.
func (e *Error) Is(target error) bool {
	code, ok := target.(ErrorCode)
	return ok && e.Code == string(code)
}

// ErrorCode is an error code of the contract; each Err constant is one.
// errors.Is(err, ErrExpiredPayload) reports whether err is an *Error of
// that code.
type ErrorCode string

func (c ErrorCode) Error() string { return string(c) }

// The contract's error codes (README, "Errors"): the Python
// sfn-callback-urls' first, then this implementation's. Some are answers
// to callbacks (ExpiredPayload, StepFunctionsError, ...), never to
// CreateUrls; they are here so that one set of names serves both.
const (
	ErrInvalidJSON              ErrorCode = callbackurls.CodeInvalidJSON
	ErrDuplicateActionName      ErrorCode = callbackurls.CodeDuplicateActionName
	ErrInvalidAction            ErrorCode = callbackurls.CodeInvalidAction
	ErrInvalidDate              ErrorCode = callbackurls.CodeInvalidDate
	ErrParametersDisabled       ErrorCode = callbackurls.CodeParametersDisabled
	ErrPostActionsDisabled      ErrorCode = callbackurls.CodePostActionsDisabled
	ErrInvalidPostActionOutcome ErrorCode = callbackurls.CodeInvalidPostActionOutcome
	ErrInvalidJSONPath          ErrorCode = callbackurls.CodeInvalidJSONPath
	ErrOutputFormatting         ErrorCode = callbackurls.CodeOutputFormatting
	ErrInvalidPayload           ErrorCode = callbackurls.CodeInvalidPayload
	ErrExpiredPayload           ErrorCode = callbackurls.CodeExpiredPayload
	ErrActionMismatched         ErrorCode = callbackurls.CodeActionMismatched
	ErrEncryptionRequired       ErrorCode = callbackurls.CodeEncryptionRequired
	ErrDecryptionUnsupported    ErrorCode = callbackurls.CodeDecryptionUnsupported
	ErrEncryptionFailed         ErrorCode = callbackurls.CodeEncryptionFailed
	ErrInvalidPostActionBody    ErrorCode = callbackurls.CodeInvalidPostActionBody
	ErrStepFunctionsError       ErrorCode = callbackurls.CodeStepFunctionsError
	ErrServiceError             ErrorCode = callbackurls.CodeServiceError

	ErrURLTooLong           ErrorCode = callbackurls.CodeURLTooLong
	ErrInvalidBaseURL       ErrorCode = callbackurls.CodeInvalidBaseURL
	ErrMethodNotAllowed     ErrorCode = callbackurls.CodeMethodNotAllowed
	ErrUnsupportedMediaType ErrorCode = callbackurls.CodeUnsupportedMedia
	ErrRequestTooLarge      ErrorCode = callbackurls.CodeBodyTooLarge
	ErrNotFound             ErrorCode = callbackurls.CodeNotFound
	ErrInvalidInput         ErrorCode = callbackurls.CodeInvalidInput
	ErrSignInRequired       ErrorCode = callbackurls.CodeSignInRequired
	ErrNotAnApprover        ErrorCode = callbackurls.CodeNotAnApprover
	ErrSelfApproval         ErrorCode = callbackurls.CodeSelfApproval
	ErrSignInDisabled       ErrorCode = callbackurls.CodeSignInDisabled
	ErrReceiptsDisabled     ErrorCode = callbackurls.CodeReceiptsDisabled
	ErrSignInFailed         ErrorCode = callbackurls.CodeSignInFailed
	ErrInvalidDelivery      ErrorCode = callbackurls.CodeInvalidDelivery
	ErrDeliveryFailed       ErrorCode = callbackurls.CodeDeliveryFailed
	ErrDurableCallbackError ErrorCode = callbackurls.CodeDurableCallbackError
	ErrInvalidSignature     ErrorCode = callbackurls.CodeInvalidSignature
)

// ErrMalformedResponse is wrapped by the error for an answer that is
// neither URLs nor an error body (or is larger than any answer can be).
var ErrMalformedResponse = errors.New("malformed CreateUrls response")

// RetryableError reports whether asking again may succeed: throttling
// (429), a 5xx from a gateway (502, 503, 504) or the service's own 500
// ServiceError. A 500 EncryptionFailed is a deployment problem, a 502
// DeliveryFailed a mail service's refusal of the message, 4xx are the
// request's, a redirect (ErrRedirect) is never followed, and a direct
// invoke's error body has no status, so none of these is retried. The
// SDK's retryers read this method.
func (e *Error) RetryableError() bool {
	if errors.Is(e.err, ErrRedirect) {
		return false // whatever answer the redirect's target gave
	}
	switch e.StatusCode {
	case 502:
		return e.Code != string(ErrDeliveryFailed)
	case 429, 503, 504:
		return true
	case 500:
		return e.Code != string(ErrEncryptionFailed)
	}
	return false
}

// localError is a *callbackurls.Error found before sending.
func localError(err error) *Error {
	e := callbackurls.AsError(err)
	return &Error{Code: e.Code, Message: e.Message, Local: true}
}
