package client_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// The API's signing identity in these tests. The region is not the Lambda
// stand-in's, so a client signing for the wrong one is caught.
const (
	apiRegion    = "eu-west-1"
	apiAccessKey = "AKIDAPITEST"
	apiSecret    = "api-secret"
	functionName = servicetest.FunctionName
)

// env is the real service behind both of its doors, as deployed
// (servicetest.Deployed): POST /urls and /respond behind API Gateway's
// stand-in, which checks SigV4 for the API's identity as its IAM
// authorisation does, and the CreateUrls function behind the Lambda
// Invoke stand-in. Step Functions is sfntest, Lambda's durable callbacks
// durabletest.
type env struct{ *servicetest.Service }

// answer is an answer of API Gateway's own (Gateway.FailNext).
type answer = standin.Answer

type envOption func(*servicetest.Options)

func withPostActions(o *servicetest.Options) { o.Settings.EnablePostActions = true }

func withMaxURLLength(n int) envOption {
	return func(o *servicetest.Options) { o.Settings.MaxURLLength = n }
}

func withKeys(keys payload.KeySource) envOption {
	return func(o *servicetest.Options) { o.Keys = keys }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	o := servicetest.Deployed(config.Config{Region: apiRegion})
	o.Gateway.Region, o.Gateway.Credentials = apiRegion, aws.Credentials{AccessKeyID: apiAccessKey, SecretAccessKey: apiSecret, Source: "test"}
	for _, f := range opts {
		f(&o)
	}
	return &env{servicetest.Start(t, o)}
}

// httpClient is a client for POST /urls.
func (e *env) httpClient(opts ...client.Option) *client.Client {
	return client.NewHTTP(e.Gateway.Config(), e.URL, opts...)
}

// lambdaClient is a client invoking the CreateUrls function.
func (e *env) lambdaClient(opts ...client.Option) *client.Client {
	return client.NewLambda(e.Lambda.Config(), functionName, opts...)
}

// transports are both clients of one env, by name.
func (e *env) transports() []struct {
	name string
	c    *client.Client
} {
	return []struct {
		name string
		c    *client.Client
	}{{"http", e.httpClient()}, {"lambda", e.lambdaClient()}}
}

// click POSTs to one of the API's callback URLs as an API client and
// returns the status.
func (e *env) click(t testing.TB, u string) int {
	t.Helper()
	resp := e.Click(t, u, nil)
	if resp.Status != 200 {
		t.Logf("callback answered %d: %s", resp.Status, resp.Body)
	}
	return resp.Status
}

// openPayload decodes a URL's payload with the service's keys.
func (e *env) openPayload(t testing.TB, u string) *callbackurls.Payload {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := (&payload.Codec{Keys: e.Keys}).Decode(context.Background(), parsed.Query().Get("data"))
	if err != nil {
		t.Fatalf("decoding the payload of %s: %v", u, err)
	}
	return p
}
