package kmskeys_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
)

func sampleReceipt() *callbackurls.Receipt {
	return &callbackurls.Receipt{TransactionID: "0123456789abcdef0123456789abcdef", Action: "approve", Type: callbackurls.Success,
		Via: "web", At: time.Unix(1767225600, 0), RefSHA256: sha256.Sum256([]byte("tok")),
		By: &callbackurls.Identity{Issuer: "https://id.example.com", Subject: "a-1", Email: "ana@example.com"}}
}

// TestSigningKey: receipts signed through KMS Sign (the stand-in speaking
// KMS's protocol) verify with the key set made from GetPublicKey, which is
// read once.
func TestSigningKey(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	arn := srv.NewSigningKey()
	key := kmskeys.NewSigningKey(srv.Client(ctx), arn)
	s := receipts.NewSigner(apiBase, key)
	if srv.Count("GetPublicKey") != 0 {
		t.Error("the key was read before the first receipt")
	}
	var last string
	for range 3 {
		r, err := s.SignReceipt(ctx, sampleReceipt())
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	set, err := s.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims, jwk, err := receipts.Verify(last, set)
	if err != nil || jwk.Alg != receipts.ES256 || claims.By.Email != "ana@example.com" {
		t.Fatalf("Verify: %+v %+v %v", claims, jwk, err)
	}
	// The published key is KMS's.
	want, _ := receipts.JWKOf(srv.PublicKey(arn))
	if jwk.Kid != want.Kid {
		t.Errorf("published key %s, KMS's %s", jwk.Kid, want.Kid)
	}
	if n, m := srv.Count("Sign"), srv.Count("GetPublicKey"); n != 3 || m != 1 {
		t.Errorf("%d Sign and %d GetPublicKey calls, want 3 and 1", n, m)
	}
	for _, c := range srv.Calls() {
		if c.KeyID != arn {
			t.Errorf("%s named key %q", c.Operation, c.KeyID)
		}
	}
}

func TestSigningKeyErrors(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	for _, tt := range []struct {
		name    string
		key     func() string
		prepare func(arn string)
		kind    callbackurls.Kind
	}{
		{"not a signing key", srv.NewKey, nil, callbackurls.Internal},
		{"RSA", func() string { return srv.NewKeyOfSpec("RSA_2048", kmstest.UsageSign) }, nil, callbackurls.Internal},
		{"no such key", func() string { return "alias/nothing" }, nil, callbackurls.Internal},
		{"disabled", srv.NewSigningKey, func(arn string) { srv.SetKeyState(arn, kmstest.Disabled) }, callbackurls.Internal},
		{"throttled", srv.NewSigningKey, func(string) { srv.FailNext(3, 400, "ThrottlingException") }, callbackurls.Unavailable},
		{"KMS down", srv.NewSigningKey, func(string) { srv.FailNext(3, 500, "KMSInternalException") }, callbackurls.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			arn := tt.key()
			if tt.prepare != nil {
				tt.prepare(arn)
			}
			s := receipts.NewSigner(apiBase, kmskeys.NewSigningKey(srv.Client(ctx), arn))
			_, err := s.SignReceipt(ctx, sampleReceipt())
			var e *callbackurls.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Code != callbackurls.CodeServiceError {
				t.Fatalf("got %v, want a %s ServiceError", err, tt.kind)
			}
			if tt.kind == callbackurls.Unavailable && !errors.Is(err, callbackurls.ErrUnavailable) {
				t.Errorf("%v does not wrap ErrUnavailable", err)
			}
		})
	}
	// A failure is not kept: the next receipt reads the key again.
	arn := srv.NewSigningKey()
	s := receipts.NewSigner(apiBase, kmskeys.NewSigningKey(srv.Client(ctx), arn))
	srv.FailNext(3, 500, "KMSInternalException")
	if _, err := s.SignReceipt(ctx, sampleReceipt()); err == nil {
		t.Fatal("no error")
	}
	if _, err := s.SignReceipt(ctx, sampleReceipt()); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}
