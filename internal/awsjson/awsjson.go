// Package awsjson calls one operation of an AWS service that speaks the
// JSON 1.1 protocol (Call), REST-JSON (CallREST, and CallRaw for a raw
// body) or the query protocol (CallQuery), with the SDK's configuration,
// credentials, SigV4 signer and retryer. It exists for calls that only
// some deployments make: the keyring reads the functions make once at
// start (secretsmanager:GetSecretValue, ssm:GetParameter), delivery
// (ses:SendEmail, sns:Publish), which only deployments with SENDER_EMAIL
// or ALLOWED_TOPIC_ARNS use, and the callbacks of Lambda durable
// functions (lambda:SendDurableExecutionCallback*). An SDK client costs every function binary
// megabytes and, with its schema tables built at package init, every
// cold start milliseconds (measured for sesv2 and sns together: 1.4 MiB,
// 2.6 MiB of memory and about 8 ms), used or not. KMS and Step
// Functions, called on every request, use the SDK.
//
// Endpoints resolve as the SDK's do: AWS_ENDPOINT_URL_<SERVICE> (through
// the configuration's sources), then aws.Config.BaseEndpoint
// (AWS_ENDPOINT_URL), then https://<prefix>.<region>.amazonaws.com
// (the partition's suffix, ".amazonaws.com.cn" in China; "<prefix>-fips"
// with AWS_USE_FIPS_ENDPOINT; ".api.aws" with AWS_USE_DUALSTACK_ENDPOINT). Errors are smithy.APIError values, so callers
// classify them as they do the SDK's.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// Service names an AWS service for the protocol.
type Service struct {
	// SDKID is the service's SDK id ("Secrets Manager", "SSM"): it names
	// the endpoint variable AWS_ENDPOINT_URL_SECRETS_MANAGER.
	SDKID string
	// EndpointPrefix is the host's first label ("secretsmanager", "ssm").
	EndpointPrefix string
	// SigningName is the SigV4 service name.
	SigningName string
	// TargetPrefix prefixes the operation in X-Amz-Target
	// ("secretsmanager", "AmazonSSM").
	TargetPrefix string
}

// The services this module calls.
var (
	SecretsManager = Service{SDKID: "Secrets Manager", EndpointPrefix: "secretsmanager", SigningName: "secretsmanager", TargetPrefix: "secretsmanager"}
	SSM            = Service{SDKID: "SSM", EndpointPrefix: "ssm", SigningName: "ssm", TargetPrefix: "AmazonSSM"}
	// SESv2 speaks REST-JSON (CallREST); SNS the query protocol
	// (CallQuery).
	SESv2 = Service{SDKID: "SESv2", EndpointPrefix: "email", SigningName: "ses"}
	SNS   = Service{SDKID: "SNS", EndpointPrefix: "sns", SigningName: "sns"}
	// Lambda's durable execution callbacks speak REST-JSON with a raw
	// body (CallRaw).
	Lambda = Service{SDKID: "Lambda", EndpointPrefix: "lambda", SigningName: "lambda"}
)

// MaxResponseBytes bounds a response body (a secret is at most 64 KiB).
const MaxResponseBytes = 1 << 20

// Call sends operation with the JSON of in and decodes the answer into out.
// It retries what cfg's retryer says is retryable (throttling, 5xx,
// connection failures), up to its attempts.
func Call(ctx context.Context, cfg aws.Config, svc Service, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("awsjson: %s: %w", operation, err)
	}
	r := &request{operation: operation, path: "/", contentType: "application/x-amz-json-1.1",
		target: svc.TargetPrefix + "." + operation, body: body, decodeError: responseError}
	return callWithRetries(ctx, cfg, svc, r, func(data []byte) error { return json.Unmarshal(data, out) })
}

// CallREST sends one operation of a service that speaks REST-JSON (SES
// v2): a POST of in's JSON to path, its answer's JSON decoded into out.
// Retries are Call's.
func CallREST(ctx context.Context, cfg aws.Config, svc Service, operation, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("awsjson: %s: %w", operation, err)
	}
	r := &request{operation: operation, path: path, contentType: "application/json", body: body, decodeError: responseError}
	return callWithRetries(ctx, cfg, svc, r, func(data []byte) error { return json.Unmarshal(data, out) })
}

// CallRaw sends one operation of a service that speaks REST-JSON whose
// request body is body as it is (contentType "" sends none) and whose
// successful answer has nothing to read: a POST to path. Retries and
// errors are CallREST's.
func CallRaw(ctx context.Context, cfg aws.Config, svc Service, operation, path string, body []byte, contentType string) error {
	r := &request{operation: operation, path: path, contentType: contentType, body: body, decodeError: responseError}
	return callWithRetries(ctx, cfg, svc, r, func([]byte) error { return nil })
}

// request is one operation's HTTP request and how its errors read.
type request struct {
	operation, path, contentType, target string
	body                                 []byte
	decodeError                          func(resp *http.Response, data []byte) error
}

// callWithRetries sends r until it succeeds, its failure is not retryable, or the
// retryer's attempts are spent; decode reads a successful answer.
func callWithRetries(ctx context.Context, cfg aws.Config, svc Service, r *request, decode func([]byte) error) error {
	endpoint, err := resolveEndpoint(ctx, cfg, svc)
	if err != nil {
		return err
	}
	retryer := aws.Retryer(nil)
	if cfg.Retryer != nil {
		retryer = cfg.Retryer()
	}
	attempts := 1
	if retryer != nil {
		attempts = max(retryer.MaxAttempts(), 1)
	}
	for attempt := 1; ; attempt++ {
		var data []byte
		data, err = send(ctx, cfg, svc, endpoint, r)
		if err == nil {
			if err = decode(data); err != nil {
				return fmt.Errorf("awsjson: %s: decoding the response: %w", r.operation, err)
			}
			return nil
		}
		if attempt >= attempts || retryer == nil || !retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return err
		}
	}
}

// send signs and sends r once and returns a successful answer's body.
func send(ctx context.Context, cfg aws.Config, svc Service, endpoint string, r *request) ([]byte, error) {
	operation := r.operation
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+r.path, bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("awsjson: %s: %w", operation, err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("awsjson: %s: no credentials", operation)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsjson: %s: retrieving credentials: %w", operation, err)
	}
	sum := sha256.Sum256(r.body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc.SigningName, cfg.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("awsjson: %s: signing: %w", operation, err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("awsjson: %s: %w", operation, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("awsjson: %s: reading the response: %w", operation, err)
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("awsjson: %s: the response is larger than %d bytes", operation, MaxResponseBytes)
	}
	if resp.StatusCode >= 300 {
		return nil, r.decodeError(resp, data)
	}
	return data, nil
}

// ResponseError is an error answer: its API error and HTTP status.
type ResponseError struct {
	StatusCode int
	RequestID  string
	// RetryAfter is the answer's Retry-After header (a throttled call's
	// wait, in seconds), if it had one.
	RetryAfter string
	Err        *smithy.GenericAPIError
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, %s", e.StatusCode, e.RequestID, e.Err.Error())
}

func (e *ResponseError) Unwrap() error { return e.Err }

// HTTPStatusCode is the response's status, as the SDK's response errors
// report it (awserr classifies 5xx by it).
func (e *ResponseError) HTTPStatusCode() int { return e.StatusCode }

// responseError reads the protocols' error answers: the code from the
// body's "__type" ("prefix#Code"), X-Amzn-Errortype or the body's "code",
// without a namespace before '#' or anything after ':'; the message from
// "message" or "Message".
func responseError(resp *http.Response, data []byte) error {
	var body struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	var code string
	for _, c := range []string{body.Type, resp.Header.Get("X-Amzn-Errortype"), body.Code} {
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
	if code == "" { // a status without a name (a proxy's 599, say): still a code to map and log
		code = "HTTP" + strconv.Itoa(resp.StatusCode)
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	msg := body.Message
	if msg == "" {
		msg = body.MessageU
	}
	return &ResponseError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid"),
		RetryAfter: resp.Header.Get("Retry-After"), Err: &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}}
}

// endpointProvider is what the SDK's configuration sources answer about a
// service's endpoint (config.EnvConfig, config.SharedConfig, awsenv).
type endpointProvider interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

type ignoreEndpointsProvider interface {
	GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
}

type fipsProvider interface {
	GetUseFIPSEndpoint(ctx context.Context) (aws.FIPSEndpointState, bool, error)
}

type dualStackProvider interface {
	GetUseDualStackEndpoint(ctx context.Context) (aws.DualStackEndpointState, bool, error)
}

func resolveEndpoint(ctx context.Context, cfg aws.Config, svc Service) (string, error) {
	ignore := false
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(ignoreEndpointsProvider); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				ignore = v
				break
			}
		}
	}
	if !ignore {
		for _, src := range cfg.ConfigSources {
			if p, ok := src.(endpointProvider); ok {
				if v, found, err := p.GetServiceBaseEndpoint(ctx, svc.SDKID); err == nil && found {
					return v, nil
				}
			}
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return *cfg.BaseEndpoint, nil
		}
	}
	if cfg.Region == "" {
		return "", errors.New("awsjson: no region to find the " + svc.SDKID + " endpoint")
	}
	prefix, suffix := svc.EndpointPrefix, dnsSuffix(cfg.Region)
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(fipsProvider); ok {
			if v, found, err := p.GetUseFIPSEndpoint(ctx); err == nil && found {
				if v == aws.FIPSEndpointStateEnabled {
					prefix += "-fips"
				}
				break
			}
		}
	}
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(dualStackProvider); ok {
			if v, found, err := p.GetUseDualStackEndpoint(ctx); err == nil && found {
				if v == aws.DualStackEndpointStateEnabled {
					suffix = dualStackSuffix(cfg.Region, suffix)
				}
				break
			}
		}
	}
	return "https://" + prefix + "." + cfg.Region + "." + suffix, nil
}

// dualStackSuffix is the DNS suffix of a region's dual-stack endpoints
// (partitions without them keep their own).
func dualStackSuffix(region, suffix string) string {
	switch suffix {
	case "amazonaws.com":
		return "api.aws"
	case "amazonaws.com.cn":
		return "api.amazonwebservices.com.cn"
	}
	return suffix
}

// dnsSuffix is the DNS suffix of a region's partition.
func dnsSuffix(region string) string {
	for _, p := range []struct{ prefix, suffix string }{
		{"cn-", "amazonaws.com.cn"},
		{"us-isob-", "sc2s.sgov.gov"},
		{"us-isof-", "csp.hci.ic.gov"},
		{"us-iso-", "c2s.ic.gov"},
		{"eu-isoe-", "cloud.adc-e.uk"},
		{"eusc-", "amazonaws.eu"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.suffix
		}
	}
	return "amazonaws.com"
}
