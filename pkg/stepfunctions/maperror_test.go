package stepfunctions

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestMapErrorRedactsToken covers messages that quote the token, which the
// stand-in only produces for task errors: the token must be replaced in every
// kind of returned error while the cause stays reachable.
func TestMapErrorRedactsToken(t *testing.T) {
	token := "AQCabcdefghijklmnopqrstuvwxyz0123456789+/=ABCDEFGH"
	apiErr := func(code string) error {
		return &smithy.OperationError{ServiceID: "SFN", OperationName: "SendTaskSuccess",
			Err: &smithy.GenericAPIError{Code: code, Message: "about '" + token + "' and " + token}}
	}
	tests := []struct {
		name        string
		err         error
		wantText    string
		unavailable bool
	}{
		{
			name:        "unavailable",
			err:         apiErr("ThrottlingException"),
			wantText:    "stepfunctions: op: dependency unavailable: operation error SFN: SendTaskSuccess, api error ThrottlingException: about '<task token>' and <task token>",
			unavailable: true,
		},
		{
			name:     "other",
			err:      apiErr("AccessDeniedException"),
			wantText: "stepfunctions: op: operation error SFN: SendTaskSuccess, api error AccessDeniedException: about '<task token>' and <task token>",
		},
		{
			name:     "task error drops the message",
			err:      apiErr(callbackurls.TaskDoesNotExist),
			wantText: "TaskDoesNotExist: the task does not exist",
		},
		{
			name: "validation keeps field and constraint only",
			// Coral's validation message quotes the value of non-sensitive members.
			err: &smithy.GenericAPIError{Code: ValidationException,
				Message: "2 validation errors detected: Value '" + token + "' at 'taskToken' failed to satisfy constraint: " +
					"Member must have length less than or equal to 2048; " +
					"Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768"},
			wantText: "ValidationException: taskToken: Member must have length less than or equal to 2048; " +
				"cause: Member must have length less than or equal to 32768",
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mapError("op", token, tc.err)
			if diff := cmp.Diff(tc.wantText, got.Error()); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if errors.Is(got, callbackurls.ErrUnavailable) != tc.unavailable {
				t.Errorf("errors.Is(ErrUnavailable) = %v, want %v", !tc.unavailable, tc.unavailable)
			}
			var te *callbackurls.TargetError
			if !errors.As(got, &te) && !errors.Is(got, tc.err) {
				t.Errorf("the SDK error is not reachable from %v", got)
			}
		})
	}
}

func TestRedactShortToken(t *testing.T) {
	// A token this short is not secret-looking; replacing it would garble
	// the text ("op" inside "operation").
	err := errors.New("operation failed")
	if got := redact(err, "op"); got != err {
		t.Errorf("redact changed the error: %v", got)
	}
	if got := redact(err, "operation-token-absent"); got != err {
		t.Errorf("redact wrapped an error without the token: %v", got)
	}
	long := errors.New("bad token " + strings.Repeat("Z", 20))
	if got := redact(long, strings.Repeat("Z", 20)); got.Error() != "bad token <task token>" || !errors.Is(got, long) {
		t.Errorf("redact = %v", got)
	}
}
