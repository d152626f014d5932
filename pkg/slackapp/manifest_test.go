package slackapp_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slackapp"
)

// TestManifest: the example app's manifest turns interactivity on at this
// endpoint and asks for no scope the service does not use (chat:write
// posts; users:read and users:read.email, commented out, look emails up).
func TestManifest(t *testing.T) {
	raw, err := os.ReadFile("../../examples/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	in := m.Settings.Interactivity
	if !in.Enabled || m.Settings.SocketMode || !strings.HasPrefix(in.RequestURL, "https://") || !strings.HasSuffix(in.RequestURL, slackapp.Path) {
		t.Errorf("interactivity %+v, socket mode %v", in, m.Settings.SocketMode)
	}
	if !slices.Equal(m.OAuth.Scopes.Bot, []string{"chat:write"}) {
		t.Errorf("bot scopes %v, want chat:write alone", m.OAuth.Scopes.Bot)
	}
	for _, s := range []string{"# - users:read\n", "# - users:read.email\n"} {
		if !strings.Contains(string(raw), s) {
			t.Errorf("the manifest does not offer %q", strings.TrimSpace(s))
		}
	}
}
