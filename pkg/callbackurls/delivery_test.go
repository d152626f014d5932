package callbackurls_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// countingCodec counts the payloads sealed: a request refused before any
// URL is made seals none.
type countingCodec struct {
	callbackurls.PayloadCodec
	encoded atomic.Int64
}

func (c *countingCodec) Encode(ctx context.Context, p *callbackurls.Payload) (string, error) {
	c.encoded.Add(1)
	return c.PayloadCodec.Encode(ctx, p)
}

func (c *countingCodec) Authenticates() bool {
	a, ok := c.PayloadCodec.(interface{ Authenticates() bool })
	return !ok || a.Authenticates()
}

const topic = "arn:aws:sns:eu-west-1:123456789012:approvals"

type deliveryEnv struct {
	svc   *callbackurls.Service
	codec *countingCodec
	sfn   *callbackurlstest.Target
	d     *callbackurlstest.Delivery
}

func newDeliveryEnv(t *testing.T, encrypted bool) *deliveryEnv {
	t.Helper()
	e := &deliveryEnv{codec: &countingCodec{PayloadCodec: codecFor(t, encrypted)}, sfn: &callbackurlstest.Target{CloseTasks: true},
		d: &callbackurlstest.Delivery{Topics: []string{topic}}}
	e.svc = callbackurls.New(callbackurls.Config{BaseURL: testBase, Now: func() time.Time { return t0 }, Composer: messages.Composer{},
		Deliverer: e.d, Notifier: e.d}, e.codec, callbackurls.Targets{callbackurls.TaskToken: e.sfn})
	return e
}

func (e *deliveryEnv) create(body string) (*callbackurls.CreateResponse, error) {
	req, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		return nil, err
	}
	resp, _, err := e.svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	return resp, err
}

// askBody is a two-action request with extra members.
func askBody(extra string) string {
	return `{"token":"tok","title":"Deploy 1.4","description":"To production.","expiration":"2026-03-05T10:00:00+01:00",` + extra + `,"actions":[
	{"name":"approve","type":"success","output":{"ok":true},"label":"Approve"},
	{"name":"reject","type":"failure","error":"Rejected","label":"Reject",
	 "input":{"type":"object","properties":{"comment":{"type":"string","format":"multiline","title":"Comment"}}}},
	{"name":"ping","type":"heartbeat"}]}`
}

// TestBadDeliver: every bad messages or deliver input is a 4xx before a
// URL is sealed or a message sent.
func TestBadDeliver(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = `"p` + string(rune('a'+i%26)) + `@example.com"`
	}
	tests := []struct {
		name, extra, code, in string
	}{
		{"unknown message kind", `"messages":["fax"]`, callbackurls.CodeInvalidJSON, `unknown kind "fax"`},
		{"unknown channel", `"deliver":{"teams":{"channel":"x"}}`, callbackurls.CodeInvalidDelivery, `unknown channel "teams"`},
		{"slack channel by name", `"deliver":{"slack":{"channel":"#x"}}`, callbackurls.CodeInvalidDelivery, "must be a Slack channel id"},
		{"slack unknown member", `"deliver":{"slack":{"channel":"C0123","thread_ts":"1"}}`, callbackurls.CodeInvalidDelivery, `unknown member "thread_ts"`},
		{"misspelt email member", `"deliver":{"email":{"to":["a@example.com"],"bcc":["b@example.com"]}}`, callbackurls.CodeInvalidDelivery, `unknown member "bcc"`},
		{"no channel", `"deliver":{"confirm":true}`, callbackurls.CodeInvalidDelivery, "needs a channel"},
		{"no recipient", `"deliver":{"email":{"to":[]}}`, callbackurls.CodeInvalidDelivery, "at least one address"},
		{"51 recipients", `"deliver":{"email":{"to":[` + strings.Join(many, ",") + `]}}`, callbackurls.CodeInvalidDelivery, "at most 50 recipients"},
		{"header injection in an address", `"deliver":{"email":{"to":["a@example.com\r\nBcc: victim@example.com"]}}`, callbackurls.CodeInvalidDelivery, "to[0] is not an email address"},
		{"display name", `"deliver":{"email":{"to":["Alice <a@example.com>"]}}`, callbackurls.CodeInvalidDelivery, "not an email address"},
		{"bad reply_to", `"deliver":{"email":{"to":["a@example.com"],"reply_to":"x\ny@example.com"}}`, callbackurls.CodeInvalidDelivery, "reply_to"},
		{"not a topic", `"deliver":{"sns":{"topic_arn":"arn:aws:sqs:eu-west-1:123456789012:q"}}`, callbackurls.CodeInvalidDelivery, "SNS topic ARN"},
		{"topic outside the list", `"deliver":{"sns":{"topic_arn":"arn:aws:sns:eu-west-1:123456789012:other"}}`, callbackurls.CodeInvalidDelivery, "topic not allowed"},
		{"wrong type", `"deliver":{"email":{"to":"a@example.com"}}`, callbackurls.CodeInvalidDelivery, "deliver.email.to"},
		{"message_actions alone", `"message_actions":["approve"]`, callbackurls.CodeInvalidJSON, "ask for messages or deliver"},
		{"message_actions unknown", `"messages":["email"],"message_actions":["nope"]`, callbackurls.CodeInvalidJSON, `"nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newDeliveryEnv(t, true)
			_, err := e.create(askBody(tc.extra))
			var ae *callbackurls.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Kind != callbackurls.BadInput || !strings.Contains(ae.Message, tc.in) {
				t.Fatalf("err = %v, want %s (bad input) containing %q", err, tc.code, tc.in)
			}
			if n := e.codec.encoded.Load(); n != 0 || len(e.d.Asks()) != 0 {
				t.Errorf("%d payloads sealed and %d asks sent before the refusal", n, len(e.d.Asks()))
			}
		})
	}
	t.Run("header injection in the subject", func(t *testing.T) {
		e := newDeliveryEnv(t, true)
		body := strings.Replace(askBody(`"deliver":{"email":{"to":["a@example.com"]}}`), `"Deploy 1.4"`, `"Deploy\r\nBcc: victim@example.com"`, 1)
		_, err := e.create(body)
		var ae *callbackurls.Error
		if !errors.As(err, &ae) || ae.Code != callbackurls.CodeInvalidDelivery || e.codec.encoded.Load() != 0 {
			t.Fatalf("err = %v, sealed %d", err, e.codec.encoded.Load())
		}
	})
	t.Run("delivery off", func(t *testing.T) {
		codec := &countingCodec{PayloadCodec: codecFor(t, true)}
		svc := callbackurls.New(callbackurls.Config{BaseURL: testBase, Composer: messages.Composer{}, Now: func() time.Time { return t0 }}, codec, nil)
		req, err := callbackurls.ParseCreateRequest([]byte(askBody(`"deliver":{"email":{"to":["a@example.com"]}}`)))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
		var ae *callbackurls.Error
		if !errors.As(err, &ae) || ae.Code != callbackurls.CodeInvalidDelivery || !strings.Contains(ae.Message, "SENDER_EMAIL") || codec.encoded.Load() != 0 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("confirm without encryption", func(t *testing.T) {
		e := newDeliveryEnv(t, false)
		_, err := e.create(askBody(`"deliver":{"email":{"to":["a@example.com"]},"confirm":true}`))
		var ae *callbackurls.Error
		if !errors.As(err, &ae) || ae.Code != callbackurls.CodeInvalidDelivery || !strings.Contains(ae.Message, "encrypted") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMessagesInResponse(t *testing.T) {
	e := newDeliveryEnv(t, true)
	resp, err := e.create(askBody(`"messages":["teams","slack"]`))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Messages
	if m == nil || m.Email != nil || m.Teams == nil || m.Slack == nil || resp.Delivered != nil {
		t.Fatalf("messages %+v, delivered %+v", m, resp.Delivered)
	}
	// Heartbeats are left out unless named.
	if strings.Contains(string(m.Teams), resp.URLs["ping"]) {
		t.Error("the heartbeat is in the card")
	}
	resp, err = e.create(askBody(`"messages":["email"],"message_actions":["approve","ping"]`))
	if err != nil {
		t.Fatal(err)
	}
	text := resp.Messages.Email.Text
	if !strings.Contains(text, resp.URLs["ping"]) || strings.Contains(text, resp.URLs["reject"]) {
		t.Errorf("message_actions not obeyed:\n%s", text)
	}
}

func TestDeliverAndConfirm(t *testing.T) {
	ctx := context.Background()
	e := newDeliveryEnv(t, true)
	resp, err := e.create(askBody(`"deliver":{"email":{"to":["a@example.com"],"cc":["b@example.com"],"reply_to":"c@example.com"},"sns":{"topic_arn":"` + topic + `"},"confirm":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Messages != nil || resp.Delivered == nil || resp.Delivered.Email == nil || resp.Delivered.SNS == nil {
		t.Fatalf("response: messages %+v delivered %+v", resp.Messages, resp.Delivered)
	}
	asks := e.d.Asks()
	if len(asks) != 1 || asks[0].Email == nil || !strings.Contains(asks[0].Email.Text, resp.URLs["approve"]) {
		t.Fatalf("asks %+v", asks)
	}
	act := func(action string, sub callbackurls.Submission) *callbackurls.CallbackResult {
		t.Helper()
		u, err := url.Parse(resp.URLs[action])
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Respond(ctx, &callbackurls.CallbackRequest{Query: u.Query(), Submission: sub})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return res
	}
	if res := act("ping", callbackurls.Submission{}); res.Confirmation != callbackurls.NoConfirmation || len(e.d.Confirmations()) != 0 {
		t.Fatalf("a heartbeat confirmed: %v", res.Confirmation)
	}
	e.d.ConfirmErr = errors.New("SES is down")
	res := act("reject", callbackurls.Submission{Body: []byte(`{"comment":"Not today."}`)})
	if !res.Sent || res.Confirmation != callbackurls.ConfirmationFailed {
		t.Fatalf("sent %v, confirmation %v: a failed confirmation must leave the decision standing", res.Sent, res.Confirmation)
	}
	got := e.d.Confirmations()
	if len(got) != 1 {
		t.Fatalf("%d confirmations", len(got))
	}
	c := got[0]
	want := callbackurls.ConfirmRoute{To: []string{"a@example.com"}, CC: []string{"b@example.com"}, ReplyTo: "c@example.com", Topic: topic}
	if diff := cmp.Diff(want, c.Route); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
	if c.Type != callbackurls.Failure || c.Label != "Reject" || c.Title != "Deploy 1.4" || c.Input["comment"] != "Not today." || c.TransactionID != resp.TransactionID {
		t.Errorf("confirmation %+v", c)
	}
	// The confirmation renders.
	m, err := messages.Composer{}.Confirmation(&c)
	if err != nil || !strings.Contains(m.Text, "Not today.") || m.Subject != "Rejected: Deploy 1.4" {
		t.Errorf("rendered %+v, %v", m, err)
	}
}

func TestDeliveryFailed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transient bool
		kind      callbackurls.Kind
	}{{"refused", false, callbackurls.Upstream}, {"throttled", true, callbackurls.Unavailable}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDeliveryEnv(t, true)
			e.d.Err = &callbackurls.DeliveryError{Channel: "email", Code: "MessageRejected", Message: "Email address is not verified.", Transient: tc.transient}
			_, err := e.create(askBody(`"deliver":{"email":{"to":["a@example.com"]}}`))
			var ae *callbackurls.Error
			if !errors.As(err, &ae) || ae.Code != callbackurls.CodeDeliveryFailed || ae.Kind != tc.kind ||
				ae.Message != "delivery by email failed: MessageRejected: Email address is not verified." {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestConfirmRouteInPayload(t *testing.T) {
	e := newDeliveryEnv(t, true)
	resp, err := e.create(askBody(`"deliver":{"email":{"to":["a@example.com"]},"confirm":true}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"approve": true, "reject": true, "ping": false} {
		u, _ := url.Parse(resp.URLs[name])
		p, err := e.codec.Decode(context.Background(), u.Query().Get("data"))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(p.Confirm) > 0; got != want {
			t.Errorf("%s: route in payload %v, want %v", name, got, want)
		}
	}
	var r callbackurls.ConfirmRoute
	u, _ := url.Parse(resp.URLs["approve"])
	p, _ := e.codec.Decode(context.Background(), u.Query().Get("data"))
	if err := json.Unmarshal(p.Confirm, &r); err != nil || r.To[0] != "a@example.com" {
		t.Errorf("route %s: %v", p.Confirm, err)
	}
}

// noCodeBody is the request examples/no-code-approval's Task sends, for a
// token.
func noCodeBody(token string) string {
	tok, _ := json.Marshal(token)
	return `{"token":` + string(tok) + `,"title":"Deploy release 1.4 to production",
	"description":"Changes: the new billing page and two fixes. Risk: low; rollback takes five minutes.",
	"expiration":"2026-03-05T10:00:00Z",
	"actions":[
	 {"name":"approve","type":"success","label":"Approve","output":{"approved":true}},
	 {"name":"reject","type":"failure","label":"Reject","error":"Rejected",
	  "input":{"type":"object","properties":{"comment":{"type":"string","format":"multiline","title":"Comment",
	   "description":"Why? The requester reads this."}}}}],
	"deliver":{"email":{"to":["alice@example.com"]},"confirm":true}}`
}

// TestTextLinksWithRealTokens: with real task tokens and an API Gateway
// base URL, the no-code example's request (email only, through SES) in
// each key mode: every line of its plain text fits; a link too long for a
// line is replaced by a shorter one, or, where even that does not fit
// (KMS envelope keys), named with a pointer to the HTML button.
func TestTextLinksWithRealTokens(t *testing.T) {
	kms := kmstest.New(t)
	for _, mode := range []struct {
		name string
		keys func(t *testing.T) payload.KeySource
	}{
		{"static keyring", func(t *testing.T) payload.KeySource { return testKeyring(t) }},
		{"KMS HMAC key", func(t *testing.T) payload.KeySource { return kmsSource(t, kms, kmstest.HMACAlias) }},
		{"KMS envelope key", func(t *testing.T) payload.KeySource { return kmsSource(t, kms, kmstest.Alias) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			d := &callbackurlstest.Delivery{}
			svc := callbackurls.New(callbackurls.Config{BaseURL: testBase, Now: func() time.Time { return t0 }, Composer: messages.Composer{},
				Deliverer: d, Notifier: d}, &payload.Codec{Keys: mode.keys(t)}, nil)
			longest, lean, html := 0, 0, 0
			for i, tok := range corpus.Tokens() {
				if i >= 20 {
					break
				}
				req, err := callbackurls.ParseCreateRequest([]byte(noCodeBody(tok)))
				if err != nil {
					t.Fatal(err)
				}
				resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
				if err != nil {
					t.Fatalf("token %d: %v", i, err)
				}
				asks := d.Asks()
				text := asks[len(asks)-1].Email.Text
				for _, line := range strings.Split(text, "\n") {
					longest = max(longest, len(line))
					if len(line) > callbackurls.MaxTextLine {
						t.Fatalf("token %d: a line of %d characters", i, len(line))
					}
				}
				lean += strings.Count(text, "\n"+testBase+"/respond?data=")
				html += strings.Count(strings.ReplaceAll(text, "\n", " "), "use the button in this mail's HTML version")
				for _, name := range []string{"approve", "reject"} {
					if !strings.Contains(text, resp.URLs[name]) && !strings.Contains(text, "\n"+testBase+"/respond?data=") && !strings.Contains(text, "HTML version") {
						t.Errorf("token %d: no %s link in the text:\n%s", i, name, text)
					}
				}
			}
			t.Logf("longest text line %d characters; of %d links %d shortened for the text, %d left to the HTML", longest, 2*min(20, len(corpus.Tokens())), lean, html)
			if mode.name != "KMS envelope key" && html > 0 {
				t.Errorf("%d links do not fit plain text even shortened", html)
			}
		})
	}
}

func kmsSource(t *testing.T, srv *kmstest.Server, key string) payload.KeySource {
	t.Helper()
	s, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: key})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLinkTooLongForText: a link too long for plain text even without the
// page's texts is refused where plain text is all there is (SNS, the
// caller's messages), and named without its link in the plain-text part
// of an email only SES sends (its HTML part has the button).
func TestLinkTooLongForText(t *testing.T) {
	// A cause that does not compress (random characters).
	long := `,"actions":[{"name":"approve","type":"success","output":{"approved":true}},
	{"name":"reject","type":"failure","error":"Rejected","cause":"` + corpus.Tokens()[1][:300] + `"}]`
	body := func(extra string) string {
		tok, _ := json.Marshal(corpus.Tokens()[0])
		return `{"token":` + string(tok) + `,"title":"Deploy"` + long + extra + `}`
	}
	for name, tc := range map[string]struct {
		extra string
		ok    bool
	}{
		"SES only":        {`,"deliver":{"email":{"to":["a@example.com"]}}`, true},
		"SES and SNS":     {`,"deliver":{"email":{"to":["a@example.com"]},"sns":{"topic_arn":"` + topic + `"}}`, false},
		"messages' email": {`,"messages":["email"]`, false},
	} {
		t.Run(name, func(t *testing.T) {
			e := newDeliveryEnv(t, true)
			resp, err := e.create(body(tc.extra))
			if !tc.ok {
				var ae *callbackurls.Error
				if !errors.As(err, &ae) || ae.Code != callbackurls.CodeURLTooLong || !strings.Contains(ae.Message, "reject") {
					t.Fatalf("err = %v, want UrlTooLong for reject", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := e.d.Asks()[0].Email
			if !strings.Contains(m.Text, "Reject: use the button in this mail's HTML version") || strings.Contains(m.Text, "action=reject") ||
				!strings.Contains(m.HTML, strings.ReplaceAll(resp.URLs["reject"], "&", "&amp;")) {
				t.Errorf("text:\n%s", m.Text)
			}
		})
	}
}

// FuzzDeliver: whatever "deliver" holds, a request is refused with a 4xx
// or its addresses are plain addresses within the bounds, and a route
// read back from a payload is held to the same.
func FuzzDeliver(f *testing.F) {
	f.Add(`{"email":{"to":["a@example.com"],"cc":["b@example.com"],"reply_to":"c@example.com"},"sns":{"topic_arn":"` + topic + `"},"confirm":true}`)
	f.Add(`{"email":{"to":["a@example.com\r\nBcc: x@example.com"]}}`)
	f.Add(`{"fax":{}}`)
	f.Add(`{"email":{"to":"x"}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, deliver string) {
		body := `{"token":"tok","actions":[{"name":"ok","type":"success","output":1}],"deliver":` + deliver + `}`
		req, err := callbackurls.ParseCreateRequest([]byte(body))
		if err != nil {
			if e := callbackurls.AsError(err); e.Kind != callbackurls.BadInput {
				t.Fatalf("%s: %v is not bad input", deliver, err)
			}
			return
		}
		d := req.Deliver
		if d == nil {
			return // null
		}
		if d.Email != nil {
			if n := len(d.Email.To) + len(d.Email.CC); n == 0 || n > callbackurls.MaxRecipients {
				t.Fatalf("%d recipients accepted", n)
			}
			for _, a := range append(append([]string{}, d.Email.To...), d.Email.CC...) {
				if strings.ContainsAny(a, "\r\n <>,;\"") {
					t.Fatalf("address %q accepted", a)
				}
			}
		}
		route, _ := json.Marshal(callbackurls.ConfirmRoute{Topic: deliver})
		if r, err := callbackurls.ParseConfirmRoute(route); err == nil && strings.ContainsAny(r.Topic, "\r\n") {
			t.Fatalf("route topic %q accepted", r.Topic)
		}
	})
}

// TestDeliverToSlack: deliver.slack renders the Slack message (no email),
// whose buttons carry the actions' data where the deployment takes
// Slack's clicks; its confirmation is the message, so the payloads carry
// no route and no Notifier is needed.
func TestDeliverToSlack(t *testing.T) {
	d := &callbackurlstest.Delivery{}
	svc := callbackurls.New(callbackurls.Config{BaseURL: testBase, Now: func() time.Time { return t0 }, Composer: messages.Composer{},
		Deliverer: d, SignIn: []string{callbackurls.ViaSlack}}, codecFor(t, true), callbackurls.Targets{callbackurls.TaskToken: &callbackurlstest.Target{}})
	req, err := callbackurls.ParseCreateRequest([]byte(askBody(`"deliver":{"slack":{"channel":"C0123ABCD"},"confirm":true},"message_actions":["approve","reject","ping"]`)))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Delivered == nil || resp.Delivered.Slack == nil || resp.Delivered.Slack.Channel != "C0123ABCD" || resp.Messages != nil {
		t.Fatalf("delivered %+v, messages %+v", resp.Delivered, resp.Messages)
	}
	asks := d.Asks()
	if len(asks) != 1 || asks[0].Email != nil || len(asks[0].Slack) == 0 {
		t.Fatalf("asks %+v", asks)
	}
	for _, a := range asks[0].Ask.Actions {
		// The form's action needs a bot token to open a modal: a link.
		if wantValue := a.Name != "reject"; (a.Value != "") != wantValue {
			t.Errorf("%s: value %q", a.Name, a.Value)
		}
		if a.Value != "" && !strings.Contains(string(asks[0].Slack), a.Value) {
			t.Errorf("%s: the message lacks its value", a.Name)
		}
	}
	for name, u := range resp.URLs {
		cb, err := svc.Open(context.Background(), query(t, u))
		if err != nil || cb.Payload.Confirm != nil {
			t.Errorf("%s: %v, route %s", name, err, cb.Payload.Confirm)
		}
	}
}
