// Package receipts signs and verifies receipts of decisions: compact JWS
// (RFC 7515) whose payload says which decision was made, by whom, when, and
// for which task (by the SHA-256 of its token, never the token). A
// deployment signs with an Ed25519 key of its static keyring (EdDSA) or an
// ECC_NIST_P256 KMS key (ES256, through package kmskeys), and publishes its
// public keys, current and previous, as a JWK Set at
// {base}/.well-known/jwks.json; anyone can check a receipt offline with
// Verify (sfn-callback-urls verify).
//
// The JWS is written and read here, with the standard library only: two
// algorithms, one header shape, no "none", no keys inside the token.
package receipts

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// The JWS algorithms of receipts.
const (
	EdDSA = "EdDSA" // Ed25519 (RFC 8037)
	ES256 = "ES256" // ECDSA P-256 with SHA-256 (RFC 7518)
)

// Type is the receipts' JWS "typ" header (explicit typing, RFC 8725 3.11):
// a receipt is never mistaken for a token that grants access.
const Type = "sfn-callback-receipt+jwt"

// MaxReceiptLength bounds what Verify reads.
const MaxReceiptLength = 16 << 10

// Key signs receipts: an Ed25519 key here (NewEd25519Key), or a KMS key
// (kmskeys.SigningKey).
type Key interface {
	// Algorithm is the JWS alg: EdDSA or ES256.
	Algorithm() string
	// Public is the public key: an ed25519.PublicKey or an
	// *ecdsa.PublicKey on P-256. A passing failure wraps
	// callbackurls.ErrUnavailable.
	Public(ctx context.Context) (crypto.PublicKey, error)
	// Sign returns the JWS signature of the signing input: Ed25519's over
	// the input, or ES256's r || s (32 bytes each) over its SHA-256.
	Sign(ctx context.Context, signingInput []byte) ([]byte, error)
}

// ed25519Key is an Ed25519 private key as a Key.
type ed25519Key struct{ priv ed25519.PrivateKey }

// NewEd25519Key is an Ed25519 key (of a static keyring) as a Key.
func NewEd25519Key(priv ed25519.PrivateKey) Key { return ed25519Key{priv} }

func (k ed25519Key) Algorithm() string { return EdDSA }

func (k ed25519Key) Public(context.Context) (crypto.PublicKey, error) { return k.priv.Public(), nil }

func (k ed25519Key) Sign(_ context.Context, in []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, in), nil
}

// Signer signs receipts for a deployment: a callbackurls.Signer.
type Signer struct {
	issuer   string
	key      Key
	previous []crypto.PublicKey

	mu     sync.Mutex
	header string // the encoded header, once the key id is known
}

var _ callbackurls.Signer = (*Signer)(nil)

// NewSigner signs with key as issuer (the deployment's base URL, where its
// JWK Set is). previous are public keys that signed before it: the JWK Set
// keeps them, so that older receipts still verify.
func NewSigner(issuer string, key Key, previous ...crypto.PublicKey) *Signer {
	return &Signer{issuer: strings.TrimRight(issuer, "/"), key: key, previous: previous}
}

// Issuer is the receipts' "iss".
func (s *Signer) Issuer() string { return s.issuer }

// Claims are what a receipt says, its JWS payload.
type Claims struct {
	// Issuer is the deployment's base URL: its JWK Set is at
	// Issuer + JWKSPath.
	Issuer string `json:"iss"`
	// IssuedAt is the time of the decision, in Unix seconds.
	IssuedAt      int64  `json:"iat"`
	TransactionID string `json:"txn"`
	Action        string `json:"action"`
	Type          string `json:"type"`
	By            *By    `json:"by,omitempty"`
	Via           string `json:"via"`
	// RefField is the request member that named the target ("token" for a
	// task token); RefSHA256 the hex SHA-256 of the reference, written as
	// "<RefField>_sha256" ("token_sha256").
	RefField  string `json:"-"`
	RefSHA256 string `json:"-"`
	// InputSHA256 is the hex SHA-256 of the input values as the target
	// received them (the "input" member's JSON text).
	InputSHA256 string `json:"input_sha256,omitempty"`
}

// By is who decided.
type By struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
}

// JWKSPath is where a deployment publishes its public keys, under its base URL.
const JWKSPath = "/.well-known/jwks.json"

type claimsJSON Claims

// MarshalJSON writes the claims with the reference's hash under its
// kind's name.
func (c Claims) MarshalJSON() ([]byte, error) {
	b, err := jsontext.Marshal(claimsJSON(c))
	if err != nil || c.RefField == "" {
		return b, err
	}
	ref, _ := jsontext.Marshal(c.RefSHA256)
	out := append(b[:len(b)-1:len(b)-1], `,"`...)
	out = append(out, c.RefField...)
	out = append(out, `_sha256":`...)
	out = append(out, ref...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads the claims and the one "<field>_sha256" member of a
// known kind of target.
func (c *Claims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*claimsJSON)(c)); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	for _, spec := range callbackurls.TargetSpecs() {
		if v, ok := members[spec.Field+"_sha256"]; ok {
			if c.RefField != "" {
				return errors.New("more than one reference hash")
			}
			c.RefField = spec.Field
			if err := json.Unmarshal(v, &c.RefSHA256); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClaimsOf is what a receipt of r says, issued by issuer.
func ClaimsOf(issuer string, r *callbackurls.Receipt) Claims {
	c := Claims{Issuer: issuer, IssuedAt: r.At.Unix(), TransactionID: r.TransactionID, Action: r.Action,
		Type: string(r.Type), Via: r.Via, RefSHA256: hex.EncodeToString(r.RefSHA256[:])}
	if spec := r.Target.Spec(); spec != nil {
		c.RefField = spec.Field
	}
	if r.By != nil {
		c.By = &By{Issuer: r.By.Issuer, Subject: r.By.Subject, Email: r.By.Email, Name: r.By.Name}
	}
	if r.InputSHA256 != nil {
		c.InputSHA256 = hex.EncodeToString(r.InputSHA256)
	}
	return c
}

// SignReceipt signs r: a callbackurls.Signer.
func (s *Signer) SignReceipt(ctx context.Context, r *callbackurls.Receipt) (string, error) {
	return s.Sign(ctx, ClaimsOf(s.issuer, r))
}

// Sign signs claims as a compact JWS.
func (s *Signer) Sign(ctx context.Context, c Claims) (string, error) {
	header, err := s.encodedHeader(ctx)
	if err != nil {
		return "", err
	}
	payload, err := jsontext.Marshal(c)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(header) + 1 + base64.RawURLEncoding.EncodedLen(len(payload)) + 1 + 120)
	b.WriteString(header)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	sig, err := s.key.Sign(ctx, []byte(b.String()))
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	return b.String(), nil
}

// encodedHeader is the JWS header, made once the public key (and so the
// key id) is known: for a KMS key, at the first receipt, not at start.
func (s *Signer) encodedHeader(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.header != "" {
		return s.header, nil
	}
	pub, err := s.key.Public(ctx)
	if err != nil {
		return "", err
	}
	jwk, err := JWKOf(pub)
	if err != nil {
		return "", err
	}
	if jwk.Alg != s.key.Algorithm() {
		return "", fmt.Errorf("receipts: a %s key cannot sign %s", jwk.Alg, s.key.Algorithm())
	}
	h, err := jsontext.Marshal(header{Alg: jwk.Alg, Kid: jwk.Kid, Typ: Type})
	if err != nil {
		return "", err
	}
	s.header = base64.RawURLEncoding.EncodeToString(h)
	return s.header, nil
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// JWK is a public key of a JWK Set (RFC 7517): an OKP Ed25519 key or an EC
// P-256 key.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JWK Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKOf is a public key as a JWK whose kid is its RFC 7638 thumbprint.
func JWKOf(pub crypto.PublicKey) (JWK, error) {
	var k JWK
	switch p := pub.(type) {
	case ed25519.PublicKey:
		k = JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(p), Alg: EdDSA}
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return JWK{}, errors.New("receipts: an ECDSA key must be on P-256")
		}
		raw, err := p.Bytes() // 0x04 || X || Y
		if err != nil {
			return JWK{}, err
		}
		k = JWK{Kty: "EC", Crv: "P-256", X: base64.RawURLEncoding.EncodeToString(raw[1:33]),
			Y: base64.RawURLEncoding.EncodeToString(raw[33:]), Alg: ES256}
	default:
		return JWK{}, fmt.Errorf("receipts: unsupported public key %T", pub)
	}
	k.Use = "sig"
	k.Kid = thumbprint(k)
	return k, nil
}

// thumbprint is the RFC 7638 thumbprint of a JWK: the SHA-256 of its
// required members in lexical order, base64url.
func thumbprint(k JWK) string {
	var doc string
	if k.Kty == "OKP" {
		doc = `{"crv":"` + k.Crv + `","kty":"OKP","x":"` + k.X + `"}`
	} else {
		doc = `{"crv":"` + k.Crv + `","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
	}
	sum := sha256.Sum256([]byte(doc))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PublicKey is the JWK's key, checked: its thumbprint is its kid, its alg
// matches its type.
func (k *JWK) PublicKey() (crypto.PublicKey, error) {
	bad := func(why string) error { return fmt.Errorf("receipts: JWK %q: %s", k.Kid, why) }
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil {
		return nil, bad("x is not base64url")
	}
	var pub crypto.PublicKey
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == EdDSA && k.Y == "":
		if len(x) != ed25519.PublicKeySize {
			return nil, bad("not an Ed25519 key")
		}
		pub = ed25519.PublicKey(x)
	case k.Kty == "EC" && k.Crv == "P-256" && k.Alg == ES256:
		y, err := base64.RawURLEncoding.Strict().DecodeString(k.Y)
		if err != nil || len(x) != 32 || len(y) != 32 {
			return nil, bad("not a P-256 point")
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, bad("not a P-256 point")
		}
		pub = p
	default:
		return nil, bad("not an Ed25519 (EdDSA) or P-256 (ES256) signing key")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, bad(`use is not "sig"`)
	}
	if k.Kid != thumbprint(*k) {
		return nil, bad("kid is not the key's RFC 7638 thumbprint")
	}
	return pub, nil
}

// JWKS is the signer's public keys, current first.
func (s *Signer) JWKS(ctx context.Context) (*JWKS, error) {
	pub, err := s.key.Public(ctx)
	if err != nil {
		return nil, err
	}
	set := &JWKS{}
	for _, p := range append([]crypto.PublicKey{pub}, s.previous...) {
		k, err := JWKOf(p)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// ParseJWKS reads a JWK Set; keys of other types and uses are skipped
// (a set may hold encryption keys too), and Verify finds none of them.
func ParseJWKS(b []byte) (*JWKS, error) {
	var set JWKS
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("receipts: not a JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`receipts: not a JWK Set: no "keys"`)
	}
	return &set, nil
}

// Verify checks a receipt's signature with the set's key it names and
// returns its claims. Only EdDSA and ES256 signatures, of the receipt
// type, by a key whose thumbprint is its kid, pass.
func Verify(receipt string, set *JWKS) (*Claims, *JWK, error) {
	if len(receipt) > MaxReceiptLength {
		return nil, nil, errors.New("receipts: longer than any receipt")
	}
	parts := strings.Split(strings.TrimSpace(receipt), ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("receipts: not a compact JWS (three base64url parts separated by dots)")
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return nil, nil, errors.New("receipts: the header is not base64url")
	}
	var h struct {
		header
		Crit []string `json:"crit"`
	}
	dec := json.NewDecoder(bytes.NewReader(hb))
	if err := dec.Decode(&h); err != nil {
		return nil, nil, errors.New("receipts: the header is not JSON")
	}
	switch {
	case h.Alg != EdDSA && h.Alg != ES256:
		return nil, nil, fmt.Errorf("receipts: algorithm %q is not EdDSA or ES256", h.Alg)
	case h.Typ != Type:
		return nil, nil, fmt.Errorf("receipts: type %q is not %s", h.Typ, Type)
	case len(h.Crit) > 0:
		return nil, nil, errors.New("receipts: critical header extensions are not understood")
	}
	var key *JWK
	for i := range set.Keys {
		if set.Keys[i].Kid == h.Kid {
			key = &set.Keys[i]
			break
		}
	}
	if key == nil {
		return nil, nil, fmt.Errorf("receipts: no key %q in the key set", h.Kid)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	if key.Alg != h.Alg {
		return nil, nil, fmt.Errorf("receipts: key %q is for %s, not %s", h.Kid, key.Alg, h.Alg)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return nil, nil, errors.New("receipts: the signature is not base64url")
	}
	input := []byte(parts[0] + "." + parts[1])
	ok := false
	switch p := pub.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(p, input, sig)
	case *ecdsa.PublicKey:
		if len(sig) == 64 {
			sum := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(p, sum[:], r, s)
		}
	}
	if !ok {
		return nil, nil, errors.New("receipts: the signature does not match: the receipt was altered or signed by another key")
	}
	pb, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil, nil, errors.New("receipts: the payload is not base64url")
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, nil, fmt.Errorf("receipts: the claims are not a receipt's: %w", err)
	}
	return &c, key, nil
}

// Fingerprint is a receipt's short form, for a message with no room for
// the receipt itself: "sha256:" and the first 16 hex digits of the
// SHA-256 of its text (printf %s "$RECEIPT" | sha256sum). The full
// receipt is in the decision's approval, where the target received it.
func Fingerprint(receipt string) string {
	sum := sha256.Sum256([]byte(receipt))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
