package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

// TestStatus pins every contract code at the status it has always had,
// through the core's own constructors (the code-to-kind table) and the one
// table from kinds to statuses. A code added to the core without a row here
// fails, and so does a code whose kind changes.
func TestStatus(t *testing.T) {
	status := map[string]int{
		callbackurls.CodeInvalidJSON:              400,
		callbackurls.CodeDuplicateActionName:      400,
		callbackurls.CodeInvalidAction:            400,
		callbackurls.CodeInvalidDate:              400,
		callbackurls.CodeParametersDisabled:       400,
		callbackurls.CodePostActionsDisabled:      400,
		callbackurls.CodeInvalidPostActionOutcome: 400,
		callbackurls.CodeInvalidJSONPath:          400,
		callbackurls.CodeOutputFormatting:         400,
		callbackurls.CodeInvalidPayload:           400,
		callbackurls.CodeExpiredPayload:           400,
		callbackurls.CodeActionMismatched:         400,
		callbackurls.CodeEncryptionRequired:       400,
		callbackurls.CodeDecryptionUnsupported:    400,
		callbackurls.CodeEncryptionFailed:         500,
		callbackurls.CodeInvalidPostActionBody:    400,
		callbackurls.CodeStepFunctionsError:       400,
		callbackurls.CodeDurableCallbackError:     400,
		callbackurls.CodeServiceError:             500,
		callbackurls.CodeURLTooLong:               400,
		callbackurls.CodeInvalidBaseURL:           400,
		callbackurls.CodeMethodNotAllowed:         405,
		callbackurls.CodeUnsupportedMedia:         415,
		callbackurls.CodeBodyTooLarge:             413,
		callbackurls.CodeNotFound:                 404,
		callbackurls.CodeInvalidInput:             400,
		callbackurls.CodeSignInRequired:           403,
		callbackurls.CodeNotAnApprover:            403,
		callbackurls.CodeSelfApproval:             403,
		callbackurls.CodeSignInDisabled:           400,
		callbackurls.CodeReceiptsDisabled:         400,
		callbackurls.CodeSignInFailed:             400,
		callbackurls.CodeInvalidDelivery:          400,
		callbackurls.CodeDeliveryFailed:           502,
		callbackurls.CodeInvalidSignature:         401,
	}
	// Codes that also stand for a passing outage: 503 through Unavailablef.
	transient := map[string]bool{callbackurls.CodeEncryptionFailed: true, callbackurls.CodeServiceError: true, callbackurls.CodeDeliveryFailed: true}
	for _, code := range callbackurls.Codes() {
		want, ok := status[code]
		if !ok {
			t.Errorf("%s: a code without a pinned status", code)
			continue
		}
		if got := httpapi.Status(callbackurls.Errorf(code, "x")); got != want {
			t.Errorf("Errorf(%s): %d, want %d", code, got, want)
		}
		wantOutage := want
		if transient[code] {
			wantOutage = http.StatusServiceUnavailable
		}
		if got := httpapi.Status(callbackurls.Unavailablef(code, "x")); got != wantOutage {
			t.Errorf("Unavailablef(%s): %d, want %d", code, got, wantOutage)
		}
		delete(status, code)
	}
	for code := range status {
		t.Errorf("%s: pinned here but not in the core's table", code)
	}
	if got := httpapi.Status(callbackurls.Errorf("NoSuchCode", "x")); got != 500 {
		t.Errorf("a code missing from the table: %d, want 500", got)
	}
	if got := httpapi.Status(&callbackurls.Error{Kind: 200}); got != 500 {
		t.Errorf("an unknown kind: %d, want 500", got)
	}
}

// TestWriteError checks the contract's body and the headers of a 503.
func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	e := &callbackurls.Error{Code: callbackurls.CodeStepFunctionsError, Kind: callbackurls.BadInput,
		Message: "TaskTimedOut: closed", TargetCode: callbackurls.TaskTimedOut, Target: callbackurls.TaskToken}
	httpapi.WriteError(rec, e, "tid1")
	if diff := cmp.Diff(`{"error":"StepFunctionsError","message":"TaskTimedOut: closed","transaction_id":"tid1","step_functions_error":"TaskTimedOut"}`+"\n", rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if rec.Code != 400 || rec.Header().Get("Retry-After") != "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}

	rec = httptest.NewRecorder()
	httpapi.WriteError(rec, callbackurls.Unavailablef(callbackurls.CodeServiceError, "later"), "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != httpapi.RetryAfterSeconds {
		t.Errorf("503: status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
