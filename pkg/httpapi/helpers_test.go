package httpapi_test

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

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// Back ends every shared table runs against.
const (
	backendSFN   = "sfntest"    // the real SDK over HTTP to the sfntest stand-in
	backendLocal = "localstore" // the bbolt task store, also serving /local/
)

var backends = []string{backendSFN, backendLocal}

// epoch is the fake clock's start: far enough in the future that the
// expirations in the tables are in the past or future of it on any machine.
var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// testKeys is a fixed keyring, so fuzz corpora and seeds stay valid.
func testKeys(t testing.TB) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{0x5a}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// taskState is a task as either back end reports it.
type taskState struct {
	Status     string
	Output     string
	Error      string
	Cause      string
	Heartbeats int
}

// setup are the knobs of a test environment.
type setup struct {
	cfg     callbackurls.Config
	verbose bool
	noKeys  bool // encryption disabled
}

// env is one service behind one HTTP server, on one back end.
type env struct {
	backend string
	clock   *testkit.Clock
	logs    *testkit.Buffer
	svc     *callbackurls.Service
	h       http.Handler
	srv     *httptest.Server
	client  *http.Client // does not follow redirects

	sfnSrv *sfntest.Server          // sfntest back end
	store  *localstore.Store        // localstore back end
	counts *callbackurlstest.Target // localstore back end: counts and fails calls
	tasks  atomic.Int64             // tasks made (sfntest back end)
	local  localweb.Tasks           // what /local/ serves (localstore back end)
}

func newEnv(t testing.TB, backend string, opts ...func(*setup)) *env {
	t.Helper()
	s := setup{}
	for _, o := range opts {
		o(&s)
	}
	e := &env{backend: backend, clock: testkit.NewClock(epoch), logs: &testkit.Buffer{}}
	var sfn callbackurls.Target
	switch backend {
	case backendSFN:
		e.sfnSrv = sfntest.New(t)
		sfn = stepfunctions.New(e.sfnSrv.Client(context.Background()))
	case backendLocal:
		store, err := localstore.Open(filepath.Join(t.TempDir(), "tasks.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		e.store, e.counts = store, &callbackurlstest.Target{Next: store, Discard: true}
		e.local = store
		sfn = e.counts
	default:
		t.Fatalf("unknown back end %q", backend)
	}

	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	cfg := s.cfg
	if cfg.BaseURL == "" {
		cfg.BaseURL = e.srv.URL
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	codec := &payload.Codec{}
	if !s.noKeys {
		codec.Keys = testKeys(t)
	}
	e.svc = callbackurls.New(cfg, codec, callbackurls.Targets{callbackurls.TaskToken: sfn})
	level := slog.LevelInfo
	if s.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: level}))
	e.h = localServer(e.svc, logger, s.verbose, e.local, cfg.BaseURL)
	return e
}

// localServer is the local server's composition (cmd/sfn-callback-urls
// serve): both functions' endpoints, and /local/ with a task store.
func localServer(svc *callbackurls.Service, logger *slog.Logger, verbose bool, local localweb.Tasks, baseURL string) http.Handler {
	rt := httpapi.NewRouter(logger, verbose)
	rt.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(svc, httpapi.CreateOptions{Logger: logger, Verbose: verbose}))
	rt.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: logger, Verbose: verbose}))
	if local != nil {
		rt.Handle(localweb.Prefix, "", localweb.New(localweb.Options{Store: local, Service: svc, BaseURL: baseURL}))
	}
	return rt
}

func withVerbose(s *setup)       { s.verbose = true }
func withoutEncryption(s *setup) { s.noKeys = true }
func withMaxURLLength(n int) func(*setup) {
	return func(s *setup) { s.cfg.MaxURLLength = n }
}

// newTask opens a task on the back end and returns its token.
func (e *env) newTask(t testing.TB) string {
	t.Helper()
	switch e.backend {
	case backendSFN:
		// Real tokens from the corpus, made unique by their last characters.
		tokens := corpus.Tokens()
		n := int(e.tasks.Add(1))
		base := tokens[n%len(tokens)]
		tok := base[:len(base)-8] + fmt.Sprintf("%08d", n)
		e.sfnSrv.AddTask(tok)
		return tok
	default:
		task, err := e.store.CreateTask(context.Background(), "test")
		if err != nil {
			t.Fatal(err)
		}
		return task.Token
	}
}

// task reports what the back end knows of a task.
func (e *env) task(t testing.TB, token string) taskState {
	t.Helper()
	switch e.backend {
	case backendSFN:
		s, ok := e.sfnSrv.Task(token)
		if !ok {
			t.Fatal("sfntest has no such task")
		}
		return taskState{Status: string(s.Status), Output: s.Output, Error: s.Error, Cause: s.Cause, Heartbeats: s.Heartbeats}
	default:
		task, err := e.store.Get(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return taskState{Status: string(task.Status), Output: string(task.Output), Error: task.Error, Cause: task.Cause, Heartbeats: task.Heartbeats}
	}
}

// calls is how many Step Functions calls reached the back end so far
// (sfntest counts the SDK's retries).
func (e *env) calls() int {
	if e.backend == backendSFN {
		return len(e.sfnSrv.Calls())
	}
	return e.counts.Count()
}

// failNext makes the back end's next n calls fail as unavailable: the
// SDK's retries against sfntest, one call against the store.
func (e *env) failNext(status int, code string) {
	if e.backend == backendSFN {
		e.sfnSrv.FailNext(3, status, code) // the standard retryer's 3 attempts
		return
	}
	e.counts.FailNext(1)
}

// response is a read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body as a JSON object.
func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// do sends a request to the env's server. target is a path (with query) or
// an absolute URL of the server.
func (e *env) do(t testing.TB, method, target string, header map[string]string, body io.Reader) *response {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = e.srv.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// newRequest is a server-side request for the handler. target is a path
// and a raw query, used as given.
func newRequest(method, target string, body io.Reader) *http.Request {
	req := httptest.NewRequest(method, "http://cb.example.test/", body)
	path, query, _ := strings.Cut(target, "?")
	req.URL.Path, req.URL.RawQuery = path, query
	req.RequestURI = target
	return req
}

// record runs req on the handler directly (no server), so that the log
// line is written when it returns.
func (e *env) record(req *http.Request) *response {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return &response{Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.String()}
}

// serve is record for a request built from its parts.
func (e *env) serve(method, target string, header map[string]string, body string) *response {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := newRequest(method, target, r)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.record(req)
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

// createURLs makes URLs for token with the given actions and returns them.
func (e *env) createURLs(t testing.TB, token string, actions ...map[string]any) map[string]string {
	t.Helper()
	return e.create(t, map[string]any{"token": token, "actions": actions}).URLs
}

type created struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
	Expiration    string            `json:"expiration"`
}

func (e *env) create(t testing.TB, req map[string]any) created {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.do(t, http.MethodPost, "/urls", jsonHeader, bytes.NewReader(b))
	if resp.Status != http.StatusOK {
		t.Fatalf("POST /urls: %d %s", resp.Status, resp.Body)
	}
	var c created
	if err := json.Unmarshal([]byte(resp.Body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The usual actions.
var (
	approveAction = map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approved": true}}
	rejectAction  = map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected by a test"}
	pingAction    = map[string]any{"name": "ping", "type": "heartbeat"}
)

// pathQuery is the path and query of an absolute URL.
func pathQuery(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// dataParam is the data parameter of a callback URL.
func dataParam(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("data")
}
