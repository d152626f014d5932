package standin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

var creds = aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "session"}

// signed is a request as a server receives it, signed by the SDK's signer.
func signed(t *testing.T, body string, signWith aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://api.example.com/Prod/urls?x=1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), signWith, r, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
	// What the server sees: Host and RequestURI, no scheme or host in URL.
	r.Host = r.URL.Host
	r.URL.Scheme, r.URL.Host = "", ""
	r.Header.Set("Accept-Encoding", "gzip") // added by the transport, unsigned
	return r
}

// TestVerifySigV4: a signature is the SDK signer's over the body, the
// signed headers, the path and query, with the secret, for the service and
// region, and recent.
func TestVerifySigV4(t *testing.T) {
	now := time.Now().UTC()
	body := `{"token":"t"}`
	other := creds
	other.SecretAccessKey = "other"
	tests := []struct {
		name   string
		req    func() *http.Request
		body   string
		result string // the error's code, "" for none
	}{
		{"valid", func() *http.Request { return signed(t, body, creds, "execute-api", "eu-west-1", now) }, body, ""},
		{"other body", func() *http.Request { return signed(t, body, creds, "execute-api", "eu-west-1", now) }, body + " ", "InvalidSignatureException"},
		{"signed header changed", func() *http.Request {
			r := signed(t, body, creds, "execute-api", "eu-west-1", now)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, body, "InvalidSignatureException"},
		{"query changed", func() *http.Request {
			r := signed(t, body, creds, "execute-api", "eu-west-1", now)
			r.URL.RawQuery = "x=2"
			return r
		}, body, "InvalidSignatureException"},
		{"other secret", func() *http.Request { return signed(t, body, other, "execute-api", "eu-west-1", now) }, body, "InvalidSignatureException"},
		{"other key", func() *http.Request {
			c := creds
			c.AccessKeyID = "AKIDOTHER"
			return signed(t, body, c, "execute-api", "eu-west-1", now)
		}, body, "UnrecognizedClientException"},
		{"other service", func() *http.Request { return signed(t, body, creds, "lambda", "eu-west-1", now) }, body, "InvalidSignatureException"},
		{"other region", func() *http.Request { return signed(t, body, creds, "execute-api", "us-east-1", now) }, body, "InvalidSignatureException"},
		{"an hour old", func() *http.Request { return signed(t, body, creds, "execute-api", "eu-west-1", now.Add(-time.Hour)) }, body, "InvalidSignatureException"},
		{"unsigned", func() *http.Request {
			r := signed(t, body, creds, "execute-api", "eu-west-1", now)
			r.Header.Del("Authorization")
			return r
		}, body, "MissingAuthenticationTokenException"},
		{"other scheme", func() *http.Request {
			r := signed(t, body, creds, "execute-api", "eu-west-1", now)
			r.Header.Set("Authorization", "Bearer x")
			return r
		}, body, "IncompleteSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := standin.VerifySigV4(tc.req(), []byte(tc.body), creds, "execute-api", "eu-west-1")
			got := ""
			if e != nil {
				got = e.Code
				if e.Status != 403 {
					t.Errorf("status %d, want 403", e.Status)
				}
			}
			if got != tc.result {
				t.Errorf("VerifySigV4: %v, want %q", e, tc.result)
			}
		})
	}
}
