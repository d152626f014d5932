package kmskeys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// TestModeFromKey: the key's spec and usage choose the mode, with one
// DescribeKey per key at start; a key of any other kind, or one KMS will
// not describe, stops the start with a message saying what to fix.
func TestModeFromKey(t *testing.T) {
	tests := []struct {
		name     string
		keyID    func(srv *kmstest.Server) string
		setup    func(srv *kmstest.Server)
		want     kmskeys.Kind
		wantErr  []string // in the error
		wantCall int      // DescribeKey requests, retries included
	}{
		{name: "symmetric key by alias", keyID: func(*kmstest.Server) string { return kmstest.Alias }, want: kmskeys.Envelope, wantCall: 1},
		{name: "HMAC key by alias", keyID: func(*kmstest.Server) string { return kmstest.HMACAlias }, want: kmskeys.HMAC, wantCall: 1},
		{name: "HMAC key by key ARN", keyID: func(s *kmstest.Server) string { return s.HMACKeyARN() }, want: kmskeys.HMAC, wantCall: 1},
		{name: "HMAC key by key id", keyID: func(s *kmstest.Server) string { return s.HMACKeyARN()[strings.LastIndexByte(s.HMACKeyARN(), '/')+1:] },
			want: kmskeys.HMAC, wantCall: 1},
		{name: "a disabled key is described (and fails at use)", keyID: func(*kmstest.Server) string { return kmstest.HMACAlias },
			setup: func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.Disabled) }, want: kmskeys.HMAC, wantCall: 1},
		{name: "RSA signing key", keyID: func(s *kmstest.Server) string { return s.NewKeyOfSpec("RSA_2048", "SIGN_VERIFY") },
			wantErr: []string{"KEY_ID", "key spec RSA_2048", "key usage SIGN_VERIFY", "HMAC_256, GENERATE_VERIFY_MAC", "SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT"}, wantCall: 1},
		{name: "HMAC_384 key", keyID: func(s *kmstest.Server) string { return s.NewKeyOfSpec("HMAC_384", kmstest.UsageMAC) },
			wantErr: []string{"key spec HMAC_384", "key usage GENERATE_VERIFY_MAC"}, wantCall: 1},
		{name: "no such alias", keyID: func(*kmstest.Server) string { return "alias/nope" },
			wantErr: []string{"KEY_ID alias/nope", "not found", "region"}, wantCall: 1},
		{name: "access denied", keyID: func(*kmstest.Server) string { return kmstest.HMACAlias },
			setup:   func(s *kmstest.Server) { s.FailNext(1, 400, "AccessDeniedException") },
			wantErr: []string{"KEY_ID " + kmstest.HMACAlias, "kms:DescribeKey", "both functions' roles"}, wantCall: 1},
		{name: "throttled", keyID: func(*kmstest.Server) string { return kmstest.HMACAlias },
			setup:   func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") },
			wantErr: []string{"KEY_ID " + kmstest.HMACAlias, "DescribeKey is throttling or unavailable"}, wantCall: 3},
		{name: "unreachable", keyID: func(*kmstest.Server) string { return kmstest.HMACAlias },
			setup:   func(s *kmstest.Server) { s.Close() },
			wantErr: []string{"KEY_ID " + kmstest.HMACAlias, "DescribeKey is throttling or unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			keyID := tt.keyID(srv)
			if tt.setup != nil {
				tt.setup(srv)
			}
			src, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: keyID})
			if got := srv.Count("DescribeKey"); got != tt.wantCall {
				t.Errorf("%d DescribeKey requests, want %d", got, tt.wantCall)
			}
			if n := len(srv.Calls()) - gateCalls(srv) - srv.Count("DescribeKey"); n != 0 {
				t.Errorf("%d other KMS requests at start, want none", n)
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, mode %s", src.Kind())
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Kind() != tt.want {
				t.Errorf("mode %s, want %s", src.Kind(), tt.want)
			}
			if !strings.HasPrefix(src.KeyARN(), "arn:aws:kms:"+kmstest.Region+":"+kmstest.Account+":key/") {
				t.Errorf("key ARN %q", src.KeyARN())
			}
		})
	}
}

// TestPreviousKeys: a deployment moving from one key to another, of
// either kind, keeps opening the old key's URLs while it makes URLs with
// the new one, each opened with one call to the key that made it.
func TestPreviousKeys(t *testing.T) {
	for _, old := range modes {
		for _, cur := range modes {
			t.Run(old.name+" to "+cur.name, func(t *testing.T) {
				srv := kmstest.New(t)
				oldKey := map[kmskeys.Kind]func() string{kmskeys.Envelope: srv.NewKey, kmskeys.HMAC: srv.NewHMACKey}[old.kind]()
				newKey := map[kmskeys.Kind]func() string{kmskeys.Envelope: srv.NewKey, kmskeys.HMAC: srv.NewHMACKey}[cur.kind]()
				oldURL := sourceURL(t, srv, kmskeys.Options{KeyID: oldKey})

				// Without the old key, its URLs are refused.
				srv.Reset()
				without := newFn(newSource(t, srv, kmskeys.Options{KeyID: newKey}), nil)
				srv.Reset()
				err := without.respond(t, oldURL)
				if diff := cmp.Diff(refused, resultOf(err)); diff != "" {
					t.Errorf("old URL without PREVIOUS_KEY_IDS (-want +got):\n%s", diff)
				}
				// Only an envelope URL at an envelope deployment asks KMS
				// (Decrypt pinned to the new key: IncorrectKeyException).
				wantCalls := 0
				if old.kind == kmskeys.Envelope && cur.kind == kmskeys.Envelope {
					wantCalls = 1
				}
				if got := len(srv.Calls()) - gateCalls(srv); got != wantCalls {
					t.Errorf("old URL without PREVIOUS_KEY_IDS: %d KMS calls %+v, want %d", got, srv.Calls(), wantCalls)
				}

				srv.Reset()
				src := newSource(t, srv, kmskeys.Options{KeyID: newKey, PreviousKeyIDs: []string{oldKey}})
				if got := srv.Count("DescribeKey"); got != 2 {
					t.Errorf("%d DescribeKey calls at start for two keys, want 2", got)
				}
				if src.Kind() != cur.kind || src.KeyARN() != newKey {
					t.Errorf("creates with %s %s, want %s %s", src.Kind(), src.KeyARN(), cur.kind, newKey)
				}
				after := newFn(src, nil)
				srv.Reset()
				after.mustRespond(t, oldURL)
				// An envelope blob is tried on the envelope keys in order:
				// the new key first when it is one. (An HMAC URL's gate
				// key comes first: dataKeyCallLog leaves it out.)
				calls := dataKeyCallLog(srv)
				if old.kind == kmskeys.Envelope && cur.kind == kmskeys.Envelope {
					if len(calls) != 2 || calls[0].KeyID != newKey || calls[0].ErrorType != "IncorrectKeyException" {
						t.Errorf("opening the old URL: KMS calls %+v, want Decrypt with the new key (IncorrectKeyException) first", calls)
					}
					calls = calls[1:]
				}
				if len(calls) != 1 || calls[0].Operation != old.openOp || calls[0].KeyID != oldKey || calls[0].Status != 200 {
					t.Errorf("opening the old URL: KMS calls %+v, want one %s with the old key %s", calls, old.openOp, oldKey)
				}

				srv.Reset()
				newURL := after.mustCreate(t, twoActions(token))["approve"]
				if raw := envelopeOf(t, newURL); raw[0] != cur.headerMode {
					t.Errorf("new URL of mode %d, want %d", raw[0], cur.headerMode)
				}
				calls = dataKeyCallLog(srv)
				if len(calls) != 1 || calls[0].Operation != cur.createOp || calls[0].KeyID != newKey {
					t.Errorf("creating: KMS calls %+v, want one %s with the new key", calls, cur.createOp)
				}
				newFn(newSource(t, srv, kmskeys.Options{KeyID: newKey, PreviousKeyIDs: []string{oldKey}}), nil).mustRespond(t, newURL)
			})
		}
	}
}

// TestPreviousKeysChoice: a URL names its key without the service trying
// every key: an HMAC URL by its tag (a URL of no configured key costs no
// call), an envelope URL by KMS itself (a blob of another key is tried on
// the next envelope key only after IncorrectKeyException).
func TestPreviousKeysChoice(t *testing.T) {
	srv := kmstest.New(t)
	env1, env2, foreignEnv := srv.NewKey(), srv.NewKey(), srv.NewKey()
	hmac1, hmac2, foreignHMAC := srv.NewHMACKey(), srv.NewHMACKey(), srv.NewHMACKey()
	urlOf := func(keyID string) string { return sourceURL(t, srv, kmskeys.Options{KeyID: keyID}) }
	opts := kmskeys.Options{KeyID: hmac1, PreviousKeyIDs: []string{env1, hmac2, env2}}
	tests := []struct {
		name string
		url  string
		want apiResult
		// calls are the KMS operations and keys asked, in order.
		calls []string
	}{
		// A gated URL: the gate key of the tag's key first, then the data key.
		{"current HMAC key", urlOf(hmac1), succeeded, []string{"GenerateMac gate " + hmac1, "GenerateMac " + hmac1}},
		{"previous HMAC key", urlOf(hmac2), succeeded, []string{"GenerateMac gate " + hmac2, "GenerateMac " + hmac2}},
		{"first envelope key", urlOf(env1), succeeded, []string{"Decrypt " + env1}},
		{"second envelope key", urlOf(env2), succeeded, []string{"Decrypt " + env1, "Decrypt " + env2}},
		{"HMAC key of no setting: refused by its tag", urlOf(foreignHMAC), refused, nil},
		{"envelope key of no setting", urlOf(foreignEnv), refused,
			[]string{"Decrypt " + env1, "Decrypt " + env2}},
		// The blob no longer names a key (its key id is altered).
		{"altered blob: one call", alterData(t, urlOf(env2), 3+5), refused,
			[]string{"Decrypt " + env1}},
		{"altered identifier: refused at the gate", alterData(t, urlOf(hmac2), 1+4+5), refused,
			[]string{"GenerateMac gate " + hmac2}},
		{"altered tag", alterData(t, urlOf(hmac2), 1), refused, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFn(newSource(t, srv, opts), nil)
			srv.Reset()
			err := svc.respond(t, tt.url)
			if diff := cmp.Diff(tt.want, resultOf(err)); diff != "" {
				t.Errorf("result (-want +got):\n%s\nerror: %v", diff, err)
			}
			var calls []string
			for _, c := range srv.Calls() {
				op := c.Operation
				if strings.HasPrefix(string(c.Message), "sfn-callback-urls gate key") {
					op += " gate"
				}
				calls = append(calls, op+" "+c.KeyID)
			}
			if diff := cmp.Diff(tt.calls, calls); diff != "" {
				t.Errorf("KMS calls (-want +got):\n%s", diff)
			}
			if err != nil && len(svc.target.Calls()) > 0 {
				t.Errorf("Step Functions was called: %+v", svc.target.Calls())
			}
		})
	}
}

// TestKeyNamedTwice: KEY_ID repeated in PREVIOUS_KEY_IDS, or a key named
// by alias and by ARN, is one key (no tag collision, one Decrypt).
func TestKeyNamedTwice(t *testing.T) {
	srv := kmstest.New(t)
	for _, m := range modes {
		arn := map[kmskeys.Kind]string{kmskeys.Envelope: srv.KeyARN(), kmskeys.HMAC: srv.HMACKeyARN()}[m.kind]
		src := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, PreviousKeyIDs: []string{arn, m.keyID}})
		svc := newFn(src, nil)
		u := sourceURL(t, srv, m.opts())
		srv.Reset()
		if err := svc.respond(t, alterData(t, u, len(keyRefOf(t, u))+20)); callbackurls.AsError(err).Code != callbackurls.CodeInvalidPayload {
			t.Errorf("%s: altered URL: %v", m.name, err)
		}
		// An HMAC URL is refused at its key's gate, derived once.
		if got := dataKeyCalls(srv, m.openOp) + gateCalls(srv); got != 1 {
			t.Errorf("%s: %d %s calls for a key named three times, want 1", m.name, got, m.openOp)
		}
	}
}

// TestModeMismatch: a URL of the other mode reaches a deployment with no
// key of that mode, and is refused without a KMS call.
func TestModeMismatch(t *testing.T) {
	srv := kmstest.New(t)
	for _, from := range modes {
		for _, at := range modes {
			if from.kind == at.kind {
				continue
			}
			u := sourceURL(t, srv, kmskeys.Options{KeyID: from.keyID})
			svc := newFn(newSource(t, srv, kmskeys.Options{KeyID: at.keyID}), nil)
			srv.Reset()
			err := svc.respond(t, u)
			if diff := cmp.Diff(refused, resultOf(err)); diff != "" {
				t.Errorf("%s URL at a %s deployment (-want +got):\n%s", from.name, at.name, diff)
			}
			if n := len(srv.Calls()) - gateCalls(srv); n != 0 {
				t.Errorf("%s URL at a %s deployment: %d KMS calls, want 0", from.name, at.name, n)
			}
		}
	}
	// And a mode 3 header with a reference of the wrong size never
	// reaches the source.
	_, err := (&payload.Codec{Keys: newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})}).Decode(context.Background(), "3-Aw")
	if callbackurls.AsError(err).Code != callbackurls.CodeInvalidPayload {
		t.Errorf("truncated mode 3 header: %v", err)
	}
}

// TestKeyFor: what inspect says about a URL's key.
func TestKeyFor(t *testing.T) {
	srv := kmstest.New(t)
	envelopeURL := sourceURL(t, srv, kmskeys.Options{KeyID: kmstest.Alias})
	hmacURL := sourceURL(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})
	ref := func(u string) (byte, []byte) {
		r := keyRefOf(t, u)
		if r[0] == payload.ModeKMS {
			return r[0], r[3:] // past the length
		}
		return r[0], r[1:]
	}
	src := newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias, PreviousKeyIDs: []string{kmstest.Alias}})
	for _, tt := range []struct {
		name string
		url  string
		want string
	}{
		{"the only envelope key", envelopeURL, srv.KeyARN()},
		{"the HMAC key of the tag", hmacURL, srv.HMACKeyARN()},
		{"an unknown tag", alterData(t, hmacURL, 1), ""},
	} {
		if got := src.KeyFor(ref(tt.url)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	two := newSource(t, srv, kmskeys.Options{KeyID: kmstest.Alias, PreviousKeyIDs: []string{srv.NewKey()}})
	if got := two.KeyFor(ref(envelopeURL)); got != "" {
		t.Errorf("two envelope keys: %q, want none named", got)
	}
}
