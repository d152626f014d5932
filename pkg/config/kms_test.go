package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

// TestFromEnvKMSSettings: the previous keys and the bound on cold KMS
// calls.
func TestFromEnvKMSSettings(t *testing.T) {
	type kms struct {
		PreviousKeyIDs []string
		PerSecond      float64
		Burst          int
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    kms
		wantErr string
	}{
		{"defaults", nil, kms{}, ""},
		{"previous keys, spaces and empty items dropped", map[string]string{"PREVIOUS_KEY_IDS": " alias/old , ,arn:aws:kms:eu-west-1:111122223333:key/k,"},
			kms{PreviousKeyIDs: []string{"alias/old", "arn:aws:kms:eu-west-1:111122223333:key/k"}}, ""},
		{"bound", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "0.5", "KMS_COLD_CALLS_BURST": "3"}, kms{PerSecond: 0.5, Burst: 3}, ""},
		{"zero rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "0"}, kms{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"negative rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "-1"}, kms{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"NaN rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "NaN"}, kms{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"word rate", map[string]string{"KMS_COLD_CALLS_PER_SECOND": "ten"}, kms{}, "KMS_COLD_CALLS_PER_SECOND"},
		{"zero burst", map[string]string{"KMS_COLD_CALLS_BURST": "0"}, kms{}, "KMS_COLD_CALLS_BURST"},
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
			if diff := cmp.Diff(tt.want, kms{c.PreviousKeyIDs, c.KMSColdCallsPerSecond, c.KMSColdCallsBurst}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
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
