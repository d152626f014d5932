package client

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// userAgent names this client in the SDK's User-Agent and in POST /urls.
const userAgent = "sfn-callback-urls-client"

// invokeFunc is the SDK's Invoke operation.
type invokeFunc func(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)

// NewLambda returns a Client that invokes the CreateUrls function
// directly (Invoke, RequestResponse) with the SDK's Lambda client made
// from cfg: its credentials, region, endpoint (cfg.BaseEndpoint or
// AWS_ENDPOINT_URL_LAMBDA through config.LoadDefaultConfig) and retryer,
// which retries Lambda's own throttling and 5xx. function is the stack's
// Function or FunctionArn output; the caller needs lambda:InvokeFunction on
// it (the stack's Policy output grants it).
//
// The function answers the URLs or the contract's error body (an *Error,
// StatusCode 0), which is not retried: it has no status to say whether
// asking again would help. A function error (a crash, a timeout) is an
// *Error with FunctionError set and Code ServiceError. SDK errors (access
// denied, throttling after the retries, an unknown function) are returned
// wrapped: errors.As reaches the smithy.APIError and the typed Lambda
// error.
func NewLambda(cfg aws.Config, function string, opts ...Option) *Client {
	o := collect(opts)
	fns := append([]func(*lambda.Options){func(lo *lambda.Options) {
		lo.APIOptions = append(lo.APIOptions, awsmiddleware.AddUserAgentKey(userAgent))
	}}, o.lambdaOptions...)
	// Last, so that an HTTP client set by WithLambdaOptions is guarded too.
	fns = append(fns, func(lo *lambda.Options) { lo.HTTPClient = noRedirects(lo.HTTPClient) })
	// The operation, not the client, is kept: a program that links
	// text/template keeps every method of a type held where reflection can
	// reach it, which for a *lambda.Client is every Lambda operation.
	invoke := lambda.NewFromConfig(cfg, fns...).Invoke
	lt := &lambdaTransport{invoke: invoke, function: function, qualifier: o.qualifier}
	return newClient(lt.send, o)
}

type lambdaTransport struct {
	invoke              invokeFunc
	function, qualifier string
}

func (t *lambdaTransport) send(ctx context.Context, body []byte) (*URLs, error) {
	in := &lambda.InvokeInput{
		FunctionName:   &t.function,
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        body,
	}
	if t.qualifier != "" {
		in.Qualifier = &t.qualifier
	}
	out, err := t.invoke(ctx, in)
	if err != nil {
		var e *Error
		if errors.As(err, &e) { // a redirect, refused by the HTTP client
			return nil, e
		}
		return nil, wrapTransport("CreateUrls: invoking "+t.function+": ", err)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	requestID = printable(requestID, maxFieldBytes)
	if out.FunctionError != nil {
		e := functionError(printable(*out.FunctionError, maxFieldBytes), out.Payload)
		e.RequestID = requestID
		return nil, e
	}
	u, err := decodeResponse(out.Payload)
	var e *Error
	if errors.As(err, &e) {
		e.RequestID = requestID
	}
	return u, err
}
