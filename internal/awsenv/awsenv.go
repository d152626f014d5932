// Package awsenv builds the SDK's aws.Config from a Lambda function's
// environment alone: the region, the execution role's credentials and the
// endpoint variables. The functions use it instead of
// config.LoadDefaultConfig, which reads shared config files and links the
// STS, SSO and SSO OIDC clients for credential sources Lambda never
// offers: measured, that is about 3 MB of each binary and several
// milliseconds of each cold start (docs/ARCHITECTURE.md, "Cold start").
// The local server keeps the full default chain (profiles, SSO, ...).
//
// What it reads, with the SDK's names and meanings:
//   - AWS_REGION, else AWS_DEFAULT_REGION;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (Lambda
//     sets them to the execution role's credentials);
//   - AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_KMS,
//     AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_SECRETS_MANAGER, ...) and
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
//   - AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT;
//   - AWS_MAX_ATTEMPTS (the standard retryer's attempts).
package awsenv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Config returns the configuration the environment describes (getenv is
// os.Getenv in production).
func Config(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("awsenv: no AWS_REGION in the environment")
	}
	creds := aws.Credentials{
		AccessKeyID:     or(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY")),
		SecretAccessKey: or(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY")),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
		Source:          "awsenv: environment",
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return aws.Config{}, errors.New("awsenv: no credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	src := &source{getenv: getenv}
	for _, v := range []string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"} {
		if s := getenv(v); s != "" {
			if _, err := strconv.ParseBool(s); err != nil {
				return aws.Config{}, fmt.Errorf("awsenv: %s=%q: want true or false", v, s)
			}
		}
	}
	attempts := 0
	if s := getenv("AWS_MAX_ATTEMPTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return aws.Config{}, fmt.Errorf("awsenv: AWS_MAX_ATTEMPTS=%q: want a whole number, at least 1", s)
		}
		attempts = n
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:  awshttp.NewBuildableClient(),
		Retryer: func() aws.Retryer {
			if attempts > 0 {
				return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = attempts })
			}
			return retry.NewStandard()
		},
		RetryMaxAttempts: attempts,
		ConfigSources:    []any{src},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" && !src.ignoreEndpoints() {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// source answers the questions the SDK's service clients ask of
// aws.Config.ConfigSources (the methods of its internal configsources
// interfaces), from the environment.
type source struct {
	getenv func(string) string
}

func (s *source) flag(name string) (value, found bool) {
	v := s.getenv(name)
	if v == "" {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	return b, err == nil
}

func (s *source) ignoreEndpoints() bool {
	v, _ := s.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	return v
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (s *source) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	v, found := s.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	return v, found, nil
}

// GetServiceBaseEndpoint is AWS_ENDPOINT_URL_<SERVICE>, the service's SDK id
// in capitals with spaces as underscores ("Secrets Manager" reads
// AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (s *source) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := s.getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return v, v != "", nil
}

// GetUseFIPSEndpoint reports AWS_USE_FIPS_ENDPOINT.
func (s *source) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	v, found := s.flag("AWS_USE_FIPS_ENDPOINT")
	if !found {
		return aws.FIPSEndpointStateUnset, false, nil
	}
	if v {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

// GetUseDualStackEndpoint reports AWS_USE_DUALSTACK_ENDPOINT.
func (s *source) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	v, found := s.flag("AWS_USE_DUALSTACK_ENDPOINT")
	if !found {
		return aws.DualStackEndpointStateUnset, false, nil
	}
	if v {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}
