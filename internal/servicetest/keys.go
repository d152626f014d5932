package servicetest

import (
	"context"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// KeyMode is a kind of deployment keys, for tables that run or measure
// each (Options.Keys: mode.Keys(t)).
type KeyMode struct {
	Name string
	// Keys makes the mode's key source: the fixed Keyring, or a key of a
	// kmstest stand-in of its own.
	Keys func(t testing.TB) payload.KeySource
}

// The KMS modes' names.
const (
	KMSHMAC     = "kms-hmac"     // a KMS HMAC_256 key
	KMSEnvelope = "kms-envelope" // a KMS SYMMETRIC_DEFAULT key
)

// KeyModes are the modes, in the README's order.
var KeyModes = []KeyMode{
	{KMSHMAC, kmsKeys(kmstest.HMACAlias)},
	{"keyring", func(t testing.TB) payload.KeySource { return Keyring(t) }},
	{KMSEnvelope, kmsKeys(kmstest.Alias)},
}

func kmsKeys(keyID string) func(testing.TB) payload.KeySource {
	return func(t testing.TB) payload.KeySource {
		t.Helper()
		ctx := context.Background()
		keys, err := kmskeys.New(ctx, kmstest.New(t).Client(ctx), kmskeys.Options{KeyID: keyID})
		if err != nil {
			t.Fatalf("KMS keys (%s): %v", keyID, err)
		}
		return keys
	}
}

// NewKeyring is a keyring of one new key, as keygen makes it.
func NewKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	k, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// KeyringDoc is r as a KEYRING value or key file holds it.
func KeyringDoc(t testing.TB, r *keyring.Keyring) string {
	t.Helper()
	doc, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// Lengths collects URL lengths.
type Lengths struct{ n, sum, min, max int }

// Add counts one URL.
func (l *Lengths) Add(u string) {
	n := len(u)
	if l.n == 0 || n < l.min {
		l.min = n
	}
	l.max = max(l.max, n)
	l.n++
	l.sum += n
}

// Mean (rounded), Min and Max are over the URLs added (0 if none).
func (l *Lengths) Mean() int {
	if l.n == 0 {
		return 0
	}
	return (l.sum + l.n/2) / l.n
}
func (l *Lengths) Min() int { return l.min }
func (l *Lengths) Max() int { return l.max }
