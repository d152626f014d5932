package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
)

// signWith signs a receipt with the keyring file's signing key, as the
// deployment serving issuer does, and returns it and that deployment's key
// set.
func signWith(t *testing.T, file, issuer string) (string, []byte) {
	t.Helper()
	ring, err := keyring.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	key, previous, err := keysource.Keys{Source: ring}.ReceiptKey("", nil)
	if err != nil || key == nil {
		t.Fatalf("the keyring has no signing key (%v)", err)
	}
	s := receipts.NewSigner(issuer, key, previous...)
	r, err := s.SignReceipt(context.Background(), &callbackurls.Receipt{TransactionID: "0123456789abcdef0123456789abcdef", Action: "approve",
		Type: callbackurls.Success, Via: "web", At: time.Unix(1767225600, 0), RefSHA256: sha256.Sum256([]byte("tok")),
		By: &callbackurls.Identity{Issuer: "https://id.example.com", Subject: "a-1", Email: "ana@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := s.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(set)
	return r, doc
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keyring.json")
	if err := run(context.Background(), []string{"keygen", "--file", file}, testkit.Env(nil), strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var jwks []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	receipt, doc := signWith(t, file, srv.URL+"/v1")
	jwks = doc
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}

	verifyOK := func(t *testing.T, args []string, stdin string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"verify"}, args...), testkit.Env(nil), strings.NewReader(stdin), &out, &errOut); err != nil {
			t.Fatalf("verify %v: %v\n%s", args, err, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "signature valid: EdDSA key ") || !strings.Contains(out.String(), `"email": "ana@example.com"`) ||
			!strings.Contains(out.String(), `"token_sha256": "`) {
			t.Errorf("verify %v printed:\n%s", args, out.String())
		}
		return out.String()
	}
	t.Run("from the issuer's key set", func(t *testing.T) {
		if out := verifyOK(t, []string{receipt}, ""); !strings.Contains(out, srv.URL+"/v1/.well-known/jwks.json") {
			t.Errorf("the source is not named:\n%s", out)
		}
	})
	t.Run("offline, the flag after the receipt", func(t *testing.T) { verifyOK(t, []string{receipt, "--jwks", jwksFile}, "") })
	t.Run("the flag before, stdin", func(t *testing.T) { verifyOK(t, []string{"--jwks", jwksFile, "-"}, receipt+"\n") })
	t.Run("a URL", func(t *testing.T) {
		verifyOK(t, []string{"--jwks", srv.URL + "/v1/.well-known/jwks.json", receipt}, "")
	})

	t.Run("after keygen --add", func(t *testing.T) {
		// The rotated keyring signs with a new key and still publishes the
		// old one: the old receipt verifies with the new key set.
		if err := run(context.Background(), []string{"keygen", "--add", "--file", file}, testkit.Env(nil), strings.NewReader(""), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		newReceipt, newDoc := signWith(t, file, srv.URL+"/v1")
		jwks = newDoc
		verifyOK(t, []string{receipt}, "")
		verifyOK(t, []string{newReceipt}, "")
		if bytes.Equal(newDoc, doc) || strings.Split(newReceipt, ".")[0] == strings.Split(receipt, ".")[0] {
			t.Error("keygen --add did not make a new signing key")
		}
		jwks = doc
	})

	parts := strings.Split(receipt, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"altered", []string{tampered, "--jwks", jwksFile}, "does not match"},
		{"no receipt", nil, "give the receipt"},
		{"not a receipt", []string{"hello"}, "not a receipt"},
		{"a key set that is not one", []string{receipt, "--jwks", file + ".missing"}, "no such file"},
		{"http to another machine", []string{receipt, "--jwks", "http://example.com/jwks.json"}, "must be https"},
		{"two receipts", []string{receipt, receipt}, "unexpected argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"verify"}, tt.args...), testkit.Env(nil), strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("verify %v: %v, want an error with %q", tt.args, err, tt.want)
			}
		})
	}
}
