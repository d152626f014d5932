package lambdaapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestDirectInvokeWithDeliver: a request with "deliver" fails as a Lambda
// function error typed by the contract's code (a Task's Retry and Catch
// see it); without "deliver" the error body is the answer, as always.
func TestDirectInvokeWithDeliver(t *testing.T) {
	f := newFixture(t, callbackurls.Config{BaseURL: "https://hooks.example.com"}, stageBase)
	token := f.newToken(t)
	tests := []struct {
		name     string
		req      map[string]any
		wantType string // "" : the error body is returned
	}{
		{"deliver off in the deployment", withMember(approveRequest(token), "deliver", map[string]any{"email": map[string]any{"to": []string{"a@example.com"}}}), callbackurls.CodeInvalidDelivery},
		{"bad deliver, not even parsed", withMember(approveRequest(token), "deliver", map[string]any{"fax": true}), callbackurls.CodeInvalidDelivery},
		{"another error with deliver", withMember(withMember(approveRequest(token), "expiration", "yesterday"), "deliver", map[string]any{"email": map[string]any{"to": []string{"a@example.com"}}}), callbackurls.CodeInvalidDate},
		{"no deliver", withMember(approveRequest(token), "expiration", "yesterday"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.req)
			out, err := f.create(t.Context(), raw)
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

func withMember(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}
