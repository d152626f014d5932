package kmskeys_test

import (
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// TestURLLengths measures the goal: the mean approve-URL length of
// the reference's two-action example over the corpus tokens with an API
// Gateway base URL (the reference: 2,090 characters with KMS, 1,278
// unencrypted). Static-key and unencrypted modes are measured alongside.
func TestURLLengths(t *testing.T) {
	srv := kmstest.New(t)
	modes := []struct {
		name    string
		keys    payload.KeySource
		maxMean float64
	}{
		{"kms", newSource(t, srv, kmskeys.Options{}), 1150},
		{"static", newKeyring(t), 920},
		{"unencrypted", nil, 1300}, // for comparison; the reference's form
	}
	for _, m := range modes {
		svc := newService(m.keys, &fakeSFN{}, nil)
		var approve, reject int
		for i, tok := range corpus.Tokens() {
			urls := mustCreate(t, svc, twoActions(tok))
			t.Logf("%s: token %d (%d characters): approve %d, reject %d", m.name, i, len(tok), len(urls["approve"]), len(urls["reject"]))
			approve += len(urls["approve"])
			reject += len(urls["reject"])
		}
		n := float64(len(corpus.Tokens()))
		mean := float64(approve) / n
		t.Logf("%s: mean approve URL %.1f characters (goal <= %.0f), mean reject URL %.1f", m.name, mean, m.maxMean, float64(reject)/n)
		if mean > m.maxMean {
			t.Errorf("%s: mean approve URL is %.1f characters, over the goal of %.0f", m.name, mean, m.maxMean)
		}
	}
}
