package config_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config.Config
		wantErr []string // substrings of the error; nil means no error
	}{
		{name: "empty", env: nil, want: config.Config{}},
		{name: "strings", env: map[string]string{
			"LISTEN_ADDR": "127.0.0.1:9000", "BASE_URL": "https://cb.example.com/prod", "SFN_BACKEND": "AWS",
			"STORE_FILE": "/tmp/t.db", "KEY_FILE": "/tmp/k.json", "KEYRING": `{"keys":[]}`, "KEY_ID": "alias/cb",
			"API_ID": "abc123", "STAGE": "prod", "AWS_REGION": "eu-west-1",
		}, want: config.Config{Addr: "127.0.0.1:9000", BaseURL: "https://cb.example.com/prod", SFN: "aws", StorePath: "/tmp/t.db", APIID: "abc123", Stage: "prod", Region: "eu-west-1", Settings: keysource.Settings{KeyFile: "/tmp/k.json", Keyring: `{"keys":[]}`, KeyID: "alias/cb"}}},
		{name: "AWS_DEFAULT_REGION", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, want: config.Config{Region: "us-west-2"}},
		{name: "AWS_REGION wins", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-central-1"},
			want: config.Config{Region: "eu-central-1"}},

		// Booleans.
		{name: "DISABLE_ENCRYPTION=true", env: map[string]string{"DISABLE_ENCRYPTION": "true"}, want: config.Config{Settings: keysource.Settings{DisableEncryption: true}}},
		{name: "DISABLE_ENCRYPTION=false", env: map[string]string{"DISABLE_ENCRYPTION": "false"}, want: config.Config{}},
		{name: "VERBOSE=1", env: map[string]string{"VERBOSE": "1"}, want: config.Config{Verbose: true}},
		{name: "VERBOSE=TRUE", env: map[string]string{"VERBOSE": "TRUE"}, want: config.Config{Verbose: true}},
		{name: "VERBOSE=0", env: map[string]string{"VERBOSE": "0"}, want: config.Config{}},
		{name: "VERBOSE=yes", env: map[string]string{"VERBOSE": "yes"}, wantErr: []string{`VERBOSE="yes"`}},
		{name: "DISABLE_ENCRYPTION=on", env: map[string]string{"DISABLE_ENCRYPTION": "on"}, wantErr: []string{"DISABLE_ENCRYPTION"}},
		{name: "CONFIRM_BROWSER_GET=false", env: map[string]string{"CONFIRM_BROWSER_GET": "false"}, want: config.Config{BrowserGET: callbackurls.ActOnBrowserGET}},
		{name: "CONFIRM_BROWSER_GET=true", env: map[string]string{"CONFIRM_BROWSER_GET": "true"}, want: config.Config{}},
		{name: "CONFIRM_BROWSER_GET=never", env: map[string]string{"CONFIRM_BROWSER_GET": "never"}, wantErr: []string{`CONFIRM_BROWSER_GET="never"`}},

		// Output parameters and post actions: off unless asked for.
		{name: "ENABLE_OUTPUT_PARAMETERS=true", env: map[string]string{"ENABLE_OUTPUT_PARAMETERS": "true"},
			want: config.Config{EnableOutputParameters: true}},
		{name: "ENABLE_OUTPUT_PARAMETERS=false", env: map[string]string{"ENABLE_OUTPUT_PARAMETERS": "false"}, want: config.Config{}},
		{name: "DISABLE_OUTPUT_PARAMETERS=false enables", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "false"},
			want: config.Config{EnableOutputParameters: true}},
		{name: "DISABLE_OUTPUT_PARAMETERS=true", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "true"}, want: config.Config{}},
		{name: "both say enabled", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "false", "ENABLE_OUTPUT_PARAMETERS": "true"},
			want: config.Config{EnableOutputParameters: true}},
		{name: "both say disabled", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "true", "ENABLE_OUTPUT_PARAMETERS": "false"},
			want: config.Config{}},
		{name: "output parameters contradiction, on/on", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "true", "ENABLE_OUTPUT_PARAMETERS": "true"},
			wantErr: []string{"DISABLE_OUTPUT_PARAMETERS and ENABLE_OUTPUT_PARAMETERS contradict"}},
		{name: "output parameters contradiction, off/off", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "false", "ENABLE_OUTPUT_PARAMETERS": "false"},
			wantErr: []string{"DISABLE_OUTPUT_PARAMETERS and ENABLE_OUTPUT_PARAMETERS contradict"}},
		{name: "ENABLE_POST_ACTIONS=true", env: map[string]string{"ENABLE_POST_ACTIONS": "true"}, want: config.Config{EnablePostActions: true}},
		{name: "DISABLE_POST_ACTIONS=false enables", env: map[string]string{"DISABLE_POST_ACTIONS": "false"}, want: config.Config{EnablePostActions: true}},
		{name: "DISABLE_POST_ACTIONS=true", env: map[string]string{"DISABLE_POST_ACTIONS": "true"}, want: config.Config{}},
		{name: "post actions contradiction, on/on", env: map[string]string{"DISABLE_POST_ACTIONS": "true", "ENABLE_POST_ACTIONS": "1"},
			wantErr: []string{"DISABLE_POST_ACTIONS and ENABLE_POST_ACTIONS contradict"}},
		{name: "post actions contradiction, off/off", env: map[string]string{"DISABLE_POST_ACTIONS": "0", "ENABLE_POST_ACTIONS": "false"},
			wantErr: []string{"DISABLE_POST_ACTIONS and ENABLE_POST_ACTIONS contradict"}},
		{name: "the two switches are independent", env: map[string]string{"DISABLE_POST_ACTIONS": "false", "ENABLE_OUTPUT_PARAMETERS": "false"},
			want: config.Config{EnablePostActions: true}},
		{name: "DISABLE_POST_ACTIONS bad", env: map[string]string{"DISABLE_POST_ACTIONS": "nope"}, wantErr: []string{`DISABLE_POST_ACTIONS="nope"`}},

		// MAX_URL_LENGTH.
		{name: "MAX_URL_LENGTH", env: map[string]string{"MAX_URL_LENGTH": "2000"}, want: config.Config{MaxURLLength: 2000}},
		{name: "MAX_URL_LENGTH at the minimum", env: map[string]string{"MAX_URL_LENGTH": "256"}, want: config.Config{MaxURLLength: 256}},
		{name: "MAX_URL_LENGTH not a number", env: map[string]string{"MAX_URL_LENGTH": "2k"}, wantErr: []string{`MAX_URL_LENGTH="2k"`}},
		{name: "MAX_URL_LENGTH too small", env: map[string]string{"MAX_URL_LENGTH": "255"}, wantErr: []string{`MAX_URL_LENGTH="255"`}},
		{name: "MAX_URL_LENGTH negative", env: map[string]string{"MAX_URL_LENGTH": "-1"}, wantErr: []string{"MAX_URL_LENGTH"}},
		{name: "every problem reported", env: map[string]string{"MAX_URL_LENGTH": "x", "VERBOSE": "x", "DISABLE_ENCRYPTION": "x"},
			wantErr: []string{"MAX_URL_LENGTH", "VERBOSE", "DISABLE_ENCRYPTION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.FromEnv(testkit.Env(tt.env))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("FromEnv: no error, want one with %q (config %+v)", tt.wantErr, got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromEnv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name        string
		cfg         config.Config
		wantErr     []string
		wantBaseURL string
	}{
		{name: "key file", cfg: config.Config{Settings: keysource.Settings{KeyFile: "k.json"}}},
		{name: "keyring", cfg: config.Config{Settings: keysource.Settings{Keyring: "{}"}}},
		{name: "KMS key", cfg: config.Config{SFN: config.SFNAWS, Settings: keysource.Settings{KeyID: "alias/x"}}},
		{name: "encryption disabled", cfg: config.Config{SFN: config.SFNLocal, Settings: keysource.Settings{DisableEncryption: true}}},
		{name: "no key: fail closed", cfg: config.Config{},
			wantErr: []string{"no encryption key", "KEY_ID", "KEYRING", "KEY_FILE", "DISABLE_ENCRYPTION"}},
		{name: "no key, local back end", cfg: config.Config{SFN: config.SFNLocal},
			wantErr: []string{"KEY_ID", "KEYRING", "KEY_FILE", "DISABLE_ENCRYPTION"}},
		{name: "disabled and a key file", cfg: config.Config{Settings: keysource.Settings{DisableEncryption: true, KeyFile: "k.json"}},
			wantErr: []string{"DISABLE_ENCRYPTION", "contradicts"}},
		{name: "disabled and a KMS key", cfg: config.Config{Settings: keysource.Settings{DisableEncryption: true, KeyID: "alias/x"}},
			wantErr: []string{"DISABLE_ENCRYPTION"}},
		{name: "two key sources", cfg: config.Config{Settings: keysource.Settings{KeyFile: "k.json", Keyring: "{}"}}, wantErr: []string{"more than one key source"}},
		{name: "three key sources", cfg: config.Config{Settings: keysource.Settings{KeyFile: "k.json", Keyring: "{}", KeyID: "alias/x"}}, wantErr: []string{"more than one key source"}},
		{name: "unknown back end", cfg: config.Config{SFN: "azure", Settings: keysource.Settings{KeyFile: "k.json"}}, wantErr: []string{`"azure"`}},
		{name: "base URL trimmed", cfg: config.Config{BaseURL: "https://cb.example.com/prod/", Settings: keysource.Settings{KeyFile: "k.json"}},
			wantBaseURL: "https://cb.example.com/prod"},
		{name: "base URL not http", cfg: config.Config{BaseURL: "ftp://cb.example.com", Settings: keysource.Settings{KeyFile: "k.json"}}, wantErr: []string{"base URL"}},
		{name: "base URL with a query", cfg: config.Config{BaseURL: "https://cb.example.com/?x=1", Settings: keysource.Settings{KeyFile: "k.json"}}, wantErr: []string{"base URL"}},
		{name: "base URL relative", cfg: config.Config{BaseURL: "cb.example.com", Settings: keysource.Settings{KeyFile: "k.json"}}, wantErr: []string{"base URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			err := c.Check()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if c.BaseURL != tt.wantBaseURL {
					t.Errorf("BaseURL %q, want %q", c.BaseURL, tt.wantBaseURL)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check: no error, want one with %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// TestService: the core's settings come from the environment; the core
// alone decides what a request's base URL is (callbackurls.Service.BaseURL).
func TestService(t *testing.T) {
	c, err := config.FromEnv(testkit.Env(map[string]string{
		"BASE_URL": "https://cb.example.com", "API_ID": "abc123", "STAGE": "prod", "AWS_REGION": "eu-west-1",
		"MAX_URL_LENGTH": "2000", "ENABLE_OUTPUT_PARAMETERS": "true", "DISABLE_POST_ACTIONS": "false", "CONFIRM_BROWSER_GET": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := callbackurls.Config{
		BaseURL: "https://cb.example.com", API: callbackurls.Gateway{APIID: "abc123", Stage: "prod"}, Region: "eu-west-1",
		MaxURLLength: 2000, EnableOutputParameters: true, EnablePostActions: true, BrowserGET: callbackurls.ActOnBrowserGET,
	}
	if diff := cmp.Diff(want, c.Service(), cmpopts.IgnoreFields(callbackurls.Config{}, "Now", "PostActions")); diff != "" {
		t.Errorf("Service() (-want +got):\n%s", diff)
	}
}

// TestFlags: the CLI's flags default to the environment's values and
// override them.
func TestFlags(t *testing.T) {
	c, err := config.FromEnv(testkit.Env(map[string]string{"KEY_ID": "alias/env", "LISTEN_ADDR": "127.0.0.1:9999", "CONFIRM_BROWSER_GET": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.ServeFlags(fs)
	if err := fs.Parse([]string{"--sfn", "aws", "--key-file", "k.json", "--enable-post-actions"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.SFN != config.SFNAWS || c.KeyFile != "k.json" || c.KeyID != "alias/env" ||
		!c.EnablePostActions || c.BrowserGET != callbackurls.ActOnBrowserGET || c.StorePath != config.DefaultStorePath {
		t.Errorf("after flags: %+v", c)
	}
	// The switch's one name, and its earlier one, both set it.
	for _, args := range [][]string{{"--confirm-browser-get"}, {"--confirm=true"}, {"--confirm-browser-get=false", "--confirm"}} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.BrowserGET = callbackurls.ActOnBrowserGET
		c.ServeFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if c.BrowserGET != callbackurls.ConfirmBrowserGET {
			t.Errorf("%q: browsers' GETs act at once, want a confirmation page", args)
		}
	}

	var d config.Config
	d.UseDefaultKeyFile()
	if d.KeyFile != config.DefaultKeyFile {
		t.Errorf("UseDefaultKeyFile with no key: %q", d.KeyFile)
	}
	for _, c := range []config.Config{{Settings: keysource.Settings{KeyID: "k"}}, {Settings: keysource.Settings{DisableEncryption: true}}, {Settings: keysource.Settings{KeyringParameter: "/p"}}} {
		c.UseDefaultKeyFile()
		if c.KeyFile != "" {
			t.Errorf("UseDefaultKeyFile chose the key file over %+v", c)
		}
	}
}

// TestMayCreateKeyFile: only the default key file is made without being
// asked; a mistyped path must not become a new key.
func TestMayCreateKeyFile(t *testing.T) {
	for file, want := range map[string]bool{config.DefaultKeyFile: true, "": false, ".local/keyring.jsn": false, "/etc/k.json": false} {
		c := config.Config{Settings: keysource.Settings{KeyFile: file}}
		if got := c.MayCreateKeyFile(); got != want {
			t.Errorf("KeyFile %q: MayCreateKeyFile %t, want %t", file, got, want)
		}
	}
}
