package awskeyring

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

// ReadSecret reads with a given client (the tests' stand-ins, with a fast
// retryer).
func ReadSecret(ctx context.Context, c *secretsmanager.Client, secretID string) (*keyring.Keyring, error) {
	return readSecret(ctx, c.GetSecretValue, secretID)
}

// ReadParameter reads with a given client.
func ReadParameter(ctx context.Context, c *ssm.Client, name string) (*keyring.Keyring, error) {
	return readParameter(ctx, c.GetParameter, name)
}
