package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// TestSlackSettings: the Slack app's settings from the environment, what
// they turn on in the core, and the combinations refused.
func TestSlackSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		signIn  []string
		bot     bool
		api     string
		wantErr string
	}{
		{name: "none", env: map[string]string{}, api: config.DefaultSlackAPIURL},
		{name: "signing secret", env: map[string]string{"SLACK_SIGNING_SECRET": "s"}, signIn: []string{callbackurls.ViaSlack}, api: config.DefaultSlackAPIURL},
		{name: "both from Secrets Manager, beside OIDC", env: map[string]string{"SLACK_SIGNING_SECRET_ARN": "arn:s", "SLACK_BOT_TOKEN_ARN": "arn:b",
			"OIDC_ISSUER": "https://login.example.com", "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "x"},
			signIn: []string{callbackurls.ViaWeb, callbackurls.ViaSlack}, bot: true, api: config.DefaultSlackAPIURL},
		{name: "a bot token alone posts, takes no clicks", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, bot: true, api: config.DefaultSlackAPIURL},
		{name: "a loopback API", env: map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"},
			signIn: []string{callbackurls.ViaSlack}, api: "http://127.0.0.1:9/api"},
		{name: "secret twice", env: map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_SIGNING_SECRET_ARN": "arn:s"}, wantErr: "set one of them"},
		{name: "token twice", env: map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_BOT_TOKEN_ARN": "arn:b"}, wantErr: "set one of them"},
		{name: "clicks without encryption", env: map[string]string{"SLACK_SIGNING_SECRET": "s", "DISABLE_ENCRYPTION": "true", "KEYRING": ""}, wantErr: "need encryption"},
		{name: "plain http elsewhere", env: map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://slack.example/api"}, wantErr: "want https"},
		{name: "a query", env: map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "https://slack.com/api?x=1"}, wantErr: "without query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"KEYRING": "{}"}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := config.FromEnv(testkit.Env(env))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Check = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := c.Service()
			if diff := cmp.Diff(tt.signIn, s.SignIn); diff != "" || s.SlackBot != tt.bot || c.SlackAPI() != tt.api {
				t.Errorf("SignIn (-want +got)\n%s\nSlackBot %v, API %q", diff, s.SlackBot, c.SlackAPI())
			}
		})
	}
}
