package keysource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring/awskeyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// loadAWS is the mains' loader: the SDK's default configuration, read from
// the environment awsEnv sets.
func loadAWS() (aws.Config, error) { return awsconfig.LoadDefaultConfig(context.Background()) }

// awsEnv points the SDK's default configuration at stand-ins and away
// from any real credentials or config files.
func awsEnv(t *testing.T, endpoints map[string]string) {
	t.Setenv("AWS_ACCESS_KEY_ID", standin.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", standin.SecretAccessKey)
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
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "AAAA="}, Action: "ping", Type: callbackurls.Heartbeat}
	data, err := codec.Encode(ctx, p)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := codec.Decode(ctx, data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Target.ID != p.Target.ID {
		t.Fatalf("token %q, want %q", got.Target.ID, p.Target.ID)
	}
	return data
}

// TestCodecKMS: KEY_ID builds a KMS source on the SDK's default
// configuration, so AWS_ENDPOINT_URL_KMS reaches the stand-in, and the
// key's type chooses the mode with one DescribeKey at start.
func TestCodecKMS(t *testing.T) {
	srv := kmstest.New(t)
	awsEnv(t, map[string]string{"AWS_ENDPOINT_URL_KMS": srv.URL()})
	tests := []struct {
		keyID, gateKeyID string
		mode             kmskeys.Kind
		createOp         string
		gates            int // gate keys derived: an HMAC key's own, GATE_KEY_ID's
		described        int
	}{
		{kmstest.Alias, "", kmskeys.Envelope, "GenerateDataKey", 0, 1},
		{srv.KeyARN(), "", kmskeys.Envelope, "GenerateDataKey", 0, 1},
		{kmstest.HMACAlias, "", kmskeys.HMAC, "GenerateMac", 1, 1},
		{srv.HMACKeyARN(), "", kmskeys.HMAC, "GenerateMac", 1, 1},
		{kmstest.Alias, kmstest.HMACAlias, kmskeys.Envelope, "GenerateDataKey", 1, 2},
	}
	for _, tt := range tests {
		srv.Reset()
		c, err := config.FromEnv(testkit.Env(map[string]string{"KEY_ID": tt.keyID, "GATE_KEY_ID": tt.gateKeyID, "DATA_KEY_MAX_USES": "2"}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Check(); err != nil {
			t.Fatal(err)
		}
		keys, err := keysource.Open(context.Background(), &c.Settings, loadAWS, keysource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		codec := keys.Codec()
		src, ok := codec.Keys.(*kmskeys.Source)
		if !ok {
			t.Fatalf("KEY_ID gave keys %T, want *kmskeys.Source", codec.Keys)
		}
		if src.Kind() != tt.mode {
			t.Errorf("KEY_ID=%s: mode %s, want %s", tt.keyID, src.Kind(), tt.mode)
		}
		if got := srv.Count("DescribeKey"); got != tt.described {
			t.Errorf("KEY_ID=%s: %d DescribeKey calls at start, want %d", tt.keyID, got, tt.described)
		}
		for range 3 {
			roundTrip(t, codec)
		}
		// Three URLs at two per data key: two data keys, opened from the
		// creating source's own cache; and the gate key, derived once.
		if got := srv.Count(tt.createOp) - tt.gates*btoi(tt.createOp == "GenerateMac"); got != 2 {
			t.Errorf("KEY_ID=%s: %d %s calls, want 2 (DATA_KEY_MAX_USES=2)", tt.keyID, got, tt.createOp)
		}
		if got := srv.Count("GenerateMac") - 2*btoi(tt.createOp == "GenerateMac"); got != tt.gates {
			t.Errorf("KEY_ID=%s GATE_KEY_ID=%s: %d gate keys derived, want %d", tt.keyID, tt.gateKeyID, got, tt.gates)
		}
		if got := len(srv.Calls()) - tt.described - 2 - tt.gates; got != 0 {
			t.Errorf("KEY_ID=%s: %d other KMS calls, want 0: %+v", tt.keyID, got, srv.Calls())
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCodecKMSDescribedOnFirstUse: the functions' keys are described at
// their first use, not when they are opened: a KMS outage at a cold start
// is a 503 (and a try on the next request), not a process that exits.
func TestCodecKMSDescribedOnFirstUse(t *testing.T) {
	srv := kmstest.New(t)
	awsEnv(t, map[string]string{"AWS_ENDPOINT_URL_KMS": srv.URL()})
	c, err := config.FromEnv(testkit.Env(map[string]string{"KEY_ID": kmstest.HMACAlias}))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keysource.Open(context.Background(), &c.Settings, loadAWS, keysource.Options{DescribeKMSKeysOnFirstUse: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d KMS calls when the keys are opened, want none", n)
	}
	roundTrip(t, keys.Codec())
	if got := srv.Count("DescribeKey"); got != 1 {
		t.Errorf("%d DescribeKey calls after the first use, want 1", got)
	}
}

// TestCodecKMSSettings: PREVIOUS_KEY_IDS opens the old key's URLs, and
// KMS_COLD_CALLS_PER_SECOND and KMS_COLD_CALLS_BURST bound the callbacks'
// KMS calls; a key of no usable kind stops the start, naming the setting.
func TestCodecKMSSettings(t *testing.T) {
	srv := kmstest.New(t)
	awsEnv(t, map[string]string{"AWS_ENDPOINT_URL_KMS": srv.URL()})
	open := func(env map[string]string) (*payload.Codec, error) {
		c, err := config.FromEnv(testkit.Env(env))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Check(); err != nil {
			t.Fatal(err)
		}
		keys, err := keysource.Open(context.Background(), &c.Settings, loadAWS, keysource.Options{})
		return keys.Codec(), err
	}
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "AAAA="}, Action: "ping", Type: callbackurls.Heartbeat}
	var old []string
	for range 3 {
		// A data key each, so that each needs a KMS call to open.
		data, err := (&payload.Codec{Keys: mustSource(t, srv)}).Encode(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, data)
	}

	codec, err := open(map[string]string{"KEY_ID": kmstest.HMACAlias, "PREVIOUS_KEY_IDS": kmstest.Alias + ",",
		"KMS_COLD_CALLS_PER_SECOND": "0.001", "KMS_COLD_CALLS_BURST": "2"})
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range old {
		_, err := codec.Decode(context.Background(), data)
		switch {
		case i < 2 && err != nil:
			t.Errorf("old URL %d: %v", i, err)
		case i == 2 && !errors.Is(err, callbackurls.ErrUnavailable):
			t.Errorf("old URL %d, over the burst of 2: %v, want ErrUnavailable", i, err)
		}
	}

	_, err = open(map[string]string{"KEY_ID": kmstest.HMACAlias, "PREVIOUS_KEY_IDS": srv.NewKeyOfSpec("ECC_NIST_P256", "SIGN_VERIFY")})
	if err == nil || !strings.Contains(err.Error(), "PREVIOUS_KEY_IDS") || !strings.Contains(err.Error(), "ECC_NIST_P256") {
		t.Errorf("a signing key in PREVIOUS_KEY_IDS: %v", err)
	}
	_, err = open(map[string]string{"KEY_ID": "alias/nope"})
	if err == nil || !strings.Contains(err.Error(), "KEY_ID alias/nope") {
		t.Errorf("a missing KEY_ID: %v", err)
	}
}

// mustSource is an envelope source on the stand-in's key that makes a data
// key per URL.
func mustSource(t *testing.T, srv *kmstest.Server) *kmskeys.Source {
	t.Helper()
	src, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{KeyID: kmstest.Alias, DataKeyMaxUses: -1})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestCodecKeyringSources: the keyring sources read through the SDK's
// default configuration, once.
func TestCodecKeyringSources(t *testing.T) {
	want := servicetest.NewKeyring(t)
	doc := servicetest.KeyringDoc(t, want)
	sm := awskeyringtest.NewSecretsManager(t)
	sm.Put("sfn-callback-urls/keyring", doc)
	ps := awskeyringtest.NewParameterStore(t)
	ps.Put("/sfn-callback-urls/keyring", doc)
	awsEnv(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
		"AWS_ENDPOINT_URL_SSM":             ps.URL(),
	})
	tests := []struct {
		name  string
		env   map[string]string
		store *awskeyringtest.Server
	}{
		{"KEYRING", map[string]string{"KEYRING": doc}, nil},
		{"KEYRING_SECRET_ID", map[string]string{"KEYRING_SECRET_ID": "sfn-callback-urls/keyring"}, sm},
		{"KEYRING_PARAMETER", map[string]string{"KEYRING_PARAMETER": "/sfn-callback-urls/keyring"}, ps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.FromEnv(testkit.Env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			before := 0
			if tt.store != nil {
				before = tt.store.Count()
			}
			keys, err := keysource.Open(context.Background(), &c.Settings, loadAWS, keysource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			codec := keys.Codec()
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
		c := config.Config{Settings: keysource.Settings{KeyringSecretID: "nope"}}
		_, err := keysource.Open(context.Background(), &c.Settings, loadAWS, keysource.Options{})
		if err == nil || !strings.Contains(err.Error(), "KEYRING_SECRET_ID") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("error %v, want one naming KEYRING_SECRET_ID and ResourceNotFoundException", err)
		}
	})
}

// TestOpenLocal: a static keyring from a file, created on request only.
func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	c := config.Config{Settings: keysource.Settings{KeyFile: filepath.Join(dir, "keyring.json")}}
	noAWS := func() (aws.Config, error) {
		t.Fatal("a key file needs no AWS configuration")
		return aws.Config{}, nil
	}
	if _, err := keysource.Open(context.Background(), &c.Settings, noAWS, keysource.Options{}); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Errorf("missing key file without CreateKeyFile: %v", err)
	}
	for i, wantCreated := range []bool{true, false} {
		keys, err := keysource.Open(context.Background(), &c.Settings, noAWS, keysource.Options{CreateKeyFile: true})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if keys.Created != wantCreated {
			t.Errorf("open %d: Created %t, want %t", i, keys.Created, wantCreated)
		}
		roundTrip(t, keys.Codec())
	}
	if info, err := os.Stat(c.KeyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, info.Mode())
	}
	c = config.Config{Settings: keysource.Settings{DisableEncryption: true}}
	keys, err := keysource.Open(context.Background(), &c.Settings, noAWS, keysource.Options{})
	if err != nil || keys.Source != nil {
		t.Errorf("encryption disabled: %+v, %v", keys, err)
	}
}
