package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signingService is API Gateway's name in SigV4 credential scopes.
const signingService = "execute-api"

// executeAPIHost matches an API Gateway host name and captures its region:
// {api}.execute-api.{region}.amazonaws.com, also through a VPC endpoint
// and in the China partition.
var executeAPIHost = regexp.MustCompile(`\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$`)

// NewHTTP returns a Client that POSTs to {apiURL}/urls, apiURL being the
// stack's Api output (https://{id}.execute-api.{region}.amazonaws.com/{stage}),
// signed with SigV4 for execute-api with cfg's credentials; the caller
// needs execute-api:Invoke on it (the stack's Policy output grants it).
// The region signed for is WithSigningRegion's, else the one in an
// execute-api host name, else cfg.Region. With no credentials in cfg
// (nil or aws.AnonymousCredentials) the request is sent unsigned, for the
// local server (make run) or an API without IAM authorisation.
//
// Throttling (429), 502, 503, 504, the service's 500 ServiceError and
// connection errors are retried by cfg.Retryer (the SDK's standard
// retryer if nil: 3 attempts, exponential backoff with jitter, a shared
// retry quota; cfg.RetryMaxAttempts applies), each attempt signed anew.
// The context's deadline cuts the wait short: no attempt starts that could
// not end in time. Every answer but a 200 is an *Error with StatusCode.
//
// A bad apiURL is reported by CreateURLs.
func NewHTTP(cfg aws.Config, apiURL string, opts ...Option) *Client {
	o := collect(opts)
	hc := o.httpClient
	if hc == nil {
		hc = cfg.HTTPClient
	}
	ht := &httpTransport{client: noRedirects(hc), signer: v4.NewSigner(), now: time.Now}
	if cfg.Credentials != nil && !aws.IsCredentialsProvider(cfg.Credentials, aws.AnonymousCredentials{}) {
		ht.credentials = cfg.Credentials
		if !aws.IsCredentialsProvider(cfg.Credentials, (*aws.CredentialsCache)(nil)) {
			ht.credentials = aws.NewCredentialsCache(cfg.Credentials)
		}
	}
	ht.retryer = newRetryer(cfg)
	ht.endpoint, ht.region, ht.err = resolveEndpoint(apiURL, o.signingRegion, cfg.Region)
	if ht.err == nil && ht.credentials != nil && ht.region == "" {
		ht.err = errors.New("CreateUrls: no region to sign for: set aws.Config's Region or use WithSigningRegion")
	}
	return newClient(ht.send, o)
}

// resolveEndpoint is the URL of POST /urls and the region to sign for.
func resolveEndpoint(apiURL, signingRegion, cfgRegion string) (endpoint, region string, err error) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("CreateUrls: the API URL %q is not an absolute http or https URL without query (the stack's Api output)", apiURL)
	}
	region = signingRegion
	if m := executeAPIHost.FindStringSubmatch(u.Hostname()); region == "" && m != nil {
		region = m[1]
	}
	if region == "" {
		region = cfgRegion
	}
	return strings.TrimRight(apiURL, "/") + "/urls", region, nil
}

func newRetryer(cfg aws.Config) aws.RetryerV2 {
	var r aws.Retryer
	if cfg.Retryer != nil {
		r = cfg.Retryer()
	} else {
		r = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts > 0 {
		r = retry.AddWithMaxAttempts(r, cfg.RetryMaxAttempts)
	}
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2
	}
	return retryerV2{r}
}

// retryerV2 gives a Retryer the attempt token of a RetryerV2, as the SDK
// does.
type retryerV2 struct{ aws.Retryer }

func (r retryerV2) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}

type httpTransport struct {
	endpoint, region string
	err              error // a bad API URL or region, reported by every call
	credentials      aws.CredentialsProvider
	signer           *v4.Signer
	client           aws.HTTPClient
	retryer          aws.RetryerV2
	now              func() time.Time
}

// send makes attempts until one succeeds, fails for good, or the retryer
// or the context says stop, as the SDK's retry middleware does.
func (t *httpTransport) send(ctx context.Context, body []byte) (*URLs, error) {
	if t.err != nil {
		return nil, t.err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	releaseRetry := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		releaseAttempt, err := t.retryer.GetAttemptToken(ctx)
		if err != nil {
			return nil, fmt.Errorf("CreateUrls: %w", err)
		}
		u, err := t.attempt(ctx, body, hash)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil || !t.retryer.IsErrorRetryable(err) {
			return u, err
		}
		if max := t.retryer.MaxAttempts(); max > 0 && attempt >= max {
			return nil, err
		}
		var quotaErr error
		if releaseRetry, quotaErr = t.retryer.GetRetryToken(ctx, err); quotaErr != nil {
			// The retry quota is spent: the service has been failing.
			return nil, errors.Join(err, quotaErr)
		}
		delay, derr := t.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		if deadline, ok := ctx.Deadline(); ok && t.now().Add(delay).After(deadline) {
			return nil, err // the next attempt could not end in time
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, errors.Join(err, ctx.Err())
		case <-timer.C:
		}
	}
}

func (t *httpTransport) attempt(ctx context.Context, body []byte, hash string) (*URLs, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("CreateUrls: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if t.credentials != nil {
		creds, err := t.credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("CreateUrls: retrieving credentials: %w", err)
		}
		if err := t.signer.SignHTTP(ctx, creds, req, hash, signingService, t.region, t.now()); err != nil {
			return nil, fmt.Errorf("CreateUrls: signing: %w", err)
		}
	}
	resp, err := t.client.Do(req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) { // a redirect, refused
			return nil, e
		}
		return nil, wrapTransport("CreateUrls: POST "+t.endpoint+": ", err)
	}
	defer resp.Body.Close()
	data, err := readLimited(resp.Body, maxResponseBytes)
	if err != nil {
		return nil, wrapTransport("CreateUrls: reading the answer of POST "+t.endpoint+": ", err)
	}
	return decodeHTTP(resp.StatusCode, resp.Header, data)
}
