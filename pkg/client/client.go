package client

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Client calls CreateUrls. It is safe for concurrent use; make one per
// process (a Lambda's cold start) and share it.
type Client struct {
	send       func(ctx context.Context, body []byte) (*URLs, error)
	check      bool
	timeout    time.Duration
	timeoutSet bool
}

// Option configures a Client.
type Option func(*options)

type options struct {
	noCheck       bool
	qualifier     string
	lambdaOptions []func(*lambda.Options)
	httpClient    aws.HTTPClient
	signingRegion string
	timeout       time.Duration
	timeoutSet    bool
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
// client's own (NewLambda only). An HTTPClient set here is still used
// through the client's guard, which follows no redirect (see the package
// documentation, "Redirects").
func WithLambdaOptions(fns ...func(*lambda.Options)) Option {
	return func(o *options) { o.lambdaOptions = append(o.lambdaOptions, fns...) }
}

// WithHTTPClient sends POST /urls with c (NewHTTP only; default: the aws.Config's
// HTTPClient, else the SDK's default client). An *http.Client (or the
// SDK's BuildableClient) is used through a copy that follows no redirect;
// any other aws.HTTPClient must follow none itself: the client can only
// refuse the answer of a request that was redirected (see the package
// documentation, "Redirects").
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
//
// A call whose context has no deadline ends after DefaultTimeout (see
// WithTimeout).
func (c *Client) CreateURLs(ctx context.Context, req Request) (*URLs, error) {
	body, err := encodeRequest(&req, c.check)
	if err != nil {
		return nil, err
	}
	callCtx, cancel, d := c.withTimeout(ctx)
	defer cancel()
	u, err := c.send(callCtx, body)
	// The client's deadline passed, not the caller's: say which bound it was.
	if err != nil && d > 0 && ctx.Err() == nil && callCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		err = &timeoutError{d: d, err: err}
	}
	return u, err
}

// newClient is a Client sending with send, as opts say.
func newClient(send func(context.Context, []byte) (*URLs, error), o *options) *Client {
	return &Client{send: send, check: !o.noCheck, timeout: o.timeout, timeoutSet: o.timeoutSet}
}
