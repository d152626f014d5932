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
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
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
	// Sign-in for URLs that name approvers (OpenID Connect), and receipts.
	SignIn
	// SenderEmail is SENDER_EMAIL: the SES identity (an address) that
	// delivered asks and confirmations come from; "" sends no email.
	SenderEmail string
	// AllowedTopicARNs is ALLOWED_TOPIC_ARNS (comma-separated): the only
	// SNS topics asks and confirmations are published to.
	AllowedTopicARNs []string
	// Slack is the Slack app's settings.
	Slack
}

// Slack is the Slack app's settings. A signing secret makes the
// deployment take Slack's clicks (POST /slack/interactions) and its Slack
// messages' buttons act in place; a bot token posts asks to channels
// (deliver.slack), looks up people's emails and opens modals.
type Slack struct {
	SlackSigningSecret    string // SLACK_SIGNING_SECRET
	SlackSigningSecretARN string // SLACK_SIGNING_SECRET_ARN (Secrets Manager)
	SlackBotToken         string // SLACK_BOT_TOKEN
	SlackBotTokenARN      string // SLACK_BOT_TOKEN_ARN (Secrets Manager)
	// SlackAPIURL is SLACK_API_URL, the Web API's base ("": Slack's own,
	// https://slack.com/api).
	SlackAPIURL string
}

// SlackInteractive reports that a signing secret is configured: Slack's
// clicks are taken.
func (s *Slack) SlackInteractive() bool {
	return s.SlackSigningSecret != "" || s.SlackSigningSecretARN != ""
}

// SlackBot reports that a bot token is configured.
func (s *Slack) SlackBot() bool { return s.SlackBotToken != "" || s.SlackBotTokenARN != "" }

// DefaultSlackAPIURL is the Web API's base unless SLACK_API_URL says.
const DefaultSlackAPIURL = "https://slack.com/api"

// SlackAPI is the Web API's base in use.
func (s *Slack) SlackAPI() string {
	if s.SlackAPIURL != "" {
		return strings.TrimSuffix(s.SlackAPIURL, "/")
	}
	return DefaultSlackAPIURL
}

// SignIn is the sign-in and receipt settings.
type SignIn struct {
	OIDCIssuer          string // OIDC_ISSUER
	OIDCClientID        string // OIDC_CLIENT_ID
	OIDCClientSecret    string // OIDC_CLIENT_SECRET
	OIDCClientSecretARN string // OIDC_CLIENT_SECRET_ARN (Secrets Manager)
	// SigningKeyID is an ECC_NIST_P256 KMS key that signs receipts
	// (SIGNING_KEY_ID); without it, a static keyring's signing key does.
	SigningKeyID string
	// DevSignIn is serve --dev-signin: a local page where one types an
	// address. A flag only, never the environment: a deployment cannot
	// turn it on by accident.
	DevSignIn bool
}

// OIDC reports that an OpenID Connect issuer is configured.
func (s *SignIn) OIDC() bool { return s.OIDCIssuer != "" }

// Enabled reports that people can sign in: OIDC, or the development
// sign-in.
func (s *SignIn) Enabled() bool { return s.OIDC() || s.DevSignIn }

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
		SignIn: SignIn{
			OIDCIssuer:          getenv("OIDC_ISSUER"),
			OIDCClientID:        getenv("OIDC_CLIENT_ID"),
			OIDCClientSecret:    getenv("OIDC_CLIENT_SECRET"),
			OIDCClientSecretARN: getenv("OIDC_CLIENT_SECRET_ARN"),
			SigningKeyID:        getenv("SIGNING_KEY_ID"),
		},
		// SENDER_EMAIL as the template passes it: empty when delivery is off.
		SenderEmail:      strings.TrimSpace(getenv("SENDER_EMAIL")),
		AllowedTopicARNs: splitList(getenv("ALLOWED_TOPIC_ARNS")),
		Slack: Slack{
			SlackSigningSecret:    strings.TrimSpace(getenv("SLACK_SIGNING_SECRET")),
			SlackSigningSecretARN: strings.TrimSpace(getenv("SLACK_SIGNING_SECRET_ARN")),
			SlackBotToken:         strings.TrimSpace(getenv("SLACK_BOT_TOKEN")),
			SlackBotTokenARN:      strings.TrimSpace(getenv("SLACK_BOT_TOKEN_ARN")),
			SlackAPIURL:           strings.TrimSpace(getenv("SLACK_API_URL")),
		},
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
	if err := c.checkSignIn(); err != nil {
		return err
	}
	if err := c.checkSlack(); err != nil {
		return err
	}
	return c.Settings.Check()
}

// checkSlack reports Slack settings that cannot work: a secret given two
// ways, a Web API base that is not https (http only on a loopback
// address), or Slack's clicks without encryption (an unencrypted button
// value can be rewritten without its approvers).
func (c *Config) checkSlack() error {
	s := &c.Slack
	switch {
	case s.SlackSigningSecret != "" && s.SlackSigningSecretARN != "":
		return errors.New("SLACK_SIGNING_SECRET and SLACK_SIGNING_SECRET_ARN: set one of them")
	case s.SlackBotToken != "" && s.SlackBotTokenARN != "":
		return errors.New("SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_ARN: set one of them")
	case s.SlackInteractive() && c.DisableEncryption:
		return errors.New("clicks in Slack (SLACK_SIGNING_SECRET) need encryption: with DISABLE_ENCRYPTION anyone can write a button's value")
	case s.SlackAPIURL == "":
		return nil
	}
	u, err := url.Parse(s.SlackAPIURL)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("SLACK_API_URL %q: want an absolute URL without query, such as %s", text.Truncate(s.SlackAPIURL, 200), DefaultSlackAPIURL)
	case u.Scheme == "https", u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("SLACK_API_URL %q: want https (http only on a loopback address, for tests)", text.Truncate(s.SlackAPIURL, 200))
}

// checkSignIn reports sign-in settings that cannot work: half an OIDC
// client, an issuer over plain http to another machine, sign-in without
// encryption (an unencrypted URL can be rewritten without its approvers),
// or the development sign-in beside a real one.
func (c *Config) checkSignIn() error {
	s := &c.SignIn
	switch {
	case !s.OIDC() && (s.OIDCClientID != "" || s.OIDCClientSecret != "" || s.OIDCClientSecretARN != ""):
		return errors.New("OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_CLIENT_SECRET_ARN need OIDC_ISSUER, the identity provider")
	case s.DevSignIn && s.OIDC():
		return errors.New("--dev-signin and OIDC_ISSUER (--oidc-issuer) contradict each other: the development sign-in lets anyone be anyone, so it never runs beside a real identity provider")
	case !s.Enabled():
		return nil
	case c.DisableEncryption:
		return errors.New("sign-in (OIDC_ISSUER or --dev-signin) needs encryption: with DISABLE_ENCRYPTION anyone can rewrite a URL without its approvers")
	case s.DevSignIn:
		return nil
	case s.OIDCClientID == "":
		return errors.New("OIDC_ISSUER needs OIDC_CLIENT_ID, the client id registered with the identity provider")
	case (s.OIDCClientSecret == "") == (s.OIDCClientSecretARN == ""):
		return errors.New("OIDC_ISSUER needs the client secret: set exactly one of OIDC_CLIENT_SECRET and OIDC_CLIENT_SECRET_ARN (a Secrets Manager secret)")
	}
	return CheckIssuer(s.OIDCIssuer)
}

// CheckIssuer accepts an OpenID Connect issuer URL: https, or http on a
// loopback address (tests, laptops), without query or fragment.
func CheckIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return fmt.Errorf("OIDC issuer %q is not an absolute URL", text.Truncate(issuer, 200))
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("OIDC issuer %q must not have a query or a fragment", text.Truncate(issuer, 200))
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("OIDC issuer %s: http is accepted only on a loopback address (127.0.0.1, ::1, localhost); use https", issuer)
	}
	return fmt.Errorf("OIDC issuer %q must be an https URL", text.Truncate(issuer, 200))
}

// IsLoopback reports whether host (a name or an address, without a port)
// is this machine: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
		SignIn:                 c.signInVias(),
		SlackBot:               c.SlackBot(),
		// A KMS signing key is known here; a keyring's signing key, once
		// the keys are open (the composition adds it).
		Receipts: c.SigningKeyID != "",
	}
}

// signInVias are the ways people show who they are here.
func (c *Config) signInVias() []string {
	var vias []string
	if c.SignIn.Enabled() {
		vias = append(vias, callbackurls.ViaWeb)
	}
	if c.SlackInteractive() {
		vias = append(vias, callbackurls.ViaSlack)
	}
	return vias
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
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "OpenID Connect issuer URL people sign in with, for URLs that name approvers (env OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "OpenID Connect client id (env OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", c.OIDCClientSecret, "OpenID Connect client secret; prefer the environment, which other users cannot read in the process list (env OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.OIDCClientSecretARN, "oidc-client-secret-arn", c.OIDCClientSecretARN, "Secrets Manager secret holding the OpenID Connect client secret (env OIDC_CLIENT_SECRET_ARN)")
	fs.StringVar(&c.SigningKeyID, "signing-key-id", c.SigningKeyID, "ECC_NIST_P256 KMS key that signs receipts; default: the keyring's signing key (env SIGNING_KEY_ID)")
	fs.StringVar(&c.SlackSigningSecretARN, "slack-signing-secret-arn", c.SlackSigningSecretARN, "Secrets Manager secret holding the Slack app's signing secret; SLACK_SIGNING_SECRET gives it directly (env SLACK_SIGNING_SECRET_ARN)")
	fs.StringVar(&c.SlackBotTokenARN, "slack-bot-token-arn", c.SlackBotTokenARN, "Secrets Manager secret holding the Slack app's bot token; SLACK_BOT_TOKEN gives it directly (env SLACK_BOT_TOKEN_ARN)")
	fs.StringVar(&c.SlackAPIURL, "slack-api-url", c.SlackAPIURL, "Slack Web API base, for tests (env SLACK_API_URL; default "+DefaultSlackAPIURL+")")
	fs.BoolVar(&c.DevSignIn, "dev-signin", false, "a local sign-in page where you type an email address, to try approvers without an identity provider (loopback only; not with --oidc-issuer)")
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

// DeploymentBase is the deployment's own base URL: BASE_URL, else its API
// Gateway stage (API_ID, STAGE and the region). People sign in there (the
// identity provider's redirect URI is under it) and receipts name it as
// their issuer (its key set is under it).
func (c *Config) DeploymentBase() (string, error) {
	switch {
	case c.BaseURL != "":
		return c.BaseURL, nil
	case c.APIID != "" && c.Stage != "" && c.Region != "":
		return callbackurls.APIGatewayURL(c.APIID, c.Stage, c.Region), nil
	}
	return "", errors.New("sign-in and receipts need the deployment's base URL: set BASE_URL, or API_ID and STAGE (and AWS_REGION)")
}
