package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// A keyring's JSON document can live in a file (Load), an environment
// variable (Parse), a Secrets Manager secret (FromSecretsManager) or an SSM
// SecureString parameter (FromParameter). The AWS stores are read once, when
// a function starts: rotating there takes effect on the next cold start, so
// add the new key to the stores a while before anything depends on it.

// FromEnv reads a keyring from the value of an environment variable
// (KEYRING) holding the keyring JSON.
func FromEnv(value string) (*Keyring, error) {
	return parseSecret([]byte(value))
}

// SecretsManagerAPI is the part of Secrets Manager used here;
// *secretsmanager.Client implements it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParameterAPI is the part of SSM used here; *ssm.Client implements it.
type ParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var (
	_ SecretsManagerAPI = (*secretsmanager.Client)(nil)
	_ ParameterAPI      = (*ssm.Client)(nil)
)

// FromSecretsManager reads a keyring from the current version of a secret
// (name or ARN) whose SecretString, or SecretBinary, is the keyring JSON.
func FromSecretsManager(ctx context.Context, api SecretsManagerAPI, secretID string) (*Keyring, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
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
	r, err := parseSecret(doc)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretID, err)
	}
	return r, nil
}

// FromParameter reads a keyring from an SSM parameter (name or ARN) of
// type SecureString holding the keyring JSON. Other types are refused: a
// String parameter keeps key material readable by anyone who can list
// parameters.
func FromParameter(ctx context.Context, api ParameterAPI, name string) (*Keyring, error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
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
	r, err := parseSecret([]byte(*p.Value))
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %w", name, err)
	}
	return r, nil
}

// parseSecret is Parse with syntax errors reduced to their offset: the
// json package quotes the offending character, a character of the secret.
func parseSecret(doc []byte) (*Keyring, error) {
	var syntax *json.SyntaxError
	if err := json.Unmarshal(doc, new(any)); errors.As(err, &syntax) {
		return nil, fmt.Errorf("keyring: not a keyring document: invalid JSON at byte %d", syntax.Offset)
	}
	return Parse(doc)
}
