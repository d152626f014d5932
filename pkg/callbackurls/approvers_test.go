package callbackurls_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
)

func TestParseApprover(t *testing.T) {
	tests := []struct {
		in, want string
		kind     callbackurls.ApproverKind
		bad      string // part of the error
	}{
		{in: "ana@example.com", want: "ana@example.com", kind: callbackurls.ApproverEmail},
		{in: "Ana.Lima+ops@Example.COM", want: "ana.lima+ops@example.com", kind: callbackurls.ApproverEmail},
		{in: "o'brien@sub.example.co.uk", want: "o'brien@sub.example.co.uk", kind: callbackurls.ApproverEmail},
		{in: "@Example.com", want: "@example.com", kind: callbackurls.ApproverDomain},
		{in: "@xn--bcher-kva.example", want: "@xn--bcher-kva.example", kind: callbackurls.ApproverDomain},
		{in: "slack:U0123ABCD", want: "slack:U0123ABCD", kind: callbackurls.ApproverSlack},
		{in: "Slack:w0123abcd", want: "slack:W0123ABCD", kind: callbackurls.ApproverSlack},
		{in: "", bad: "no @"},
		{in: "ana", bad: "no @"},
		{in: "@com", bad: "two labels"},
		{in: "@", bad: "domain entry"},
		{in: "@-x.com", bad: "domain entry"},
		{in: "@1.2.3.4", bad: "domain entry"},
		{in: "ana@localhost", bad: "two labels"},
		{in: "ana@exa mple.com", bad: "two labels"},
		{in: "an a@example.com", bad: "before @"},
		{in: ".ana@example.com", bad: "before @"},
		{in: "an..a@example.com", bad: "before @"},
		{in: `"ana"@example.com`, bad: "before @"},
		{in: "ana,bob@example.com", bad: "before @"},
		{in: "ana@exämple.com", bad: "two labels"},
		{in: "ana@example..com", bad: "two labels"},
		{in: strings.Repeat("a", 65) + "@example.com", bad: "before @"},
		{in: "ana@" + strings.Repeat("a.", 130) + "com", bad: "longer than"},
		{in: "slack:", bad: "Slack user id"},
		{in: "slack:C0123ABCD", bad: "Slack user id"},
		{in: "slack:U01-23", bad: "Slack user id"},
		{in: "slack:U" + strings.Repeat("A", 30), bad: "Slack user id"},
	}
	for _, tt := range tests {
		got, kind, err := callbackurls.ParseApprover(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("ParseApprover(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.bad)
			}
			continue
		}
		if err != nil || got != tt.want || kind != tt.kind {
			t.Errorf("ParseApprover(%q) = %q, %d, %v; want %q, %d", tt.in, got, kind, err, tt.want, tt.kind)
		}
	}
}

func TestAuthorize(t *testing.T) {
	web := func(email string) *callbackurls.Identity {
		return &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: "https://id.example.com", Subject: "s-" + email, Email: email}
	}
	list := []string{"@ops.example.com", "ana@example.com", "bo@example.com", "slack:U0123ABCD"}
	tests := []struct {
		name      string
		approvers []string
		requester string
		id        *callbackurls.Identity
		code      string // "" allowed
	}{
		{"nobody", list, "", nil, callbackurls.CodeSignInRequired},
		{"on the list", list, "", web("ana@example.com"), ""},
		{"case does not matter", list, "", web("Ana@Example.com"), ""},
		{"outside the list", list, "", web("eve@example.com"), callbackurls.CodeNotAnApprover},
		{"no verified email", list, "", web(""), callbackurls.CodeNotAnApprover},
		{"domain entry", list, "", web("cy@ops.example.com"), ""},
		{"not a subdomain of the domain entry", list, "", web("cy@x.ops.example.com"), callbackurls.CodeNotAnApprover},
		{"not a suffix of the domain entry", list, "", web("cy@nops.example.com"), callbackurls.CodeNotAnApprover},
		{"two @ never match a domain entry", list, "", web("x@y@ops.example.com"), callbackurls.CodeNotAnApprover},
		{"slack user", list, "", &callbackurls.Identity{Via: callbackurls.ViaSlack, Subject: "U0123ABCD"}, ""},
		{"slack id signed in on the web", list, "", &callbackurls.Identity{Via: callbackurls.ViaWeb, Subject: "U0123ABCD"}, callbackurls.CodeNotAnApprover},
		{"requester on the list", list, "ana@example.com", web("ana@example.com"), callbackurls.CodeSelfApproval},
		{"requester in the domain", list, "cy@ops.example.com", web("CY@ops.example.com"), callbackurls.CodeSelfApproval},
		{"another approver with a requester", list, "ana@example.com", web("bo@example.com"), ""},
		{"requester alone: anyone else", nil, "ana@example.com", web("eve@else.example"), ""},
		{"requester alone: the requester", nil, "ana@example.com", web("ana@example.com"), callbackurls.CodeSelfApproval},
		{"requester alone: no email", nil, "ana@example.com", web(""), callbackurls.CodeNotAnApprover},
		{"requester alone: nobody", nil, "ana@example.com", nil, callbackurls.CodeSignInRequired},
		{"no rule", nil, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &callbackurls.Payload{Type: callbackurls.Success, Approvers: tt.approvers, Requester: tt.requester}
			err := p.Authorize(tt.id)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				return
			}
			e := callbackurls.AsError(err)
			if err == nil || e.Code != tt.code || e.Kind != callbackurls.Forbidden {
				t.Fatalf("Authorize = %v, want %s (forbidden)", err, tt.code)
			}
			for _, secret := range append([]string{"@"}, tt.approvers...) {
				if strings.Contains(e.Message, secret) {
					t.Errorf("the message %q names the list (%q)", e.Message, secret)
				}
			}
		})
	}
}

// approversEnv is a deployment that signs people in on the web and signs
// receipts with a double.
func approversEnv(t *testing.T) (*env, *callbackurlstest.Signer) {
	signer := &callbackurlstest.Signer{}
	e := newEnv(t, callbackurls.Config{SignIn: []string{callbackurls.ViaWeb}, Signer: signer}, true)
	return e, signer
}

func approversRequest(extra string) string {
	return `{"token":` + jsonString(token) + `,"title":"Deploy?",` + extra + `,"actions":[
	{"name":"approve","type":"success","output":{"ok":true}},
	{"name":"reject","type":"failure","error":"Rejected","cause":"no"},
	{"name":"bare_reject","type":"failure"},
	{"name":"comment","type":"failure","input":{"type":"object","properties":{"why":{"type":"string"}}}},
	{"name":"ping","type":"heartbeat"}]}`
}

func TestCreateWithApprovers(t *testing.T) {
	e, _ := approversEnv(t)
	resp := e.create(t, approversRequest(`"approvers":["Bo@Example.com","ana@example.com","@ops.example.com","ana@example.com"],"requester":"Cy@Example.com"`))
	for name, u := range resp.URLs {
		cb, err := e.svc.Open(context.Background(), query(t, u))
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		p := cb.Payload
		if name == "ping" {
			if p.Approvers != nil || p.Requester != "" || p.Receipt || cb.NeedsConfirmation {
				t.Errorf("the heartbeat's payload has approvers: %+v", p)
			}
			continue
		}
		want := []string{"@ops.example.com", "ana@example.com", "bo@example.com"}
		if diff := cmp.Diff(want, p.Approvers); diff != "" || p.Requester != "cy@example.com" || p.Receipt {
			t.Errorf("%s: approvers (-want +got):\n%s requester %q receipt %t", name, diff, p.Requester, p.Receipt)
		}
		if !cb.NeedsConfirmation {
			t.Errorf("%s: a URL with approvers acts on a browser's GET", name)
		}
	}
}

func TestCreateWithApproversErrors(t *testing.T) {
	web := callbackurls.Config{SignIn: []string{callbackurls.ViaWeb}, Receipts: true}
	tok := jsonString(token)
	tests := []struct {
		name string
		cfg  callbackurls.Config
		body string
		code string
		msg  string
	}{
		{"empty list", web, `{"token":` + tok + `,"approvers":[],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, "at least one"},
		{"not a list", web, `{"token":` + tok + `,"approvers":"ana@example.com","actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, "approvers"},
		{"bad entry", web, `{"token":` + tok + `,"approvers":["ana@example.com","bob"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, "approvers[1]"},
		{"too many", web, `{"token":` + tok + `,"approvers":[` + strings.Repeat(`"a@example.com",`, 50) + `"b@example.com"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, "at most 50"},
		{"bad requester", web, `{"token":` + tok + `,"requester":"@example.com","actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, "requester"},
		{"post action", callbackurls.Config{SignIn: []string{callbackurls.ViaWeb}, EnablePostActions: true, PostActions: callbackurlstest.PostActions{}},
			`{"token":` + tok + `,"approvers":["ana@example.com"],"actions":[{"name":"hook","type":"post","outcomes":[]}]}`,
			callbackurls.CodeInvalidAction, "for programs"},
		{"receipt on a post action", callbackurls.Config{Receipts: true, EnablePostActions: true, PostActions: callbackurlstest.PostActions{}},
			`{"token":` + tok + `,"receipt":true,"actions":[{"name":"hook","type":"post","outcomes":[]}]}`,
			callbackurls.CodeInvalidAction, "for programs"},
		{"output not an object", web, `{"token":` + tok + `,"approvers":["ana@example.com"],"actions":[{"name":"a","type":"success","output":"yes"}]}`,
			callbackurls.CodeInvalidAction, "JSON object"},
		{"receipt: output not an object", web, `{"token":` + tok + `,"receipt":true,"actions":[{"name":"a","type":"success","output":[1]}]}`,
			callbackurls.CodeInvalidAction, "JSON object"},
		{"output with an approval", web, `{"token":` + tok + `,"approvers":["ana@example.com"],"actions":[{"name":"a","type":"success","output":{"approval":1}}]}`,
			callbackurls.CodeInvalidAction, `"approval" member`},
		{"confirm false", web, `{"token":` + tok + `,"requester":"ana@example.com","actions":[{"name":"a","type":"failure","confirm":false}]}`,
			callbackurls.CodeInvalidAction, "confirm: false"},
		{"no sign-in", callbackurls.Config{Receipts: true}, `{"token":` + tok + `,"approvers":["ana@example.com"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeSignInDisabled, "sign in"},
		{"requester without sign-in", callbackurls.Config{}, `{"token":` + tok + `,"requester":"ana@example.com","actions":[{"name":"a","type":"failure"}]}`,
			callbackurls.CodeSignInDisabled, "sign in"},
		{"slack entry without Slack", web, `{"token":` + tok + `,"approvers":["slack:U0123ABCD"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeSignInDisabled, "Slack"},
		{"address with Slack alone, no bot token", callbackurls.Config{SignIn: []string{callbackurls.ViaSlack}},
			`{"token":` + tok + `,"approvers":["ana@example.com"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeSignInDisabled, "sign in"},
		{"receipt without a signing key", callbackurls.Config{SignIn: []string{callbackurls.ViaWeb}}, `{"token":` + tok + `,"receipt":true,"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeReceiptsDisabled, "signing key"},
		{"misspelt field", web, `{"token":` + tok + `,"aprovers":["ana@example.com"],"actions":[{"name":"a","type":"success","output":{}}]}`,
			callbackurls.CodeInvalidJSON, `did you mean "approvers"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, true)
			req, err := callbackurls.ParseCreateRequest([]byte(tt.body))
			if err == nil {
				_, _, err = e.svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
			}
			var ae *callbackurls.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || !strings.Contains(ae.Message, tt.msg) {
				t.Fatalf("got %v, want %s with %q", err, tt.code, tt.msg)
			}
		})
	}
}

// actAs opens u and acts on it as sub says.
func actAs(t *testing.T, svc *callbackurls.Service, u string, sub callbackurls.Submission) (*callbackurls.CallbackResult, error) {
	t.Helper()
	return svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: query(t, u), Submission: sub})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if e := callbackurls.AsError(err); err == nil || e.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func TestRespondWithApprovers(t *testing.T) {
	e, signer := approversEnv(t)
	resp := e.create(t, approversRequest(`"approvers":["ana@example.com","@ops.example.com"],"requester":"bo@example.com"`))
	ana := &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: "https://id.example.com", Subject: "a-1", Email: "ana@example.com", Name: "Ana Lima"}
	bo := &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: "https://id.example.com", Subject: "b-2", Email: "bo@example.com"}
	eve := &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: "https://id.example.com", Subject: "e-3", Email: "eve@example.com"}

	// A person's first GET: the sign-in page, nothing sent.
	res, err := actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Intent: callbackurls.Confirm})
	if err != nil || !res.Confirm || !res.SignIn || res.Sent {
		t.Fatalf("GET without a sign-in: %+v, %v", res, err)
	}
	// Signed in and allowed: the confirmation page.
	res, err = actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Intent: callbackurls.Confirm, Identity: ana})
	if err != nil || !res.Confirm || res.SignIn || res.Sent {
		t.Fatalf("GET signed in: %+v, %v", res, err)
	}
	// Refusals, for people and programs alike; nothing reaches the target.
	for _, tt := range []struct {
		name string
		sub  callbackurls.Submission
		code string
	}{
		{"a program", callbackurls.Submission{}, callbackurls.CodeSignInRequired},
		{"a program's HEAD", callbackurls.Submission{Preview: true}, callbackurls.CodeSignInRequired},
		{"a form without a sign-in", callbackurls.Submission{Form: url.Values{}}, callbackurls.CodeSignInRequired},
		{"someone else", callbackurls.Submission{Identity: eve}, callbackurls.CodeNotAnApprover},
		{"someone else's GET", callbackurls.Submission{Intent: callbackurls.Confirm, Identity: eve}, callbackurls.CodeNotAnApprover},
		{"the requester", callbackurls.Submission{Identity: bo}, callbackurls.CodeSelfApproval},
	} {
		_, err := actAs(t, e.svc, resp.URLs["approve"], tt.sub)
		if e := callbackurls.AsError(err); err == nil || e.Code != tt.code {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.code)
		}
	}
	e.assertNoCalls(t)
	if n := len(signer.Receipts()); n != 0 {
		t.Errorf("%d receipts signed for refused decisions", n)
	}

	// A heartbeat needs nobody.
	if _, err := actAs(t, e.svc, resp.URLs["ping"], callbackurls.Submission{}); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}

	// Ana approves.
	e.clock.Set(t0.Add(90 * time.Minute))
	res, err = actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Identity: ana, Form: url.Values{}})
	if err != nil || !res.Sent {
		t.Fatalf("approve: %+v, %v", res, err)
	}
	at := "2026-03-04T06:36:07Z"
	approval := `{"by":{"iss":"https://id.example.com","sub":"a-1","email":"ana@example.com","name":"Ana Lima"},"via":"web","at":"` + at + `","receipt":"test-receipt.1.` + resp.TransactionID + `"}`
	calls := e.sfn.Calls()
	if got, want := calls[len(calls)-1].Output, `{"ok":true,"approval":`+approval+`}`; !jsonEqual(t, got, want) {
		t.Errorf("output %s, want %s", got, want)
	}
	if res.Approval == nil || res.Approval.By != ana || res.Approval.Receipt == "" {
		t.Errorf("result's approval %+v", res.Approval)
	}
	sum := sha256.Sum256([]byte(token))
	wantReceipt := callbackurls.Receipt{TransactionID: resp.TransactionID, Action: "approve", Type: callbackurls.Success,
		By: ana, Via: "web", At: t0.Add(90 * time.Minute).Truncate(time.Second), Target: callbackurls.TaskToken, RefSHA256: sum}
	if diff := cmp.Diff([]callbackurls.Receipt{wantReceipt}, signer.Receipts()); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}

	// A domain entry rejects, with the cause as JSON text.
	cy := &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: "https://id.example.com", Subject: "c", Email: "cy@ops.example.com"}
	for _, name := range []string{"reject", "bare_reject", "comment"} {
		sub := callbackurls.Submission{Identity: cy, Form: url.Values{}}
		if name == "comment" {
			sub.Form = url.Values{"why": {"too risky"}}
		}
		if _, err := actAs(t, e.svc, resp.URLs[name], sub); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	calls = e.sfn.Calls()
	n := len(signer.Receipts())
	by := `{"by":{"iss":"https://id.example.com","sub":"c","email":"cy@ops.example.com"},"via":"web","at":"` + at + `","receipt":"test-receipt.%d.` + resp.TransactionID + `"}`
	for i, want := range []string{
		`{"cause":"no","approval":` + strings.Replace(by, "%d", "2", 1) + `}`,
		`{"approval":` + strings.Replace(by, "%d", "3", 1) + `}`,
		`{"input":{"why":"too risky"},"approval":` + strings.Replace(by, "%d", "4", 1) + `}`,
	} {
		if got := calls[len(calls)-3+i].Cause; !jsonEqual(t, got, want) {
			t.Errorf("cause %d: %s, want %s", i, got, want)
		}
	}
	inputSum := sha256.Sum256([]byte(`{"why":"too risky"}`))
	if r := signer.Receipts()[n-1]; string(r.InputSHA256) != string(inputSum[:]) || r.Action != "comment" || r.Type != callbackurls.Failure {
		t.Errorf("the comment's receipt %+v", r)
	}
}

func TestReceiptWithoutApprovers(t *testing.T) {
	e, signer := approversEnv(t)
	resp := e.create(t, approversRequest(`"receipt":true`))
	// Anyone holding the link decides, as without approvers; a browser's
	// GET asks first as usual.
	res, err := actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Intent: callbackurls.Confirm})
	if err != nil || !res.Confirm || res.SignIn {
		t.Fatalf("GET: %+v, %v", res, err)
	}
	// A signed-in person stays anonymous: the link does not ask who.
	someone := &callbackurls.Identity{Via: callbackurls.ViaWeb, Subject: "x", Email: "x@example.com"}
	if _, err := actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Identity: someone}); err != nil {
		t.Fatal(err)
	}
	want := `{"ok":true,"approval":{"via":"web","at":"2026-03-04T05:06:07Z","receipt":"test-receipt.1.` + resp.TransactionID + `"}}`
	if got := e.sfn.Calls()[0].Output; !jsonEqual(t, got, want) {
		t.Errorf("output %s, want %s", got, want)
	}
	if r := signer.Receipts()[0]; r.By != nil {
		t.Errorf("receipt names %+v", r.By)
	}

	// A passing signing failure sends nothing: the person tries again.
	signer.FailNext(1)
	_, err = actAs(t, e.svc, resp.URLs["reject"], callbackurls.Submission{})
	if e := callbackurls.AsError(err); err == nil || e.Kind != callbackurls.Unavailable {
		t.Fatalf("signing failure: %v", err)
	}
	if n := len(e.sfn.Calls()); n != 1 {
		t.Errorf("%d calls after a failed signature", n)
	}
}

func TestApprovalsNeedTheDeployment(t *testing.T) {
	e, _ := approversEnv(t)
	withApprovers := e.create(t, approversRequest(`"approvers":["ana@example.com"]`))
	withReceipt := e.create(t, approversRequest(`"receipt":true`))
	ana := &callbackurls.Identity{Via: callbackurls.ViaWeb, Subject: "a", Email: "ana@example.com"}

	// Sign-in turned off: the URLs with approvers stop, as post actions do
	// when their switch is turned off.
	noSignIn := e.with(callbackurls.Config{Signer: &callbackurlstest.Signer{}})
	_, err := actAs(t, noSignIn, withApprovers.URLs["approve"], callbackurls.Submission{Identity: ana})
	wantCode(t, err, callbackurls.CodeSignInDisabled)
	// No signing key: receipts requested cannot be made.
	noSigner := e.with(callbackurls.Config{SignIn: []string{callbackurls.ViaWeb}})
	_, err = actAs(t, noSigner, withReceipt.URLs["approve"], callbackurls.Submission{})
	wantCode(t, err, callbackurls.CodeReceiptsDisabled)
	e.assertNoCalls(t)
	// Approvers without a signing key: the approval says who, unsigned.
	if _, err := actAs(t, noSigner, withApprovers.URLs["approve"], callbackurls.Submission{Identity: ana}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Approval map[string]json.RawMessage `json:"approval"`
	}
	if err := json.Unmarshal([]byte(e.sfn.Calls()[0].Output), &out); err != nil || out.Approval["by"] == nil || out.Approval["receipt"] != nil {
		t.Errorf("unsigned approval %s (%v)", e.sfn.Calls()[0].Output, err)
	}
}

// FuzzParseApprover: an entry is refused, or its normal form is a fixed
// point that ParseApprover accepts as it is.
func FuzzParseApprover(f *testing.F) {
	for _, s := range []string{"ana@example.com", "@Example.COM", "slack:u0123abcd", "a..b@x.y", "@com", "ana@1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		n, kind, err := callbackurls.ParseApprover(entry)
		if err != nil {
			return
		}
		again, kind2, err := callbackurls.ParseApprover(n)
		if err != nil || again != n || kind2 != kind {
			t.Fatalf("%q normalises to %q, which gives %q (%v)", entry, n, again, err)
		}
		if strings.ContainsAny(n, ", \t\r\n") {
			t.Fatalf("%q normalises to %q, which the URL format cannot list", entry, n)
		}
	})
}

// TestSlackEmailApprovers: with Slack and a bot token, and no web sign-in,
// address and domain approvers and a requester are accepted, and a Slack
// identity matches them by its (looked-up) email only.
func TestSlackEmailApprovers(t *testing.T) {
	e := newEnv(t, callbackurls.Config{SignIn: []string{callbackurls.ViaSlack}, SlackBot: true}, true)
	resp := e.create(t, approversRequest(`"approvers":["@ops.example.com","slack:U0BO000001"],"requester":"cy@ops.example.com"`))
	cb, err := e.svc.Open(context.Background(), query(t, resp.URLs["approve"]))
	if err != nil {
		t.Fatal(err)
	}
	if !cb.Payload.NeedsEmail() {
		t.Error("NeedsEmail false with a domain entry and a requester")
	}
	slack := func(sub, email string) *callbackurls.Identity {
		return &callbackurls.Identity{Via: callbackurls.ViaSlack, Issuer: "T0TEAM0001", Subject: sub, Email: email}
	}
	for _, c := range []struct {
		id   *callbackurls.Identity
		code string
	}{
		{slack("U0ANA00001", "ana@ops.example.com"), ""},
		{slack("U0ANA00001", ""), callbackurls.CodeNotAnApprover}, // the requester rule needs an email
		{slack("U0BO000001", "bo@elsewhere.example"), ""},         // the slack: entry
		{slack("U0CY000001", "cy@ops.example.com"), callbackurls.CodeSelfApproval},
		{&callbackurls.Identity{Via: callbackurls.ViaWeb, Subject: "U0BO000001", Email: "x@y.example"}, callbackurls.CodeNotAnApprover},
	} {
		err := cb.Payload.Authorize(c.id)
		if got := callbackurls.AsError(err); (c.code == "") != (err == nil) || (err != nil && got.Code != c.code) {
			t.Errorf("%+v: %v, want %q", c.id, err, c.code)
		}
	}
	// Only Slack approvers: no email is ever needed.
	resp = e.create(t, approversRequest(`"approvers":["slack:U0BO000001"]`))
	if cb, err := e.svc.Open(context.Background(), query(t, resp.URLs["approve"])); err != nil || cb.Payload.NeedsEmail() {
		t.Errorf("%v, NeedsEmail %v", err, cb.Payload.NeedsEmail())
	}
}

// TestReceiptOfASlackClick: without approvers, a receipt's decision made
// through Slack still says who clicked and how; on the pages, nobody.
func TestReceiptOfASlackClick(t *testing.T) {
	signer := &callbackurlstest.Signer{}
	e := newEnv(t, callbackurls.Config{SignIn: []string{callbackurls.ViaSlack}, Signer: signer}, true)
	resp := e.create(t, approversRequest(`"receipt":true`))
	ana := &callbackurls.Identity{Via: callbackurls.ViaSlack, Issuer: "T0TEAM0001", Subject: "U0ANA00001", Name: "Ana"}
	res, err := actAs(t, e.svc, resp.URLs["approve"], callbackurls.Submission{Intent: callbackurls.Act, Identity: ana})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Approval; a == nil || a.Via != callbackurls.ViaSlack || a.By != ana || a.Receipt == "" {
		t.Errorf("approval %+v", res.Approval)
	}
	res, err = actAs(t, e.svc, resp.URLs["reject"], callbackurls.Submission{Intent: callbackurls.Act})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Approval; a == nil || a.Via != callbackurls.ViaWeb || a.By != nil {
		t.Errorf("approval %+v", res.Approval)
	}
}
