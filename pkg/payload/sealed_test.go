package payload_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func TestSealed(t *testing.T) {
	ctx := context.Background()
	keys := ring(t, keyring.Key{ID: "k1", Secret: secret(1)})
	sealed, err := payload.Seal(ctx, keys, "signin-state", "https://a.example/v1", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := payload.Open(ctx, keys, "signin-state", "https://a.example/v1", sealed)
	if err != nil || string(got) != "hello" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := ring(t, keyring.Key{ID: "k1", Secret: secret(2)})
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for _, tt := range []struct {
		name                     string
		keys                     payload.KeySource
		purpose, binding, sealed string
	}{
		{"another purpose", keys, "signin-identity", "https://a.example/v1", sealed},
		{"another deployment with the same keys", keys, "signin-state", "https://a.example/v2", sealed},
		{"another deployment's keys", other, "signin-state", "https://a.example/v1", sealed},
		{"altered", keys, "signin-state", "https://a.example/v1", string(flipped)},
		{"truncated", keys, "signin-state", "https://a.example/v1", sealed[:20]},
		{"not base64url", keys, "signin-state", "https://a.example/v1", sealed + "="},
		{"too long", keys, "signin-state", "https://a.example/v1", strings.Repeat("A", payload.MaxSealed+1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := payload.Open(ctx, tt.keys, tt.purpose, tt.binding, tt.sealed)
			wantCode(t, err, callbackurls.CodeInvalidPayload)
		})
	}
	// A sealed value is never a payload, nor a payload a sealed value.
	if _, err := staticCodec(t).Decode(ctx, payload.PrefixEncrypted+sealed); err == nil {
		t.Error("a sealed value opened as a payload")
	}
	data, err := (&payload.Codec{Keys: keys}).Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payload.Open(ctx, keys, "", "", strings.TrimPrefix(data, payload.PrefixEncrypted)); err == nil {
		t.Error("a payload opened as a sealed value")
	}
	if _, err := payload.Seal(ctx, nil, "x", "y", nil); err != payload.ErrNoKeys {
		t.Errorf("no keys: %v", err)
	}
}
