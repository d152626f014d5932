// Package durablecallbacks is the target of durable callback ids
// (callbackurls.DurableCallback): it sends decisions to the callbacks of
// AWS Lambda durable functions (waitForCallback, createCallback) as
// SendDurableExecutionCallbackSuccess, ...Failure and ...Heartbeat, with
// the AWS SDK for Go v2's configuration, signer and retryer through
// internal/awsjson, not the SDK's Lambda client: the service/lambda
// package builds the schemas of every Lambda shape when a binary starts,
// which measured +0.75 MiB and several milliseconds of ProcessCallback's
// cold start for three operations with a path, a raw body and an empty
// answer. The stand-in (durabletest) is checked with the SDK's client,
// this package against the stand-in.
//
// Errors are sorted as package stepfunctions sorts Step Functions':
//
//   - refusals of the callback itself become *callbackurls.TargetError, the
//     caller's problem (DurableCallbackError, a 4xx):
//     CallbackTimeoutException (the callback timed out or was already
//     answered: a second click) is Closed, ResourceNotFoundException is
//     Unknown, InvalidParameterValueException (and a front end's
//     ValidationException) is InvalidRef when Lambda's message is about the
//     callback id and InvalidDecision otherwise;
//   - throttling (TooManyRequestsException, whose Retry-After is kept: see
//     RetryAfter), ServiceException and other 5xx, timeouts, connection
//     failures, a context that ended, and the KMS errors of an execution
//     encrypted with a customer key wrap callbackurls.ErrUnavailable (503);
//   - anything else (an IAM denial, a wrong endpoint) is returned wrapped
//     as is and becomes Internal (500).
//
// No returned error text contains the callback id: Lambda's messages may
// quote it, so TargetError messages are our own and other texts have it
// redacted.
package durablecallbacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsjson"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// ValidationException is the code a front end may give a request that
// breaks the model's constraints (an id outside the pattern).
const ValidationException = "ValidationException"

// MaxResultBytes is the largest result SendDurableExecutionCallbackSuccess
// takes: the API reference's 262,144 (its Result's length constraint; the
// SDK's comment says 1 MB, which the API does not promise). It is Step
// Functions' output limit too, so the core's callbackurls.MaxOutputBytes
// holds every URL to it.
const MaxResultBytes = 262144

// callbacksPath is the operations' path prefix; the id is one escaped path
// segment.
const callbacksPath = "/2025-12-01/durable-execution-callbacks/"

// Client sends callbacks to Lambda. It is safe for concurrent use.
type Client struct {
	cfg aws.Config
}

var _ callbackurls.Target = (*Client)(nil)

// NewFromAWSConfig builds a client from the SDK's configuration (the
// functions' internal/awsenv or config.LoadDefaultConfig): its region,
// credentials, HTTP client and retryer; AWS_ENDPOINT_URL_LAMBDA, else
// AWS_ENDPOINT_URL (BaseEndpoint), else the region's endpoint.
func NewFromAWSConfig(cfg aws.Config) *Client {
	return &Client{cfg: cfg}
}

// callbackPath is the path of an operation ("succeed", "fail",
// "heartbeat") on the callback id.
func callbackPath(id, action string) string {
	// url.PathEscape leaves '+' and '=' as they are; the SDK escapes them
	// too (an id is base64: nothing else needs it).
	return callbacksPath + strings.NewReplacer("+", "%2B", "=", "%3D").Replace(url.PathEscape(id)) + "/" + action
}

// Send sends a decision for a callback id: a success, failure or heartbeat.
func (c *Client) Send(ctx context.Context, id string, d callbackurls.Decision) error {
	switch d.Type {
	case callbackurls.Success:
		return c.Succeed(ctx, id, d.Output)
	case callbackurls.Failure:
		return c.Fail(ctx, id, d.Error, d.Cause)
	case callbackurls.Heartbeat:
		return c.Heartbeat(ctx, id)
	}
	return fmt.Errorf("durablecallbacks: a callback takes no %q decision", d.Type)
}

// Succeed completes the callback with result, the output's JSON text, as
// the callback's result (a durable function's SDK parses it as JSON).
func (c *Client) Succeed(ctx context.Context, id string, result []byte) error {
	if len(result) > MaxResultBytes {
		return &callbackurls.TargetError{Code: callbackurls.InvalidParameterValueException, Refusal: callbackurls.InvalidDecision,
			Message: fmt.Sprintf("the result is %d bytes, over Lambda's %d", len(result), MaxResultBytes)}
	}
	err := awsjson.CallRaw(ctx, c.cfg, awsjson.Lambda, "SendDurableExecutionCallbackSuccess", callbackPath(id, "succeed"), result, "application/octet-stream")
	return mapError("SendDurableExecutionCallbackSuccess", id, err)
}

// Fail fails the callback: errorType becomes the error's ErrorType and
// message its ErrorMessage; an empty one is left out.
func (c *Client) Fail(ctx context.Context, id, errorType, message string) error {
	body, err := json.Marshal(errorObject{ErrorType: errorType, ErrorMessage: message})
	if err != nil {
		return fmt.Errorf("durablecallbacks: %w", err)
	}
	err = awsjson.CallRaw(ctx, c.cfg, awsjson.Lambda, "SendDurableExecutionCallbackFailure", callbackPath(id, "fail"), body, "application/json")
	return mapError("SendDurableExecutionCallbackFailure", id, err)
}

// Heartbeat tells the callback it is still being worked on (it resets
// the callback's heartbeat timeout); it may be sent any number of times.
func (c *Client) Heartbeat(ctx context.Context, id string) error {
	err := awsjson.CallRaw(ctx, c.cfg, awsjson.Lambda, "SendDurableExecutionCallbackHeartbeat", callbackPath(id, "heartbeat"), nil, "")
	return mapError("SendDurableExecutionCallbackHeartbeat", id, err)
}

// errorObject is the fail operation's body (Lambda's ErrorObject); an
// empty member is left out.
type errorObject struct {
	ErrorType    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// classifier adds Lambda's codes to the shared judgement: a customer key
// that is disabled, denied or gone is the operator's to fix, outside the
// caller's control, and reported as unavailable (as Step Functions' KMS
// errors are), with the code kept in the text for logs.
var classifier = awserr.Classifier{TransientCodes: map[string]bool{
	"ServiceException":         true,
	"TooManyRequestsException": true,
	"KMSAccessDeniedException": true,
	"KMSDisabledException":     true,
	"KMSInvalidStateException": true,
	"KMSNotFoundException":     true,
}}

func mapError(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); code {
		case callbackurls.CallbackTimeoutException:
			return &callbackurls.TargetError{Code: code, Refusal: callbackurls.Closed,
				Message: "the callback is already closed (answered, failed or timed out)"}
		case callbackurls.ResourceNotFoundException:
			return &callbackurls.TargetError{Code: code, Refusal: callbackurls.Unknown,
				Message: "the durable execution or its callback does not exist"}
		case callbackurls.InvalidParameterValueException, ValidationException:
			if aboutID(apiErr.ErrorMessage()) {
				return &callbackurls.TargetError{Code: code, Refusal: callbackurls.InvalidRef, Message: "the callback id is not valid"}
			}
			return &callbackurls.TargetError{Code: code, Refusal: callbackurls.InvalidDecision,
				Message: "Lambda refused the result or error"}
		}
	}
	if classifier.Transient(err) {
		e := &unavailableError{op: op, err: redact(err, id)}
		var answer *awsjson.ResponseError
		if errors.As(err, &answer) {
			e.after = retryAfter(answer.RetryAfter)
		}
		return e
	}
	return fmt.Errorf("durablecallbacks: %s: %w", op, redact(err, id))
}

// aboutID reports whether a refusal's message is about the callback id
// (Lambda names the parameter) rather than the result or error.
func aboutID(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "callbackid") || strings.Contains(m, "callback id") || strings.Contains(m, "callback_id")
}

// maxRetryAfter bounds the wait passed on from Lambda's Retry-After.
const maxRetryAfter = 15 * time.Minute

// retryAfter reads a Retry-After of whole seconds (0: none or not one).
func retryAfter(s string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// unavailableError is a passing failure of Lambda, with the wait Lambda
// asked for when it throttled.
type unavailableError struct {
	op    string
	err   error
	after time.Duration
}

func (e *unavailableError) Error() string {
	return "durablecallbacks: " + e.op + ": " + callbackurls.ErrUnavailable.Error() + ": " + e.err.Error()
}

func (e *unavailableError) Unwrap() []error { return []error{callbackurls.ErrUnavailable, e.err} }

// RetryAfter is how long Lambda asked callers to wait (0: it did not say);
// the HTTP edge answers it as Retry-After.
func (e *unavailableError) RetryAfter() time.Duration { return e.after }

// redactedID replaces the callback id in error texts.
const redactedID = "<callback id>"

// redact hides the id in err's text while keeping err reachable for
// errors.Is and errors.As. Very short ids are not replaced: replacing a
// 3-letter string garbles the message and protects nothing.
func redact(err error, id string) error {
	if len(id) < 8 {
		return err
	}
	text := err.Error()
	// The SDK's texts may hold the id as sent in the path, escaped.
	escaped := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(id)
	if !strings.Contains(text, id) && !strings.Contains(text, escaped) {
		return err
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, id, redactedID), escaped, redactedID)
	return &redactedError{err: err, text: text}
}

type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
