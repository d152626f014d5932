package kmstest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

var serviceContext = map[string]string{"service": "sfn-callback-urls"}

// TestGenerateDataKey: blob sizes are KMS's, and the key names and the
// context condition behave as KMS's.
func TestGenerateDataKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		in       kms.GenerateDataKeyInput
		setup    func(s *kmstest.Server)
		wantBlob int
		wantCode string
	}{
		{"AES_256 by alias", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext}, nil, 184, ""},
		{"AES_128", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes128, EncryptionContext: serviceContext}, nil, 168, ""},
		{"64 bytes", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), NumberOfBytes: aws.Int32(64), EncryptionContext: serviceContext}, nil, 216, ""},
		{"alias ARN", kms.GenerateDataKeyInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:" + kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext}, nil, 184, ""},
		{"no context", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256}, nil, 0, "AccessDeniedException"},
		{"no context required", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256},
			func(s *kmstest.Server) { s.RequireContext(nil) }, 184, ""},
		{"unknown alias", kms.GenerateDataKeyInput{KeyId: aws.String("alias/nope"), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext}, nil, 0, "NotFoundException"},
		{"disabled", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext},
			func(s *kmstest.Server) { s.SetKeyState(kmstest.Alias, kmstest.Disabled) }, 0, "DisabledException"},
		{"both spec and bytes", kms.GenerateDataKeyInput{KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32), EncryptionContext: serviceContext}, nil, 0, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			out, err := srv.Client(ctx).GenerateDataKey(ctx, &tt.in)
			if got := standin.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %q, want %q", got, tt.wantCode)
			}
			if err != nil {
				return
			}
			if len(out.CiphertextBlob) != tt.wantBlob || len(out.CiphertextBlob) != kmstest.BlobOverhead+len(out.Plaintext) {
				t.Errorf("blob %d bytes for a %d-byte key, want %d", len(out.CiphertextBlob), len(out.Plaintext), tt.wantBlob)
			}
			if aws.ToString(out.KeyId) != srv.KeyARN() {
				t.Errorf("KeyId %q, want the key's ARN %q", aws.ToString(out.KeyId), srv.KeyARN())
			}
		})
	}
}

// TestDecrypt: a blob opens only with its context and its key.
func TestDecrypt(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	client := srv.Client(ctx)
	gen, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	other := srv.NewKey()
	altered := append([]byte(nil), gen.CiphertextBlob...)
	altered[100] ^= 1
	tests := []struct {
		name     string
		in       kms.DecryptInput
		require  map[string]string
		wantCode string
	}{
		{"ok", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: serviceContext}, serviceContext, ""},
		{"ok pinned to the key", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String(kmstest.Alias), EncryptionContext: serviceContext}, serviceContext, ""},
		{"pinned to another key", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String(other), EncryptionContext: serviceContext}, serviceContext, "IncorrectKeyException"},
		{"another context", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: map[string]string{"service": "x"}}, nil, "InvalidCiphertextException"},
		{"no context", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob}, nil, "InvalidCiphertextException"},
		{"context required by policy", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob}, serviceContext, "AccessDeniedException"},
		{"altered", kms.DecryptInput{CiphertextBlob: altered, EncryptionContext: serviceContext}, serviceContext, "InvalidCiphertextException"},
		{"garbage", kms.DecryptInput{CiphertextBlob: []byte("not a blob"), EncryptionContext: serviceContext}, serviceContext, "InvalidCiphertextException"},
		{"pinned to an HMAC key", kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String(kmstest.HMACAlias), EncryptionContext: serviceContext}, serviceContext, "InvalidKeyUsageException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.RequireContext(tt.require)
			out, err := client.Decrypt(ctx, &tt.in)
			if got := standin.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %q, want %q", got, tt.wantCode)
			}
			if err == nil && string(out.Plaintext) != string(gen.Plaintext) {
				t.Error("Decrypt returned another key")
			}
		})
	}
}

// TestFailNext: injected errors reach the SDK as KMS's typed errors and
// are retried as KMS's would be.
func TestFailNext(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		status    int
		code      string
		wantCalls int
	}{
		{400, "ThrottlingException", 3},
		{500, "KMSInternalException", 3},
		{400, "AccessDeniedException", 1},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			srv := kmstest.New(t)
			srv.FailNext(3, tt.status, tt.code)
			_, err := srv.Client(ctx).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
				KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256, EncryptionContext: serviceContext,
			})
			if got := standin.ErrorCode(err); got != tt.code {
				t.Errorf("error %q, want %q", got, tt.code)
			}
			if got := srv.Count("GenerateDataKey"); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
		})
	}
	var internal *types.KMSInternalException
	srv := kmstest.New(t)
	srv.FailNext(3, 500, "KMSInternalException")
	_, err := srv.Client(ctx).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("x")})
	if !errors.As(err, &internal) {
		t.Errorf("error %v, want a *types.KMSInternalException", err)
	}
}

// TestGenerateMac: HMAC keys make MACs anyone with the secret can check;
// other keys, algorithms and states are refused as KMS refuses them, and
// no encryption context is involved.
func TestGenerateMac(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	secret := bytes.Repeat([]byte{7}, 32)
	known := srv.AddHMACKey("00000000-1111-4222-8333-444444444444", secret)
	hmac384 := srv.NewKeyOfSpec("HMAC_384", kmstest.UsageMAC)
	msg := []byte("message")
	tests := []struct {
		name     string
		in       kms.GenerateMacInput
		setup    func(s *kmstest.Server)
		wantCode string
	}{
		{"HMAC_256 by alias", kms.GenerateMacInput{KeyId: aws.String(kmstest.HMACAlias), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg}, nil, ""},
		{"known secret", kms.GenerateMacInput{KeyId: aws.String(known), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg}, nil, ""},
		{"HMAC_384 with its algorithm", kms.GenerateMacInput{KeyId: aws.String(hmac384), MacAlgorithm: types.MacAlgorithmSpecHmacSha384, Message: msg}, nil, ""},
		{"wrong algorithm for the spec", kms.GenerateMacInput{KeyId: aws.String(kmstest.HMACAlias), MacAlgorithm: types.MacAlgorithmSpecHmacSha512, Message: msg}, nil, "InvalidKeyUsageException"},
		{"symmetric key", kms.GenerateMacInput{KeyId: aws.String(kmstest.Alias), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg}, nil, "InvalidKeyUsageException"},
		{"message over 4096 bytes", kms.GenerateMacInput{KeyId: aws.String(kmstest.HMACAlias), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: make([]byte, 4097)}, nil, "ValidationException"},
		{"disabled", kms.GenerateMacInput{KeyId: aws.String(kmstest.HMACAlias), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg},
			func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.Disabled) }, "DisabledException"},
		{"pending deletion", kms.GenerateMacInput{KeyId: aws.String(kmstest.HMACAlias), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg},
			func(s *kmstest.Server) { s.SetKeyState(kmstest.HMACAlias, kmstest.PendingDeletion) }, "KMSInvalidStateException"},
		{"unknown alias", kms.GenerateMacInput{KeyId: aws.String("alias/nope"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg}, nil, "NotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer srv.SetKeyState(kmstest.HMACAlias, kmstest.Enabled)
			if tt.setup != nil {
				tt.setup(srv)
			}
			out, err := srv.Client(ctx).GenerateMac(ctx, &tt.in)
			if got := standin.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %q, want %q", got, tt.wantCode)
			}
			if err != nil {
				return
			}
			if out.MacAlgorithm != tt.in.MacAlgorithm || !strings.HasPrefix(aws.ToString(out.KeyId), "arn:aws:kms:") {
				t.Errorf("answer %s for %s", out.MacAlgorithm, aws.ToString(out.KeyId))
			}
			again, err := srv.Client(ctx).GenerateMac(ctx, &tt.in)
			if err != nil || !bytes.Equal(again.Mac, out.Mac) {
				t.Errorf("GenerateMac is not deterministic: %x, %x (%v)", out.Mac, again.Mac, err)
			}
		})
	}
	out, err := srv.Client(ctx).GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(known), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, secret)
	h.Write(msg)
	if want := h.Sum(nil); !bytes.Equal(out.Mac, want) {
		t.Errorf("MAC %x, want HMAC-SHA-256 %x", out.Mac, want)
	}
	if srv.Count("GenerateMac") == 0 {
		t.Error("GenerateMac calls are not counted")
	}
}

// TestDescribeKey: spec, usage, algorithms and state, by any name, for
// keys in any state.
func TestDescribeKey(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.New(t)
	rsa := srv.NewKeyOfSpec("RSA_2048", "SIGN_VERIFY")
	tests := []struct {
		name                 string
		keyID                string
		state                string
		wantARN              string
		wantSpec             types.KeySpec
		wantUsage            types.KeyUsageType
		wantMAC, wantEncrypt bool
		wantCode             string
	}{
		{"symmetric by alias", kmstest.Alias, "", srv.KeyARN(), types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt, false, true, ""},
		{"HMAC by alias ARN", "arn:aws:kms:us-east-1:111122223333:" + kmstest.HMACAlias, "", srv.HMACKeyARN(), types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac, true, false, ""},
		{"HMAC by key ARN, disabled", srv.HMACKeyARN(), kmstest.Disabled, srv.HMACKeyARN(), types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac, true, false, ""},
		{"RSA", rsa, "", rsa, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify, false, false, ""},
		{"unknown", "alias/nope", "", "", "", "", false, false, "NotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.state != "" {
				srv.SetKeyState(tt.keyID, tt.state)
				defer srv.SetKeyState(tt.keyID, kmstest.Enabled)
			}
			out, err := srv.Client(ctx).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(tt.keyID)})
			if got := standin.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %q, want %q", got, tt.wantCode)
			}
			if err != nil {
				return
			}
			md := out.KeyMetadata
			if aws.ToString(md.Arn) != tt.wantARN || md.KeySpec != tt.wantSpec || md.KeyUsage != tt.wantUsage {
				t.Errorf("%s %s %s, want %s %s %s", aws.ToString(md.Arn), md.KeySpec, md.KeyUsage, tt.wantARN, tt.wantSpec, tt.wantUsage)
			}
			if (len(md.MacAlgorithms) > 0) != tt.wantMAC || (len(md.EncryptionAlgorithms) > 0) != tt.wantEncrypt {
				t.Errorf("MAC algorithms %v, encryption algorithms %v", md.MacAlgorithms, md.EncryptionAlgorithms)
			}
			wantState := types.KeyStateEnabled
			if tt.state != "" {
				wantState = types.KeyState(tt.state)
			}
			if md.KeyState != wantState || md.Enabled != (wantState == types.KeyStateEnabled) {
				t.Errorf("state %s, enabled %t, want %s", md.KeyState, md.Enabled, wantState)
			}
			if md.CreationDate == nil || time.Since(*md.CreationDate) > time.Hour {
				t.Errorf("creation date %v", md.CreationDate)
			}
		})
	}
}
