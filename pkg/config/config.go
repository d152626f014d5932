// Package config reads the deployment's settings (environment variables,
// with the reference's names where it has them) and wires the service from
// its parts. The Lambda functions and the local server both build through
// here, so they differ only in where their settings come from.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

// Step Functions back ends.
const (
	SFNLocal = "local" // the embedded task store
	SFNAWS   = "aws"   // AWS Step Functions through the SDK
)

// Config is every setting. The env tags name the environment variables.
type Config struct {
	Addr                   string // LISTEN_ADDR (local server only)
	BaseURL                string // BASE_URL
	SFN                    string // SFN_BACKEND: local | aws
	StorePath              string // STORE_FILE
	KeyFile                string // KEY_FILE: static keyring file
	Keyring                string // KEYRING: static keyring JSON
	KeyID                  string // KEY_ID: KMS key for envelope encryption
	KeyringSecretID        string // KEYRING_SECRET_ID: Secrets Manager secret holding a keyring
	KeyringParameter       string // KEYRING_PARAMETER: SSM SecureString parameter holding a keyring
	DisableEncryption      bool   // DISABLE_ENCRYPTION
	EnableOutputParameters bool   // ENABLE_OUTPUT_PARAMETERS, or DISABLE_OUTPUT_PARAMETERS=false
	EnablePostActions      bool   // ENABLE_POST_ACTIONS, or DISABLE_POST_ACTIONS=false
	Verbose                bool   // VERBOSE
	OneClick               bool   // CONFIRM_BROWSER_GET=false: browsers' GETs act without a confirmation page
	MaxURLLength           int    // MAX_URL_LENGTH
	APIID                  string // API_ID
	Stage                  string // STAGE
	Region                 string // AWS_REGION (or AWS_DEFAULT_REGION)
	// CreateKeyFile lets the local server create KeyFile on first run.
	CreateKeyFile bool
	// Data key reuse and caching in KMS mode (see pkg/kmskeys); zero
	// values take the defaults.
	DataKeyMaxAge      time.Duration // DATA_KEY_MAX_AGE (Go duration, e.g. 5m)
	DataKeyMaxUses     int           // DATA_KEY_MAX_USES
	DataKeyCacheSize   int           // DATA_KEY_CACHE_SIZE (0 in the environment: no cache)
	DataKeyCacheMaxAge time.Duration // DATA_KEY_CACHE_MAX_AGE

	loadedAWS *aws.Config // see awsConfig
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
		KeyFile:   getenv("KEY_FILE"),
		Keyring:   getenv("KEYRING"),
		KeyID:     getenv("KEY_ID"),
		APIID:     getenv("API_ID"),
		Stage:     getenv("STAGE"),
		Region:    getenv("AWS_REGION"),

		KeyringSecretID:  getenv("KEYRING_SECRET_ID"),
		KeyringParameter: getenv("KEYRING_PARAMETER"),
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
	c.OneClick = !confirm
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
	if c.BaseURL != "" {
		base, err := callbackurls.CheckBaseURL(c.BaseURL)
		if err != nil {
			return fmt.Errorf("base URL %q: must be an absolute http(s) URL without query", c.BaseURL)
		}
		c.BaseURL = base
	}
	var keys []string
	for _, k := range []struct{ name, value string }{
		{"KEY_ID", c.KeyID}, {"KEYRING", c.Keyring}, {"KEY_FILE", c.KeyFile},
		{"KEYRING_SECRET_ID", c.KeyringSecretID}, {"KEYRING_PARAMETER", c.KeyringParameter},
	} {
		if k.value != "" {
			keys = append(keys, k.name)
		}
	}
	if c.DisableEncryption && len(keys) > 0 {
		return fmt.Errorf("DISABLE_ENCRYPTION=true contradicts the key that is configured (%s): choose one", strings.Join(keys, ", "))
	}
	if len(keys) > 1 {
		return fmt.Errorf("more than one key source is configured (%s): choose one", strings.Join(keys, ", "))
	}
	if !c.DisableEncryption && len(keys) == 0 {
		return errors.New("no encryption key is configured: set KEY_ID to a KMS key; or, for a static keyring " +
			"(sfn-callback-urls keygen), KEYRING to its JSON, KEY_FILE to its file, KEYRING_SECRET_ID to a Secrets " +
			"Manager secret or KEYRING_PARAMETER to an SSM SecureString holding it; or set DISABLE_ENCRYPTION=true " +
			"to hand out unencrypted URLs (anyone can then forge a URL for any task token)")
	}
	return nil
}

// DefaultBaseURL is BASE_URL, else the API Gateway stage URL from API_ID,
// STAGE and the region, else "".
func (c *Config) DefaultBaseURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	if c.APIID != "" && c.Stage != "" && c.Region != "" {
		return callbackurls.APIGatewayURL(c.APIID, c.Stage, c.Region)
	}
	return ""
}

// App is the wired service.
type App struct {
	Service *callbackurls.Service
	Handler http.Handler
	// Local is the embedded task store, when SFN is local.
	Local          *localstore.Store
	Region         string
	DefaultBaseURL string
	// KeyCreated reports that the local key file was created by this run.
	KeyCreated bool
	Close      func() error
}

// Build wires the service from c.
func Build(ctx context.Context, c Config, logger *slog.Logger) (*App, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	app := &App{Region: c.Region, DefaultBaseURL: c.DefaultBaseURL(), Close: func() error { return nil }}
	codec, created, err := c.Codec(ctx)
	if err != nil {
		return nil, err
	}
	app.KeyCreated = created

	var sfn callbackurls.StepFunctions
	switch c.SFN {
	case SFNAWS:
		cfg, err := c.awsConfig(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("step functions client: %w", err)
		}
		sfn = stepfunctions.NewFromAWSConfig(cfg)
	default:
		path := c.StorePath
		if path == "" {
			path = DefaultStorePath
		}
		store, err := localstore.Open(path)
		if err != nil {
			return nil, fmt.Errorf("local task store %s: %w", path, err)
		}
		app.Local, sfn, app.Close = store, store, store.Close
	}

	app.Service = callbackurls.New(callbackurls.Config{
		BaseURL:                c.BaseURL,
		Region:                 c.Region,
		MaxURLLength:           c.MaxURLLength,
		EnableOutputParameters: c.EnableOutputParameters,
		EnablePostActions:      c.EnablePostActions,
		OneClick:               c.OneClick,
		PostActions:            postaction.New(),
	}, codec, sfn)
	opts := httpapi.Options{Logger: logger, Verbose: c.Verbose}
	if app.Local != nil {
		opts.Local = app.Local
	}
	app.Handler = httpapi.New(app.Service, opts)
	return app, nil
}

// Codec builds the payload codec from the key settings, reading a static
// keyring from its source now (once: a function reads it at cold start).
// created reports that the local key file was created by this call. c must
// have passed Check.
func (c *Config) Codec(ctx context.Context) (codec *payload.Codec, created bool, err error) {
	switch {
	case c.DisableEncryption:
		return &payload.Codec{}, false, nil
	case c.KeyID != "":
		src, err := c.kmsSource(ctx)
		if err != nil {
			return nil, false, err
		}
		return &payload.Codec{Keys: src}, false, nil
	case c.Keyring != "":
		r, err := keyring.FromEnv(c.Keyring)
		if err != nil {
			return nil, false, fmt.Errorf("KEYRING: %w", err)
		}
		return &payload.Codec{Keys: r}, false, nil
	case c.KeyringSecretID != "":
		cfg, err := c.awsConfig(ctx, "")
		if err != nil {
			return nil, false, err
		}
		r, err := keyring.FromSecretsManager(ctx, secretsmanager.NewFromConfig(cfg), c.KeyringSecretID)
		if err != nil {
			return nil, false, fmt.Errorf("KEYRING_SECRET_ID: %w", err)
		}
		return &payload.Codec{Keys: r}, false, nil
	case c.KeyringParameter != "":
		cfg, err := c.awsConfig(ctx, "")
		if err != nil {
			return nil, false, err
		}
		r, err := keyring.FromParameter(ctx, ssm.NewFromConfig(cfg), c.KeyringParameter)
		if err != nil {
			return nil, false, fmt.Errorf("KEYRING_PARAMETER: %w", err)
		}
		return &payload.Codec{Keys: r}, false, nil
	default:
		if c.CreateKeyFile {
			r, created, err := keyring.LoadOrCreate(c.KeyFile)
			if err != nil {
				return nil, false, fmt.Errorf("key file: %w", err)
			}
			return &payload.Codec{Keys: r}, created, nil
		}
		r, err := keyring.Load(c.KeyFile)
		if err != nil {
			return nil, false, fmt.Errorf("key file: %w", err)
		}
		return &payload.Codec{Keys: r}, false, nil
	}
}

// kmsSource is KMS envelope encryption with KEY_ID. The client comes from
// the SDK's default configuration, so the credential chain, AWS_REGION and
// AWS_ENDPOINT_URL_KMS apply; a key ARN's own region wins over AWS_REGION,
// since KMS only answers for a key in its region.
func (c *Config) kmsSource(ctx context.Context) (*kmskeys.Source, error) {
	cfg, err := c.awsConfig(ctx, arnRegion(c.KeyID))
	if err != nil {
		return nil, err
	}
	src, err := kmskeys.New(kms.NewFromConfig(cfg), kmskeys.Options{
		KeyID:          c.KeyID,
		DataKeyMaxAge:  c.DataKeyMaxAge,
		DataKeyMaxUses: c.DataKeyMaxUses,
		CacheSize:      c.DataKeyCacheSize,
		CacheMaxAge:    c.DataKeyCacheMaxAge,
	})
	if err != nil {
		return nil, fmt.Errorf("KEY_ID: %w", err)
	}
	return src, nil
}

// awsConfig loads the SDK's default configuration once per Config (a load
// costs about 5 ms of a cold start) and returns a copy, in region if given.
func (c *Config) awsConfig(ctx context.Context, region string) (aws.Config, error) {
	if c.loadedAWS == nil {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
		}
		c.loadedAWS = &cfg
	}
	cfg := c.loadedAWS.Copy()
	if region != "" {
		cfg.Region = region
	}
	return cfg, nil
}

// arnRegion is the region of an ARN ("arn:aws:kms:eu-west-1:..."), or "".
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// LoadLambda builds the service of a Lambda function from its environment.
// Lambda always talks to AWS Step Functions.
func LoadLambda(ctx context.Context) (*App, error) {
	c, err := FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	c.SFN = SFNAWS
	return Build(ctx, c, NewLogger(os.Stdout, c.Verbose))
}

// NewLogger returns the JSON logger both the server and Lambda use.
func NewLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// BaseURLForAddr is the base URL a local server listening on addr serves.
func BaseURLForAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
