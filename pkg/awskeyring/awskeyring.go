// Package awskeyring reads a static keyring (package keyring) from AWS: a
// Secrets Manager secret or an SSM SecureString parameter holding the
// keyring JSON. It is apart from package keyring so that the key file, the
// KEYRING variable and keygen link no AWS client; the parsing is keyring's
// (keyring.ParseSecret).
//
// The stores are read once, when a function starts: rotating there takes
// effect on the next cold start, so add the new key to the stores a while
// before anything depends on it.
//
// FromSecretsManager and FromParameter build their client from a loaded
// configuration, as the mains do.
package awskeyring

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

// The readers take the one operation they call as a method value: an
// interface holding the client would keep every Secrets Manager or SSM
// operation in a binary that links text/template (see stepfunctions.Client).
type (
	getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	getParameter   func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
)

// FromSecretsManager reads a keyring from the current version of a secret
// (name or ARN) whose SecretString, or SecretBinary, is the keyring JSON,
// with a client built from cfg (AWS_ENDPOINT_URL_SECRETS_MANAGER and the
// rest apply).
func FromSecretsManager(ctx context.Context, cfg aws.Config, secretID string) (*keyring.Keyring, error) {
	return readSecret(ctx, secretsmanager.NewFromConfig(cfg).GetSecretValue, secretID)
}

// FromParameter reads a keyring from an SSM parameter (name or ARN) of type
// SecureString holding the keyring JSON, with a client built from cfg
// (AWS_ENDPOINT_URL_SSM and the rest apply).
func FromParameter(ctx context.Context, cfg aws.Config, name string) (*keyring.Keyring, error) {
	return readParameter(ctx, ssm.NewFromConfig(cfg).GetParameter, name)
}

func readSecret(ctx context.Context, get getSecretValue, secretID string) (*keyring.Keyring, error) {
	out, err := get(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("keyring: reading secret %s: %w", secretID, err)
	}
	var doc []byte
	switch {
	case out.SecretString != nil:
		doc = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		doc = out.SecretBinary
	default:
		return nil, fmt.Errorf("keyring: secret %s has no value", secretID)
	}
	r, err := keyring.ParseSecret(doc)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretID, err)
	}
	return r, nil
}

func readParameter(ctx context.Context, get getParameter, name string) (*keyring.Keyring, error) {
	out, err := get(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("keyring: reading parameter %s: %w", name, err)
	}
	p := out.Parameter
	if p == nil || p.Value == nil {
		return nil, fmt.Errorf("keyring: parameter %s has no value", name)
	}
	if p.Type != ssmtypes.ParameterTypeSecureString {
		return nil, fmt.Errorf("keyring: parameter %s is a %s: store the keyring as a SecureString", name, p.Type)
	}
	r, err := keyring.ParseSecret([]byte(*p.Value))
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %w", name, err)
	}
	return r, nil
}
