package kmskeys_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// TestCreateErrorsHMAC: KMS failures while creating URLs in HMAC mode,
// through the real SDK client and the real Service.
func TestCreateErrorsHMAC(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(srv *kmstest.Server)
		want      apiResult
		wantText  string // in the message
		wantCalls int    // GenerateMac requests, retries included
	}{
		{"ok", nil, succeeded, "", 1},
		{"access denied", func(s *kmstest.Server) { s.FailNext(1, 400, "AccessDeniedException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "needs kms:GenerateMac with the condition kms:MacAlgorithm = HMAC_SHA_256", 1},
		{"disabled key", func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.Disabled) },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "is disabled", 1},
		{"key pending deletion", func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.PendingDeletion) },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "not in a usable state", 1},
		{"key usage refused", func(s *kmstest.Server) { s.FailNext(1, 400, "InvalidKeyUsageException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "must be an HMAC_256 key with usage GENERATE_VERIFY_MAC", 1},
		{"throttled once, retried", func(s *kmstest.Server) { s.FailNext(1, 400, "ThrottlingException") }, succeeded, "", 2},
		{"throttled", func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "(GenerateMac): try again later", 3},
		{"internal error", func(s *kmstest.Server) { s.FailNext(3, 500, "KMSInternalException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 3},
		{"unreachable", func(s *kmstest.Server) { s.Close() },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			src := newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})
			srv.Reset()
			if tt.setup != nil {
				tt.setup(srv)
			}
			_, err := create(t, newService(src, &callbackurlstest.Target{}, nil), twoActions(token))
			if diff := cmp.Diff(tt.want, resultOf(err)); diff != "" {
				t.Errorf("result (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil {
				msg := callbackurls.AsError(err).Message
				if !strings.Contains(msg, tt.wantText) {
					t.Errorf("message %q does not say %q", msg, tt.wantText)
				}
			}
			if got := dataKeyCalls(srv, "GenerateMac"); got != tt.wantCalls {
				t.Errorf("%d GenerateMac requests, want %d", got, tt.wantCalls)
			}
			if got := srv.Count("GenerateDataKey") + srv.Count("Decrypt"); got != 0 {
				t.Errorf("%d data key requests in HMAC mode", got)
			}
		})
	}
}

// TestCallbackErrorsHMAC: opening HMAC mode URLs. Only the URL's payload
// can be its fault: KMS refusing GenerateMac is the deployment's (503).
func TestCallbackErrorsHMAC(t *testing.T) {
	hmacURL := func(t *testing.T, srv *kmstest.Server) string {
		svc := newService(newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias}), &callbackurlstest.Target{}, nil)
		return mustCreate(t, svc, twoActions(token))["approve"]
	}
	bad := apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}
	down := apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}
	tests := []struct {
		name      string
		url       func(t *testing.T, srv *kmstest.Server) string
		setup     func(srv *kmstest.Server)
		want      apiResult
		wantCalls int // GenerateMac requests for data keys
		wantGate  int // GenerateMac requests for the gate key
	}{
		{name: "ok", url: hmacURL, want: succeeded, wantCalls: 1, wantGate: 1},
		// The gate refuses what was changed before any data key is
		// derived: a made-up identifier costs no call once the gate key
		// is known.
		{name: "identifier altered", url: func(t *testing.T, srv *kmstest.Server) string { return alterData(t, hmacURL(t, srv), 1+4+3) },
			want: bad, wantCalls: 0, wantGate: 1},
		{name: "tag altered: no key has it", url: func(t *testing.T, srv *kmstest.Server) string { return alterData(t, hmacURL(t, srv), 2) },
			want: bad, wantCalls: 0},
		{name: "payload ciphertext altered", url: func(t *testing.T, srv *kmstest.Server) string { return alterData(t, hmacURL(t, srv), 1+16+20) },
			want: bad, wantCalls: 0, wantGate: 1},
		{name: "gate tag altered", url: func(t *testing.T, srv *kmstest.Server) string { return alterData(t, hmacURL(t, srv), -1) },
			want: bad, wantCalls: 0, wantGate: 1},
		{name: "URL of another HMAC key", url: func(t *testing.T, srv *kmstest.Server) string {
			svc := newService(newSource(t, srv, kmskeys.Options{KeyID: srv.NewHMACKey()}), &callbackurlstest.Target{}, nil)
			return mustCreate(t, svc, twoActions(token))["approve"]
		}, want: bad, wantCalls: 0},
		// KMS failing at the gate key, the first call a cold instance
		// makes for a gated URL.
		{name: "throttled", url: hmacURL, setup: func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") }, want: down, wantGate: 3},
		{name: "internal error", url: hmacURL, setup: func(s *kmstest.Server) { s.FailNext(3, 500, "KMSInternalException") }, want: down, wantGate: 3},
		{name: "unreachable", url: hmacURL, setup: func(s *kmstest.Server) { s.Close() }, want: down},
		{name: "access denied (deployment)", url: hmacURL, setup: func(s *kmstest.Server) { s.FailNext(1, 400, "AccessDeniedException") }, want: down, wantGate: 1},
		{name: "validation (deployment)", url: hmacURL, setup: func(s *kmstest.Server) { s.FailNext(1, 400, "ValidationException") }, want: down, wantGate: 1},
		{name: "key disabled (deployment)", url: hmacURL, setup: func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.Disabled) }, want: down, wantGate: 1},
		{name: "static-key URL", url: staticURL, want: bad, wantCalls: 0},
		{name: "unencrypted URL", url: func(t *testing.T, srv *kmstest.Server) string {
			return mustCreate(t, newService(nil, &callbackurlstest.Target{}, nil), twoActions(token))["approve"]
		}, want: apiResult{Code: callbackurls.CodeEncryptionRequired, Kind: callbackurls.BadInput}, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := tt.url(t, srv)
			codec := &payload.Codec{Keys: newSource(t, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})}
			srv.Reset()
			if tt.setup != nil {
				tt.setup(srv)
			}
			sfn := &callbackurlstest.Target{}
			svc := callbackurls.New(callbackurls.Config{BaseURL: apiBase}, codec, callbackurls.Targets{callbackurls.TaskToken: sfn})
			_, err := respond(t, svc, u)
			if diff := cmp.Diff(tt.want, resultOf(err)); diff != "" {
				t.Errorf("result (-want +got):\n%s\nerror: %v", diff, err)
			}
			if got := dataKeyCalls(srv, "GenerateMac"); got != tt.wantCalls {
				t.Errorf("%d GenerateMac requests for data keys, want %d", got, tt.wantCalls)
			}
			if got := gateCalls(srv); got != tt.wantGate {
				t.Errorf("%d GenerateMac requests for the gate key, want %d", got, tt.wantGate)
			}
			if err != nil && len(sfn.Calls()) > 0 {
				t.Errorf("Step Functions was called: %+v", sfn.Calls())
			}
			if err != nil && strings.Contains(callbackurls.AsError(err).Message, "arn:") {
				t.Errorf("the message tells a URL holder about the key: %q", callbackurls.AsError(err).Message)
			}
		})
	}
}
