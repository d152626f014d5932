// Package awserr is the service's one judgement of which AWS SDK errors are
// transient: worth retrying later, after the SDK's own retries gave up.
// The back ends (kmskeys, stepfunctions) turn a transient error into
// callbackurls.ErrUnavailable (503) and keep only their service's own codes
// in a Classifier.
package awserr

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// transientCodes are the API error codes every service uses for throttling
// and outages: the SDK's own throttle and retryable lists, so that the
// judgement agrees with what the SDK retried, and the generic 5xx codes.
var transientCodes = func() map[string]bool {
	m := map[string]bool{
		"ServiceUnavailable": true,
		"InternalFailure":    true,
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
// (connection errors, retryable statuses and codes).
var sdkRetryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// Classifier is the shared judgement plus one service's own codes. The zero
// value is the shared judgement alone.
type Classifier struct {
	// TransientCodes are the service's own codes worth retrying later,
	// beyond the shared ones (KMSInternalException, KmsThrottlingException).
	TransientCodes map[string]bool
	// FinalCodes are the service's codes whose answer stands whatever else
	// the error says (a 5xx status, a connection the SDK would retry): the
	// service has judged the request, and asking again will not change it.
	FinalCodes map[string]bool
}

// Transient reports whether err is transient. In order: an API error whose
// code is transient (shared or the service's) or whose fault is the
// server's is transient; one with a final code is not; then any 5xx
// response (also a proxy's page that is not AWS JSON), a spent retry quota,
// an ended context, a network error or anything the SDK's default
// retryables accept is transient.
func (c Classifier) Transient(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if transientCodes[code] || c.TransientCodes[code] || apiErr.ErrorFault() == smithy.FaultServer {
			return true
		}
		if c.FinalCodes[code] {
			return false
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return true
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true // the client's retry budget is spent: the service is failing
	}
	if IsContextErr(err) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return sdkRetryables.IsErrorRetryable(err) == aws.TrueTernary
}

// Transient is the shared judgement alone (Classifier{}.Transient).
func Transient(err error) bool { return Classifier{}.Transient(err) }

// IsContextErr reports whether err is a context's cancellation or deadline.
func IsContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
