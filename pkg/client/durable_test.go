package client_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
)

// TestDurableRoundTrip: a request for a callback id makes the same links,
// and they reach Lambda's durable callback API: a heartbeat (twice), then
// the approval; a second click is the closed callback's 400.
func TestDurableRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, tr := range e.transports() {
		t.Run(tr.name, func(t *testing.T) {
			id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "execution %d/callback+%d", i, i))
			e.Durable.AddCallback(id)
			urls, err := tr.c.CreateURLs(ctx, client.Request{
				CallbackID: id,
				Title:      "Approve the release",
				Actions: []client.Action{
					client.Success("approve", map[string]any{"approved": true}),
					client.Failure("reject", "Rejected", "no"),
					client.Heartbeat("still_working"),
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			p := e.openPayload(t, urls.URLs["approve"])
			if p.Target != (callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: id}) {
				t.Errorf("payload target %+v", p.Target)
			}
			for _, step := range []struct {
				name   string
				status int
			}{{"still_working", 200}, {"still_working", 200}, {"approve", 200}, {"reject", 400}} {
				if got := e.click(t, urls.URLs[step.name]); got != step.status {
					t.Errorf("%s: %d, want %d", step.name, got, step.status)
				}
			}
			// A callback id's URLs never reach Step Functions.
			if n := len(e.SFN.Calls()); n != 0 {
				t.Errorf("%d calls reached Step Functions", n)
			}
			cb, _ := e.Durable.Callback(id)
			if diff := cmp.Diff(durabletest.CallbackState{Status: durabletest.StatusSucceeded, Result: []byte(`{"approved":true}`), Heartbeats: 2}, cb); diff != "" {
				t.Errorf("callback (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDurableRequestChecks: exactly one reference, and a callback id
// within Lambda's pattern, found before sending.
func TestDurableRequestChecks(t *testing.T) {
	e := newEnv(t)
	c := e.lambdaClient()
	actions := []client.Action{client.Heartbeat("ping")}
	tests := []struct {
		name string
		req  client.Request
		msg  string
	}{
		{"both", client.Request{Token: "tok", CallbackID: "YQ==", Actions: actions}, "token and callback_id: give exactly one"},
		{"neither", client.Request{Actions: actions}, "token or callback_id is required: give exactly one"},
		{"outside the pattern", client.Request{CallbackID: "a-b", Actions: actions}, "callback_id must be 1 to 1024 characters of the base64 alphabet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateURLs(context.Background(), tc.req)
			ce := asError(t, err, client.ErrInvalidJSON)
			if !ce.Local || ce.Message[:min(len(ce.Message), len(tc.msg))] != tc.msg {
				t.Errorf("error %+v, want a local %q", ce, tc.msg)
			}
		})
	}
	if n := len(e.Lambda.Calls()); n != 0 {
		t.Errorf("%d invokes reached Lambda", n)
	}
}
