package callbackurls_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestCallbackIDRequest: a request names its target with exactly one of
// token and callback_id; a callback id is held to Lambda's pattern and
// length.
func TestCallbackIDRequest(t *testing.T) {
	id1024 := strings.Repeat("Zm9v", 255) + "YmE="
	tests := []struct {
		name    string
		fields  map[string]any
		code    string // "" for a valid request
		message string
		want    callbackurls.TargetRef
	}{
		{"callback id", map[string]any{"token": nil, "callback_id": "YQ=="}, "", "",
			callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: "YQ=="}},
		{"1,024 characters", map[string]any{"token": nil, "callback_id": id1024}, "", "",
			callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: id1024}},
		{"token", nil, "", "", callbackurls.TargetRef{Kind: callbackurls.TaskToken, ID: "tok"}},
		{"both", map[string]any{"callback_id": "YQ=="}, callbackurls.CodeInvalidJSON, "token and callback_id: give exactly one", callbackurls.TargetRef{}},
		{"a near miss", map[string]any{"callback_id ": 1}, callbackurls.CodeInvalidJSON, `unknown field "callback_id "`, callbackurls.TargetRef{}},
		{"neither", map[string]any{"token": nil}, callbackurls.CodeInvalidJSON, "token or callback_id is required: give exactly one", callbackurls.TargetRef{}},
		{"empty", map[string]any{"token": nil, "callback_id": ""}, callbackurls.CodeInvalidJSON, "token or callback_id is required", callbackurls.TargetRef{}},
		{"not a string", map[string]any{"token": nil, "callback_id": 12}, callbackurls.CodeInvalidJSON, "callback_id: expected a string, got number", callbackurls.TargetRef{}},
		{"too long", map[string]any{"token": nil, "callback_id": id1024 + "a"}, callbackurls.CodeInvalidJSON, "callback_id must be 1 to 1024 characters of the base64 alphabet", callbackurls.TargetRef{}},
		{"outside the alphabet", map[string]any{"token": nil, "callback_id": "a-b"}, callbackurls.CodeInvalidJSON, "callback_id must be 1 to 1024 characters", callbackurls.TargetRef{}},
		{"padding inside", map[string]any{"token": nil, "callback_id": "YQ==YQ=="}, callbackurls.CodeInvalidJSON, "callback_id must be", callbackurls.TargetRef{}},
		{"three pads", map[string]any{"token": nil, "callback_id": "YQ==="}, callbackurls.CodeInvalidJSON, "callback_id must be", callbackurls.TargetRef{}},
		{"misspelt", map[string]any{"token": nil, "callbackId": "YQ=="}, callbackurls.CodeInvalidJSON, `unknown field "callbackId" (did you mean "callback_id"?)`, callbackurls.TargetRef{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := callbackurls.ParseCreateRequest(body(t, req(tc.fields)))
			if tc.code != "" {
				e := apiError(t, err, tc.code, callbackurls.BadInput)
				if !strings.Contains(e.Message, tc.message) {
					t.Errorf("message %q, want it to contain %q", e.Message, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, r.Target); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
			// And back: the request is written with its kind's member.
			out, err := r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := callbackurls.ParseCreateRequest(out)
			if err != nil || back.Target != r.Target {
				t.Errorf("round trip of %s: %+v, %v", out, back, err)
			}
		})
	}
}

// TestDurableRefusals: each refusal of a durable callback is a 4xx
// DurableCallbackError naming Lambda's code; a closed callback reads as a
// closed task does.
func TestDurableRefusals(t *testing.T) {
	for _, r := range []callbackurls.Refusal{callbackurls.Closed, callbackurls.Unknown, callbackurls.InvalidRef, callbackurls.InvalidDecision, callbackurls.RefusedOther} {
		if callbackurls.KindOf(callbackurls.CodeDurableCallbackError) != callbackurls.BadInput {
			t.Fatalf("DurableCallbackError is %v, want bad input", callbackurls.KindOf(callbackurls.CodeDurableCallbackError))
		}
		e := callbackurls.ExportTargetAPIError(&callbackurls.TargetError{Code: "CallbackTimeoutException", Refusal: r, Message: "m"}, callbackurls.DurableCallback)
		if e.Code != callbackurls.CodeDurableCallbackError || e.Kind != callbackurls.BadInput || e.TargetCode != "CallbackTimeoutException" ||
			e.Target != callbackurls.DurableCallback || e.Refusal != r || !strings.HasPrefix(e.Message, "CallbackTimeoutException: ") {
			t.Errorf("refusal %d: %+v", r, e)
		}
	}
}
