package durablecallbacks

import (
	"context"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
)

// TestEndpoint: Lambda's endpoint is resolved as the SDK resolves it, from
// the functions' environment (internal/awsenv).
func TestEndpoint(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"region", nil, "https://lambda.eu-west-1.amazonaws.com"},
		{"service variable", map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001/", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"}, "http://127.0.0.1:9001"},
		{"general variable", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9002", "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:9003"}, "http://127.0.0.1:9002"},
		{"ignored", map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9001", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "https://lambda.eu-west-1.amazonaws.com"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, "https://lambda-fips.eu-west-1.amazonaws.com"},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "https://lambda.eu-west-1.api.aws"},
		{"China", map[string]string{"AWS_REGION": "cn-north-1"}, "https://lambda.cn-north-1.amazonaws.com.cn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := awsenv.Config(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			got, err := endpoint(context.Background(), cfg)
			if err != nil || got != tc.want {
				t.Errorf("endpoint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
