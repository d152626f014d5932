// Package stepfunctions implements callbackurls.StepFunctions with the AWS
// SDK for Go v2.
//
// Errors are sorted the way the rest of the service needs them:
//
//   - refusals of the callback itself (TaskTimedOut, TaskDoesNotExist,
//     InvalidToken, InvalidOutput, ValidationException) become
//     *callbackurls.TaskError, the caller's problem (4xx);
//   - throttling, 5xx, timeouts, connection failures, a context that ended
//     and Step Functions' KMS errors wrap callbackurls.ErrUnavailable (503);
//   - anything else (IAM denials, a wrong endpoint, SDK bugs) is returned
//     wrapped as is and becomes a 500.
//
// No returned error text contains the task token: Step Functions' messages
// may quote it, so TaskError messages are our own and other texts have the
// token redacted.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// ValidationException is the TaskError code for a request Step Functions
// rejects as malformed (an error over 256 or a cause over 32,768 characters,
// a token over 2,048). It is the caller's input, so it is a 4xx like the
// other task errors.
const ValidationException = "ValidationException"

// Client sends callbacks to Step Functions. It is safe for concurrent use.
type Client struct {
	api *sfn.Client
}

var _ callbackurls.StepFunctions = (*Client)(nil)

// New wraps an SDK client. The client's retryer is used as is, so tests can
// pass one with a fast backoff.
func New(client *sfn.Client) *Client {
	return &Client{api: client}
}

// NewFromConfig builds a client from the SDK's default configuration: the
// standard credential chain, AWS_REGION and the service-specific endpoint
// variable AWS_ENDPOINT_URL_SFN (or the generic AWS_ENDPOINT_URL) all apply.
// optFns are passed to config.LoadDefaultConfig.
//
// The retryer is whatever the configuration gives (standard by default),
// plus KmsThrottlingException as retryable: it is throttling by Step
// Functions' KMS key, as transient as ThrottlingException, but it is not in
// the SDK's list of throttle codes.
func NewFromConfig(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("stepfunctions: loading AWS configuration: %w", err)
	}
	return NewFromAWSConfig(cfg), nil
}

// NewFromAWSConfig is NewFromConfig for a configuration already loaded
// (loading one costs milliseconds of a cold start; share it).
func NewFromAWSConfig(cfg aws.Config) *Client {
	return New(sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, "KmsThrottlingException")
	}))
}

// SendTaskSuccess completes the task with output, which must be JSON.
func (c *Client) SendTaskSuccess(ctx context.Context, token string, output string) error {
	_, err := c.api.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{
		TaskToken: aws.String(token),
		Output:    aws.String(output),
	})
	return mapError("SendTaskSuccess", token, err)
}

// SendTaskFailure fails the task. An empty errorCode or cause is left out of
// the request rather than sent as "", so Step Functions records it as absent
// rather than as an empty string.
func (c *Client) SendTaskFailure(ctx context.Context, token, errorCode, cause string) error {
	in := &sfn.SendTaskFailureInput{TaskToken: aws.String(token)}
	if errorCode != "" {
		in.Error = aws.String(errorCode)
	}
	if cause != "" {
		in.Cause = aws.String(cause)
	}
	_, err := c.api.SendTaskFailure(ctx, in)
	return mapError("SendTaskFailure", token, err)
}

// SendTaskHeartbeat reports that the task is still being worked on.
func (c *Client) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := c.api.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{
		TaskToken: aws.String(token),
	})
	return mapError("SendTaskHeartbeat", token, err)
}

// taskErrorText is our own message for each refusal; Step Functions' message
// is dropped because it may quote the token.
var taskErrorText = map[string]string{
	callbackurls.TaskTimedOut:     "the task is already closed (completed, failed or timed out)",
	callbackurls.TaskDoesNotExist: "the task does not exist",
	callbackurls.InvalidToken:     "the task token is not valid",
	callbackurls.InvalidOutput:    "the output is not valid JSON or is too large",
	ValidationException:           "the request does not satisfy Step Functions' constraints",
}

// unavailableCodes are API error codes that are not the caller's fault and
// not a bug here. Throttling codes come from the SDK's own list (plus the
// KMS one, see NewFromConfig). KmsAccessDeniedException and
// KmsInvalidStateException are deployment problems (a key policy, a disabled
// or pending-deletion key) that retrying soon will not fix, but they are
// still outside the caller's control and may be fixed by an operator, so
// they are reported as unavailable with the code kept in the text for logs.
var unavailableCodes = func() map[string]bool {
	m := map[string]bool{
		"KmsAccessDeniedException": true,
		"KmsInvalidStateException": true,
		"KmsThrottlingException":   true,
		"ServiceUnavailable":       true,
		"InternalFailure":          true,
		"InternalServerError":      true,
	}
	for code := range retry.DefaultThrottleErrorCodes {
		m[code] = true
	}
	for code := range retry.DefaultRetryableErrorCodes {
		m[code] = true
	}
	return m
}()

// sdkRetryables is the SDK's own judgement of transient failures
// (connection errors, 5xx, throttling, timeouts); reusing it keeps our
// classification in step with what the SDK retried.
var sdkRetryables = retry.IsErrorRetryables(retry.DefaultRetryables)

func mapError(op, token string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if text, ok := taskErrorText[code]; ok {
			if code == ValidationException {
				text = validationText(apiErr.ErrorMessage())
			}
			return &callbackurls.TaskError{Code: code, Message: text}
		}
		if unavailableCodes[code] || apiErr.ErrorFault() == smithy.FaultServer {
			return unavailable(op, token, err)
		}
	}
	if isTransient(err) {
		return unavailable(op, token, err)
	}
	return fmt.Errorf("stepfunctions: %s: %w", op, redact(err, token))
}

func unavailable(op, token string, err error) error {
	return fmt.Errorf("stepfunctions: %s: %w: %w", op, callbackurls.ErrUnavailable, redact(err, token))
}

func isTransient(err error) bool {
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return true // includes 5xx bodies that are not AWS JSON (a proxy page)
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true // the client's retry budget is spent: Step Functions is failing
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return sdkRetryables.IsErrorRetryable(err) == aws.TrueTernary
}

// validationRE picks the field and constraint out of a Coral validation
// message ("Value '...' at 'taskToken' failed to satisfy constraint: Member
// must have length less than or equal to 2048"), leaving out the value.
var validationRE = regexp.MustCompile(`at '(\w+)' failed to satisfy constraint: ([^;'"]*)`)

func validationText(msg string) string {
	m := validationRE.FindAllStringSubmatch(msg, -1)
	if len(m) == 0 {
		return taskErrorText[ValidationException]
	}
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = s[1] + ": " + strings.TrimSpace(s[2])
	}
	return strings.Join(parts, "; ")
}

// redactedToken replaces the token in error texts.
const redactedToken = "<task token>"

// redact hides the token in err's text while keeping err reachable for
// errors.Is and errors.As. Tokens are at least a few hundred characters in
// practice; very short ones are not replaced, since replacing a 3-letter
// string would garble the message without protecting anything secret.
func redact(err error, token string) error {
	if len(token) < 8 {
		return err
	}
	text := err.Error()
	if !strings.Contains(text, token) {
		return err
	}
	return &redactedError{err: err, text: strings.ReplaceAll(text, token, redactedToken)}
}

type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
