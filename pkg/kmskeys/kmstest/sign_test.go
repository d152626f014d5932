package kmstest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

// TestSign: through the SDK's client, a RAW message and its DIGEST sign
// alike, the DER signatures verify with the DER public key, and what KMS
// refuses is refused with its codes.
func TestSign(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	c := srv.Client(ctx)
	arn := srv.NewSigningKey()
	pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKIXPublicKey(pub.PublicKey)
	if err != nil || pub.KeySpec != types.KeySpecEccNistP256 || pub.KeyUsage != types.KeyUsageTypeSignVerify {
		t.Fatalf("public key %T (%v), %s %s", key, err, pub.KeySpec, pub.KeyUsage)
	}
	msg := []byte("a receipt's signing input")
	sum := sha256.Sum256(msg)
	for _, in := range []*kms.SignInput{
		{KeyId: aws.String(arn), Message: msg, MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256},
		{KeyId: aws.String(arn), Message: sum[:], MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256},
	} {
		out, err := c.Sign(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(key.(*ecdsa.PublicKey), sum[:], out.Signature) || aws.ToString(out.KeyId) != arn {
			t.Errorf("%s: the signature does not verify", in.MessageType)
		}
	}
	for _, tt := range []struct {
		name string
		in   *kms.SignInput
		code string
	}{
		{"short digest", &kms.SignInput{KeyId: aws.String(arn), Message: sum[:31], MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, "ValidationException"},
		{"another algorithm", &kms.SignInput{KeyId: aws.String(arn), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha384}, "InvalidKeyUsageException"},
		{"an encryption key", &kms.SignInput{KeyId: aws.String(kmstest.Alias), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, "InvalidKeyUsageException"},
		{"no key", &kms.SignInput{KeyId: aws.String("alias/none"), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, "NotFoundException"},
	} {
		if _, err := c.Sign(ctx, tt.in); standin.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if _, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(kmstest.HMACAlias)}); standin.ErrorCode(err) != "InvalidKeyUsageException" {
		t.Errorf("GetPublicKey of an HMAC key: %v", err)
	}
	srv.SetKeyState(arn, kmstest.Disabled)
	if _, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(arn), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}); standin.ErrorCode(err) != "DisabledException" {
		t.Errorf("a disabled key: %v", err)
	}
}
