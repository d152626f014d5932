package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
)

// TestInvoke drives the stand-in with the SDK's own Lambda client.
func TestInvoke(t *testing.T) {
	srv := lambdatest.New(t)
	var ran atomic.Int64
	srv.AddFunction("echo", func(_ context.Context, p json.RawMessage) (any, error) {
		ran.Add(1)
		return p, nil
	})
	c := lambda.NewFromConfig(srv.Config())
	ctx := context.Background()

	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `{"a":1}` || out.StatusCode != http.StatusOK || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Errorf("RequestResponse: %d %q version %q error %v", out.StatusCode, out.Payload, aws.ToString(out.ExecutedVersion), out.FunctionError)
	}

	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("7"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || out.StatusCode != http.StatusAccepted || aws.ToString(out.ExecutedVersion) != "7" {
		t.Errorf("Event: %v %v", out, err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != http.StatusNoContent {
		t.Errorf("DryRun: %v %v", out, err)
	}
	if ran.Load() != 2 {
		t.Errorf("the function ran %d times, want 2 (not for DryRun)", ran.Load())
	}

	for _, tc := range []struct {
		name, function string
		payload        []byte
		code           string
	}{
		{"too large", "echo", append(append([]byte(`"`), bytes.Repeat([]byte("x"), lambdatest.MaxRequestBytes)...), '"'), "RequestEntityTooLargeException"},
		{"not JSON", "echo", []byte(`{`), "InvalidRequestContentException"},
		{"qualifier mismatch", "echo:1", []byte(`{}`), "InvalidParameterValueException"},
	} {
		in := &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: tc.payload}
		if strings.Contains(tc.function, ":") {
			in.Qualifier = aws.String("2")
		}
		_, err := c.Invoke(ctx, in)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if ran.Load() != 2 {
		t.Errorf("a refused invocation ran the function")
	}
}
