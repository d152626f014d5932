// Package keysource opens the payload keys a deployment's settings choose:
// a KMS key of either kind, with the previous keys whose URLs it still
// opens (package kmskeys), a static keyring from a file, the KEYRING
// variable, Secrets Manager or SSM (packages keyring and awskeyring), or
// none when encryption is disabled. Every binary opens its keys through
// here, so a setting means the same everywhere.
package keysource

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// AWSConfig loads the SDK's configuration; it is called only for the
// sources that need AWS, and should load once per process (a load costs
// milliseconds of a cold start).
type AWSConfig func() (aws.Config, error)

// Options are how the keys are opened beyond the settings.
type Options struct {
	// CreateKeyFile creates the key file with a new keyring if it does not
	// exist (the local server's default key).
	CreateKeyFile bool
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

// Open opens the keys c chooses, reading a static keyring from its store
// now (a function reads it once, at cold start). c must have passed Check.
func Open(ctx context.Context, c *config.Config, awsConfig AWSConfig, opts Options) (Keys, error) {
	switch {
	case c.DisableEncryption:
		return Keys{}, nil
	case c.KeyID != "":
		cfg, err := load(awsConfig)
		if err != nil {
			return Keys{}, err
		}
		// One DescribeKey per key, at start: the key's type chooses the
		// mode (envelope or HMAC), and a key of no usable type stops the
		// function here rather than at its first URL.
		src, err := kmskeys.NewFromAWSConfig(ctx, cfg, kmskeys.Options{
			KeyID:              c.KeyID,
			PreviousKeyIDs:     c.PreviousKeyIDs,
			DataKeyMaxAge:      c.DataKeyMaxAge,
			DataKeyMaxUses:     c.DataKeyMaxUses,
			CacheSize:          c.DataKeyCacheSize,
			CacheMaxAge:        c.DataKeyCacheMaxAge,
			ColdCallsPerSecond: c.KMSColdCallsPerSecond,
			ColdCallsBurst:     c.KMSColdCallsBurst,
		})
		if err != nil {
			return Keys{}, fmt.Errorf("KMS key: %w", err)
		}
		return Keys{Source: src}, nil
	case c.Keyring != "":
		r, err := keyring.FromEnv(c.Keyring)
		if err != nil {
			return Keys{}, fmt.Errorf("KEYRING: %w", err)
		}
		return Keys{Source: r}, nil
	case c.KeyringSecretID != "":
		cfg, err := load(awsConfig)
		if err != nil {
			return Keys{}, err
		}
		r, err := awskeyring.FromSecretsManager(ctx, cfg, c.KeyringSecretID)
		if err != nil {
			return Keys{}, fmt.Errorf("KEYRING_SECRET_ID: %w", err)
		}
		return Keys{Source: r}, nil
	case c.KeyringParameter != "":
		cfg, err := load(awsConfig)
		if err != nil {
			return Keys{}, err
		}
		r, err := awskeyring.FromParameter(ctx, cfg, c.KeyringParameter)
		if err != nil {
			return Keys{}, fmt.Errorf("KEYRING_PARAMETER: %w", err)
		}
		return Keys{Source: r}, nil
	case opts.CreateKeyFile:
		r, created, err := keyring.LoadOrCreate(c.KeyFile)
		if err != nil {
			return Keys{}, fmt.Errorf("key file: %w", err)
		}
		return Keys{Source: r, Created: created}, nil
	default:
		r, err := keyring.Load(c.KeyFile)
		if err != nil {
			return Keys{}, fmt.Errorf("key file: %w", err)
		}
		return Keys{Source: r}, nil
	}
}

func load(awsConfig AWSConfig) (aws.Config, error) {
	cfg, err := awsConfig()
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}
