package receipts_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
)

// ecKey is an in-memory ES256 key, as a KMS key signs (the KMS one is
// tested in package kmskeys against the KMS stand-in).
type ecKey struct{ priv *ecdsa.PrivateKey }

func (k ecKey) Algorithm() string                                { return receipts.ES256 }
func (k ecKey) Public(context.Context) (crypto.PublicKey, error) { return &k.priv.PublicKey, nil }
func (k ecKey) Sign(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		return nil, err
	}
	return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), nil
}

func edKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytesOf(seed, ed25519.SeedSize))
}

func bytesOf(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// sampleReceipt is a decision under approvers with an input form.
func sampleReceipt() *callbackurls.Receipt {
	inputSum := sha256.Sum256([]byte(`{"why":"fine"}`))
	return &callbackurls.Receipt{TransactionID: "0123456789abcdef0123456789abcdef", Action: "approve", Type: callbackurls.Success,
		By:  &callbackurls.Identity{Via: "web", Issuer: "https://id.example.com", Subject: "248289761001", Email: "ana@example.com", Name: "Ana Lima"},
		Via: "web", At: time.Unix(1767225600, 0), Target: callbackurls.TaskToken, RefSHA256: sha256.Sum256([]byte("a task token")),
		InputSHA256: inputSum[:]}
}

const issuer = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

// Known-answer vectors: Ed25519 signatures are deterministic, so a fixed
// key and fixed claims give a fixed receipt; ES256 ones are not, and their
// vector is checked by verification only. UPDATE_VECTORS=1 adds missing
// vectors and keeps those written.
const vectorsFile = "testdata/vectors.json"

type vectorFile struct {
	Comment string   `json:"comment"`
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name    string          `json:"name"`
	Seed    string          `json:"ed25519_seed,omitempty"` // base64url; the key of a deterministic vector
	JWKS    json.RawMessage `json:"jwks"`
	Receipt string          `json:"receipt"`
	Claims  json.RawMessage `json:"claims"`
}

func vectorInputs(t *testing.T) []struct {
	name   string
	key    receipts.Key
	seed   []byte
	claims callbackurls.Receipt
} {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withoutBy := *sampleReceipt()
	withoutBy.By, withoutBy.InputSHA256, withoutBy.Action, withoutBy.Type = nil, nil, "reject", callbackurls.Failure
	return []struct {
		name   string
		key    receipts.Key
		seed   []byte
		claims callbackurls.Receipt
	}{
		{"EdDSA, approver and input", receipts.NewEd25519Key(edKey(1)), bytesOf(1, 32), *sampleReceipt()},
		{"EdDSA, no approver (receipt: true)", receipts.NewEd25519Key(edKey(1)), bytesOf(1, 32), withoutBy},
		{"ES256, approver and input", ecKey{ec}, nil, *sampleReceipt()},
	}
}

func writeVectors(t *testing.T) {
	f := vectorFile{Comment: "Known-answer receipts; add missing ones with UPDATE_VECTORS=1 go test ./pkg/receipts -run TestVectors (existing ones stay)."}
	have := map[string]bool{}
	if b, err := os.ReadFile(vectorsFile); err == nil {
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Vectors {
			have[v.Name] = true
		}
	}
	for _, in := range vectorInputs(t) {
		if have[in.name] {
			continue
		}
		s := receipts.NewSigner(issuer, in.key)
		jws, err := s.SignReceipt(context.Background(), &in.claims)
		if err != nil {
			t.Fatal(err)
		}
		set, _ := s.JWKS(context.Background())
		jwks, _ := json.Marshal(set)
		claims, _ := json.Marshal(receipts.ClaimsOf(issuer, &in.claims))
		v := vector{Name: in.name, JWKS: jwks, Receipt: jws, Claims: claims}
		if in.seed != nil {
			v.Seed = base64.RawURLEncoding.EncodeToString(in.seed)
		}
		f.Vectors = append(f.Vectors, v)
	}
	out, _ := json.MarshalIndent(f, "", "  ")
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVectors(t *testing.T) {
	if os.Getenv("UPDATE_VECTORS") == "1" {
		writeVectors(t)
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 3 {
		t.Fatalf("%d vectors", len(f.Vectors))
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			set, err := receipts.ParseJWKS(v.JWKS)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := receipts.Verify(v.Receipt, set)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var want receipts.Claims
			if err := json.Unmarshal(v.Claims, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if v.Seed == "" {
				return
			}
			// Deterministic: signing the same claims again gives the
			// same receipt, byte for byte.
			seed, err := base64.RawURLEncoding.DecodeString(v.Seed)
			if err != nil {
				t.Fatal(err)
			}
			s := receipts.NewSigner(want.Issuer, receipts.NewEd25519Key(ed25519.NewKeyFromSeed(seed)))
			again, err := s.Sign(context.Background(), want)
			if err != nil {
				t.Fatal(err)
			}
			if again != v.Receipt {
				t.Errorf("signed again:\n%s\nwant\n%s", again, v.Receipt)
			}
		})
	}
}

// TestClaimsShape: the payload's members and their order, as documented.
func TestClaimsShape(t *testing.T) {
	s := receipts.NewSigner(issuer+"/", receipts.NewEd25519Key(edKey(1)))
	jws, err := s.SignReceipt(context.Background(), sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jws, ".")
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	set, _ := s.JWKS(context.Background())
	if want := `{"alg":"EdDSA","kid":"` + set.Keys[0].Kid + `","typ":"sfn-callback-receipt+jwt"}`; string(h) != want {
		t.Errorf("header %s, want %s", h, want)
	}
	tokenSum := sha256.Sum256([]byte("a task token"))
	inputSum := sha256.Sum256([]byte(`{"why":"fine"}`))
	want := `{"iss":"` + issuer + `","iat":1767225600,"txn":"0123456789abcdef0123456789abcdef","action":"approve","type":"success",` +
		`"by":{"iss":"https://id.example.com","sub":"248289761001","email":"ana@example.com","name":"Ana Lima"},"via":"web",` +
		`"input_sha256":"` + hexOf(inputSum[:]) + `","token_sha256":"` + hexOf(tokenSum[:]) + `"}`
	if string(p) != want {
		t.Errorf("payload\n%s\nwant\n%s", p, want)
	}
	if strings.Contains(string(p), "a task token") {
		t.Error("the receipt holds the token")
	}
	t.Logf("receipt with an approver and input: %d characters", len(jws))
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestJOSE checks receipts with another implementation: go-jose verifies
// them with the published JWK Set, and computes the same thumbprints.
func TestJOSE(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []receipts.Key{receipts.NewEd25519Key(edKey(7)), ecKey{ec}} {
		s := receipts.NewSigner(issuer, key, edKey(9).Public())
		jws, err := s.SignReceipt(context.Background(), sampleReceipt())
		if err != nil {
			t.Fatal(err)
		}
		set, err := s.JWKS(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(set)
		var joseSet jose.JSONWebKeySet
		if err := json.Unmarshal(doc, &joseSet); err != nil {
			t.Fatalf("go-jose reads the JWK Set: %v", err)
		}
		for i, k := range joseSet.Keys {
			tp, err := k.Thumbprint(crypto.SHA256)
			if err != nil || base64.RawURLEncoding.EncodeToString(tp) != set.Keys[i].Kid {
				t.Errorf("go-jose's thumbprint of key %d differs from its kid %s (%v)", i, set.Keys[i].Kid, err)
			}
		}
		obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
		if err != nil {
			t.Fatalf("go-jose parses %s: %v", key.Algorithm(), err)
		}
		kid := obj.Signatures[0].Header.KeyID
		payload, err := obj.Verify(joseSet.Key(kid)[0])
		if err != nil {
			t.Fatalf("go-jose verifies the %s receipt: %v", key.Algorithm(), err)
		}
		var c receipts.Claims
		if err := json.Unmarshal(payload, &c); err != nil || c.TransactionID != sampleReceipt().TransactionID {
			t.Errorf("claims %+v, %v", c, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	s := receipts.NewSigner(issuer, receipts.NewEd25519Key(edKey(1)))
	good, err := s.SignReceipt(ctx, sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	set, _ := s.JWKS(ctx)
	other := receipts.NewSigner(issuer, receipts.NewEd25519Key(edKey(2)))
	otherSet, _ := other.JWKS(ctx)
	byOther, _ := other.SignReceipt(ctx, sampleReceipt())
	parts := strings.Split(good, ".")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), `"approve"`, `"reject!"`, 1)
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	kid := set.Keys[0].Kid

	wrongAlgKey := set.Keys[0]
	wrongAlgKey.Alg = receipts.ES256
	badKid := set.Keys[0]
	badKid.Kid = "my-key"
	tests := []struct {
		name, receipt string
		set           *receipts.JWKS
		msg           string
	}{
		{"altered claims", parts[0] + "." + enc(tampered) + "." + parts[2], set, "does not match"},
		{"altered signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig), set, "does not match"},
		{"another key with the same kid", byOther, &receipts.JWKS{Keys: []receipts.JWK{{Kty: "OKP", Crv: "Ed25519", X: set.Keys[0].X, Kid: otherSet.Keys[0].Kid, Alg: "EdDSA"}}}, "thumbprint"},
		{"a key not in the set", byOther, set, "no key"},
		{"alg none", enc(`{"alg":"none","kid":"`+kid+`","typ":"sfn-callback-receipt+jwt"}`) + "." + parts[1] + ".", set, `"none"`},
		{"alg HS256", enc(`{"alg":"HS256","kid":"`+kid+`","typ":"sfn-callback-receipt+jwt"}`) + "." + parts[1] + "." + parts[2], set, "HS256"},
		{"alg ES256 on an Ed25519 key", enc(`{"alg":"ES256","kid":"`+kid+`","typ":"sfn-callback-receipt+jwt"}`) + "." + parts[1] + "." + parts[2], set, "is for EdDSA"},
		{"a JWK claiming another alg", good, &receipts.JWKS{Keys: []receipts.JWK{wrongAlgKey}}, "not an Ed25519"},
		{"a kid that is not the thumbprint", enc(`{"alg":"EdDSA","kid":"my-key","typ":"sfn-callback-receipt+jwt"}`) + "." + parts[1] + "." + parts[2], &receipts.JWKS{Keys: []receipts.JWK{badKid}}, "thumbprint"},
		{"another type", enc(`{"alg":"EdDSA","kid":"`+kid+`","typ":"JWT"}`) + "." + parts[1] + "." + parts[2], set, "type"},
		{"critical extension", enc(`{"alg":"EdDSA","kid":"`+kid+`","typ":"sfn-callback-receipt+jwt","crit":["b64"]}`) + "." + parts[1] + "." + parts[2], set, "critical"},
		{"two parts", parts[0] + "." + parts[1], set, "three"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], set, "base64url"},
		{"too long", strings.Repeat("a", receipts.MaxReceiptLength+1), set, "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := receipts.Verify(tt.receipt, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Verify = %+v, %v; want an error with %q", c, err, tt.msg)
			}
		})
	}
	if _, _, err := receipts.Verify(good, set); err != nil {
		t.Fatalf("the good receipt: %v", err)
	}
}

// TestRotation: the set keeps previous keys, so a receipt signed before a
// rotation still verifies after it.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	before := receipts.NewSigner(issuer, receipts.NewEd25519Key(edKey(1)))
	old, _ := before.SignReceipt(ctx, sampleReceipt())
	after := receipts.NewSigner(issuer, receipts.NewEd25519Key(edKey(2)), edKey(1).Public())
	set, err := after.JWKS(ctx)
	if err != nil || len(set.Keys) != 2 {
		t.Fatalf("set %+v, %v", set, err)
	}
	current, _ := after.SignReceipt(ctx, sampleReceipt())
	for _, r := range []string{old, current} {
		if _, _, err := receipts.Verify(r, set); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
	if _, _, err := receipts.Verify(current, &receipts.JWKS{Keys: set.Keys[1:]}); err == nil {
		t.Error("the new receipt verified with the old key alone")
	}
}

func TestES256SignatureForm(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := receipts.NewSigner(issuer, ecKey{ec})
	jws, err := s.SignReceipt(context.Background(), sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jws, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if len(sig) != 64 {
		t.Fatalf("ES256 signature of %d bytes, want r||s of 64", len(sig))
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(&ec.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("the signature does not verify")
	}
}

// FuzzVerify: whatever the text, Verify returns an error or claims of a
// receipt the key really signed (the only one signed here).
func FuzzVerify(f *testing.F) {
	s := receipts.NewSigner(issuer, receipts.NewEd25519Key(edKey(1)))
	good, err := s.SignReceipt(context.Background(), sampleReceipt())
	if err != nil {
		f.Fatal(err)
	}
	set, _ := s.JWKS(context.Background())
	f.Add(good)
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, receipt string) {
		c, _, err := receipts.Verify(receipt, set)
		if err == nil && (strings.TrimSpace(receipt) != good || c.TransactionID != sampleReceipt().TransactionID) {
			t.Fatalf("Verify accepted %q", receipt)
		}
	})
}
