package respond

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func resultWithExpiry(typ callbackurls.ActionType, expiration time.Time) *callbackurls.CallbackResult {
	return &callbackurls.CallbackResult{Callback: &callbackurls.Callback{
		TransactionID: "tx1", Action: "approve", Type: typ,
		Payload:      &callbackurls.Payload{Expiration: expiration, Action: "approve", Type: typ},
		Presentation: &callbackurls.Presentation{},
	}}
}

// TestExpiryInBothZones: an expiry is said in UTC and, when the link was
// made with another offset, in that offset too, on the confirmation page
// and on the expired page.
func TestExpiryInBothZones(t *testing.T) {
	instant := time.Date(2029, 12, 31, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"UTC", instant, "31 December 2029 at 22:00 UTC"},
		{"Z as a fixed zone", instant.In(time.FixedZone("", 0)), "31 December 2029 at 22:00 UTC"},
		{"+02:00", instant.In(time.FixedZone("", 2*3600)),
			"31 December 2029 at 22:00 UTC (1 January 2030 at 00:00, UTC+02:00)"},
		{"-05:30", instant.In(time.FixedZone("", -(5*3600 + 1800))),
			"31 December 2029 at 22:00 UTC (31 December 2029 at 16:30, UTC-05:30)"},
		{"+14:00", instant.In(time.FixedZone("", 14*3600)),
			"31 December 2029 at 22:00 UTC (1 January 2030 at 12:00, UTC+14:00)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := resultWithExpiry(callbackurls.Success, tt.at)
			p := confirmPage(res, nil, nil, "")
			if diff := cmp.Diff(tt.want, p.Confirm.Expires); diff != "" {
				t.Errorf("confirmation page (-want +got):\n%s", diff)
			}
			e := callbackurls.Errorf(callbackurls.CodeExpiredPayload, "this URL expired")
			if got := errorPage(e, res).Lead; !strings.HasPrefix(got, "It stopped working on "+tt.want+". Nothing was sent.") {
				t.Errorf("expired page lead %q", got)
			}
		})
	}
}

// TestSettingChangedPages: a link the deployment's settings no longer
// accept tells the person what to do, in their words, not the
// operator's.
func TestSettingChangedPages(t *testing.T) {
	for _, code := range []string{callbackurls.CodeParametersDisabled, callbackurls.CodeEncryptionRequired, callbackurls.CodeDecryptionUnsupported} {
		t.Run(code, func(t *testing.T) {
			p := errorPage(callbackurls.Errorf(code, "output parameters are disabled in this deployment"), resultWithExpiry(callbackurls.Success, time.Time{}))
			if p.Heading != "This link no longer works" || !strings.Contains(p.Lead, "ask the sender for a new link") ||
				strings.Contains(strings.ToLower(p.Lead), "deployment") || !strings.Contains(p.Lead, "nothing was sent") {
				t.Errorf("heading %q, lead %q", p.Heading, p.Lead)
			}
			if got := p.Details[len(p.Details)-1]; got != "Error code: "+code {
				t.Errorf("small print %q", got)
			}
		})
	}
	p := errorPage(callbackurls.Errorf(callbackurls.CodePostActionsDisabled, "post actions are disabled"), resultWithExpiry(callbackurls.Post, time.Time{}))
	if p.Heading != "This link is for another system" {
		t.Errorf("a disabled post action's page: %q", p.Heading)
	}
}
