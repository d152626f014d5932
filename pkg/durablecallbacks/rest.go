package durablecallbacks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The three operations are Lambda's REST-JSON API, sent here with the
// SDK's own parts (the configuration's credentials, HTTP client and
// retryer, and its SigV4 signer) rather than its Lambda client: the
// service/lambda package builds the schemas of every Lambda shape when a
// binary starts, which measured +0.75 MiB and several milliseconds of
// ProcessCallback's cold start for three operations with a path, a raw
// body and an empty answer (docs/ARCHITECTURE.md, "Cold start"). The
// stand-in (durabletest) is checked with the SDK's client, this one
// against the stand-in.

// callbacksPath is the operations' path prefix; the id is one escaped path
// segment.
const callbacksPath = "/2025-12-01/durable-execution-callbacks/"

// maxAnswerBytes bounds what is read of an answer (an error body).
const maxAnswerBytes = 64 << 10

// rest sends the operations for one configuration.
type rest struct {
	region   string
	endpoint func(ctx context.Context) (string, error)
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	retryer  func() aws.Retryer
	signer   *v4.Signer
}

func newREST(cfg aws.Config) *rest {
	r := &rest{region: cfg.Region, creds: cfg.Credentials, http: cfg.HTTPClient, retryer: cfg.Retryer, signer: v4.NewSigner()}
	if r.http == nil {
		r.http = http.DefaultClient
	}
	r.endpoint = func(ctx context.Context) (string, error) { return endpoint(ctx, cfg) }
	return r
}

// serviceEndpoint is what a configuration source answers for
// AWS_ENDPOINT_URL_<SERVICE> (the SDK's own sources and awsenv's).
type serviceEndpoint interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

type ignoreSource interface {
	GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
}

type fipsSource interface {
	GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
}

type dualStackSource interface {
	GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
}

// endpoint is Lambda's endpoint as the SDK resolves it: AWS_ENDPOINT_URL_LAMBDA
// (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else the configuration's
// BaseEndpoint (AWS_ENDPOINT_URL), else the region's, FIPS and dual-stack
// if asked.
func endpoint(ctx context.Context, cfg aws.Config) (string, error) {
	fips, dual, ignore := false, false, false
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(ignoreSource); ok {
			if v, found, _ := s.GetIgnoreConfiguredEndpoints(ctx); found && v {
				ignore = true
			}
		}
	}
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(serviceEndpoint); ok && !ignore {
			if u, found, err := s.GetServiceBaseEndpoint(ctx, "Lambda"); err == nil && found && u != "" {
				return strings.TrimRight(u, "/"), nil
			}
		}
		if s, ok := src.(fipsSource); ok {
			if v, found, _ := s.GetUseFIPSEndpoint(ctx); found {
				fips = v == aws.FIPSEndpointStateEnabled
			}
		}
		if s, ok := src.(dualStackSource); ok {
			if v, found, _ := s.GetUseDualStackEndpoint(ctx); found {
				dual = v == aws.DualStackEndpointStateEnabled
			}
		}
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return strings.TrimRight(*cfg.BaseEndpoint, "/"), nil
	}
	if cfg.Region == "" {
		return "", fmt.Errorf("durablecallbacks: no region for Lambda's endpoint")
	}
	host, suffix := "lambda", "amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	if fips {
		host += "-fips"
	}
	if dual {
		suffix = "api.aws"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "api.amazonwebservices.com.cn"
		}
	}
	return "https://" + host + "." + cfg.Region + "." + suffix, nil
}

// call sends one operation (op names it in errors) to the id's action
// ("succeed", "fail", "heartbeat") with body, retrying as the
// configuration's retryer says.
func (r *rest) call(ctx context.Context, op, id, action string, body []byte, contentType string) error {
	base, err := r.endpoint(ctx)
	if err != nil {
		return err
	}
	// url.PathEscape leaves '+' and '=' as they are; the SDK escapes them
	// too (an id is base64: nothing else needs it).
	u := base + callbacksPath + strings.NewReplacer("+", "%2B", "=", "%3D").Replace(url.PathEscape(id)) + "/" + action
	retryer := aws.Retryer(aws.NopRetryer{})
	if r.retryer != nil {
		retryer = r.retryer()
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	for attempt := 1; ; attempt++ {
		err = r.once(ctx, op, u, body, contentType, hash)
		if err == nil {
			return nil
		}
		if max := retryer.MaxAttempts(); (max > 0 && attempt >= max) || !retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &smithy.OperationError{ServiceID: "Lambda", OperationName: op, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

func (r *rest) once(ctx context.Context, op, u string, body []byte, contentType, hash string) error {
	wrap := func(err error) error { return &smithy.OperationError{ServiceID: "Lambda", OperationName: op, Err: err} }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return wrap(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if r.creds != nil {
		creds, err := r.creds.Retrieve(ctx)
		if err != nil {
			return wrap(fmt.Errorf("retrieving credentials: %w", err))
		}
		if err := r.signer.SignHTTP(ctx, creds, req, hash, "lambda", r.region, time.Now()); err != nil {
			return wrap(err)
		}
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return wrap(&smithyhttp.RequestSendError{Err: err})
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return wrap(&smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: apiError(resp, data)})
}

// apiError decodes a REST-JSON error answer: the code from
// X-Amzn-Errortype or the body's __type (after any '#' or ':'), the
// message from message or Message; a throttling answer's Retry-After.
func apiError(resp *http.Response, data []byte) error {
	var body struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	code := resp.Header.Get("X-Amzn-Errortype")
	for _, c := range []string{body.Type, body.Code} {
		if code == "" {
			code = c
		}
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	msg := body.Message
	if msg == "" {
		msg = body.Message2
	}
	e := &APIError{GenericAPIError: smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}}
	if code == "TooManyRequestsException" {
		e.RetryAfterSeconds = resp.Header.Get("Retry-After")
	}
	return e
}

// APIError is Lambda's refusal of a callback operation.
type APIError struct {
	smithy.GenericAPIError
	// RetryAfterSeconds is a throttling answer's Retry-After.
	RetryAfterSeconds string
}
