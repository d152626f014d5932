package keyring

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"
)

// SigningAlg is the one algorithm of a keyring's signing keys: Ed25519
// (the JWS alg EdDSA).
const SigningAlg = "EdDSA"

// SigningKey is an Ed25519 key that signs receipts of decisions (package
// receipts). The keyring's last signing key signs if it has its private
// seed; the others are retired: only their public keys are kept, and
// published, so that receipts they signed still verify.
type SigningKey struct {
	ID  string `json:"id"`
	Alg string `json:"alg"`
	// Seed is the private key's 32-byte seed (base64 in JSON); nil once
	// the key is retired.
	Seed    []byte    `json:"key,omitempty"`
	Public  []byte    `json:"public"`
	Created time.Time `json:"created,omitzero"`
}

// String keeps the seed out of fmt's %v.
func (k SigningKey) String() string { return "signing key " + k.ID }

// GenerateSigningKey returns a new Ed25519 signing key with a random id
// not in use by r's keys of either kind (r may be nil).
func GenerateSigningKey(r *Keyring) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, err
	}
	for {
		k, err := GenerateKey(r)
		if err != nil {
			return SigningKey{}, err
		}
		if r == nil || r.signingIndex(k.ID) < 0 {
			return SigningKey{ID: k.ID, Alg: SigningAlg, Seed: priv.Seed(), Public: pub, Created: k.Created}, nil
		}
	}
}

// WithSigningKeys returns a keyring of r's keys and these signing keys,
// oldest first, checked.
func (r *Keyring) WithSigningKeys(keys ...SigningKey) (*Keyring, error) {
	if len(keys) > MaxKeys {
		return nil, fmt.Errorf("keyring: %d signing keys, at most %d", len(keys), MaxKeys)
	}
	seen := map[string]bool{}
	for i := range keys {
		k := &keys[i]
		switch {
		case !idPattern.MatchString(k.ID):
			return nil, fmt.Errorf("keyring: signing key id %q must be 1 to 16 letters, digits, '-' or '_'", k.ID)
		case seen[k.ID]:
			return nil, fmt.Errorf("keyring: signing key id %q appears twice", k.ID)
		case k.Alg != SigningAlg:
			return nil, fmt.Errorf("keyring: signing key %q: alg %q, want %s", k.ID, k.Alg, SigningAlg)
		case len(k.Public) != ed25519.PublicKeySize:
			return nil, fmt.Errorf("keyring: signing key %q: public key of %d bytes, want %d", k.ID, len(k.Public), ed25519.PublicKeySize)
		case k.Seed != nil && len(k.Seed) != ed25519.SeedSize:
			return nil, fmt.Errorf("keyring: signing key %q: private key of %d bytes, want %d", k.ID, len(k.Seed), ed25519.SeedSize)
		case k.Seed != nil && !bytes.Equal(ed25519.NewKeyFromSeed(k.Seed).Public().(ed25519.PublicKey), k.Public):
			return nil, fmt.Errorf("keyring: signing key %q: its public key is not its private key's", k.ID)
		}
		seen[k.ID] = true
	}
	c := *r
	c.signing = append([]SigningKey(nil), keys...)
	return &c, nil
}

// SigningKeys returns the signing keys, oldest first.
func (r *Keyring) SigningKeys() []SigningKey { return append([]SigningKey(nil), r.signing...) }

// Signer is the private key that signs receipts: the last signing key's,
// if it is not retired.
func (r *Keyring) Signer() (ed25519.PrivateKey, bool) {
	if len(r.signing) == 0 || r.signing[len(r.signing)-1].Seed == nil {
		return nil, false
	}
	return ed25519.NewKeyFromSeed(r.signing[len(r.signing)-1].Seed), true
}

// PreviousSigningKeys are the public keys of the signing keys before the
// last, newest first: the key set publishes them after the current one.
func (r *Keyring) PreviousSigningKeys() []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for i := len(r.signing) - 2; i >= 0; i-- {
		out = append(out, ed25519.PublicKey(r.signing[i].Public))
	}
	return out
}

// RotateSigningKey returns r with a new signing key that signs from now
// on; the one before is retired (its seed dropped, its public key kept).
func (r *Keyring) RotateSigningKey() (*Keyring, SigningKey, error) {
	k, err := GenerateSigningKey(r)
	if err != nil {
		return nil, SigningKey{}, err
	}
	keys := r.SigningKeys()
	if n := len(keys); n > 0 {
		keys[n-1].Seed = nil
	}
	c, err := r.WithSigningKeys(append(keys, k)...)
	if err != nil {
		return nil, SigningKey{}, err
	}
	return c, k, nil
}

func (r *Keyring) signingIndex(id string) int {
	if r.aeads[id] != nil {
		return 0
	}
	for i, k := range r.signing {
		if k.ID == id {
			return i
		}
	}
	return -1
}
