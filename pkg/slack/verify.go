package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The refusals of Verify. None says more than the request deserves: a
// signature that does not match is ErrBadSignature whatever was wrong.
var (
	ErrUnsigned     = errors.New("slack: the request is not signed (X-Slack-Signature and X-Slack-Request-Timestamp)")
	ErrStale        = errors.New("slack: the request's timestamp is more than 5 minutes from now (a replay, or a clock far off)")
	ErrBadSignature = errors.New("slack: the request's signature does not match")
)

// Verifier checks Slack's request signatures: X-Slack-Signature is "v0="
// and the hex HMAC-SHA256, keyed with the app's signing secret, of
// "v0:" + X-Slack-Request-Timestamp + ":" + the raw body.
type Verifier struct {
	secret func(context.Context) (string, error)
	now    func() time.Time

	mu  sync.Mutex
	key []byte // the secret, once read
}

// NewVerifier checks with the signing secret secret returns: it is read at
// the first request (a Secrets Manager secret: no call at start) and kept
// once it was read. now is the clock (nil: time.Now).
func NewVerifier(secret func(context.Context) (string, error), now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{secret: secret, now: now}
}

// StaticSecret is a secret known at start (SLACK_SIGNING_SECRET).
func StaticSecret(s string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s, nil }
}

// Verify checks a request's headers and raw body. It returns ErrUnsigned,
// ErrStale or ErrBadSignature for a request to refuse, or the secret's
// read error (an outage: nothing is refused for good).
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" || len(h.Values(HeaderSignature)) > 1 || len(h.Values(HeaderTimestamp)) > 1 {
		return ErrUnsigned
	}
	// Seconds since the epoch, as Slack writes them: digits only.
	if len(ts) > 12 || strings.Trim(ts, "0123456789") != "" {
		return ErrStale
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := v.now().Sub(time.Unix(secs, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrBadSignature
	}
	key, err := v.secretKey(ctx)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("v0:"))
	mac.Write([]byte(ts))
	mac.Write([]byte(":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return ErrBadSignature
	}
	return nil
}

func (v *Verifier) secretKey(ctx context.Context) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.key != nil {
		return v.key, nil
	}
	s, err := v.secret(ctx)
	if err != nil {
		return nil, err
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil, errors.New("slack: the signing secret is empty")
	}
	v.key = []byte(s)
	return v.key, nil
}
