package awsenv_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

var lambdaEnv = map[string]string{
	"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
}

func with(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range lambdaEnv {
		m[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no region", with(map[string]string{"AWS_REGION": ""}), "AWS_REGION"},
		{"no key id", with(map[string]string{"AWS_ACCESS_KEY_ID": ""}), "credentials"},
		{"no secret", with(map[string]string{"AWS_SECRET_ACCESS_KEY": ""}), "credentials"},
		{"bad max attempts", with(map[string]string{"AWS_MAX_ATTEMPTS": "0"}), "AWS_MAX_ATTEMPTS"},
		{"bad FIPS flag", with(map[string]string{"AWS_USE_FIPS_ENDPOINT": "maybe"}), "AWS_USE_FIPS_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsenv.Config(testkit.Env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestConfigValues(t *testing.T) {
	cfg, err := awsenv.Config(testkit.Env(with(map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2", "AWS_MAX_ATTEMPTS": "5"})))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-west-2" || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SessionToken != "token" ||
		cfg.Retryer().MaxAttempts() != 5 || cfg.BaseEndpoint != nil {
		t.Errorf("config: region %q, credentials %+v, attempts %d, base %v", cfg.Region, creds, cfg.Retryer().MaxAttempts(), cfg.BaseEndpoint)
	}
}

// TestEndpoints: the real SDK client resolves its endpoint from the
// configuration the environment gives, as with LoadDefaultConfig.
func TestEndpoints(t *testing.T) {
	srv := sfntest.New(t)
	// The stand-in checks the signature: lambdaEnv's credentials, token
	// included, must be the ones used.
	srv.AddCredentials(aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"})
	other := "http://127.0.0.1:1" // nothing listens there
	const regional = "states.eu-west-1.amazonaws.com"
	tests := []struct {
		name  string
		env   map[string]string
		reach bool   // the stand-in gets the call
		host  string // else the host the client tried
	}{
		{"service variable", map[string]string{"AWS_ENDPOINT_URL_SFN": srv.URL()}, true, ""},
		{"global variable", map[string]string{"AWS_ENDPOINT_URL": srv.URL()}, true, ""},
		{"service wins over global", map[string]string{"AWS_ENDPOINT_URL": other, "AWS_ENDPOINT_URL_SFN": srv.URL()}, true, ""},
		{"another service's variable", map[string]string{"AWS_ENDPOINT_URL_KMS": srv.URL()}, false, regional},
		{"ignored", map[string]string{"AWS_ENDPOINT_URL_SFN": srv.URL(), "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, false, regional},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, false, "states-fips.eu-west-1.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(tt.env)
			env["AWS_MAX_ATTEMPTS"] = "1"
			cfg, err := awsenv.Config(testkit.Env(env))
			if err != nil {
				t.Fatal(err)
			}
			// Only loopback is reached; any other host is recorded and
			// refused, so no test talks to AWS.
			var tried string
			cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if h := r.URL.Hostname(); h != "127.0.0.1" {
					tried = h
					return nil, errors.New("refused: not loopback")
				}
				return http.DefaultTransport.RoundTrip(r)
			})}
			token := "token-" + strings.ReplaceAll(tt.name, " ", "-")
			srv.AddTask(token)
			before := len(srv.Calls())
			ctx, cancel := context.WithTimeout(context.Background(), 2e9)
			defer cancel()
			c := sfn.NewFromConfig(cfg)
			_, err = c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
			reached := len(srv.Calls()) > before
			if reached != tt.reach {
				t.Errorf("reached the stand-in: %t, want %t (error %v)", reached, tt.reach, err)
			}
			if tt.reach && err != nil {
				t.Errorf("SendTaskHeartbeat: %v", err)
			}
			if tried != tt.host {
				t.Errorf("tried host %q, want %q", tried, tt.host)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
