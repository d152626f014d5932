package client

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Client calls CreateUrls. It is safe for concurrent use; make one per
// process (a Lambda's cold start) and share it.
type Client struct {
	send  func(ctx context.Context, body []byte) (*URLs, error)
	check bool
}

// Option configures a Client.
type Option func(*options)

type options struct {
	noCheck       bool
	qualifier     string
	lambdaOptions []func(*lambda.Options)
	httpClient    aws.HTTPClient
	signingRegion string
}

// WithoutLocalChecks sends every request as it is, leaving all checks to
// the service (for a deployment of another version than this client's).
func WithoutLocalChecks() Option {
	return func(o *options) { o.noCheck = true }
}

// WithQualifier invokes a version or alias of the function (NewLambda
// only).
func WithQualifier(qualifier string) Option {
	return func(o *options) { o.qualifier = qualifier }
}

// WithLambdaOptions changes the Lambda client's options, after the
// client's own (NewLambda only).
func WithLambdaOptions(fns ...func(*lambda.Options)) Option {
	return func(o *options) { o.lambdaOptions = append(o.lambdaOptions, fns...) }
}

// WithHTTPClient sends POST /urls with c (NewHTTP only; default: the aws.Config's
// HTTPClient, else the SDK's default client).
func WithHTTPClient(c aws.HTTPClient) Option {
	return func(o *options) { o.httpClient = c }
}

// WithSigningRegion signs for region (NewHTTP only; default: the region in
// an execute-api host name, else the aws.Config's).
func WithSigningRegion(region string) Option {
	return func(o *options) { o.signingRegion = region }
}

func collect(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// CreateURLs asks for one URL per action of req. Errors are an *Error for
// the service's (and the local checks') answers, ErrMalformedResponse for
// an answer that is neither, and the transport's (the SDK's, the context's)
// wrapped.
func (c *Client) CreateURLs(ctx context.Context, req Request) (*URLs, error) {
	body, err := encodeRequest(&req, c.check)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, body)
}
