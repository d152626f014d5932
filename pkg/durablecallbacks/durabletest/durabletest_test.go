package durabletest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
)

// TestSDKClient drives the stand-in with the AWS SDK's own Lambda client:
// its paths, signatures, bodies and typed errors are Lambda's.
func TestSDKClient(t *testing.T) {
	srv := durabletest.New(t)
	id := "Y2Ir" + strings.Repeat("Zm9v", 254) + "+/8=" // 1,024 characters
	srv.AddCallback(id)
	c := lambda.NewFromConfig(srv.Config())
	ctx := context.Background()
	for range 2 {
		if _, err := c.SendDurableExecutionCallbackHeartbeat(ctx, &lambda.SendDurableExecutionCallbackHeartbeatInput{CallbackId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SendDurableExecutionCallbackSuccess(ctx, &lambda.SendDurableExecutionCallbackSuccessInput{CallbackId: aws.String(id), Result: []byte(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	want := durabletest.CallbackState{Status: durabletest.StatusSucceeded, Result: []byte(`{"ok":true}`), Heartbeats: 2}
	if got, _ := srv.Callback(id); !cmp.Equal(want, got) {
		t.Errorf("callback %+v, want %+v", got, want)
	}

	// Typed errors, as the SDK decodes Lambda's.
	_, err := c.SendDurableExecutionCallbackFailure(ctx, &lambda.SendDurableExecutionCallbackFailureInput{CallbackId: aws.String(id),
		Error: &types.ErrorObject{ErrorType: aws.String("Late")}})
	var closed *types.CallbackTimeoutException
	if !errors.As(err, &closed) {
		t.Errorf("a second answer: %v, want CallbackTimeoutException", err)
	}
	_, err = c.SendDurableExecutionCallbackHeartbeat(ctx, &lambda.SendDurableExecutionCallbackHeartbeatInput{CallbackId: aws.String("Zm9vYmFy")})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("an unknown callback: %v, want ResourceNotFoundException", err)
	}
	srv.AddCallback("YQ==")
	srv.Throttle("", 3)
	_, err = c.SendDurableExecutionCallbackHeartbeat(ctx, &lambda.SendDurableExecutionCallbackHeartbeatInput{CallbackId: aws.String("YQ==")})
	var throttled *types.TooManyRequestsException
	if !errors.As(err, &throttled) || aws.ToString(throttled.RetryAfterSeconds) != durabletest.RetryAfterSeconds || throttled.Reason != "CallerRateLimitExceeded" {
		t.Errorf("throttled: %v (%+v)", err, throttled)
	}
	if n := srv.Count(durabletest.OpHeartbeat); n != 2+1+3 {
		t.Errorf("%d heartbeat requests, want 6 (the SDK retries throttling twice)", n)
	}
	// The failure's body is Lambda's ErrorObject.
	srv.AddCallback("Yg==")
	if _, err := c.SendDurableExecutionCallbackFailure(ctx, &lambda.SendDurableExecutionCallbackFailureInput{CallbackId: aws.String("Yg=="),
		Error: &types.ErrorObject{ErrorType: aws.String("Rejected"), ErrorMessage: aws.String("no"), StackTrace: []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Callback("Yg==")
	if diff := cmp.Diff(durabletest.ErrorObject{ErrorType: aws.String("Rejected"), ErrorMessage: aws.String("no"), StackTrace: []string{"a"}}, got.Error); diff != "" {
		t.Errorf("error object (-want +got):\n%s", diff)
	}
}
