// Package awskeyring reads a static keyring (package keyring) from AWS: a
// Secrets Manager secret or an SSM SecureString parameter holding the
// keyring JSON. It is apart from package keyring so that the key file, the
// KEYRING variable and keygen link no AWS code; the parsing is keyring's
// (keyring.ParseSecret).
//
// The stores are read once, when a function starts: rotating there takes
// effect on the next cold start, so add the new key to the stores a while
// before anything depends on it.
//
// The reads go through internal/awsjson (the SDK's configuration, signer
// and retryer) rather than the services' SDK clients: for one call at
// start, those clients would add about 1.4 MB to each function and 3.5 ms
// to each cold start.
package awskeyring

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsjson"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

// FromSecretsManager reads a keyring from the current version of a secret
// (name or ARN) whose SecretString, or SecretBinary, is the keyring JSON.
// cfg gives the credentials, region and endpoint
// (AWS_ENDPOINT_URL_SECRETS_MANAGER and the rest apply).
func FromSecretsManager(ctx context.Context, cfg aws.Config, secretID string) (*keyring.Keyring, error) {
	doc, err := readSecret(ctx, cfg, secretID)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	r, err := keyring.ParseSecret(doc)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretID, err)
	}
	return r, nil
}

// SecretString reads the current value of a Secrets Manager secret (name
// or ARN), such as the OpenID Connect client secret
// (OIDC_CLIENT_SECRET_ARN), with the same single call as a keyring.
func SecretString(ctx context.Context, cfg aws.Config, secretID string) (string, error) {
	b, err := readSecret(ctx, cfg, secretID)
	return string(b), err
}

func readSecret(ctx context.Context, cfg aws.Config, secretID string) ([]byte, error) {
	var out struct {
		SecretString *string
		SecretBinary []byte // base64 in the protocol; encoding/json decodes it
	}
	in := map[string]string{"SecretId": secretID}
	if err := awsjson.Call(ctx, cfg, awsjson.SecretsManager, "GetSecretValue", in, &out); err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", secretID, err)
	}
	switch {
	case out.SecretString != nil:
		return []byte(*out.SecretString), nil
	case out.SecretBinary != nil:
		return out.SecretBinary, nil
	}
	return nil, fmt.Errorf("secret %s has no value", secretID)
}

// secureString is Parameter Store's type for encrypted parameters.
const secureString = "SecureString"

// FromParameter reads a keyring from an SSM parameter (name or ARN) of type
// SecureString holding the keyring JSON. Other types are refused: a String
// parameter keeps key material readable by anyone who can list parameters.
// cfg gives the credentials, region and endpoint (AWS_ENDPOINT_URL_SSM and
// the rest apply).
func FromParameter(ctx context.Context, cfg aws.Config, name string) (*keyring.Keyring, error) {
	var out struct {
		Parameter *struct {
			Value *string
			Type  string
		}
	}
	in := map[string]any{"Name": name, "WithDecryption": true}
	if err := awsjson.Call(ctx, cfg, awsjson.SSM, "GetParameter", in, &out); err != nil {
		return nil, fmt.Errorf("keyring: reading parameter %s: %w", name, err)
	}
	p := out.Parameter
	if p == nil || p.Value == nil {
		return nil, fmt.Errorf("keyring: parameter %s has no value", name)
	}
	if p.Type != secureString {
		return nil, fmt.Errorf("keyring: parameter %s is a %s: store the keyring as a SecureString", name, p.Type)
	}
	r, err := keyring.ParseSecret([]byte(*p.Value))
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %w", name, err)
	}
	return r, nil
}
