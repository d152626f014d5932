package kmskeys_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// forgedURL is a URL of mode whose key reference starts with prefix (a
// real key's tag) and goes on with n random bytes.
func forgedURL(t testing.TB, mode byte, prefix []byte, n int) string {
	t.Helper()
	ref := make([]byte, len(prefix)+n)
	copy(ref, prefix)
	_, _ = rand.Read(ref[len(prefix):])
	// Sealed as an attacker would: a random data key, and for the gated
	// modes a random gate key.
	return newFn(newSealer(t, mode, ref, randomBytes(32), randomBytes(payload.GateKeySize)), nil).mustCreate(t, oneAction(token))["ping"]
}

// hmacTag is the URL tag of the stand-in's HMAC key.
func hmacTag(srv *kmstest.Server) []byte {
	arn := srv.HMACKeyARN()
	return kmskeys.TagOf(arn[strings.LastIndexByte(arn, '/')+1:])
}

// TestGatedModes: new URLs are gated (an HMAC key's own gate, or an
// envelope key's GateKeyID), open where they should, and a made-up URL of
// a gated mode is refused at the gate: no data key call, nothing cached.
func TestGatedModes(t *testing.T) {
	srv := kmstest.New(t)
	tests := []struct {
		name  string
		opts  kmskeys.Options
		mode  byte
		forge func() string // a made-up URL of the mode
	}{
		{"HMAC key", kmskeys.Options{KeyID: kmstest.HMACAlias}, payload.ModeKMSHMACGated,
			func() string { return forgedURL(t, payload.ModeKMSHMACGated, hmacTag(srv), kmskeys.IdentifierSize) }},
		{"envelope key with a gate key", kmskeys.Options{KeyID: kmstest.Alias, GateKeyID: kmstest.HMACAlias}, payload.ModeKMSGated,
			func() string { return forgedURL(t, payload.ModeKMSGated, hmacTag(srv), 184) }},
		{"envelope key without", kmskeys.Options{KeyID: kmstest.Alias}, payload.ModeKMS, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creator := newFn(newSource(t, srv, tt.opts), nil)
			u := creator.mustCreate(t, twoActions(token))["approve"]
			if mode := envelopeOf(t, u)[0]; mode != tt.mode {
				t.Errorf("URL of mode %d, want %d", mode, tt.mode)
			}
			src := newSource(t, srv, tt.opts)
			opener := newFn(src, nil)
			srv.Reset()
			opener.mustRespond(t, u)
			if tt.forge == nil {
				return
			}
			// The opener knows its gate key now: made-up URLs cost nothing.
			srv.Reset()
			for range 20 {
				err := opener.respond(t, tt.forge())
				if diff := cmp.Diff(refused, resultOf(err)); diff != "" {
					t.Fatalf("made-up URL (-want +got):\n%s", diff)
				}
			}
			if calls := srv.Calls(); len(calls) != 0 {
				t.Errorf("made-up URLs made %d KMS calls: %+v", len(calls), calls)
			}
			if got := src.Stats().CachedKeys; got != 1 {
				t.Errorf("%d data keys cached, want the real one", got)
			}
		})
	}
}

// TestMadeUpKeysNotCached: a URL of an ungated mode (made before gates)
// whose key reference is made up costs a KMS call, within its own bound,
// but its data key is never cached: an attack review pushed real keys out
// of a 50-entry cache with 60 such URLs in 4.5 s (issue 20).
func TestMadeUpKeysNotCached(t *testing.T) {
	srv := kmstest.New(t)
	const cacheSize = 50
	clk := newClock()
	src := newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias, CacheSize: cacheSize, ColdCallsPerSecond: -1, Now: clk.Now})
	svc := newFn(src, clk.Now)
	real := distinctURLs(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias}, 3)
	for _, u := range real {
		svc.mustRespond(t, u)
	}
	srv.Reset()
	for range 2 * cacheSize {
		err := svc.respond(t, forgedURL(t, payload.ModeKMSHMAC, hmacTag(srv), kmskeys.IdentifierSize))
		if callbackurls.AsError(err).Code != callbackurls.CodeInvalidPayload {
			t.Fatalf("made-up URL: %v", err)
		}
	}
	if got := dataKeyCalls(srv, "GenerateMac"); got != 2*cacheSize {
		t.Errorf("%d GenerateMac calls for %d made-up URLs of mode 3, want one each", got, 2*cacheSize)
	}
	if got := src.Stats().CachedKeys; got != len(real) {
		t.Errorf("%d data keys cached, want the %d real ones", got, len(real))
	}
	srv.Reset()
	for _, u := range real {
		svc.mustRespond(t, u)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("real URLs after the made-up ones: %d KMS calls, want none (still cached)", n)
	}
}

// TestBoundsApart: made-up URLs of the ungated modes spend their own
// bucket; a real gated URL whose key is not cached still opens.
func TestBoundsApart(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     kmskeys.Options
		ungated  byte
		refBytes int
	}{
		{"HMAC key", kmskeys.Options{KeyID: kmstest.HMACAlias}, payload.ModeKMSHMAC, kmskeys.IdentifierSize},
		{"envelope key with a gate key", kmskeys.Options{KeyID: kmstest.Alias, GateKeyID: kmstest.HMACAlias}, payload.ModeKMS, 184},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			real := distinctURLs(t, srv, tt.opts, 3)
			clk := newClock()
			opts := tt.opts
			opts.ColdCallsPerSecond, opts.ColdCallsBurst, opts.Now = 1, 2, clk.Now
			svc := newFn(newSource(t, srv, opts), clk.Now)
			prefix := []byte(nil)
			if tt.ungated == payload.ModeKMSHMAC {
				prefix = hmacTag(srv)
			}
			for i := range 10 {
				err := svc.respond(t, forgedURL(t, tt.ungated, prefix, tt.refBytes))
				want := callbackurls.CodeInvalidPayload
				if i >= 2 {
					want = callbackurls.CodeServiceError // the ungated bucket is empty
				}
				if got := callbackurls.AsError(err).Code; got != want {
					t.Fatalf("made-up URL %d: %v, want %s", i, err, want)
				}
			}
			// Its own bucket (burst 2) pays for a gated cold URL and its
			// gate key's derivation is not a cold call.
			svc.mustRespond(t, real[0])
			svc.mustRespond(t, real[1])
			err := svc.respond(t, real[2])
			if got := callbackurls.AsError(err).Code; got != callbackurls.CodeServiceError {
				t.Errorf("a third cold gated URL in the same second: %v, want the bound's 503", err)
			}
			clk.Advance(time.Second)
			svc.mustRespond(t, real[2])
		})
	}
}

// TestGateKeyID: GATE_KEY_ID must be an HMAC key, and an unknown gate tag
// is refused without a call.
func TestGateKeyID(t *testing.T) {
	srv := kmstest.New(t)
	_, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: kmstest.Alias, GateKeyID: kmstest.Alias})
	if err == nil || !strings.Contains(err.Error(), "GATE_KEY_ID") || !strings.Contains(err.Error(), "HMAC") {
		t.Errorf("a symmetric gate key: %v", err)
	}
	svc := newFn(newSource(t, srv, kmskeys.Options{KeyID: kmstest.Alias, GateKeyID: kmstest.HMACAlias}), nil)
	srv.Reset()
	err = svc.respond(t, forgedURL(t, payload.ModeKMSGated, []byte{1, 2, 3, 4}, 184))
	if diff := cmp.Diff(refused, resultOf(err)); diff != "" {
		t.Errorf("unknown gate tag (-want +got):\n%s", diff)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d KMS calls for an unknown gate tag", n)
	}
}

// TestDescribeOnFirstUse: with DescribeOnFirstUse the keys are described
// by the first request that needs them. While KMS fails, creating URLs
// gets 503 EncryptionFailed and callbacks 503 ServiceError, one
// DescribeKey per backoff (a second, doubling) whatever the requests; a
// key of the wrong kind is a 500 EncryptionFailed naming the setting.
func TestDescribeOnFirstUse(t *testing.T) {
	unavailable := func(code string) apiResult {
		return apiResult{Code: code, Kind: callbackurls.Unavailable, Unavailable: true}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := distinctURLs(t, srv, m.opts(), 1)[0]
			clk := newClock()
			opts := kmskeys.Options{KeyID: m.keyID, DescribeOnFirstUse: true, Now: clk.Now}
			creator := newFn(newSource(t, srv, opts), clk.Now)
			opener := newFn(newSource(t, srv, opts), clk.Now)
			srv.Reset()
			if n := len(srv.Calls()); n != 0 {
				t.Fatalf("%d KMS calls before the first use", n)
			}
			srv.FailNextOp("DescribeKey", 6, 500, "KMSInternalException")
			for range 3 {
				_, err := creator.create(t, oneAction(token))
				if diff := cmp.Diff(unavailable(callbackurls.CodeEncryptionFailed), resultOf(err)); diff != "" {
					t.Errorf("create while KMS fails (-want +got):\n%s", diff)
				}
				err = opener.respond(t, u)
				if diff := cmp.Diff(unavailable(callbackurls.CodeServiceError), resultOf(err)); diff != "" {
					t.Errorf("callback while KMS fails (-want +got):\n%s", diff)
				}
			}
			// One describe each (three attempts of the SDK's retryer),
			// then none until the backoff ends.
			if got := srv.Count("DescribeKey"); got != 6 {
				t.Errorf("%d DescribeKey requests, want 6 (two functions, three attempts each)", got)
			}
			clk.Advance(time.Second)
			creator.mustCreate(t, oneAction(token))
			opener.mustRespond(t, u)
			if got := srv.Count("DescribeKey"); got != 8 {
				t.Errorf("%d DescribeKey requests after the backoff, want 8", got)
			}
		})
	}
	t.Run("a key of the wrong kind", func(t *testing.T) {
		srv := kmstest.New(t)
		opts := kmskeys.Options{KeyID: srv.NewKeyOfSpec("RSA_2048", "SIGN_VERIFY"), DescribeOnFirstUse: true}
		_, err := newFn(newSource(t, srv, opts), nil).create(t, oneAction(token))
		if diff := cmp.Diff(apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, resultOf(err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if msg := callbackurls.AsError(err).Message; !strings.Contains(msg, "KEY_ID") || !strings.Contains(msg, "RSA_2048") {
			t.Errorf("message %q does not name the setting and the key spec", msg)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := kmstest.New(t)
		opts := kmskeys.Options{KeyID: kmstest.HMACAlias, DescribeOnFirstUse: true}
		svc := newFn(newSource(t, srv, opts), nil)
		srv.Close()
		_, err := svc.create(t, oneAction(token))
		if diff := cmp.Diff(unavailable(callbackurls.CodeEncryptionFailed), resultOf(err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}
