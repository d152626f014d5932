// Package awstest has stand-ins for the AWS services the examples send
// mail through: Amazon SNS's Publish (SNS) and Amazon SES v2's SendEmail
// (SES). Each is an HTTP server on 127.0.0.1 speaking the service's real
// protocol, so the real SDK clients serialise, sign, retry and decode
// errors as they do against AWS; each checks that requests are SigV4
// signed for its service (the signature itself is not verified, so any
// fake credentials do).
package awstest

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Region and account of the stand-ins' resources.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// Credentials are the static fake credentials of the stand-ins' clients.
var Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDAWSTEST", SecretAccessKey: "awstest-secret", Source: "awstest"}, nil
})

// FastRetryer is the SDK's standard retryer (3 attempts, the same
// retryable errors) with a 1 ms backoff and no retry quota, so retry tests
// are fast and independent.
func FastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

// Config is an aws.Config for a stand-in at url: region us-east-1, the
// fake credentials, FastRetryer, every service's endpoint url. It reads no
// environment or shared configuration.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  Credentials,
		BaseEndpoint: aws.String(url),
		Retryer:      FastRetryer,
	}
}

// sigV4Problem checks the shape and scope of a SigV4 Authorization header,
// returning "" when it is fine, or what AWS's front end would say.
func sigV4Problem(r *http.Request, service string) string {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return "Missing or unsupported Authentication Token"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || len(fields["Signature"]) != 64 {
		return "Authorization header requires Credential, SignedHeaders and Signature"
	}
	if scope[3] != service {
		return "Credential should be scoped to correct service: '" + service + "'."
	}
	signed := ";" + fields["SignedHeaders"] + ";"
	if !strings.Contains(signed, ";host;") || !strings.Contains(signed, ";x-amz-date;") {
		return "host and x-amz-date must be signed"
	}
	if _, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date")); err != nil {
		return "missing or malformed X-Amz-Date"
	}
	return ""
}

// failure is an injected error answer.
type failure struct {
	status int
	code   string
}
