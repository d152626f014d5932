package kmskeys_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// apiResult is what a caller sees of an error: its code and kind (the
// edge's status follows from the kind: BadInput 400, Unavailable 503,
// Internal 500).
type apiResult struct {
	OK          bool
	Code        string
	Kind        callbackurls.Kind
	Unavailable bool // wraps callbackurls.ErrUnavailable
}

// succeeded is the result of no error.
var succeeded = apiResult{OK: true}

func resultOf(err error) apiResult {
	if err == nil {
		return succeeded
	}
	e := callbackurls.AsError(err)
	return apiResult{Code: e.Code, Kind: e.Kind, Unavailable: errors.Is(err, callbackurls.ErrUnavailable)}
}

// TestCreateErrors: KMS failures while creating URLs, through the real SDK
// client and the real Service.
func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name      string
		keyID     string
		setup     func(srv *kmstest.Server)
		want      apiResult
		wantText  string // in the message
		wantCalls int    // GenerateDataKey requests, retries included
	}{
		{"ok", "", nil, succeeded, "", 1},
		{"ok by key ARN", "arn", nil, succeeded, "", 1},
		{"ok by key id", "id", nil, succeeded, "", 1},
		{"ok by alias ARN", "arn:aws:kms:us-east-1:111122223333:" + kmstest.Alias, nil, succeeded, "", 1},
		{"access denied", "", func(s *kmstest.Server) { s.FailNext(1, 400, "AccessDeniedException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "kms:GenerateDataKey", 1},
		{"key policy wants another context", "", func(s *kmstest.Server) { s.RequireContext(map[string]string{"service": "other"}) },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "encryption context service=sfn-callback-urls", 1},
		{"disabled key", "", func(s *kmstest.Server) { s.SetKeyState(kmstest.Alias, kmstest.Disabled) },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "is disabled", 1},
		{"key pending deletion", "", func(s *kmstest.Server) { s.SetKeyState(kmstest.Alias, kmstest.PendingDeletion) },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Internal}, "not in a usable state", 1},
		{"throttled once, retried", "", func(s *kmstest.Server) { s.FailNext(1, 400, "ThrottlingException") },
			succeeded, "", 2},
		{"throttled", "", func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 3},
		{"internal error", "", func(s *kmstest.Server) { s.FailNext(3, 500, "KMSInternalException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 3},
		{"key unavailable", "", func(s *kmstest.Server) { s.FailNext(3, 500, "KeyUnavailableException") },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 3},
		{"unreachable", "", func(s *kmstest.Server) { s.Close() },
			apiResult{Code: callbackurls.CodeEncryptionFailed, Kind: callbackurls.Unavailable, Unavailable: true}, "try again later", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			keyID := tt.keyID
			switch keyID {
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
			sfn := &callbackurlstest.Target{}
			svc := newService(src, sfn, nil)
			_, err := create(t, svc, twoActions(token))
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
			if got := srv.Count("GenerateDataKey"); got != tt.wantCalls {
				t.Errorf("%d GenerateDataKey requests, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestCallbackErrors: KMS failures and foreign URLs while opening, through
// the real SDK client and the real Service. Nothing reaches Step Functions.
func TestCallbackErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// url makes the URL to open with srv's key (its creator is a
		// separate Source).
		url       func(t *testing.T, srv *kmstest.Server) string
		setup     func(srv *kmstest.Server)
		codec     func(t *testing.T, srv *kmstest.Server) *payload.Codec // default: KMS with the alias
		want      apiResult
		wantCalls int // Decrypt requests
	}{
		{name: "ok", url: kmsURL, want: succeeded, wantCalls: 1},
		{name: "encrypted key altered", url: func(t *testing.T, srv *kmstest.Server) string {
			return alterData(t, kmsURL(t, srv), 3+100)
		}, want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 1},
		{name: "payload ciphertext altered", url: func(t *testing.T, srv *kmstest.Server) string {
			return alterData(t, kmsURL(t, srv), 3+184+20)
		}, want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 1},
		{name: "data key of another KMS key", url: func(t *testing.T, srv *kmstest.Server) string {
			other := srv.NewKey()
			svc := newService(newSource(t, srv, kmskeys.Options{KeyID: other}), &callbackurlstest.Target{}, nil)
			return mustCreate(t, svc, twoActions(token))["approve"]
		}, want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 1},
		{name: "data key made with another encryption context", url: func(t *testing.T, srv *kmstest.Server) string {
			srv.RequireContext(nil)
			defer srv.RequireContext(kmskeys.EncryptionContext())
			out, err := srv.Client(ctx).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
				KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256,
				EncryptionContext: map[string]string{"service": "someone-else"},
			})
			if err != nil {
				t.Fatal(err)
			}
			svc := newService(newFixedKey(t, out.CiphertextBlob, out.Plaintext), &callbackurlstest.Target{}, nil)
			return mustCreate(t, svc, twoActions(token))["approve"]
		}, want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 1},
		{name: "data key of the wrong size", url: func(t *testing.T, srv *kmstest.Server) string {
			out, err := srv.Client(ctx).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
				KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes128,
				EncryptionContext: kmskeys.EncryptionContext(),
			})
			if err != nil {
				t.Fatal(err)
			}
			svc := newService(newFixedKey(t, out.CiphertextBlob, out.Plaintext), &callbackurlstest.Target{}, nil)
			return mustCreate(t, svc, twoActions(token))["approve"]
		}, want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 1},
		{name: "throttled", url: kmsURL, setup: func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") },
			want: apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}, wantCalls: 3},
		{name: "internal error", url: kmsURL, setup: func(s *kmstest.Server) { s.FailNext(3, 500, "KMSInternalException") },
			want: apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}, wantCalls: 3},
		{name: "unreachable", url: kmsURL, setup: func(s *kmstest.Server) { s.Close() },
			want: apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}, wantCalls: 0},
		{name: "access denied (deployment)", url: kmsURL, setup: func(s *kmstest.Server) { s.FailNext(1, 400, "AccessDeniedException") },
			want: apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}, wantCalls: 1},
		{name: "key disabled (deployment)", url: kmsURL, setup: func(s *kmstest.Server) { s.SetKeyState(kmstest.Alias, kmstest.Disabled) },
			want: apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}, wantCalls: 1},
		{name: "static-key URL", url: staticURL,
			want: apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 0},
		{name: "unencrypted URL", url: func(t *testing.T, srv *kmstest.Server) string {
			return mustCreate(t, newService(nil, &callbackurlstest.Target{}, nil), twoActions(token))["approve"]
		}, want: apiResult{Code: callbackurls.CodeEncryptionRequired, Kind: callbackurls.BadInput}, wantCalls: 0},
		{name: "KMS URL at a static-key deployment", url: kmsURL,
			codec: func(t *testing.T, srv *kmstest.Server) *payload.Codec { return &payload.Codec{Keys: newKeyring(t)} },
			want:  apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}, wantCalls: 0},
		{name: "KMS URL at an unencrypted deployment", url: kmsURL,
			codec: func(t *testing.T, srv *kmstest.Server) *payload.Codec { return &payload.Codec{} },
			want:  apiResult{Code: callbackurls.CodeDecryptionUnsupported, Kind: callbackurls.BadInput}, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := tt.url(t, srv)
			// The opening source describes its key at start, before the
			// failure.
			codec := &payload.Codec{Keys: newSource(t, srv, kmskeys.Options{})}
			if tt.codec != nil {
				codec = tt.codec(t, srv)
			}
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
			if got := srv.Count("Decrypt"); got != tt.wantCalls {
				t.Errorf("%d Decrypt requests, want %d", got, tt.wantCalls)
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

// kmsURL is an approve URL made with srv's key by its own Source.
func kmsURL(t *testing.T, srv *kmstest.Server) string {
	svc := newService(newSource(t, srv, kmskeys.Options{}), &callbackurlstest.Target{}, nil)
	return mustCreate(t, svc, twoActions(token))["approve"]
}

func staticURL(t *testing.T, _ *kmstest.Server) string {
	return mustCreate(t, newService(newKeyring(t), &callbackurlstest.Target{}, nil), twoActions(token))["approve"]
}

func newKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	k, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// alterData flips one bit of the decoded data parameter at offset (past
// the "3-" prefix): 3+n is inside the encrypted key for n < 184.
func alterData(t *testing.T, rawURL string, offset int) string {
	t.Helper()
	data := dataOf(t, rawURL)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(data, payload.PrefixEncrypted))
	if err != nil {
		t.Fatal(err)
	}
	if offset < 0 { // from the end
		offset += len(raw)
	}
	raw[offset] ^= 0x40
	return strings.Replace(rawURL, data, payload.PrefixEncrypted+base64.RawURLEncoding.EncodeToString(raw), 1)
}
