package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// The API's signing identity in these tests. The region is not the Lambda
// stand-in's, so a client signing for the wrong one is caught.
const (
	apiRegion    = "eu-west-1"
	apiAccessKey = "AKIDAPITEST"
	apiSecret    = "api-secret"
	functionName = "sfn-callback-urls-CreateUrls"
)

// env is the real service behind both of its doors: the router with
// POST /urls and /respond behind an httptest server that checks SigV4 as
// API Gateway's IAM authorisation does, and the create-urls Lambda handler
// behind the Lambda Invoke stand-in. Step Functions is sfntest, Lambda's
// durable callbacks durabletest.
type env struct {
	svc     *callbackurls.Service
	sfn     *sfntest.Server
	durable *durabletest.Server
	api     *httptest.Server
	lambda  *lambdatest.Server
	codec   *payload.Codec

	mu       sync.Mutex
	requests []apiRequest     // what reached the API, in order
	faults   []func() *answer // answers given instead of the service's, in order
	unsigned bool             // the API takes unsigned requests (the local server)
}

// apiRequest is one request the API received.
type apiRequest struct {
	Header http.Header
	Body   []byte
	Status int
}

// answer is a canned HTTP answer.
type answer struct {
	status int
	header map[string]string
	body   string
}

type envOption func(*callbackurls.Config, *payload.Codec)

func withPostActions(cfg *callbackurls.Config, _ *payload.Codec) {
	cfg.EnablePostActions, cfg.PostActions = true, postaction.New()
}

func withMaxURLLength(n int) envOption {
	return func(cfg *callbackurls.Config, _ *payload.Codec) { cfg.MaxURLLength = n }
}

func withKeys(keys payload.KeySource) envOption {
	return func(_ *callbackurls.Config, c *payload.Codec) { c.Keys = keys }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{sfn: sfntest.New(t), durable: durabletest.New(t), lambda: lambdatest.New(t)}
	keys, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{0x5a}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	var router http.Handler
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveAPI(t, w, r, router) }))
	t.Cleanup(e.api.Close)

	cfg := callbackurls.Config{BaseURL: e.api.URL, Region: apiRegion}
	e.codec = &payload.Codec{Keys: keys}
	for _, o := range opts {
		o(&cfg, e.codec)
	}
	e.svc = callbackurls.New(cfg, e.codec, callbackurls.Targets{
		callbackurls.TaskToken:       stepfunctions.New(e.sfn.Client(context.Background())),
		callbackurls.DurableCallback: durablecallbacks.NewFromAWSConfig(e.durable.Config()),
	})
	logger := slog.New(slog.DiscardHandler)
	rt := httpapi.NewRouter(logger, false)
	rt.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(e.svc, httpapi.CreateOptions{Logger: logger}))
	rt.Handle("/respond", "/respond", respond.NewHandler(e.svc, respond.Options{Logger: logger}))
	router = rt
	e.lambda.AddFunction(functionName, lambdaapi.CreateURLsHandler(e.svc, rt, logger))
	return e
}

// serveAPI stands in for API Gateway with IAM authorisation on POST /urls:
// a request not signed for execute-api in apiRegion with the test's
// credentials is refused as API Gateway refuses it. /respond is open, as
// in the stack.
func (e *env) serveAPI(t testing.TB, w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		t.Errorf("reading the request: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := apiRequest{Header: r.Header.Clone(), Body: body}
	defer func() {
		e.mu.Lock()
		e.requests = append(e.requests, rec)
		e.mu.Unlock()
	}()

	e.mu.Lock()
	unsigned := e.unsigned
	var fault func() *answer
	if r.URL.Path != "/respond" && len(e.faults) > 0 {
		fault, e.faults = e.faults[0], e.faults[1:]
	}
	e.mu.Unlock()

	if r.URL.Path != "/respond" && !unsigned {
		creds := aws.Credentials{AccessKeyID: apiAccessKey, SecretAccessKey: apiSecret}
		if e := standin.VerifySigV4(r, body, creds, "execute-api", apiRegion); e != nil {
			rec.Status = e.Status
			w.Header().Set("X-Amzn-Errortype", e.Code)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.Status)
			fmt.Fprintf(w, `{"message":%q}`, e.Message)
			return
		}
	}
	if fault != nil {
		a := fault()
		rec.Status = a.status
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(sw, r)
	rec.Status = sw.status
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// failNext answers the next POSTs to the API with a instead of the
// service's answer (after the signature check).
func (e *env) failNext(n int, a answer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range n {
		e.faults = append(e.faults, func() *answer { return &a })
	}
}

func (e *env) apiRequests() []apiRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]apiRequest(nil), e.requests...)
}

// apiConfig is the caller's aws.Config for the API: its credentials and
// region, a fast retryer.
func (e *env) apiConfig() aws.Config {
	return aws.Config{
		Region: apiRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: apiAccessKey, SecretAccessKey: apiSecret, Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return lambdatest.FastRetryer() },
	}
}

// httpClient is a client for POST /urls.
func (e *env) httpClient(opts ...client.Option) *client.Client {
	return client.NewHTTP(e.apiConfig(), e.api.URL, opts...)
}

// lambdaClient is a client invoking the CreateUrls function.
func (e *env) lambdaClient(opts ...client.Option) *client.Client {
	return client.NewLambda(e.lambda.Config(), functionName, opts...)
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

var taskCount atomic.Int64

// newTask opens a task in sfntest and returns its token: a real token
// from the corpus, made unique.
func (e *env) newTask(t testing.TB) string {
	t.Helper()
	tokens := corpus.Tokens()
	i := int(taskCount.Add(1))
	base := tokens[i%len(tokens)]
	tok := base[:len(base)-8] + fmt.Sprintf("%08d", i)
	e.sfn.AddTask(tok)
	return tok
}

// click POSTs to a callback URL as an API client and returns the status.
func (e *env) click(t testing.TB, u string) int {
	t.Helper()
	if !strings.HasPrefix(u, e.api.URL+"/respond?") {
		t.Fatalf("URL %q is not one of the API's callback URLs", u)
	}
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Logf("callback answered %d: %s", resp.StatusCode, b)
	}
	return resp.StatusCode
}

// openPayload decodes a URL's payload with the service's keys.
func (e *env) openPayload(t testing.TB, u string) *callbackurls.Payload {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.codec.Decode(context.Background(), parsed.Query().Get("data"))
	if err != nil {
		t.Fatalf("decoding the payload of %s: %v", u, err)
	}
	return p
}
