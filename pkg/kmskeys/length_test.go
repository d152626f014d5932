package kmskeys_test

import (
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// TestURLLengths measures the issues' goals: the mean and longest
// approve-URL length of the reference's two-action example over the
// corpus tokens with an API Gateway base URL (the reference: 2,090
// characters with KMS, 1,278 unencrypted). RFC 5322's 998 characters is
// where plain-text mail breaks a line. The README's table of URL lengths
// is this test's log (go test ./pkg/kmskeys -run TestURLLengths -v).
func TestURLLengths(t *testing.T) {
	srv := kmstest.New(t)
	modes := []struct {
		name             string
		keys             payload.KeySource
		maxMean, maxLong int
	}{
		{"kms hmac", newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias}), 930, 998},
		{"kms envelope", newSource(t, srv, kmskeys.Options{KeyID: kmstest.Alias}), 1150, 1200},
		{"static", newKeyring(t), 920, 998},
		{"unencrypted", nil, 1300, 1400}, // for comparison; the reference's form
	}
	for _, m := range modes {
		svc := newFn(m.keys, nil)
		var approve, reject, longest int
		for i, tok := range corpus.Tokens() {
			urls := svc.mustCreate(t, twoActions(tok))
			t.Logf("%s: token %d (%d characters): approve %d, reject %d", m.name, i, len(tok), len(urls["approve"]), len(urls["reject"]))
			approve += len(urls["approve"])
			reject += len(urls["reject"])
			longest = max(longest, len(urls["approve"]))
		}
		n := float64(len(corpus.Tokens()))
		mean := float64(approve) / n
		t.Logf("%s: approve URL mean %.1f characters (goal <= %d), longest %d (goal <= %d); reject URL mean %.1f",
			m.name, mean, m.maxMean, longest, m.maxLong, float64(reject)/n)
		if mean > float64(m.maxMean) {
			t.Errorf("%s: mean approve URL is %.1f characters, over the goal of %d", m.name, mean, m.maxMean)
		}
		if longest > m.maxLong {
			t.Errorf("%s: longest approve URL is %d characters, over the goal of %d", m.name, longest, m.maxLong)
		}
	}
}

// TestURLLengthsWithApprovers measures issue 17's goal: the reference's
// two-action request with one and three approvers (and a requester at
// their domain) stays within RFC 5322's 998 characters in the static and
// KMS HMAC modes, over the corpus tokens, with an API Gateway base URL.
// Its log is the README's table of URL lengths with approvers
// (go test ./pkg/kmskeys -run TestURLLengthsWithApprovers -v).
func TestURLLengthsWithApprovers(t *testing.T) {
	srv := kmstest.New(t)
	modes := []struct {
		name    string
		keys    payload.KeySource
		maxLong int // 0: measured, no goal
	}{
		{"kms hmac", newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias}), 998},
		{"static", newKeyring(t), 998},
		{"kms envelope", newSource(t, srv, kmskeys.Options{KeyID: kmstest.Alias}), 0},
	}
	lists := []struct {
		name  string
		extra string
	}{
		{"1 approver", `"approvers":["alice@example.com"]`},
		{"3 approvers", `"approvers":["alice@example.com","bob@example.com","carol@example.com"]`},
		{"3 approvers and a requester", `"approvers":["alice@example.com","bob@example.com","carol@example.com"],"requester":"dave@example.com"`},
		{"a domain and a requester", `"approvers":["@example.com"],"requester":"dave@example.com"`},
	}
	for _, m := range modes {
		svc := &fn{Service: callbackurls.New(callbackurls.Config{BaseURL: apiBase, SignIn: []string{callbackurls.ViaWeb}},
			&payload.Codec{Keys: m.keys}, callbackurls.Targets{callbackurls.TaskToken: &callbackurlstest.Target{}})}
		for _, l := range lists {
			var sum, longest, plain int
			for _, tok := range corpus.Tokens() {
				body := strings.Replace(twoActions(tok), `{"token":`, `{`+l.extra+`,"token":`, 1)
				urls := svc.mustCreate(t, body)
				sum += len(urls["approve"])
				longest = max(longest, len(urls["approve"]), len(urls["reject"]))
				plain = max(plain, len(svc.mustCreate(t, twoActions(tok))["approve"]))
			}
			mean := float64(sum) / float64(len(corpus.Tokens()))
			t.Logf("%s, %s: approve URL mean %.1f characters, longest URL %d (without approvers %d: +%d)",
				m.name, l.name, mean, longest, plain, longest-plain)
			if m.maxLong > 0 && longest > m.maxLong {
				t.Errorf("%s, %s: the longest URL is %d characters, over the goal of %d", m.name, l.name, longest, m.maxLong)
			}
		}
	}
}
