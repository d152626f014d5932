package awskeyring_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/mototest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
)

// TestMoto reads keyrings from moto's Secrets Manager and SSM: an
// implementation of both protocols independent of awskeyringtest. The
// stores are written with the real SDK clients.
func TestMoto(t *testing.T) {
	moto := mototest.Start(t)
	cfg := moto.Config("eu-west-1")
	ctx := t.Context()
	doc, ids := sourceKeyring(t)

	sm := secretsmanager.NewFromConfig(cfg)
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sfn-callback-urls/keyring"), SecretString: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sfn-callback-urls/keyring", *created.ARN} {
		r, err := awskeyring.FromSecretsManager(ctx, cfg, id)
		checkSource(t, r, err, ids, "")
	}
	_, err = awskeyring.FromSecretsManager(ctx, cfg, "no-such-secret")
	checkSource(t, nil, err, nil, "ResourceNotFoundException")

	ps := ssm.NewFromConfig(cfg)
	for name, typ := range map[string]ssmtypes.ParameterType{"/cb/keyring": ssmtypes.ParameterTypeSecureString, "/cb/plain": ssmtypes.ParameterTypeString} {
		if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(doc), Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := awskeyring.FromParameter(ctx, cfg, "/cb/keyring")
	checkSource(t, r, err, ids, "")
	_, err = awskeyring.FromParameter(ctx, cfg, "/cb/plain")
	checkSource(t, nil, err, nil, "store the keyring as a SecureString")
	_, err = awskeyring.FromParameter(ctx, cfg, "/cb/none")
	checkSource(t, nil, err, nil, "ParameterNotFound")
}
