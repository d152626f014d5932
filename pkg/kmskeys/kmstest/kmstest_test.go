package kmstest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

var serviceContext = map[string]string{"service": "sfn-callback-urls"}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

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
			if got := errorCode(err); got != tt.wantCode {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.RequireContext(tt.require)
			out, err := client.Decrypt(ctx, &tt.in)
			if got := errorCode(err); got != tt.wantCode {
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
			if got := errorCode(err); got != tt.code {
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
