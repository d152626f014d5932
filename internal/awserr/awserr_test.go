package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
)

// apiErr is an API error as the SDK returns it: inside the HTTP response
// error, inside the operation error.
func apiErr(status int, code string, fault smithy.ErrorFault) error {
	return &smithy.OperationError{ServiceID: "Test", OperationName: "Op",
		Err: response(status, &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault})}
}

func response(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

// retryable answers the SDK's RetryableError check.
type retryable bool

func (r retryable) Error() string        { return fmt.Sprintf("retryable=%v", bool(r)) }
func (r retryable) RetryableError() bool { return bool(r) }

func TestTransient(t *testing.T) {
	service := awserr.Classifier{
		TransientCodes: map[string]bool{"KMSInternalException": true},
		FinalCodes:     map[string]bool{"DisabledException": true},
	}
	tests := []struct {
		name        string
		err         error
		shared      bool // awserr.Transient
		withService bool // service.Transient
	}{
		{"plain error", errors.New("boom"), false, false},
		{"SDK throttle code", apiErr(400, "ThrottlingException", smithy.FaultUnknown), true, true},
		{"SDK throttle code, 429", apiErr(429, "TooManyRequestsException", smithy.FaultUnknown), true, true},
		{"SDK retryable code", apiErr(400, "RequestTimeoutException", smithy.FaultUnknown), true, true},
		{"ServiceUnavailable", apiErr(400, "ServiceUnavailable", smithy.FaultUnknown), true, true},
		{"InternalFailure", apiErr(400, "InternalFailure", smithy.FaultUnknown), true, true},
		{"client code", apiErr(400, "AccessDeniedException", smithy.FaultClient), false, false},
		{"unknown 4xx code", apiErr(400, "SomethingNew", smithy.FaultUnknown), false, false},
		{"server fault", apiErr(400, "SomethingNew", smithy.FaultServer), true, true},
		{"service's transient code", apiErr(400, "KMSInternalException", smithy.FaultUnknown), false, true},
		{"service's final code", apiErr(400, "DisabledException", smithy.FaultUnknown), false, false},
		{"service's final code with a 5xx status", apiErr(500, "DisabledException", smithy.FaultUnknown), true, false},
		{"server fault wins over a final code", apiErr(400, "DisabledException", smithy.FaultServer), true, true},
		{"5xx API error", apiErr(500, "SomethingNew", smithy.FaultUnknown), true, true},
		{"503 page that is not AWS JSON", response(503, errors.New("<html>")), true, true},
		{"501 page", response(501, errors.New("<html>")), true, true},
		{"404 page", response(404, errors.New("<html>")), false, false},
		{"retry quota spent", fmt.Errorf("op: %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}), true, true},
		{"context canceled", fmt.Errorf("op: %w", context.Canceled), true, true},
		{"deadline exceeded", fmt.Errorf("op: %w", context.DeadlineExceeded), true, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true, true},
		{"DNS failure", &net.DNSError{Err: "no such host", Name: "kms.invalid"}, true, true},
		{"SDK retryable judgement", fmt.Errorf("op: %w", retryable(true)), true, true},
		{"SDK not-retryable judgement", fmt.Errorf("op: %w", retryable(false)), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := awserr.Transient(tt.err); got != tt.shared {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.shared)
			}
			if got := service.Transient(tt.err); got != tt.withService {
				t.Errorf("service.Transient(%v) = %v, want %v", tt.err, got, tt.withService)
			}
		})
	}
}

func TestIsContextErr(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{context.Canceled, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{errors.New("context canceled"), false}, // the text is not the error
		{nil, false},
	}
	for _, tt := range tests {
		if got := awserr.IsContextErr(tt.err); got != tt.want {
			t.Errorf("IsContextErr(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
