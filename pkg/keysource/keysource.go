// Package keysource opens the payload keys a deployment's settings choose:
// a KMS key of either kind, with the previous keys whose URLs it still
// opens (package kmskeys), a static keyring from a file, the KEYRING
// variable, Secrets Manager or SSM (packages keyring and awskeyring), or
// none when encryption is disabled.
//
// Sources is the one list of key sources: each with its setting, flag,
// help, description and opener. Package config fills Settings from the
// environment and flags by it; the functions, serve and inspect open and
// describe keys through it, so a setting means the same everywhere.
package keysource

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// Settings are the key settings. Exactly one source is set, or
// DisableEncryption.
type Settings struct {
	KeyID             string // KEY_ID: KMS key, HMAC (derived data keys) or symmetric (envelope encryption)
	Keyring           string // KEYRING: static keyring JSON
	KeyFile           string // KEY_FILE: static keyring file
	KeyringSecretID   string // KEYRING_SECRET_ID: Secrets Manager secret holding a keyring
	KeyringParameter  string // KEYRING_PARAMETER: SSM SecureString parameter holding a keyring
	DisableEncryption bool   // DISABLE_ENCRYPTION
	// PreviousKeyIDs are KMS keys (either kind) whose URLs are still
	// opened; none makes new ones.
	PreviousKeyIDs []string // PREVIOUS_KEY_IDS (comma-separated)
	// GateKeyID is an HMAC KMS key whose gate key tags the URLs of an
	// envelope KEY_ID, so that made-up URLs cost no KMS call (an HMAC
	// KEY_ID gates its own URLs).
	GateKeyID string // GATE_KEY_ID
	// Data key reuse and caching in KMS mode (see pkg/kmskeys); zero
	// values take the defaults.
	DataKeyMaxAge      time.Duration // DATA_KEY_MAX_AGE (Go duration, e.g. 5m)
	DataKeyMaxUses     int           // DATA_KEY_MAX_USES
	DataKeyCacheSize   int           // DATA_KEY_CACHE_SIZE (0 in the environment: no cache)
	DataKeyCacheMaxAge time.Duration // DATA_KEY_CACHE_MAX_AGE
	// The bound on KMS calls for data keys not cached, per function
	// instance (see pkg/kmskeys); zero values take the defaults.
	KMSColdCallsPerSecond float64 // KMS_COLD_CALLS_PER_SECOND
	KMSColdCallsBurst     int     // KMS_COLD_CALLS_BURST
}

// AWSConfig loads the SDK's configuration; it is called only for the
// sources that need AWS, and should load once per process (a load costs
// milliseconds of a cold start).
type AWSConfig func() (aws.Config, error)

// Options are how the keys are opened beyond the settings.
type Options struct {
	// CreateKeyFile creates the key file with a new keyring if it does not
	// exist (the local server's default key).
	CreateKeyFile bool
	// DescribeKMSKeysOnFirstUse leaves a KMS key's DescribeKey to its
	// first use (the functions: a KMS outage at a cold start then answers
	// 503s rather than stopping the process); without it Open describes
	// the keys and fails as it starts (the local server, inspect).
	DescribeKMSKeysOnFirstUse bool
}

// Source is one key source: how it is set and how it is opened.
type Source struct {
	// Env is the environment variable that sets it, Flag the CLI's flag
	// and Help the flag's help.
	Env, Flag, Help string
	value           func(*Settings) *string
	// describe says what is in use, for the local server's banner.
	describe func(value string, created bool) string
	open     func(ctx context.Context, s *Settings, awsConfig AWSConfig, opts Options) (payload.KeySource, bool, error)
}

// Sources lists the key sources, in the order settings are named in
// messages.
var Sources = []Source{
	{Env: "KEY_ID", Flag: "kms-key-id",
		Help:     "KMS key, HMAC_256 (data keys derived with GenerateMac) or symmetric (envelope encryption): key ARN, key id, alias/name or alias ARN",
		value:    func(s *Settings) *string { return &s.KeyID },
		describe: func(v string, _ bool) string { return "KMS key " + v },
		open:     openKMS},
	{Env: "KEYRING", Flag: "", Help: "static keyring JSON (sfn-callback-urls keygen)",
		value:    func(s *Settings) *string { return &s.Keyring },
		describe: func(string, bool) string { return "keyring from KEYRING" },
		open: func(_ context.Context, s *Settings, _ AWSConfig, _ Options) (payload.KeySource, bool, error) {
			r, err := keyring.ParseSecret([]byte(s.Keyring))
			return r, false, err
		}},
	{Env: "KEY_FILE", Flag: "key-file", Help: "static keyring file",
		value: func(s *Settings) *string { return &s.KeyFile },
		describe: func(v string, created bool) string {
			if created {
				return "new key file " + v + " (mode 0600)"
			}
			return "key file " + v
		},
		open: func(_ context.Context, s *Settings, _ AWSConfig, opts Options) (payload.KeySource, bool, error) {
			if opts.CreateKeyFile {
				return keyring.LoadOrCreate(s.KeyFile)
			}
			r, err := keyring.Load(s.KeyFile)
			return r, false, err
		}},
	{Env: "KEYRING_SECRET_ID", Flag: "keyring-secret-id", Help: "Secrets Manager secret (name or ARN) holding a static keyring",
		value:    func(s *Settings) *string { return &s.KeyringSecretID },
		describe: func(v string, _ bool) string { return "keyring from secret " + v },
		open: func(ctx context.Context, s *Settings, awsConfig AWSConfig, _ Options) (payload.KeySource, bool, error) {
			cfg, err := load(awsConfig)
			if err != nil {
				return nil, false, err
			}
			r, err := awskeyring.FromSecretsManager(ctx, cfg, s.KeyringSecretID)
			return r, false, err
		}},
	{Env: "KEYRING_PARAMETER", Flag: "keyring-parameter", Help: "SSM SecureString parameter (name or ARN) holding a static keyring",
		value:    func(s *Settings) *string { return &s.KeyringParameter },
		describe: func(v string, _ bool) string { return "keyring from parameter " + v },
		open: func(ctx context.Context, s *Settings, awsConfig AWSConfig, _ Options) (payload.KeySource, bool, error) {
			cfg, err := load(awsConfig)
			if err != nil {
				return nil, false, err
			}
			r, err := awskeyring.FromParameter(ctx, cfg, s.KeyringParameter)
			return r, false, err
		}},
}

// Value is the source's setting in s.
func (src *Source) Value(s *Settings) string { return *src.value(s) }

// Set sets the source's setting in s.
func (src *Source) Set(s *Settings, v string) { *src.value(s) = v }

// Chosen is the source s sets (the first, if Check has not refused more
// than one), or nil.
func (s *Settings) Chosen() *Source {
	for i := range Sources {
		if Sources[i].Value(s) != "" {
			return &Sources[i]
		}
	}
	return nil
}

// KeySource names the chosen source by its variable (KEY_ID, KEYRING,
// KEY_FILE, KEYRING_SECRET_ID or KEYRING_PARAMETER), or "" for none.
func (s *Settings) KeySource() string {
	if src := s.Chosen(); src != nil {
		return src.Env
	}
	return ""
}

// Check reports key settings that cannot work together.
func (s *Settings) Check() error {
	var set []string
	for i := range Sources {
		if Sources[i].Value(s) != "" {
			set = append(set, Sources[i].Env)
		}
	}
	if s.DisableEncryption && len(set) > 0 {
		return fmt.Errorf("DISABLE_ENCRYPTION=true contradicts the key that is configured (%s): choose one", strings.Join(set, ", "))
	}
	if len(set) > 1 {
		return fmt.Errorf("more than one key source is configured (%s): choose one", strings.Join(set, ", "))
	}
	if s.GateKeyID != "" && s.KeyID == "" {
		return fmt.Errorf("GATE_KEY_ID (%s) needs KEY_ID: the gate key tags the URLs of KEY_ID's key", s.GateKeyID)
	}
	if len(s.PreviousKeyIDs) > 0 && s.KeyID == "" {
		return fmt.Errorf("PREVIOUS_KEY_IDS (%s) needs KEY_ID: previous KMS keys only open URLs, and KEY_ID names the key that makes them",
			strings.Join(s.PreviousKeyIDs, ", "))
	}
	if !s.DisableEncryption && len(set) == 0 {
		return errors.New("no encryption key is configured: set KEY_ID to a KMS key; or, for a static keyring " +
			"(sfn-callback-urls keygen), KEYRING to its JSON, KEY_FILE to its file, KEYRING_SECRET_ID to a Secrets " +
			"Manager secret or KEYRING_PARAMETER to an SSM SecureString holding it; or set DISABLE_ENCRYPTION=true " +
			"to hand out unencrypted URLs (anyone can then forge a URL for any task token)")
	}
	return nil
}

// Describe says which keys are in use (the local server's banner).
func (s *Settings) Describe(created bool) string {
	if src := s.Chosen(); src != nil {
		return src.describe(src.Value(s), created)
	}
	return "encryption disabled (unencrypted 1- URLs)"
}

// Flags registers a flag for each source that has one (each defaults to
// its current value), and --disable-encryption. help overrides a flag's
// help by its variable (KEY_FILE's default differs between commands).
func (s *Settings) Flags(fs *flag.FlagSet, help map[string]string) {
	for i := range Sources {
		src := &Sources[i]
		if src.Flag == "" {
			continue
		}
		h := src.Help + " (env " + src.Env + ")"
		if o, ok := help[src.Env]; ok {
			h = o
		}
		fs.StringVar(src.value(s), src.Flag, src.Value(s), h)
	}
	fs.BoolVar(&s.DisableEncryption, "disable-encryption", s.DisableEncryption, "hand out unencrypted URLs (env DISABLE_ENCRYPTION)")
}

// Keys are the opened keys.
type Keys struct {
	// Source encrypts and decrypts payloads; nil when encryption is
	// disabled.
	Source payload.KeySource
	// Created reports that this call created the key file.
	Created bool
}

// Codec is the payload codec of the keys.
func (k Keys) Codec() *payload.Codec { return &payload.Codec{Keys: k.Source} }

// Open opens the keys s chooses, reading a static keyring from its store
// now (a function reads it once, at cold start). s must have passed Check.
func Open(ctx context.Context, s *Settings, awsConfig AWSConfig, opts Options) (Keys, error) {
	src := s.Chosen()
	if s.DisableEncryption || src == nil {
		return Keys{}, nil
	}
	ks, created, err := src.open(ctx, s, awsConfig, opts)
	if err != nil {
		what := src.Env
		switch src.Env {
		case "KEY_ID":
			what = "KMS key"
		case "KEY_FILE":
			what = "key file"
		}
		return Keys{}, fmt.Errorf("%s: %w", what, err)
	}
	return Keys{Source: ks, Created: created}, nil
}

// openKMS opens a KMS key with one DescribeKey per key, at start unless
// opts says at first use: the key's type chooses the mode (envelope or
// HMAC), and a key of no usable type stops the local server here rather
// than at its first URL.
func openKMS(ctx context.Context, s *Settings, awsConfig AWSConfig, opts Options) (payload.KeySource, bool, error) {
	cfg, err := load(awsConfig)
	if err != nil {
		return nil, false, err
	}
	src, err := kmskeys.NewFromAWSConfig(ctx, cfg, kmskeys.Options{
		KeyID:              s.KeyID,
		PreviousKeyIDs:     s.PreviousKeyIDs,
		GateKeyID:          s.GateKeyID,
		DescribeOnFirstUse: opts.DescribeKMSKeysOnFirstUse,
		DataKeyMaxAge:      s.DataKeyMaxAge,
		DataKeyMaxUses:     s.DataKeyMaxUses,
		CacheSize:          s.DataKeyCacheSize,
		CacheMaxAge:        s.DataKeyCacheMaxAge,
		ColdCallsPerSecond: s.KMSColdCallsPerSecond,
		ColdCallsBurst:     s.KMSColdCallsBurst,
	})
	if err != nil {
		return nil, false, err
	}
	return src, false, nil
}

func load(awsConfig AWSConfig) (aws.Config, error) {
	cfg, err := awsConfig()
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}
