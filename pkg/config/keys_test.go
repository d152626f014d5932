package config

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring/keyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnvKeySettings(t *testing.T) {
	type keys struct {
		KeyID, KeyringSecretID, KeyringParameter string
		DataKeyMaxAge, DataKeyCacheMaxAge        time.Duration
		DataKeyMaxUses, DataKeyCacheSize         int
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    keys
		wantErr string
	}{
		{"none", nil, keys{}, ""},
		{"KMS with cache settings", map[string]string{
			"KEY_ID": "alias/x", "DATA_KEY_MAX_AGE": "90s", "DATA_KEY_MAX_USES": "500",
			"DATA_KEY_CACHE_SIZE": "20", "DATA_KEY_CACHE_MAX_AGE": "2h",
		}, keys{KeyID: "alias/x", DataKeyMaxAge: 90 * time.Second, DataKeyMaxUses: 500, DataKeyCacheSize: 20, DataKeyCacheMaxAge: 2 * time.Hour}, ""},
		{"one data key per URL", map[string]string{"DATA_KEY_MAX_USES": "1"}, keys{DataKeyMaxUses: 1}, ""},
		{"no decrypt cache", map[string]string{"DATA_KEY_CACHE_SIZE": "0"}, keys{DataKeyCacheSize: -1}, ""},
		{"secret", map[string]string{"KEYRING_SECRET_ID": "sfn-callback-urls/keyring"}, keys{KeyringSecretID: "sfn-callback-urls/keyring"}, ""},
		{"parameter", map[string]string{"KEYRING_PARAMETER": "/sfn/keyring"}, keys{KeyringParameter: "/sfn/keyring"}, ""},
		{"bad max age", map[string]string{"DATA_KEY_MAX_AGE": "300"}, keys{}, "DATA_KEY_MAX_AGE"},
		{"negative max age", map[string]string{"DATA_KEY_MAX_AGE": "-1m"}, keys{}, "DATA_KEY_MAX_AGE"},
		{"zero max uses", map[string]string{"DATA_KEY_MAX_USES": "0"}, keys{}, "DATA_KEY_MAX_USES"},
		{"bad cache size", map[string]string{"DATA_KEY_CACHE_SIZE": "lots"}, keys{}, "DATA_KEY_CACHE_SIZE"},
		{"bad cache age", map[string]string{"DATA_KEY_CACHE_MAX_AGE": "0s"}, keys{}, "DATA_KEY_CACHE_MAX_AGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := keys{c.KeyID, c.KeyringSecretID, c.KeyringParameter, c.DataKeyMaxAge, c.DataKeyCacheMaxAge, c.DataKeyMaxUses, c.DataKeyCacheSize}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckKeySources(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		wantErr string // "" for none
	}{
		{"KMS", Config{KeyID: "alias/x"}, ""},
		{"secret", Config{KeyringSecretID: "s"}, ""},
		{"parameter", Config{KeyringParameter: "/p"}, ""},
		{"disabled", Config{DisableEncryption: true}, ""},
		{"none", Config{}, "no encryption key is configured"},
		{"two", Config{KeyID: "alias/x", KeyringSecretID: "s"}, "more than one key source is configured (KEY_ID, KEYRING_SECRET_ID)"},
		{"disabled and parameter", Config{DisableEncryption: true, KeyringParameter: "/p"}, "contradicts the key that is configured (KEYRING_PARAMETER)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Check()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Check: %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestARNRegion(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab": "eu-west-1",
		"arn:aws-cn:kms:cn-north-1:111122223333:alias/x":                              "cn-north-1",
		"alias/x":                              "",
		"1234abcd-12ab-34cd-56ef-1234567890ab": "",
	} {
		if got := arnRegion(in); got != want {
			t.Errorf("arnRegion(%q) = %q, want %q", in, got, want)
		}
	}
}

// awsEnv points the SDK's default configuration at stand-ins and away
// from any real credentials or config files.
func awsEnv(t *testing.T, endpoints map[string]string) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCONFIGTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "config-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for k, v := range endpoints {
		t.Setenv(k, v)
	}
}

// roundTrip seals and opens a payload with codec.
func roundTrip(t *testing.T, codec *payload.Codec) string {
	t.Helper()
	ctx := context.Background()
	p := &callbackurls.Payload{Token: "AAAA=", Action: "ping", Type: callbackurls.Heartbeat}
	data, err := codec.Encode(ctx, p)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := codec.Decode(ctx, data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Token != p.Token {
		t.Fatalf("token %q, want %q", got.Token, p.Token)
	}
	return data
}

// TestCodecKMS: KEY_ID builds a KMS source on the SDK's default
// configuration, so AWS_ENDPOINT_URL_KMS reaches the stand-in.
func TestCodecKMS(t *testing.T) {
	srv := kmstest.New(t)
	awsEnv(t, map[string]string{"AWS_ENDPOINT_URL_KMS": srv.URL()})
	for _, keyID := range []string{kmstest.Alias, srv.KeyARN()} {
		srv.Reset()
		c, err := FromEnv(envOf(map[string]string{"KEY_ID": keyID, "DATA_KEY_MAX_USES": "2"}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Check(); err != nil {
			t.Fatal(err)
		}
		codec, _, err := c.Codec(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := codec.Keys.(*kmskeys.Source); !ok {
			t.Fatalf("KEY_ID gave keys %T, want *kmskeys.Source", codec.Keys)
		}
		for range 3 {
			roundTrip(t, codec)
		}
		// Three URLs at two per data key: two data keys, opened from the
		// creating source's own cache.
		if got := srv.Count("GenerateDataKey"); got != 2 {
			t.Errorf("KEY_ID=%s: %d GenerateDataKey calls, want 2 (DATA_KEY_MAX_USES=2)", keyID, got)
		}
		if got := srv.Count("Decrypt"); got != 0 {
			t.Errorf("KEY_ID=%s: %d Decrypt calls, want 0", keyID, got)
		}
	}
}

func keyringDoc(t *testing.T) (string, *keyring.Keyring) {
	t.Helper()
	k, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(doc), r
}

// TestCodecKeyringSources: the keyring sources read through the SDK's
// default configuration, once.
func TestCodecKeyringSources(t *testing.T) {
	doc, want := keyringDoc(t)
	sm := keyringtest.NewSecretsManager(t)
	sm.Put("sfn-callback-urls/keyring", doc)
	ps := keyringtest.NewParameterStore(t)
	ps.Put("/sfn-callback-urls/keyring", doc)
	awsEnv(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
		"AWS_ENDPOINT_URL_SSM":             ps.URL(),
	})
	tests := []struct {
		name  string
		env   map[string]string
		store *keyringtest.Server
	}{
		{"KEYRING", map[string]string{"KEYRING": doc}, nil},
		{"KEYRING_SECRET_ID", map[string]string{"KEYRING_SECRET_ID": "sfn-callback-urls/keyring"}, sm},
		{"KEYRING_PARAMETER", map[string]string{"KEYRING_PARAMETER": "/sfn-callback-urls/keyring"}, ps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			before := 0
			if tt.store != nil {
				before = tt.store.Count()
			}
			codec, _, err := c.Codec(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			r, ok := codec.Keys.(*keyring.Keyring)
			if !ok {
				t.Fatalf("keys %T, want *keyring.Keyring", codec.Keys)
			}
			if r.Current().ID != want.Current().ID {
				t.Errorf("current key %s, want %s", r.Current().ID, want.Current().ID)
			}
			for range 3 {
				roundTrip(t, codec)
			}
			if tt.store != nil {
				if got := tt.store.Count() - before; got != 1 {
					t.Errorf("%d reads of the store, want 1", got)
				}
			}
		})
	}

	t.Run("missing secret", func(t *testing.T) {
		c := Config{KeyringSecretID: "nope"}
		_, _, err := c.Codec(context.Background())
		if err == nil || !strings.Contains(err.Error(), "KEYRING_SECRET_ID") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("error %v, want one naming KEYRING_SECRET_ID and ResourceNotFoundException", err)
		}
	})
}
