// Package config reads the deployment's settings into plain values: the
// environment (with the reference's names where it has them) and the CLI's
// flags, with one set of names and messages for every binary. It builds
// nothing: each main turns the settings into the parts it serves, with the
// constructors next to each back end (see docs/ARCHITECTURE.md).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

// Step Functions back ends.
const (
	SFNLocal = "local" // the embedded task store
	SFNAWS   = "aws"   // AWS Step Functions through the SDK
)

// Config is every setting. The comments name the environment variables.
type Config struct {
	Addr      string // LISTEN_ADDR (local server only)
	BaseURL   string // BASE_URL
	SFN       string // SFN_BACKEND: local | aws
	StorePath string // STORE_FILE
	// The key settings: one source of keysource.Sources (KEY_ID, KEYRING,
	// KEY_FILE, KEYRING_SECRET_ID, KEYRING_PARAMETER) or
	// DISABLE_ENCRYPTION, and the KMS tuning.
	keysource.Settings
	EnableOutputParameters bool // ENABLE_OUTPUT_PARAMETERS, or DISABLE_OUTPUT_PARAMETERS=false
	EnablePostActions      bool // ENABLE_POST_ACTIONS, or DISABLE_POST_ACTIONS=false
	Verbose                bool // VERBOSE
	// BrowserGET is CONFIRM_BROWSER_GET: false makes browsers' GETs act
	// without a confirmation page.
	BrowserGET   callbackurls.BrowserGET
	MaxURLLength int    // MAX_URL_LENGTH
	APIID        string // API_ID
	Stage        string // STAGE
	Region       string // AWS_REGION (or AWS_DEFAULT_REGION)
	// SenderEmail is SENDER_EMAIL: the SES identity (an address) that
	// delivered asks and confirmations come from; "" sends no email.
	SenderEmail string
	// AllowedTopicARNs is ALLOWED_TOPIC_ARNS (comma-separated): the only
	// SNS topics asks and confirmations are published to.
	AllowedTopicARNs []string
}

// Defaults for the local server.
const (
	DefaultAddr      = "127.0.0.1:8080"
	DefaultStorePath = ".local/tasks.db"
	DefaultKeyFile   = ".local/keyring.json"
)

// FromEnv reads the environment through getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:      getenv("LISTEN_ADDR"),
		BaseURL:   getenv("BASE_URL"),
		SFN:       strings.ToLower(getenv("SFN_BACKEND")),
		StorePath: getenv("STORE_FILE"),
		APIID:     getenv("API_ID"),
		Stage:     getenv("STAGE"),
		Region:    getenv("AWS_REGION"),
		// SENDER_EMAIL as the template passes it: empty when delivery is off.
		SenderEmail:      strings.TrimSpace(getenv("SENDER_EMAIL")),
		AllowedTopicARNs: splitList(getenv("ALLOWED_TOPIC_ARNS")),
	}
	for i := range keysource.Sources {
		src := &keysource.Sources[i]
		src.Set(&c.Settings, getenv(src.Env))
	}
	if c.Region == "" {
		c.Region = getenv("AWS_DEFAULT_REGION")
	}
	var errs []error
	boolVar := func(name string, dst *bool) {
		v := getenv(name)
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			return
		}
		*dst = b
	}
	boolVar("DISABLE_ENCRYPTION", &c.DisableEncryption)
	boolVar("VERBOSE", &c.Verbose)
	confirm := true
	boolVar("CONFIRM_BROWSER_GET", &confirm)
	c.BrowserGET = browserGET(confirm)
	// Off unless asked for: ENABLE_X=true, or the reference's DISABLE_X=false.
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"OUTPUT_PARAMETERS", &c.EnableOutputParameters}, {"POST_ACTIONS", &c.EnablePostActions}} {
		var disabled = true
		boolVar("DISABLE_"+f.name, &disabled)
		boolVar("ENABLE_"+f.name, f.dst)
		// Compared before DISABLE_X=false turns the switch on, so that
		// DISABLE_X=false with ENABLE_X=false is caught too.
		if getenv("DISABLE_"+f.name) != "" && getenv("ENABLE_"+f.name) != "" && disabled == *f.dst {
			errs = append(errs, fmt.Errorf("DISABLE_%s and ENABLE_%s contradict each other", f.name, f.name))
		}
		if !disabled {
			*f.dst = true
		}
	}
	durationVar := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 5m or 90s", name, v))
				return
			}
			*dst = d
		}
	}
	intVar := func(name string, min int, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number, at least %d", name, v, min))
				return
			}
			*dst = n
		}
	}
	durationVar("DATA_KEY_MAX_AGE", &c.DataKeyMaxAge)
	intVar("DATA_KEY_MAX_USES", 1, &c.DataKeyMaxUses)
	durationVar("DATA_KEY_CACHE_MAX_AGE", &c.DataKeyCacheMaxAge)
	c.GateKeyID = strings.TrimSpace(getenv("GATE_KEY_ID"))
	for id := range strings.SplitSeq(getenv("PREVIOUS_KEY_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.PreviousKeyIDs = append(c.PreviousKeyIDs, id)
		}
	}
	if v := getenv("KMS_COLD_CALLS_PER_SECOND"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || f > 1e6 {
			errs = append(errs, fmt.Errorf("KMS_COLD_CALLS_PER_SECOND=%q: want a positive number of calls a second, such as 10 or 0.5", v))
		} else {
			c.KMSColdCallsPerSecond = f
		}
	}
	intVar("KMS_COLD_CALLS_BURST", 1, &c.KMSColdCallsBurst)
	if getenv("DATA_KEY_CACHE_SIZE") == "0" {
		c.DataKeyCacheSize = -1
	} else {
		intVar("DATA_KEY_CACHE_SIZE", 1, &c.DataKeyCacheSize)
	}
	if v := getenv("MAX_URL_LENGTH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 256 {
			errs = append(errs, fmt.Errorf("MAX_URL_LENGTH=%q: want a number of characters, at least 256", v))
		}
		c.MaxURLLength = n
	}
	return c, errors.Join(errs...)
}

// Check reports settings that cannot work together.
func (c *Config) Check() error {
	switch c.SFN {
	case "", SFNLocal, SFNAWS:
	default:
		return fmt.Errorf("SFN backend %q: want %q or %q", c.SFN, SFNLocal, SFNAWS)
	}
	if c.MaxURLLength != 0 && c.MaxURLLength < 256 {
		return fmt.Errorf("maximum URL length %d: want at least 256 characters", c.MaxURLLength)
	}
	if c.SenderEmail != "" && !callbackurls.ValidEmailAddress(c.SenderEmail) {
		return fmt.Errorf("sender email %q: want one plain address, such as approvals@example.com (an SES identity)", c.SenderEmail)
	}
	for _, arn := range c.AllowedTopicARNs {
		if !callbackurls.ValidTopicARN(arn) {
			return fmt.Errorf("allowed topic %q: want an SNS topic ARN, arn:aws:sns:<region>:<account>:<name>", arn)
		}
	}
	if c.BaseURL != "" {
		base, err := callbackurls.CheckBaseURL(c.BaseURL)
		if err != nil {
			return fmt.Errorf("base URL %q: must be an absolute http(s) URL without query", c.BaseURL)
		}
		c.BaseURL = base
	}
	return c.Settings.Check()
}

// Service is the core's configuration from the settings. The caller adds
// what only it has (PostActions, a clock).
func (c *Config) Service() callbackurls.Config {
	return callbackurls.Config{
		BaseURL:                c.BaseURL,
		API:                    callbackurls.Gateway{APIID: c.APIID, Stage: c.Stage},
		Region:                 c.Region,
		MaxURLLength:           c.MaxURLLength,
		EnableOutputParameters: c.EnableOutputParameters,
		EnablePostActions:      c.EnablePostActions,
		BrowserGET:             c.BrowserGET,
	}
}

// NewLogger returns the JSON logger both the server and Lambda use.
func NewLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// KeyFlags registers the key settings' flags (each defaults to its
// environment variable's value). keyFileHelp describes --key-file, whose
// default differs between commands.
func (c *Config) KeyFlags(fs *flag.FlagSet, keyFileHelp string) {
	c.Settings.Flags(fs, map[string]string{"KEY_FILE": keyFileHelp})
}

// ServeFlags registers the local server's flags.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", or(c.Addr, DefaultAddr), "listen address; 0.0.0.0:PORT listens on every network interface (env LISTEN_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "base URL of the callback URLs (env BASE_URL; default from --addr)")
	fs.StringVar(&c.SFN, "sfn", or(c.SFN, SFNLocal), "Step Functions back end: local (embedded task store) or aws (env SFN_BACKEND)")
	fs.StringVar(&c.StorePath, "store", or(c.StorePath, DefaultStorePath), "local task store file (env STORE_FILE)")
	c.KeyFlags(fs, "static keyring file (env KEY_FILE); default "+DefaultKeyFile+" when no other key is set, made with mode 0600 on the first run. "+
		"Any other file must exist: make it with \"sfn-callback-urls keygen --file PATH\", or add --create-key-file")
	fs.BoolVar(&c.EnableOutputParameters, "enable-output-parameters", c.EnableOutputParameters, "allow $name placeholders filled from the callback query (env ENABLE_OUTPUT_PARAMETERS)")
	fs.BoolVar(&c.EnablePostActions, "enable-post-actions", c.EnablePostActions, "allow post actions for webhooks (env ENABLE_POST_ACTIONS)")
	fs.BoolVar(&c.Verbose, "verbose", c.Verbose, "log queries and bodies, which hold payloads and tokens (env VERBOSE)")
	fs.IntVar(&c.MaxURLLength, "max-url-length", c.MaxURLLength, "longest URL handed out (env MAX_URL_LENGTH; default 8192)")
	fs.StringVar(&c.SenderEmail, "sender-email", c.SenderEmail, "the address delivered asks and confirmations come from (env SENDER_EMAIL); with the local store, mail goes to its outbox")
	fs.Var((*listFlag)(&c.AllowedTopicARNs), "allowed-topic-arns", "comma-separated SNS topic ARNs asks may be published to (env ALLOWED_TOPIC_ARNS); with the local store, any topic goes to its outbox")
	confirm := (*browserGETFlag)(&c.BrowserGET)
	fs.Var(confirm, "confirm-browser-get", "browsers' GETs on success and failure URLs show a confirmation page; false: they act at once (env CONFIRM_BROWSER_GET)")
	fs.Var(confirm, "confirm", "the same as --confirm-browser-get (its earlier name)")
}

// browserGET is the switch's setting for CONFIRM_BROWSER_GET=confirm.
func browserGET(confirm bool) callbackurls.BrowserGET {
	if confirm {
		return callbackurls.ConfirmBrowserGET
	}
	return callbackurls.ActOnBrowserGET
}

// browserGETFlag is --confirm-browser-get: a boolean flag whose true is
// ConfirmBrowserGET.
type browserGETFlag callbackurls.BrowserGET

func (f *browserGETFlag) String() string {
	if f == nil {
		return "true"
	}
	return strconv.FormatBool(callbackurls.BrowserGET(*f) == callbackurls.ConfirmBrowserGET)
}

func (f *browserGETFlag) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*f = browserGETFlag(browserGET(b))
	return nil
}

func (f *browserGETFlag) IsBoolFlag() bool { return true }

// MayCreateKeyFile reports whether the CLI may make the key file without
// being asked: only when it is the default one. A mistyped --key-file is
// then an error, not a new key that opens none of the URLs handed out.
func (c *Config) MayCreateKeyFile() bool { return c.KeyFile == DefaultKeyFile }

// UseDefaultKeyFile makes DefaultKeyFile the key when no key source and
// no DISABLE_ENCRYPTION is set (the CLI's default).
func (c *Config) UseDefaultKeyFile() {
	if c.Chosen() == nil && !c.DisableEncryption {
		c.KeyFile = DefaultKeyFile
	}
}

// splitList reads a comma-separated list, without blanks.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// listFlag is a comma-separated list flag.
type listFlag []string

func (f *listFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(*f, ",")
}

func (f *listFlag) Set(v string) error {
	*f = splitList(v)
	return nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
