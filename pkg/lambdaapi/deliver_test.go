package lambdaapi_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// TestDirectInvokeWithDeliver: a request with "deliver" fails as a Lambda
// function error typed by the contract's code (a Task's Retry and Catch
// see it); without "deliver" the error body is the answer, as always.
func TestDirectInvokeWithDeliver(t *testing.T) {
	s := start(t, true, config.Config{})
	token := s.NewTask(t)
	with := func(extra map[string]any) map[string]any {
		req := approveRequest(token)
		for k, v := range extra {
			req[k] = v
		}
		return req
	}
	email := map[string]any{"email": map[string]any{"to": []string{"a@example.com"}}}
	tests := []struct {
		name     string
		req      map[string]any
		wantType string // "": the error body is returned
	}{
		{"deliver off in the deployment", with(map[string]any{"deliver": email}), callbackurls.CodeInvalidDelivery},
		{"bad deliver, not even parsed", with(map[string]any{"deliver": map[string]any{"fax": true}}), callbackurls.CodeInvalidDelivery},
		{"another error with deliver", with(map[string]any{"deliver": email, "expiration": "yesterday"}), callbackurls.CodeInvalidDate},
		{"no deliver", with(map[string]any{"expiration": "yesterday"}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.CreateURLsFunction()(t.Context(), json.RawMessage(mustJSON(t, tc.req)))
			if tc.wantType == "" {
				if err != nil || out == nil {
					t.Fatalf("err %v, out %v: want the error body", err, out)
				}
				return
			}
			var fe messages.InvokeResponse_Error
			if !errors.As(err, &fe) || fe.Type != tc.wantType || out != nil {
				t.Fatalf("out %v, err %#v: want a function error of type %s", out, err, tc.wantType)
			}
			var body map[string]any
			if json.Unmarshal([]byte(fe.Message), &body) != nil || body["error"] != tc.wantType || body["message"] == "" {
				t.Errorf("message %q: want the error body", fe.Message)
			}
		})
	}
}
