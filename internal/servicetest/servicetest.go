// Package servicetest runs the whole service in-process for tests: what
// `sfn-callback-urls serve` builds (pkg/localserver), behind an httptest
// server on 127.0.0.1, with a fixed keyring and a settable clock, over one
// of three back ends: the local task store (as serve --sfn local), the
// sfntest Step Functions stand-in through the real SDK client (as --sfn
// aws, with durable callback ids going to the durabletest stand-in), or a
// callbackurlstest.Target double. The same service answers the Lambda
// adapter's events (CreateURLsFunction, ProxyFunction) and, with
// Options.Invoke, Lambda Invoke requests of the real SDK (the lambdatest
// stand-in running CreateURLsFunction as FunctionName); Options.Gateway
// puts an API Gateway stand-in (IAM authorisation, injected answers, a
// request log) in front of the server, as the stack does.
//
//	s := servicetest.Start(t, servicetest.Options{})
//	token := s.NewTask(t)
//	urls := s.CreateURLs(t, token, servicetest.Approve, servicetest.Reject)
//	resp := s.Do(t, http.MethodPost, urls["approve"], nil, "")
//	s.Task(t, token) // {Status: "succeeded", Output: `{"approved":true}`}
//
// A client's test, through both of the service's doors:
//
//	s := servicetest.Start(t, servicetest.Deployed(config.Config{}))
//	overHTTP := client.NewHTTP(s.Gateway.Config(), s.URL)
//	overLambda := client.NewLambda(s.Lambda.Config(), servicetest.FunctionARN)
//
// Only tests import it.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// FunctionName is the CreateUrls function's name in the Lambda stand-in
// (Options.Invoke); FunctionARN its ARN there.
const (
	FunctionName = "sfn-callback-urls-CreateUrls"
	FunctionARN  = "arn:aws:lambda:" + lambdatest.Region + ":" + lambdatest.AccountID + ":function:" + FunctionName
)

// APIBase is an API Gateway stage URL, as long as a deployed stack's: the
// base URL of tests that measure URLs (Settings.BaseURL).
const APIBase = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

// Epoch is where every service's clock starts: far enough ahead that the
// expirations tests write are in its past or future on any machine.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Backend is where a service sends its decisions.
type Backend string

// The back ends.
const (
	// Local is the local task store, serving /local/ too (serve --sfn
	// local, the default).
	Local Backend = "localstore"
	// SFN is the sfntest stand-in through the SDK's Step Functions client
	// (serve --sfn aws), and durable callback ids the durabletest
	// stand-in through durablecallbacks: no /local/.
	SFN Backend = "sfntest"
	// Double is a callbackurlstest.Target (Options.Double): no /local/.
	Double Backend = "double"
)

// Backends are the back ends a table runs against to show that both task
// token targets answer alike.
var Backends = []Backend{SFN, Local}

// Options are the deployment's settings and the test's knobs.
type Options struct {
	// Backend is Local ("" too), SFN or Double.
	Backend Backend
	// Double is the target of Backend Double (nil: a zero one, which
	// accepts and records everything).
	Double *callbackurlstest.Target
	// Settings are the deployment's settings, as serve reads them
	// (switches, Verbose, BrowserGET, MaxURLLength, API ID, stage,
	// region). The back end's and the key settings are Start's (Backend,
	// Keys, NoEncryption); BaseURL is the server's own URL unless it is
	// set or NoBaseURL.
	Settings config.Config
	// NoBaseURL leaves the deployment without a base URL: URLs get the
	// request's or the API stage's (the functions' case).
	NoBaseURL bool
	// Keys is the key source (nil: Keyring()).
	Keys payload.KeySource
	// NoEncryption hands out unencrypted URLs (DISABLE_ENCRYPTION).
	NoEncryption bool
	// PostActions evaluates post actions (nil: postaction.New()).
	PostActions callbackurls.PostActions
	// Lambda mounts POST /urls as the CreateUrls function does: a request
	// through API Gateway gets URLs on the stage it came through.
	Lambda bool
	// Wrap, if set, stands between the HTTP server (and Serve) and the
	// service: a request counter, a signature check, injected faults.
	Wrap func(http.Handler) http.Handler
	// Version is the home page's version line.
	Version string
	// NoLogs sends the log lines nowhere: benchmarks and fuzz targets
	// would fill Logs.
	NoLogs bool
	// RealClock runs the service on the machine's clock (Clock is nil), for
	// callers that compute times from it: clients, the examples.
	RealClock bool
	// Invoke deploys CreateURLsFunction as FunctionName in a Lambda Invoke
	// stand-in (Service.Lambda), for client.NewLambda.
	Invoke bool
	// Gateway, if set, stands in front of the server (outside Wrap) as API
	// Gateway does: Service.Gateway, whose Config signs for it.
	Gateway *standin.Gateway

	// peer is the deployment Redeploy shares keys and tasks with.
	peer *Service
}

// Deployed are the options of a service as the stack deploys it, for the
// tests of its callers (the client, the examples): decisions go to the
// Step Functions and durable callback stand-ins (SFN), CreateUrls runs in
// the Lambda stand-in (Invoke), API Gateway stands in front of the server
// with the stand-ins' credentials (Gateway), on the machine's clock;
// settings are the deployment's.
func Deployed(settings config.Config) Options {
	return Options{Backend: SFN, Settings: settings, Invoke: true, Gateway: &standin.Gateway{}, RealClock: true}
}

// Service is a running service.
type Service struct {
	// URL is the base URL: POST {URL}/urls, {URL}/respond?...
	URL string
	// Client sends requests to the server and follows no redirects.
	Client *http.Client
	// Core is the service's core.
	Core *callbackurls.Service
	// Handler is the composition serve runs (without Options.Wrap).
	Handler http.Handler
	// Store is the local task store serving /local/ (Local only).
	Store *localstore.Store
	// SFN is the Step Functions stand-in, Durable Lambda's durable
	// callbacks (SFN only).
	SFN     *sfntest.Server
	Durable *durabletest.Server
	// Lambda runs CreateURLsFunction as FunctionName (Options.Invoke).
	Lambda *lambdatest.Server
	// Gateway is Options.Gateway.
	Gateway *standin.Gateway
	// Double is the target (Double only).
	Double *callbackurlstest.Target
	// Keys encrypts the payloads (nil: encryption off).
	Keys payload.KeySource
	// Clock is the service's clock, at Epoch to start with (nil with
	// Options.RealClock).
	Clock *testkit.Clock
	// Logs receives the JSON log lines, at debug level when verbose.
	Logs   *testkit.Buffer
	Logger *slog.Logger

	backend Backend
	served  http.Handler             // Handler behind Options.Wrap
	tasks   *localstore.Store        // where Local tasks are (Redeploy: the peer's)
	counts  *callbackurlstest.Target // Local: counts and fails the store's calls
	made    *atomic.Int64            // SFN and Double tasks made
	target  callbackurls.Target      // what the core sends decisions to
	durable callbackurls.Target      // what it sends callback ids' decisions to (SFN)
}

// Keyring is the fixed keyring of every service that is given no keys, so
// that URLs made by one deployment open on another and fuzz seeds stay
// valid.
func Keyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{0x5a}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Start builds the service through localserver.New and serves it until
// the test ends.
func Start(t testing.TB, opts Options) *Service {
	t.Helper()
	s := &Service{Logs: &testkit.Buffer{}, made: new(atomic.Int64), backend: opts.Backend, Gateway: opts.Gateway}
	if !opts.RealClock {
		s.Clock = testkit.NewClock(Epoch)
	}
	if s.backend == "" {
		s.backend = Local
	}
	s.srvStart(t)

	c := opts.Settings
	c.StorePath, c.SFN = "", config.SFNAWS
	if c.BaseURL == "" && !opts.NoBaseURL {
		c.BaseURL = s.URL
	}
	s.Keys = opts.Keys
	if s.Keys == nil && !opts.NoEncryption {
		s.Keys = Keyring(t)
	}
	c.DisableEncryption = s.Keys == nil
	switch p := opts.peer; {
	case p != nil:
		// A redeployment: the same tasks, reached as the peer reaches them.
		s.backend, s.SFN, s.Durable, s.Double, s.tasks, s.counts, s.made, s.Clock, s.target, s.durable =
			p.backend, p.SFN, p.Durable, p.Double, p.tasks, p.counts, p.made, p.Clock, p.target, p.durable
	case s.backend == Local:
		c.SFN, c.StorePath = config.SFNLocal, filepath.Join(t.TempDir(), "tasks.db")
		s.counts = &callbackurlstest.Target{Discard: true}
		s.target = s.counts
	case s.backend == SFN:
		s.SFN, s.Durable = sfntest.New(t), durabletest.New(t)
		s.target = stepfunctions.New(s.SFN.Client(context.Background()))
		s.durable = durablecallbacks.NewFromAWSConfig(s.Durable.Config())
	case s.backend == Double:
		s.Double = opts.Double
		if s.Double == nil {
			s.Double = &callbackurlstest.Target{}
		}
		s.target = s.Double
	default:
		t.Fatalf("servicetest: unknown back end %q", s.backend)
	}
	target := func(store *localstore.Store) callbackurls.Target {
		if store != nil { // Local: the counter passes calls on to the store
			s.tasks, s.counts.Next = store, store
		}
		return s.target
	}
	var logs io.Writer = s.Logs
	if opts.NoLogs {
		logs = io.Discard
	}
	s.Logger = config.NewLogger(logs, c.Verbose)
	lopts := localserver.Options{Logger: s.Logger, KeySource: s.Keys, Target: target, Durable: s.durable, PostActions: opts.PostActions,
		Version: opts.Version}
	if s.Clock != nil {
		lopts.Now = s.Clock.Now
	}
	if opts.Lambda {
		lopts.Via = lambdaapi.Gateway
	}
	srv, err := localserver.New(context.Background(), &c, lopts)
	if err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	s.Core, s.Handler, s.Store = srv.Service, srv.Handler, srv.Store
	s.served = s.Handler
	if opts.Wrap != nil {
		s.served = opts.Wrap(s.served)
	}
	if s.Gateway != nil {
		s.served = s.Gateway.Wrap(s.served)
	}
	if opts.Invoke {
		s.Lambda = lambdatest.New(t)
		s.Lambda.AddFunction(FunctionName, s.CreateURLsFunction())
	}
	return s
}

// srvStart starts the HTTP server first: the settings need its URL.
func (s *Service) srvStart(t testing.TB) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.served.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Client = srv.Client()
	s.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
}

// Redeploy starts another deployment with the same keys, clock and tasks
// (those of s's back end) and other settings, as a redeployed service has:
// URLs either makes open on the other. opts.Backend, Double and Keys are
// s's. A Local redeployment serves no /local/ of its own.
func (s *Service) Redeploy(t testing.TB, opts Options) *Service {
	t.Helper()
	opts.peer, opts.Keys, opts.NoEncryption = s, s.Keys, s.Keys == nil
	return Start(t, opts)
}

// NewTask opens a task on the back end and returns its token.
func (s *Service) NewTask(t testing.TB) string {
	t.Helper()
	switch s.backend {
	case Local:
		task, err := s.tasks.CreateTask(context.Background(), "test")
		if err != nil {
			t.Fatal(err)
		}
		return task.Token
	case SFN:
		// Real tokens from the corpus, made unique by their last characters.
		tokens := corpus.Tokens()
		n := int(s.made.Add(1))
		base := tokens[n%len(tokens)]
		token := base[:len(base)-8] + fmt.Sprintf("%08d", n)
		s.SFN.AddTask(token)
		return token
	default:
		token := fmt.Sprintf("task-%d", s.made.Add(1))
		s.Double.Open(token)
		return token
	}
}

// Task is what the back end knows of a task (Status "open", "succeeded"
// or "failed").
type Task = callbackurlstest.Task

// Task reports the task of token; the test fails if there is none.
func (s *Service) Task(t testing.TB, token string) Task {
	t.Helper()
	switch s.backend {
	case Local:
		task, err := s.tasks.Get(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return Task{Status: string(task.Status), Output: string(task.Output), Error: task.Error, Cause: task.Cause, Heartbeats: task.Heartbeats}
	case SFN:
		st, ok := s.SFN.Task(token)
		if !ok {
			t.Fatal("sfntest has no such task")
		}
		return Task{Status: string(st.Status), Output: st.Output, Error: st.Error, Cause: st.Cause, Heartbeats: st.Heartbeats}
	default:
		task, ok := s.Double.Task(token)
		if !ok {
			t.Fatal("the target double has no such task")
		}
		return task
	}
}

// Calls is how many calls reached the back end so far (sfntest counts the
// SDK's retries; the store and the double count failed calls too).
func (s *Service) Calls() int {
	switch s.backend {
	case SFN:
		return len(s.SFN.Calls())
	case Local:
		return s.counts.Count()
	default:
		return s.Double.Count()
	}
}

// FailNext makes the back end's next call fail as a passing outage: the
// SDK's three attempts get status and code from sfntest (so the SDK's
// error mapping is exercised); the store and the double fail once.
func (s *Service) FailNext(status int, code string) {
	switch s.backend {
	case SFN:
		s.SFN.FailNext(3, status, code) // the standard retryer's three attempts
	case Local:
		s.counts.FailNext(1)
	default:
		s.Double.FailNext(1)
	}
}

// Response is a read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body as a JSON object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body %q (status %d) is not a JSON object: %v", r.Body, r.Status, err)
	}
	return m
}

// ErrorCode is the contract's error code of an error answer ("" below 400).
func (r *Response) ErrorCode(t testing.TB) string {
	t.Helper()
	if r.Status < 400 {
		return ""
	}
	code, _ := r.JSON(t)["error"].(string)
	return code
}

// Do sends a request through the server. target is a path (with its
// query) or an absolute URL; an empty body sends none.
func (s *Service) Do(t testing.TB, method, target string, header map[string]string, body string) *Response {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = s.URL + target
	}
	return Send(t, s.Client, method, target, header, body)
}

// Send sends a request with c and reads the answer: for a server the
// harness did not start (a `serve` command). An empty body sends none.
func Send(t testing.TB, c *http.Client, method, target string, header map[string]string, body string) *Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Click POSTs to a callback URL as an API client does (Accept:
// application/json): form values as a form body, else no body. An
// absolute URL must be one of this service's.
func (s *Service) Click(t testing.TB, callbackURL string, form url.Values) *Response {
	t.Helper()
	if !strings.HasPrefix(callbackURL, "/") && !strings.HasPrefix(callbackURL, s.URL+"/respond?") {
		t.Fatalf("%s is not a callback URL of this service", callbackURL)
	}
	header := map[string]string{"Accept": "application/json"}
	if form != nil {
		header["Content-Type"] = "application/x-www-form-urlencoded"
	}
	return s.Do(t, http.MethodPost, callbackURL, header, form.Encode())
}

// NewRequest is a server-side request for Record. target is a path with a
// raw query, used as given; the Host is the server's.
func (s *Service) NewRequest(method, target string, header map[string]string, body string) *http.Request {
	req := httptest.NewRequest(method, s.URL+"/", strings.NewReader(body))
	path, query, _ := strings.Cut(target, "?")
	req.URL.Path, req.URL.RawQuery, req.RequestURI = path, query, target
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// Record runs req on the service without the server, so that its log line
// is written when Record returns (and a large body cannot race a reset
// connection).
func (s *Service) Record(req *http.Request) *Response {
	rec := httptest.NewRecorder()
	s.served.ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.String()}
}

// Serve is Record for a request built from its parts.
func (s *Service) Serve(method, target string, header map[string]string, body string) *Response {
	return s.Record(s.NewRequest(method, target, header, body))
}

// Created is the answer of POST /urls.
type Created struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
	Expiration    string            `json:"expiration"`
}

// PostURLs sends req (marshalled to JSON) to POST /urls and returns the
// answer, whatever it is.
func (s *Service) PostURLs(t testing.TB, req any) *Response {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return s.Do(t, http.MethodPost, "/urls", map[string]string{"Content-Type": "application/json"}, string(b))
}

// Create creates URLs for req; the test fails unless it gets them.
func (s *Service) Create(t testing.TB, req any) Created {
	t.Helper()
	resp := s.PostURLs(t, req)
	if resp.Status != http.StatusOK {
		t.Fatalf("POST /urls: %d %s", resp.Status, resp.Body)
	}
	var c Created
	if err := json.Unmarshal([]byte(resp.Body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// CreateURLs creates URLs for token's actions and returns them by name.
func (s *Service) CreateURLs(t testing.TB, token string, actions ...map[string]any) map[string]string {
	t.Helper()
	return s.Create(t, map[string]any{"token": token, "actions": actions}).URLs
}

// NewURLs opens a task, creates URLs for it with req (its token set) and
// returns the token and the URLs.
func (s *Service) NewURLs(t testing.TB, req map[string]any) (string, map[string]string) {
	t.Helper()
	token := s.NewTask(t)
	req["token"] = token
	return token, s.Create(t, req).URLs
}

// The usual actions.
var (
	Approve = map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approved": true}}
	Reject  = map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected by a test"}
	Ping    = map[string]any{"name": "ping", "type": "heartbeat"}
)

// LogLines decodes the log lines written so far.
func (s *Service) LogLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(s.Logs.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// CreateURLsFunction is the CreateUrls function's Lambda handler on this
// service (direct invokes and proxy events; Options.Lambda mounts POST
// /urls as the function does).
func (s *Service) CreateURLsFunction() lambdaapi.Handler {
	return lambdaapi.CreateURLsHandler(s.Core, s.Handler, s.Logger)
}

// ProxyFunction serves API Gateway proxy events, as both functions do.
func (s *Service) ProxyFunction() func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return lambdaapi.ProxyHandler(s.Handler, s.Logger)
}
