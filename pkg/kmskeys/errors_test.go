package kmskeys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// failNext and keyState are the failures the tables below inject.
func failNext(n, status int, code string) func(*kmstest.Server) {
	return func(s *kmstest.Server) { s.FailNext(n, status, code) }
}

func keyState(keyID, state string) func(*kmstest.Server) {
	return func(s *kmstest.Server) { s.SetKeyState(keyID, state) }
}

func closed(s *kmstest.Server) { s.Close() }

// TestCreateErrors: KMS failures while creating URLs in either mode,
// through the real SDK client and the real Service.
func TestCreateErrors(t *testing.T) {
	envelope, hmac := modes[0], modes[1]
	failed := apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}
	later := apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}
	tests := []struct {
		mode     keyMode
		name     string
		keyID    string // "": the mode's; "arn", "id": its key's ARN, id
		setup    func(srv *kmstest.Server)
		want     apiResult
		wantText string // in the message
		// wantCalls are the mode's requests for data keys, retries
		// included.
		wantCalls int
	}{
		{envelope, "ok", "", nil, succeeded, "", 1},
		{envelope, "ok by key ARN", "arn", nil, succeeded, "", 1},
		{envelope, "ok by key id", "id", nil, succeeded, "", 1},
		{envelope, "ok by alias ARN", "arn:aws:kms:us-east-1:111122223333:" + kmstest.Alias, nil, succeeded, "", 1},
		{envelope, "access denied", "", failNext(1, 400, "AccessDeniedException"), failed, "kms:GenerateDataKey", 1},
		{envelope, "key policy wants another context", "", func(s *kmstest.Server) { s.RequireContext(map[string]string{"service": "other"}) },
			failed, "encryption context service=sfn-callback-urls", 1},
		{envelope, "disabled key", "", keyState(kmstest.Alias, kmstest.Disabled), failed, "is disabled", 1},
		{envelope, "key pending deletion", "", keyState(kmstest.Alias, kmstest.PendingDeletion), failed, "not in a usable state", 1},
		{envelope, "throttled once, retried", "", failNext(1, 400, "ThrottlingException"), succeeded, "", 2},
		{envelope, "throttled", "", failNext(3, 400, "ThrottlingException"), later, "try again later", 3},
		{envelope, "internal error", "", failNext(3, 500, "KMSInternalException"), later, "try again later", 3},
		{envelope, "key unavailable", "", failNext(3, 500, "KeyUnavailableException"), later, "try again later", 3},
		{envelope, "unreachable", "", closed, later, "try again later", 0},

		{hmac, "ok", "", nil, succeeded, "", 1},
		{hmac, "access denied", "", failNext(1, 400, "AccessDeniedException"), failed, "needs kms:GenerateMac with the condition kms:MacAlgorithm = HMAC_SHA_256", 1},
		{hmac, "disabled key", "", keyState(kmstest.HMACAlias, kmstest.Disabled), failed, "is disabled", 1},
		{hmac, "key pending deletion", "", keyState(kmstest.HMACAlias, kmstest.PendingDeletion), failed, "not in a usable state", 1},
		{hmac, "key usage refused", "", failNext(1, 400, "InvalidKeyUsageException"), failed, "must be an HMAC_256 key with usage GENERATE_VERIFY_MAC", 1},
		{hmac, "throttled once, retried", "", failNext(1, 400, "ThrottlingException"), succeeded, "", 2},
		{hmac, "throttled", "", failNext(3, 400, "ThrottlingException"), later, "(GenerateMac): try again later", 3},
		{hmac, "internal error", "", failNext(3, 500, "KMSInternalException"), later, "try again later", 3},
		{hmac, "unreachable", "", closed, later, "try again later", 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode.name+"/"+tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			keyID := tt.keyID
			switch keyID {
			case "":
				keyID = tt.mode.keyID
			case "arn":
				keyID = srv.KeyARN()
			case "id":
				keyID = srv.KeyARN()[strings.LastIndexByte(srv.KeyARN(), '/')+1:]
			}
			// The source describes its key at start, before the failure.
			src := newSource(t, srv, kmskeys.Options{KeyID: keyID})
			srv.Reset()
			if tt.setup != nil {
				tt.setup(srv)
			}
			_, err := newFn(src, nil).create(t, twoActions(token))
			if diff := cmp.Diff(tt.want, resultOf(err)); diff != "" {
				t.Errorf("result (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil {
				msg := callbackurls.AsError(err).Message
				if !strings.Contains(msg, tt.wantText) {
					t.Errorf("message %q does not say %q", msg, tt.wantText)
				}
				if strings.Contains(msg, token[:40]) {
					t.Errorf("message %q holds the token", msg)
				}
			}
			if got := dataKeyCalls(srv, tt.mode.createOp); got != tt.wantCalls {
				t.Errorf("%d %s requests, want %d", got, tt.mode.createOp, tt.wantCalls)
			}
			// Neither mode asks for the other's data keys.
			other := modes[0]
			if tt.mode.kind == kmskeys.Envelope {
				other = modes[1]
			}
			if got := dataKeyCalls(srv, other.createOp) + dataKeyCalls(srv, other.openOp); got != 0 {
				t.Errorf("%d %s data key requests in %s mode", got, other.name, tt.mode.name)
			}
		})
	}
}

// TestCallbackErrors: KMS failures and foreign URLs while opening, in
// either mode, through the real SDK client and the real Service. Only the
// URL's payload can be its fault: KMS refusing the deployment is a 503.
// Nothing reaches Step Functions.
func TestCallbackErrors(t *testing.T) {
	ctx := context.Background()
	envelope, hmac := modes[0], modes[1]
	// modeURL is an approve URL made with the mode's key by a Source of
	// its own.
	modeURL := func(m keyMode) func(*testing.T, *kmstest.Server) string {
		return func(t *testing.T, srv *kmstest.Server) string { return sourceURL(t, srv, m.opts()) }
	}
	altered := func(m keyMode, offset int) func(*testing.T, *kmstest.Server) string {
		return func(t *testing.T, srv *kmstest.Server) string {
			return alterData(t, sourceURL(t, srv, m.opts()), offset)
		}
	}
	staticURL := func(t *testing.T, _ *kmstest.Server) string { return approveURL(t, newKeyring(t)) }
	unencryptedURL := func(t *testing.T, _ *kmstest.Server) string { return approveURL(t, nil) }
	// sealedURL is a URL of a data key KMS made for in.
	sealedURL := func(in *kms.GenerateDataKeyInput) func(*testing.T, *kmstest.Server) string {
		return func(t *testing.T, srv *kmstest.Server) string {
			srv.RequireContext(nil)
			defer srv.RequireContext(kmskeys.EncryptionContext())
			out, err := srv.Client(ctx).GenerateDataKey(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return approveURL(t, newSealer(t, payload.ModeKMS, out.CiphertextBlob, out.Plaintext, nil))
		}
	}
	required := apiResult{Code: callbackurls.CodeEncryptionRequired, Kind: callbackurls.BadInput}
	tests := []struct {
		mode keyMode
		name string
		// url makes the URL to open with srv's key (its creator is a
		// separate Source).
		url   func(t *testing.T, srv *kmstest.Server) string
		setup func(srv *kmstest.Server)
		// keys are the opening deployment's (nil: a Source of the mode's
		// key); they may return nil, encryption off.
		keys func(t *testing.T, srv *kmstest.Server) payload.KeySource
		want apiResult
		// wantCalls are the mode's requests for data keys; wantGate the
		// GenerateMac requests for the gate key.
		wantCalls, wantGate int
	}{
		{mode: envelope, name: "ok", url: modeURL(envelope), want: succeeded, wantCalls: 1},
		{mode: envelope, name: "encrypted key altered", url: altered(envelope, 3+100), want: refused, wantCalls: 1},
		{mode: envelope, name: "payload ciphertext altered", url: altered(envelope, 3+184+20), want: refused, wantCalls: 1},
		{mode: envelope, name: "data key of another KMS key", url: func(t *testing.T, srv *kmstest.Server) string {
			return sourceURL(t, srv, kmskeys.Options{KeyID: srv.NewKey()})
		}, want: refused, wantCalls: 1},
		{mode: envelope, name: "data key made with another encryption context", url: sealedURL(&kms.GenerateDataKeyInput{
			KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: map[string]string{"service": "someone-else"},
		}), want: refused, wantCalls: 1},
		{mode: envelope, name: "data key of the wrong size", url: sealedURL(&kms.GenerateDataKeyInput{
			KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes128, EncryptionContext: kmskeys.EncryptionContext(),
		}), want: refused, wantCalls: 1},
		{mode: envelope, name: "throttled", url: modeURL(envelope), setup: failNext(3, 400, "ThrottlingException"), want: overBound, wantCalls: 3},
		{mode: envelope, name: "internal error", url: modeURL(envelope), setup: failNext(3, 500, "KMSInternalException"), want: overBound, wantCalls: 3},
		{mode: envelope, name: "unreachable", url: modeURL(envelope), setup: closed, want: overBound},
		{mode: envelope, name: "access denied (deployment)", url: modeURL(envelope), setup: failNext(1, 400, "AccessDeniedException"), want: overBound, wantCalls: 1},
		{mode: envelope, name: "key disabled (deployment)", url: modeURL(envelope), setup: keyState(kmstest.Alias, kmstest.Disabled), want: overBound, wantCalls: 1},
		{mode: envelope, name: "static-key URL", url: staticURL, want: refused},
		{mode: envelope, name: "unencrypted URL", url: unencryptedURL, want: required},
		{mode: envelope, name: "KMS URL at a static-key deployment", url: modeURL(envelope),
			keys: func(t *testing.T, _ *kmstest.Server) payload.KeySource { return newKeyring(t) }, want: refused},
		{mode: envelope, name: "KMS URL at an unencrypted deployment", url: modeURL(envelope),
			keys: func(*testing.T, *kmstest.Server) payload.KeySource { return nil },
			want: apiResult{Code: callbackurls.CodeDecryptionUnsupported, Kind: callbackurls.BadInput}},

		{mode: hmac, name: "ok", url: modeURL(hmac), want: succeeded, wantCalls: 1, wantGate: 1},
		// The gate refuses what was changed before any data key is
		// derived: a made-up identifier costs no call once the gate key
		// is known.
		{mode: hmac, name: "identifier altered", url: altered(hmac, 1+4+3), want: refused, wantGate: 1},
		{mode: hmac, name: "tag altered: no key has it", url: altered(hmac, 2), want: refused},
		{mode: hmac, name: "payload ciphertext altered", url: altered(hmac, 1+16+20), want: refused, wantGate: 1},
		{mode: hmac, name: "gate tag altered", url: altered(hmac, -1), want: refused, wantGate: 1},
		{mode: hmac, name: "URL of another HMAC key", url: func(t *testing.T, srv *kmstest.Server) string {
			return sourceURL(t, srv, kmskeys.Options{KeyID: srv.NewHMACKey()})
		}, want: refused},
		// KMS failing at the gate key, the first call a cold instance
		// makes for a gated URL.
		{mode: hmac, name: "throttled", url: modeURL(hmac), setup: failNext(3, 400, "ThrottlingException"), want: overBound, wantGate: 3},
		{mode: hmac, name: "internal error", url: modeURL(hmac), setup: failNext(3, 500, "KMSInternalException"), want: overBound, wantGate: 3},
		{mode: hmac, name: "unreachable", url: modeURL(hmac), setup: closed, want: overBound},
		{mode: hmac, name: "access denied (deployment)", url: modeURL(hmac), setup: failNext(1, 400, "AccessDeniedException"), want: overBound, wantGate: 1},
		{mode: hmac, name: "validation (deployment)", url: modeURL(hmac), setup: failNext(1, 400, "ValidationException"), want: overBound, wantGate: 1},
		{mode: hmac, name: "key disabled (deployment)", url: modeURL(hmac), setup: keyState(kmstest.HMACAlias, kmstest.Disabled), want: overBound, wantGate: 1},
		{mode: hmac, name: "static-key URL", url: staticURL, want: refused},
		{mode: hmac, name: "unencrypted URL", url: unencryptedURL, want: required},
	}
	for _, tt := range tests {
		t.Run(tt.mode.name+"/"+tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := tt.url(t, srv)
			// The opening source describes its key at start, before the
			// failure.
			var keys payload.KeySource = newSource(t, srv, tt.mode.opts())
			if tt.keys != nil {
				keys = tt.keys(t, srv)
			}
			opener := newFn(keys, nil)
			srv.Reset()
			if tt.setup != nil {
				tt.setup(srv)
			}
			err := opener.respond(t, u)
			if diff := cmp.Diff(tt.want, resultOf(err)); diff != "" {
				t.Errorf("result (-want +got):\n%s\nerror: %v", diff, err)
			}
			if got := dataKeyCalls(srv, tt.mode.openOp); got != tt.wantCalls {
				t.Errorf("%d %s requests for data keys, want %d", got, tt.mode.openOp, tt.wantCalls)
			}
			if got := gateCalls(srv); got != tt.wantGate {
				t.Errorf("%d GenerateMac requests for the gate key, want %d", got, tt.wantGate)
			}
			if err != nil && len(opener.target.Calls()) > 0 {
				t.Errorf("Step Functions was called: %+v", opener.target.Calls())
			}
			if err != nil && strings.Contains(callbackurls.AsError(err).Message, "arn:") {
				t.Errorf("the message tells a URL holder about the key: %q", callbackurls.AsError(err).Message)
			}
		})
	}
}
