package signin

import (
	"context"
	"fmt"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

// FromSettings is the sign-in the settings configure, nil when none is:
// OpenID Connect, its client secret from the environment or, at the first
// sign-in, from Secrets Manager (OIDC_CLIENT_SECRET_ARN); or the
// development sign-in. c has passed Check; cfg gives the keys, logger and
// clock, and its Base is the settings' DeploymentBase.
func FromSettings(c *config.Config, cfg Config, awsConfig keysource.AWSConfig) (*Service, error) {
	if !c.SignIn.Enabled() {
		return nil, nil
	}
	base, err := c.DeploymentBase()
	if err != nil {
		return nil, err
	}
	cfg.Base = base
	if c.DevSignIn {
		return NewDev(cfg)
	}
	oc := OIDCConfig{Config: cfg, Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret}
	if arn := c.OIDCClientSecretARN; arn != "" {
		oc.ReadClientSecret = func(ctx context.Context) (string, error) {
			aws, err := awsConfig()
			if err != nil {
				return "", fmt.Errorf("loading AWS configuration: %w", err)
			}
			return awskeyring.SecretString(ctx, aws, arn)
		}
	}
	return NewOIDC(oc)
}
