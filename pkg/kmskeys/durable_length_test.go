package kmskeys_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// callbackIDOf is a callback id of n characters: random bytes in base64
// (nothing to compress: the worst case), or, with structured, base64 of
// JSON text as the durable execution SDK's local runner makes them
// ({"executionId": ..., "operationId": ..., "token": ...}), padded with
// '=' as base64 pads.
func callbackIDOf(n int, structured bool) string {
	raw := make([]byte, (n+3)/4*3)
	if structured {
		// Random hex ids in JSON: no repetition for deflate but the
		// syntax and the hex alphabet.
		uuid := func() string {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
		}
		text := `{"executionId":"` + uuid() + `","operationId":"` + uuid()[:16] + `","token":"` + uuid()
		for len(text) < len(raw) {
			text += `","token":"` + uuid()
		}
		raw = []byte(text[:len(raw)])
	} else {
		_, _ = rand.Read(raw)
	}
	id := base64.StdEncoding.EncodeToString(raw)
	if n < 4 {
		return id[:n] // 1 to 3 characters: a valid pattern, not base64
	}
	return id[:n]
}

// TestCallbackIDURLLengths measures the approve URL of the reference's
// two-action request for callback ids of 1, 64 and 1,024 characters in
// each key mode (issue 16's numbers; go test ./pkg/kmskeys -run
// TestCallbackIDURLLengths -v). A random 1,024-character id is 768 bytes
// that base64url makes 1,024 characters again, so its URL cannot be
// under 998 characters whatever the envelope; the bounds below guard
// today's figures.
func TestCallbackIDURLLengths(t *testing.T) {
	srv := kmstest.New(t)
	modes := []struct {
		name string
		keys payload.KeySource
	}{
		{"kms hmac", newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})},
		{"kms envelope", newSource(t, srv, kmskeys.Options{KeyID: kmstest.Alias})},
		{"static", newKeyring(t)},
		{"unencrypted", nil},
	}
	for _, m := range modes {
		svc := newFn(m.keys, nil)
		var line []string
		for _, n := range []int{1, 64, 1024} {
			for _, structured := range []bool{false, true} {
				if n == 1 && structured {
					continue
				}
				id := callbackIDOf(n, structured)
				kind := "random"
				if structured {
					kind = "JSON"
				}
				body := strings.Replace(twoActions("x"), `"token":"x"`, `"callback_id":`+quote(id), 1)
				urls := svc.mustCreate(t, body)
				line = append(line, fmt.Sprintf("%d (%s): %d", n, kind, len(urls["approve"])))
				// An id's bytes cost at most 4/3 of themselves plus the
				// envelope and the rest of the request; a text id is
				// deflated, and fits a mail line in the short modes.
				limit := n*4/3 + 280
				switch {
				case m.name == "kms envelope":
					limit += 240
				case m.name == "unencrypted":
					limit = n*5/3 + 330
				case structured && n == 1024:
					limit = 998
				}
				if len(urls["approve"]) > limit {
					t.Errorf("%s: a %d-character %s id gives a %d-character URL, over %d", m.name, n, kind, len(urls["approve"]), limit)
				}
			}
		}
		t.Logf("%s: approve URL for callback ids of %s characters", m.name, strings.Join(line, ", "))
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
