package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

// TestStatus pins the one table from kinds to statuses, with every code
// of the contract at the status it has always had.
func TestStatus(t *testing.T) {
	tests := []struct {
		code string
		kind callbackurls.Kind
		want int
	}{
		{callbackurls.CodeInvalidJSON, callbackurls.BadInput, 400},
		{callbackurls.CodeDuplicateActionName, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidAction, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidDate, callbackurls.BadInput, 400},
		{callbackurls.CodeParametersDisabled, callbackurls.BadInput, 400},
		{callbackurls.CodePostActionsDisabled, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidPostActionOutcome, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidJSONPath, callbackurls.BadInput, 400},
		{callbackurls.CodeOutputFormatting, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidPayload, callbackurls.BadInput, 400},
		{callbackurls.CodeExpiredPayload, callbackurls.BadInput, 400},
		{callbackurls.CodeActionMismatched, callbackurls.BadInput, 400},
		{callbackurls.CodeEncryptionRequired, callbackurls.BadInput, 400},
		{callbackurls.CodeDecryptionUnsupported, callbackurls.BadInput, 400},
		{callbackurls.CodeEncryptionFailed, callbackurls.Internal, 500},
		{callbackurls.CodeEncryptionFailed, callbackurls.Unavailable, 503},
		{callbackurls.CodeInvalidPostActionBody, callbackurls.BadInput, 400},
		{callbackurls.CodeStepFunctionsError, callbackurls.BadInput, 400},
		{callbackurls.CodeServiceError, callbackurls.Internal, 500},
		{callbackurls.CodeServiceError, callbackurls.Unavailable, 503},
		{callbackurls.CodeURLTooLong, callbackurls.BadInput, 400},
		{callbackurls.CodeInvalidBaseURL, callbackurls.BadInput, 400},
		{callbackurls.CodeMethodNotAllowed, callbackurls.NotAllowed, 405},
		{callbackurls.CodeUnsupportedMedia, callbackurls.UnsupportedMedia, 415},
		{callbackurls.CodeBodyTooLarge, callbackurls.TooLarge, 413},
		{callbackurls.CodeNotFound, callbackurls.NotFound, 404},
		{callbackurls.CodeInvalidInput, callbackurls.BadInput, 400},
	}
	for _, tt := range tests {
		e := callbackurls.NewError(tt.kind, tt.code, "x")
		if got := httpapi.Status(e); got != tt.want {
			t.Errorf("%s (%s): %d, want %d", tt.code, tt.kind, got, tt.want)
		}
	}
	if got := httpapi.Status(&callbackurls.Error{Kind: 200}); got != 500 {
		t.Errorf("an unknown kind: %d, want 500", got)
	}
}

// TestWriteError checks the contract's body and the headers of a 503.
func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	e := &callbackurls.Error{Code: callbackurls.CodeStepFunctionsError, Kind: callbackurls.BadInput,
		Message: "TaskTimedOut: closed", StepFunctionsCode: callbackurls.TaskTimedOut}
	httpapi.WriteError(rec, e, "tid1")
	if diff := cmp.Diff(`{"error":"StepFunctionsError","message":"TaskTimedOut: closed","transaction_id":"tid1","step_functions_error":"TaskTimedOut"}`, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if rec.Code != 400 || rec.Header().Get("Retry-After") != "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}

	rec = httptest.NewRecorder()
	httpapi.WriteError(rec, callbackurls.NewError(callbackurls.Unavailable, callbackurls.CodeServiceError, "later"), "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != httpapi.RetryAfterSeconds {
		t.Errorf("503: status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
