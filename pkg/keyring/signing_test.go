package keyring_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

func TestGenerateHasASigningKey(t *testing.T) {
	r, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := r.Signer()
	if !ok || len(r.SigningKeys()) != 1 || len(r.PreviousSigningKeys()) != 0 {
		t.Fatalf("a new keyring's signing keys: %v, %t", r.SigningKeys(), ok)
	}
	sk := r.SigningKeys()[0]
	if sk.ID == r.Current().ID || !bytes.Equal(priv.Public().(ed25519.PublicKey), sk.Public) {
		t.Errorf("signing key %s, encryption key %s", sk.ID, r.Current().ID)
	}
}

func TestSigningKeysRoundTripAndRotate(t *testing.T) {
	r, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.Signer()
	rotated, k, err := r.RotateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	data, err := rotated.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := keyring.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	keys := back.SigningKeys()
	if len(keys) != 2 || keys[0].Seed != nil || keys[1].ID != k.ID || keys[1].Seed == nil {
		t.Fatalf("after rotation: %v", keys)
	}
	// The retired key's seed is gone from the document; its public key
	// stays, published after the new one.
	if bytes.Contains(data, []byte(jsonBytes(first.Seed()))) {
		t.Error("the retired private key is still in the keyring")
	}
	prev := back.PreviousSigningKeys()
	if len(prev) != 1 || !bytes.Equal(prev[0], first.Public().(ed25519.PublicKey)) {
		t.Errorf("previous keys %v", prev)
	}
	if s := fmt.Sprintf("%v %v %+v", back, keys, keys[1]); strings.Contains(s, jsonBytes(keys[1].Seed)) {
		t.Errorf("a signing key's seed is printed: %s", s)
	}
	// A keyring without signing keys (made before them) still reads, and
	// signs nothing.
	old, err := keyring.Parse([]byte(`{"keys":[{"id":"k1","key":"` + jsonBytes(secret(1, 32)) + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := old.Signer(); ok {
		t.Error("a keyring without signing keys signs")
	}
}

func jsonBytes(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}

func TestSigningKeysRefused(t *testing.T) {
	seed := secret(3, 32)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	good := keyring.SigningKey{ID: "s1", Alg: "EdDSA", Seed: seed, Public: pub}
	r := mustNew(t, key("k1", 1))
	for _, tt := range []struct {
		name string
		keys []keyring.SigningKey
		msg  string
	}{
		{"bad id", []keyring.SigningKey{{ID: "a b", Alg: "EdDSA", Public: pub}}, "id"},
		{"twice", []keyring.SigningKey{good, good}, "twice"},
		{"alg", []keyring.SigningKey{{ID: "s1", Alg: "ES256", Public: pub}}, "alg"},
		{"short public key", []keyring.SigningKey{{ID: "s1", Alg: "EdDSA", Public: pub[:31]}}, "public key of 31"},
		{"short seed", []keyring.SigningKey{{ID: "s1", Alg: "EdDSA", Seed: seed[:16], Public: pub}}, "private key of 16"},
		{"another public key", []keyring.SigningKey{{ID: "s1", Alg: "EdDSA", Seed: secret(4, 32), Public: pub}}, "not its private key's"},
	} {
		if _, err := r.WithSigningKeys(tt.keys...); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.msg)
		}
	}
	if _, err := r.WithSigningKeys(good); err != nil {
		t.Fatal(err)
	}
}
