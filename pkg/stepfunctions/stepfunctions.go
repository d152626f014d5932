// Package stepfunctions is the target of task tokens (callbackurls.TaskToken):
// it sends decisions to AWS Step Functions with the AWS SDK for Go v2.
//
// Errors are sorted the way the rest of the service needs them:
//
//   - refusals of the callback itself (TaskTimedOut, TaskDoesNotExist,
//     InvalidToken, InvalidOutput, ValidationException) become
//     *callbackurls.TargetError, the caller's problem (BadInput, a 4xx);
//   - throttling, 5xx, timeouts, connection failures, a context that ended
//     (package awserr's judgement) and Step Functions' KMS errors wrap
//     callbackurls.ErrUnavailable (Unavailable, 503);
//   - anything else (IAM denials, a wrong endpoint, SDK bugs) is returned
//     wrapped as is and becomes Internal (500).
//
// No returned error text contains the task token: Step Functions' messages
// may quote it, so TargetError messages are our own and other texts have the
// token redacted.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// ValidationException is the TargetError code for a request Step Functions
// rejects as malformed (an error over 256 or a cause over 32,768 characters,
// a token over 2,048). It is the caller's input, so it is a 4xx like the
// other task errors.
const ValidationException = "ValidationException"

// Client sends callbacks to Step Functions. It is safe for concurrent use.
//
// It holds the three operations as method values rather than the SDK
// client: a binary that links text/template (ProcessCallback's pages) keeps
// every exported method of each type reachable from an interface, and
// through a *sfn.Client field that is every Step Functions operation
// (about 1 MB).
type Client struct {
	sendTaskSuccess   func(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	sendTaskFailure   func(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	sendTaskHeartbeat func(context.Context, *sfn.SendTaskHeartbeatInput, ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
}

var _ callbackurls.Target = (*Client)(nil)

// New wraps an SDK client. The client's retryer is used as is, so tests can
// pass one with a fast backoff.
func New(client *sfn.Client) *Client {
	return &Client{
		sendTaskSuccess:   client.SendTaskSuccess,
		sendTaskFailure:   client.SendTaskFailure,
		sendTaskHeartbeat: client.SendTaskHeartbeat,
	}
}

// NewFromAWSConfig builds a client from the SDK's loaded configuration
// (config.LoadDefaultConfig: the standard credential chain, AWS_REGION and
// the endpoint variable AWS_ENDPOINT_URL_SFN or AWS_ENDPOINT_URL apply).
// Loading one costs milliseconds of a cold start: load once and share it.
//
// The retryer is whatever the configuration gives (standard by default),
// plus KmsThrottlingException as retryable: it is throttling by Step
// Functions' KMS key, as transient as ThrottlingException, but it is not in
// the SDK's list of throttle codes.
func NewFromAWSConfig(cfg aws.Config) *Client {
	return New(sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, "KmsThrottlingException")
	}))
}

// Send sends a decision for a task token: a success, failure or heartbeat.
func (c *Client) Send(ctx context.Context, token string, d callbackurls.Decision) error {
	switch d.Type {
	case callbackurls.Success:
		return c.SendTaskSuccess(ctx, token, string(d.Output))
	case callbackurls.Failure:
		return c.SendTaskFailure(ctx, token, d.Error, d.Cause)
	case callbackurls.Heartbeat:
		return c.SendTaskHeartbeat(ctx, token)
	}
	return fmt.Errorf("stepfunctions: a task token takes no %q decision", d.Type)
}

// SendTaskSuccess completes the task with output, which must be JSON.
func (c *Client) SendTaskSuccess(ctx context.Context, token string, output string) error {
	_, err := c.sendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{
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
	_, err := c.sendTaskFailure(ctx, in)
	return mapError("SendTaskFailure", token, err)
}

// SendTaskHeartbeat reports that the task is still being worked on.
func (c *Client) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := c.sendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{
		TaskToken: aws.String(token),
	})
	return mapError("SendTaskHeartbeat", token, err)
}

// refusals sorts Step Functions' refusals, each with our own message: Step
// Functions' message is dropped because it may quote the token. This is
// the one place where Step Functions' errors meet the contract's.
var refusals = map[string]struct {
	refusal callbackurls.Refusal
	text    string
}{
	callbackurls.TaskTimedOut:     {callbackurls.Closed, "the task is already closed (completed, failed or timed out)"},
	callbackurls.TaskDoesNotExist: {callbackurls.Unknown, "the task does not exist"},
	callbackurls.InvalidToken:     {callbackurls.InvalidRef, "the task token is not valid"},
	callbackurls.InvalidOutput:    {callbackurls.InvalidDecision, "the output is not valid JSON or is too large"},
	ValidationException:           {callbackurls.RefusedOther, "the request does not satisfy Step Functions' constraints"},
}

// classifier adds Step Functions' own codes to the shared judgement of
// package awserr (the SDK's throttle and retryable codes, 5xx, timeouts,
// connection failures). They are not the caller's fault and not a bug
// here. KmsThrottlingException is throttling (see NewFromAWSConfig).
// KmsAccessDeniedException and KmsInvalidStateException are deployment
// problems (a key policy, a disabled or pending-deletion key) that retrying
// soon will not fix, but they are still outside the caller's control and
// may be fixed by an operator, so they are reported as unavailable with the
// code kept in the text for logs.
var classifier = awserr.Classifier{TransientCodes: map[string]bool{
	"KmsAccessDeniedException": true,
	"KmsInvalidStateException": true,
	"KmsThrottlingException":   true,
	"InternalServerError":      true,
}}

func mapError(op, token string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if r, ok := refusals[code]; ok {
			if code == ValidationException {
				r.text = validationText(apiErr.ErrorMessage())
			}
			return &callbackurls.TargetError{Code: code, Refusal: r.refusal, Message: r.text}
		}
	}
	if classifier.Transient(err) {
		return unavailable(op, token, err)
	}
	return fmt.Errorf("stepfunctions: %s: %w", op, redact(err, token))
}

func unavailable(op, token string, err error) error {
	return fmt.Errorf("stepfunctions: %s: %w: %w", op, callbackurls.ErrUnavailable, redact(err, token))
}

// validationRE picks the field and constraint out of a Coral validation
// message ("Value '...' at 'taskToken' failed to satisfy constraint: Member
// must have length less than or equal to 2048"), leaving out the value.
var validationRE = regexp.MustCompile(`at '(\w+)' failed to satisfy constraint: ([^;'"]*)`)

func validationText(msg string) string {
	m := validationRE.FindAllStringSubmatch(msg, -1)
	if len(m) == 0 {
		return refusals[ValidationException].text
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
