package main

import (
	"flag"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// keyFlags registers the key settings serve and inspect share; each flag
// defaults to its environment variable's value.
func keyFlags(fs *flag.FlagSet, c *config.Config, keyFileHelp string) {
	fs.StringVar(&c.KeyID, "kms-key-id", c.KeyID, "KMS key for envelope encryption: key ARN, key id, alias/name or alias ARN (env KEY_ID)")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, keyFileHelp)
	fs.StringVar(&c.KeyringSecretID, "keyring-secret-id", c.KeyringSecretID, "Secrets Manager secret (name or ARN) holding a static keyring (env KEYRING_SECRET_ID)")
	fs.StringVar(&c.KeyringParameter, "keyring-parameter", c.KeyringParameter, "SSM SecureString parameter (name or ARN) holding a static keyring (env KEYRING_PARAMETER)")
	fs.BoolVar(&c.DisableEncryption, "disable-encryption", c.DisableEncryption, "hand out unencrypted URLs (env DISABLE_ENCRYPTION)")
}

// defaultKeyFile makes the local key file the key when nothing else is
// chosen.
func defaultKeyFile(c *config.Config) {
	if c.KeyFile == "" && c.Keyring == "" && c.KeyID == "" && c.KeyringSecretID == "" &&
		c.KeyringParameter == "" && !c.DisableEncryption {
		c.KeyFile = config.DefaultKeyFile
	}
}
