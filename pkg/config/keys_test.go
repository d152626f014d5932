package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

// TestFromEnvKeySettings: the key sources, the data keys' reuse and
// cache, the previous keys and the bound on cold KMS calls.
func TestFromEnvKeySettings(t *testing.T) {
	type keys struct {
		KeyID, KeyringSecretID, KeyringParameter string
		DataKeyMaxAge, DataKeyCacheMaxAge        time.Duration
		DataKeyMaxUses, DataKeyCacheSize         int
		PreviousKeyIDs                           []string
		ColdCallsPerSecond                       float64
		ColdCallsBurst                           int
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
		{"previous keys, spaces and empty items dropped", map[string]string{"PREVIOUS_KEY_IDS": " alias/old , ,arn:aws:kms:eu-west-1:111122223333:key/k,"},
			keys{PreviousKeyIDs: []string{"alias/old", "arn:aws:kms:eu-west-1:111122223333:key/k"}}, ""},
		{"bound", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "0.5", "KMS_COLD_CALLS_BURST": "3"}, keys{ColdCallsPerSecond: 0.5, ColdCallsBurst: 3}, ""},
		{"zero rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "0"}, keys{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"negative rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "-1"}, keys{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"NaN rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "NaN"}, keys{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"word rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "ten"}, keys{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"zero burst", map[string]string{"KMS_COLD_CALLS_BURST": "0"}, keys{}, "KMS_COLD_CALLS_BURST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(testkit.Env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := keys{c.KeyID, c.KeyringSecretID, c.KeyringParameter, c.DataKeyMaxAge, c.DataKeyCacheMaxAge, c.DataKeyMaxUses, c.DataKeyCacheSize,
				c.PreviousKeyIDs, c.KMSColdCallsPerSecond, c.KMSColdCallsBurst}
			if diff := cmp.Diff(tt.want, got); diff != "" {
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
		{"KMS", Config{Settings: keysource.Settings{KeyID: "alias/x"}}, ""},
		{"secret", Config{Settings: keysource.Settings{KeyringSecretID: "s"}}, ""},
		{"parameter", Config{Settings: keysource.Settings{KeyringParameter: "/p"}}, ""},
		{"disabled", Config{Settings: keysource.Settings{DisableEncryption: true}}, ""},
		{"none", Config{}, "no encryption key is configured"},
		{"two", Config{Settings: keysource.Settings{KeyID: "alias/x", KeyringSecretID: "s"}}, "more than one key source is configured (KEY_ID, KEYRING_SECRET_ID)"},
		{"disabled and parameter", Config{Settings: keysource.Settings{DisableEncryption: true, KeyringParameter: "/p"}}, "contradicts the key that is configured (KEYRING_PARAMETER)"},
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

func TestCheckPreviousKeys(t *testing.T) {
	c := Config{Settings: keysource.Settings{KeyFile: "k.json", PreviousKeyIDs: []string{"alias/old"}}}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "PREVIOUS_KEY_IDS (alias/old) needs KEY_ID") {
		t.Errorf("previous keys without KEY_ID: %v", err)
	}
	c = Config{Settings: keysource.Settings{KeyID: "alias/new", PreviousKeyIDs: []string{"alias/old"}}}
	if err := c.Check(); err != nil {
		t.Errorf("previous keys with KEY_ID: %v", err)
	}
}
