package awsjson

import (
	"context"
	"maps"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
)

// TestEndpointFromEnvironment: an endpoint resolves from the functions'
// environment (internal/awsenv) as the SDK resolves it, here Lambda's.
func TestEndpointFromEnvironment(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"region", nil, "https://lambda.eu-west-1.amazonaws.com"},
		{"service variable", map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"}, "http://127.0.0.1:9001"},
		{"general variable", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9002", "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:9003"}, "http://127.0.0.1:9002"},
		{"ignored", map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "https://lambda.eu-west-1.amazonaws.com"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, "https://lambda-fips.eu-west-1.amazonaws.com"},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "https://lambda.eu-west-1.api.aws"},
		{"China", map[string]string{"AWS_REGION": "cn-north-1"}, "https://lambda.cn-north-1.amazonaws.com.cn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tc.env)
			cfg, err := awsenv.Config(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			got, err := resolveEndpoint(context.Background(), cfg, Lambda)
			if err != nil || got != tc.want {
				t.Errorf("endpoint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
