package httpapi

import (
	"context"
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
)

// JWKSPath is where a deployment publishes the public keys of its
// receipts, under its base URL.
const JWKSPath = "/.well-known/jwks.json"

// NewJWKSHandler serves GET and HEAD of a JWK Set: keys returns it (the
// receipt signer's, package receipts). Anyone may read and cache it: it
// holds public keys only.
func NewJWKSHandler(keys func(context.Context) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			MethodNotAllowed(w, r, "GET, HEAD")
			return
		}
		set, err := keys(r.Context())
		if err != nil {
			Fail(w, r, err, "")
			return
		}
		b, err := jsontext.Marshal(set)
		if err != nil {
			Fail(w, r, err, "")
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append(b, '\n'))
		}
	})
}
