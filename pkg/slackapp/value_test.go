package slackapp_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// slackService is a core that takes Slack's clicks, with a bot token, on
// keys.
func slackService(keys payload.KeySource) *callbackurls.Service {
	return callbackurls.New(callbackurls.Config{BaseURL: "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1",
		SignIn: []string{callbackurls.ViaSlack}, SlackBot: true, Receipts: true, Composer: messages.Composer{}},
		&payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: &callbackurlstest.Target{}})
}

// values are the Slack message's button values by action, or the error.
func values(t *testing.T, svc *callbackurls.Service, body string) (map[string]button, error) {
	t.Helper()
	req, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		return nil, err
	}
	return buttons(t, resp.Messages.Slack), nil
}

// TestButtonValueLengths measures the largest button value over the corpus
// tokens in each key mode (the HMAC mode's header with its gate tag
// included): they stay within Slack's 2,000 characters with room for
// approvers, a form and the texts of a real request.
func TestButtonValueLengths(t *testing.T) {
	srv := kmstest.New(t)
	hmacKeys, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: kmstest.HMACAlias})
	if err != nil {
		t.Fatal(err)
	}
	envelope, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: kmstest.Alias})
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	static, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	requests := []struct{ name, extra string }{
		{"the reference's two actions", ``},
		{"a title, description and three Slack approvers", `"title":"Deploy release 2.4 to production","description":"Changes: the new billing page. Risk: low.",` +
			`"approvers":["slack:U0123ABCD","slack:U0456EFGH","slack:W0789IJKL"],`},
		{"and a receipt, a requester and an address", `"title":"Deploy release 2.4 to production","approvers":["slack:U0123ABCD","ana@example.com"],"requester":"bo@example.com","receipt":true,`},
	}
	for _, m := range []struct {
		name string
		keys payload.KeySource
	}{{"kms hmac", hmacKeys}, {"static", static}, {"kms envelope", envelope}} {
		svc := slackService(m.keys)
		for _, r := range requests {
			longest := 0
			for _, tok := range corpus.Tokens() {
				b, _ := json.Marshal(tok)
				body := `{` + r.extra + `"token":` + string(b) + `,"messages":["slack"],"actions":[
					{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
					{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it",
					 "input":{"type":"object","properties":{"comment":{"type":"string","title":"Why?"}}}}]}`
				btns, err := values(t, svc, body)
				if err != nil {
					t.Fatalf("%s, %s: %v", m.name, r.name, err)
				}
				for _, b := range btns {
					if b.Value == "" {
						t.Fatalf("%s, %s: a link button: %+v", m.name, r.name, b)
					}
					longest = max(longest, len(b.Value))
				}
			}
			t.Logf("%s, %s: the largest button value is %d characters (Slack takes %d)", m.name, r.name, longest, callbackurls.MaxSlackValue)
			if longest > callbackurls.MaxSlackValue {
				t.Errorf("%s, %s: %d characters", m.name, r.name, longest)
			}
		}
	}
}

// TestValueTooLong: a value over Slack's 2,000 characters makes a link
// button to the confirmation page; when only Slack users may decide,
// nobody could use that page, and the request is refused.
func TestValueTooLong(t *testing.T) {
	svc := slackService(servicetestKeyring(t))
	// Text that does not compress: the payload's deflate would shrink "xxx".
	rnd := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for range 1700 {
		sb.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rnd.IntN(62)])
	}
	big := sb.String()
	tok, _ := json.Marshal(corpus.Tokens()[0])
	body := func(approvers string) string {
		return `{"token":` + string(tok) + `,"messages":["slack"],` + approvers + `"actions":[
			{"name":"approve","type":"success","output":{"note":"` + big + `"}},
			{"name":"reject","type":"failure"}]}`
	}
	btns, err := values(t, svc, body(``))
	if err != nil {
		t.Fatal(err)
	}
	if a := btns["approve"]; a.Value != "" || !strings.Contains(a.URL, "/respond?") {
		t.Errorf("approve: %+v", a)
	}
	if r := btns["reject"]; r.Value == "" {
		t.Errorf("reject: %+v", r)
	}
	_, err = values(t, svc, body(`"approvers":["slack:U0123ABCD"],`))
	if e := callbackurls.AsError(err); err == nil || e.Code != callbackurls.CodeURLTooLong || !strings.Contains(e.Message, "over the 2000 Slack takes") {
		t.Errorf("Slack approvers only: %v", err)
	}
}

func servicetestKeyring(t *testing.T) *keyring.Keyring {
	r, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
