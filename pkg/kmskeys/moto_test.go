package kmskeys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/mototest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
)

func motoKey(t *testing.T, client *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey %s: %v", spec, err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// TestMoto runs both modes and the move from one to the other against
// moto's KMS (a moto_server on loopback; skipped without one, failed
// under CI=true), through the real SDK client: another implementation of
// GenerateMac, DescribeKey and the data key calls than the stand-in's.
func TestMoto(t *testing.T) {
	ctx := context.Background()
	cfg := mototest.Start(t).Config("us-east-1")
	client := kms.NewFromConfig(cfg)
	hmacKey := motoKey(t, client, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	envelopeKey := motoKey(t, client, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	// A key made with CreateKey's defaults, which moto describes without
	// its usage.
	defaultKey := motoKey(t, client, "", "")
	rsaKey := motoKey(t, client, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)

	newMotoSource := func(t *testing.T, keyID string, previous ...string) *kmskeys.Source {
		t.Helper()
		// The constructor the functions use.
		src, err := kmskeys.NewFromAWSConfig(ctx, cfg, kmskeys.Options{KeyID: keyID, PreviousKeyIDs: previous})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	for _, tt := range []struct {
		name  string
		keyID string
		want  kmskeys.Kind
	}{{"hmac", hmacKey, kmskeys.HMAC}, {"envelope", envelopeKey, kmskeys.Envelope}, {"envelope, CreateKey's defaults", defaultKey, kmskeys.Envelope}} {
		t.Run(tt.name, func(t *testing.T) {
			creator := newMotoSource(t, tt.keyID)
			if creator.Kind() != tt.want {
				t.Fatalf("mode %s, want %s", creator.Kind(), tt.want)
			}
			urls := newFn(creator, nil).mustCreate(t, twoActions(token))
			// Another function: it derives or decrypts the data key anew.
			opener := newFn(newMotoSource(t, tt.keyID), nil)
			for _, name := range []string{"approve", "reject"} {
				opener.mustRespond(t, urls[name])
			}
			if got := len(opener.target.Calls()); got != 2 {
				t.Errorf("%d Step Functions calls, want 2", got)
			}
			if err := opener.respond(t, alterData(t, urls["approve"], len(keyRefOf(t, urls["approve"]))+20)); callbackurls.AsError(err).Code != callbackurls.CodeInvalidPayload {
				t.Errorf("altered URL: %v, want InvalidPayload", err)
			}
		})
	}
	t.Run("envelope to hmac", func(t *testing.T) {
		oldURL := approveURL(t, newMotoSource(t, envelopeKey))
		svc := newFn(newMotoSource(t, hmacKey, envelopeKey), nil)
		svc.mustRespond(t, oldURL)
		svc.mustRespond(t, svc.mustCreate(t, twoActions(token))["approve"])
	})
	t.Run("a key of another kind", func(t *testing.T) {
		_, err := kmskeys.NewFromAWSConfig(ctx, cfg, kmskeys.Options{KeyID: rsaKey})
		if err == nil || !strings.Contains(err.Error(), "key spec RSA_2048") {
			t.Errorf("RSA key: %v, want an error naming its spec", err)
		}
	})
}
