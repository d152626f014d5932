package callbackurls_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
)

const postRequest = `{"token":"tok","enable_output_parameters":true,"actions":[{"name":"hook","type":"post",
	"response":{"text":"spec $who"},
	"outcomes":[
		{"name":"yes","type":"success","output":{"ok":"$who"},"match":"yes","response":{"text":"accepted"}},
		{"name":"no","type":"failure","error":"Rejected","cause":"said no","match":"no"},
		{"name":"wait","type":"heartbeat","match":"wait"},
		{"name":"weird","type":"bogus","match":"weird"},
		{"name":"other","type":"success","output":"` + "%s" + `","match":"other"}]}]}`

func TestRespondPost(t *testing.T) {
	cfg := callbackurls.Config{EnablePostActions: true, PostActions: callbackurlstest.PostActions{}, EnableOutputParameters: true}
	e := newEnv(t, cfg, true)
	resp := e.create(t, strings.Replace(postRequest, "%s", strings.Repeat("x", 100), 1))
	hook := resp.URLs["hook"]
	// The method and Content-Type are the edge's to check (package
	// httpapi's tests): the core sees only the body.
	post := func(svc *callbackurls.Service, body string, dry bool) (*callbackurls.CallbackResult, error) {
		t.Helper()
		if svc == nil {
			svc = e.svc
		}
		return svc.Respond(context.Background(), &callbackurls.CallbackRequest{
			Query: query(t, hook), Submission: callbackurls.Submission{Body: []byte(body), Preview: dry}})
	}

	// Dry runs select but send nothing.
	res, err := post(nil, `{"decision":"yes"}`, true)
	if err != nil || res.Outcome != "yes" || res.Sent {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	e.assertNoCalls(t)

	for _, c := range []struct {
		decision, outcome, text string
	}{
		{"yes", "yes", "accepted"},
		{"no", "no", "spec $who"},
		{"wait", "wait", "spec $who"},
	} {
		res, err := post(nil, `{"decision":"`+c.decision+`"}`, false)
		if err != nil {
			t.Fatalf("%s: %v", c.decision, err)
		}
		if !res.Sent || res.Outcome != c.outcome || res.Action != "hook" || res.Type != callbackurls.Post {
			t.Errorf("%s: result %+v", c.decision, res)
		}
		if res.Response == nil || res.Response.Text == nil || *res.Response.Text != c.text {
			t.Errorf("%s: response spec %+v", c.decision, res.Response)
		}
	}
	// Post actions take no output parameters: "$who" is sent as is.
	want := []sfnCall{
		{Type: "success", Ref: "tok", Output: `{"ok":"$who"}`},
		{Type: "failure", Ref: "tok", Error: "Rejected", Cause: "said no"},
		{Type: "heartbeat", Ref: "tok"},
	}
	if diff := cmp.Diff(want, e.sfn.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	e.sfn = &callbackurlstest.Target{}
	e.svc = e.with(cfg)
	for _, c := range []struct {
		name, body string
		svc        *callbackurls.Service
		code       string
		kind       callbackurls.Kind
	}{
		{name: "not JSON", body: `{"decision":`, code: callbackurls.CodeInvalidPostActionBody, kind: callbackurls.BadInput},
		{name: "empty body", code: callbackurls.CodeInvalidPostActionBody, kind: callbackurls.BadInput},
		{name: "too large", body: `"` + strings.Repeat("x", callbackurls.MaxPostBodyBytes) + `"`, code: callbackurls.CodeBodyTooLarge, kind: callbackurls.TooLarge},
		{name: "no outcome matches", body: `{"decision":"maybe"}`, code: callbackurls.CodeInvalidPostActionBody, kind: callbackurls.BadInput},
		{name: "selected an unknown type", body: `{"decision":"weird"}`, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		{name: "switched off", svc: e.with(callbackurls.Config{PostActions: callbackurlstest.PostActions{}}), body: `{"decision":"yes"}`, code: callbackurls.CodePostActionsDisabled, kind: callbackurls.BadInput},
		{name: "evaluator gone", svc: e.with(callbackurls.Config{EnablePostActions: true}), body: `{"decision":"yes"}`, code: callbackurls.CodePostActionsDisabled, kind: callbackurls.BadInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, dry := range []bool{false, true} {
				res, err := post(c.svc, c.body, dry)
				apiError(t, err, c.code, c.kind)
				if res.Sent {
					t.Error("sent with an error")
				}
			}
		})
	}
	e.assertNoCalls(t)

	// The selected output is bounded like any output.
	e.sfn = &callbackurlstest.Target{}
	_, err = post(e.with(cfg), `"`+strings.Repeat("x", callbackurls.MaxPostBodyBytes-2)+`"`, false)
	apiError(t, err, callbackurls.CodeOutputFormatting, callbackurls.BadInput)
	e.assertNoCalls(t)
}
