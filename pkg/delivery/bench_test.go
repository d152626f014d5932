package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

const apiBase = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

// twoActions is the reference's two-action request, with extra members.
func twoActions(token, extra string) []byte {
	tok, _ := json.Marshal(token)
	return []byte(`{"token":` + string(tok) + extra + `,"actions":[
	{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"}]}`)
}

func benchService(b testing.TB, d *delivery.Service) *callbackurls.Service {
	keys, err := keyring.New(keyring.Key{ID: "b", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		b.Fatal(err)
	}
	cfg := callbackurls.Config{BaseURL: apiBase, Composer: messages.Composer{}}
	if d != nil {
		cfg.Deliverer, cfg.Notifier = d, d
	}
	return callbackurls.New(cfg, &payload.Codec{Keys: keys}, nil)
}

// BenchmarkCreateURLs is CreateUrls for the reference's two-action request
// with a real token: URLs only, with the three messages, and delivered by
// email, by SNS and by both to the SES and SNS stand-ins (loopback HTTP,
// signed and checked: the stand-ins' own cost is in the figures).
func BenchmarkCreateURLs(b *testing.B) {
	ctx := context.Background()
	tok := corpus.Tokens()[0]
	for _, bc := range []struct {
		name, extra string
		deliver     bool
	}{
		{"urls", "", false},
		{"messages", `,"messages":["email","teams","slack"]`, false},
		{"deliver-email", `,"deliver":{"email":{"to":["alice@example.com"]}}`, true},
		{"deliver-sns", `,"deliver":{"sns":{"topic_arn":"` + topic + `"}}`, true},
		{"deliver-both-confirm", `,"deliver":{"email":{"to":["alice@example.com"]},"sns":{"topic_arn":"` + topic + `"},"confirm":true}`, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var d *delivery.Service
			if bc.deliver {
				d = newService(b, newStandIns(b), &bytes.Buffer{})
			}
			svc := benchService(b, d)
			req, err := callbackurls.ParseCreateRequest(twoActions(tok, bc.extra))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRenderingSizes logs the size of each rendering of the reference's
// two-action request with a real token and an API Gateway base URL, and
// the longest line of its plain text.
func TestRenderingSizes(t *testing.T) {
	svc := benchService(t, nil)
	req, err := callbackurls.ParseCreateRequest(twoActions(corpus.Tokens()[0], `,"messages":["email","teams","slack"]`))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Messages
	longest := 0
	for _, l := range strings.Split(m.Email.Text, "\n") {
		longest = max(longest, len(l))
	}
	if longest > callbackurls.MaxTextLine {
		t.Errorf("a line of %d characters", longest)
	}
	t.Logf("approve URL %d characters; email subject %d, text %d, html %d bytes; teams %d, slack %d bytes; longest text line %d",
		len(resp.URLs["approve"]), len(m.Email.Subject), len(m.Email.Text), len(m.Email.HTML), len(m.Teams), len(m.Slack), longest)
}
