package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
)

// secretToken is the task token of the redirect tests: it must reach the
// first server only.
const secretToken = "AQB8secret-task-token"

// recorder is an HTTP server that records what reaches it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Method, Host, Path string
	Header             http.Header
	Body               string
}

func newRecorder(t *testing.T, answer http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.seen = append(r.seen, seenRequest{Method: req.Method, Host: req.Host, Path: req.URL.Path, Header: req.Header.Clone(), Body: string(body)})
		r.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenRequest(nil), r.seen...)
}

// sessionConfig is an aws.Config with temporary credentials (a session
// token, as a Lambda function's role has) and no retry delay.
func sessionConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "ASIAREDIRECT", SecretAccessKey: "s", SessionToken: "session-token", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return lambdatest.FastRetryer() },
	}
}

// followingClient is an aws.HTTPClient of the caller's that is neither an
// *http.Client nor the SDK's: its redirect policy is its own (net/http's
// default: follow up to 10).
type followingClient struct{ c *http.Client }

func (f followingClient) Do(r *http.Request) (*http.Response, error) { return f.c.Do(r) }

// TestRedirectsRefused: a redirect answered to CreateUrls is never
// followed, whatever its code and target, through both transports and
// with each kind of HTTP client; nothing reaches the target and nothing
// is retried.
func TestRedirectsRefused(t *testing.T) {
	elsewhere := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"transaction_id":"evil","urls":{"a":"https://evil.example/respond"}}`)
	})
	_, elsewherePort, _ := net.SplitHostPort(strings.TrimPrefix(elsewhere.URL, "http://"))
	targets := []struct {
		name     string
		location func(self string) string
	}{
		// 127.0.0.1 and localhost are two hosts to a client, one to the
		// loopback.
		{"another host", func(string) string { return "http://localhost:" + elsewherePort + "/Prod/urls" }},
		{"another port of the same host", func(string) string { return elsewhere.URL + "/Prod/urls" }},
		{"the same origin", func(self string) string { return self + "/moved/urls" }},
	}
	clients := []struct {
		name string
		// custom: the caller's own aws.HTTPClient, whose redirect policy
		// the client cannot change.
		custom bool
		http   func(cfg *aws.Config) []client.Option
		lambda func(cfg *aws.Config) []client.Option
	}{
		{name: "SDK default",
			http:   func(*aws.Config) []client.Option { return nil },
			lambda: func(*aws.Config) []client.Option { return nil }},
		{name: "aws.Config's BuildableClient",
			http:   func(cfg *aws.Config) []client.Option { cfg.HTTPClient = awshttp.NewBuildableClient(); return nil },
			lambda: func(cfg *aws.Config) []client.Option { cfg.HTTPClient = awshttp.NewBuildableClient(); return nil }},
		{name: "an *http.Client that follows redirects",
			http: func(*aws.Config) []client.Option { return []client.Option{client.WithHTTPClient(&http.Client{})} },
			lambda: func(*aws.Config) []client.Option {
				return []client.Option{client.WithLambdaOptions(func(o *lambda.Options) { o.HTTPClient = &http.Client{} })}
			}},
		{name: "the caller's own aws.HTTPClient", custom: true,
			http: func(*aws.Config) []client.Option {
				return []client.Option{client.WithHTTPClient(followingClient{&http.Client{}})}
			},
			lambda: func(*aws.Config) []client.Option {
				return []client.Option{client.WithLambdaOptions(func(o *lambda.Options) { o.HTTPClient = followingClient{&http.Client{}} })}
			}},
	}
	req := client.Request{Token: secretToken, Actions: []client.Action{client.Heartbeat("a")}}
	for _, target := range targets {
		for _, status := range []int{301, 302, 303, 307, 308} {
			for _, hc := range clients {
				for _, transport := range []string{"http", "lambda"} {
					name := fmt.Sprintf("%s/%d/%s/%s", target.name, status, hc.name, transport)
					t.Run(name, func(t *testing.T) {
						var origin *recorder
						origin = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
							if strings.HasPrefix(r.URL.Path, "/moved/") {
								w.Header().Set("Content-Type", "application/json")
								_, _ = io.WriteString(w, `{"transaction_id":"moved","urls":{"a":"https://cb.example/respond"}}`)
								return
							}
							w.Header().Set("Location", target.location(origin.URL))
							w.WriteHeader(status)
						})
						cfg := sessionConfig(origin.URL)
						var c *client.Client
						if transport == "http" {
							c = client.NewHTTP(cfg, origin.URL+"/Prod", hc.http(&cfg)...)
						} else {
							c = client.NewLambda(cfg, "create", hc.lambda(&cfg)...)
						}
						urls, err := c.CreateURLs(context.Background(), req)
						if err == nil {
							t.Fatalf("the redirect was followed: %+v", urls)
						}
						if !errors.Is(err, client.ErrRedirect) {
							t.Fatalf("%v: want ErrRedirect", err)
						}
						var e *client.Error
						if !errors.As(err, &e) || e.RetryableError() {
							t.Fatalf("%v: want an *Error, not retryable", err)
						}
						// The caller's own client may have followed it
						// (below): the error then has the status of the
						// answer refused.
						if msg := err.Error(); !hc.custom && (e.StatusCode != status || !strings.Contains(msg, "redirect to") || !strings.Contains(msg, "not followed")) {
							t.Errorf("%q (status %d): want the %d and a message saying the redirect was not followed", msg, e.StatusCode, status)
						}

						// The first server saw one request (no retry of a
						// redirect); no other request anywhere carried the
						// token or the credentials.
						first, moved := 0, 0
						for _, r := range origin.requests() {
							if strings.HasPrefix(r.Path, "/moved/") {
								moved++
								checkNoSecrets(t, "the same origin's other path", r)
							} else {
								first++
							}
						}
						if first != 1 {
							t.Errorf("the API got %d requests, want 1", first)
						}
						others := elsewhere.requests()
						if !hc.custom {
							if moved+len(others) != 0 {
								t.Errorf("the redirect reached its target: %d requests on the same origin, %d elsewhere", moved, len(others))
							}
						}
						// The caller's own client may follow 301, 302 and
						// 303 as a GET without a body: net/http does, and
						// the client cannot stop it (see WithHTTPClient).
						// It never re-sends the body: the client lets it
						// no way to.
						for _, r := range others {
							checkNoSecrets(t, "the other origin", r)
						}
						elsewhere.mu.Lock()
						elsewhere.seen = nil
						elsewhere.mu.Unlock()
					})
				}
			}
		}
	}
}

// checkNoSecrets fails if a request that reached a redirect's target
// carries the task token: only the caller's own aws.HTTPClient can have
// sent one there, as net/http follows a 301, 302 or 303, with a GET and
// no body. Which headers it copies is that client's policy (net/http
// keeps Authorization for another port of the same host), which is why
// WithHTTPClient's documentation asks for an *http.Client.
func checkNoSecrets(t *testing.T, where string, r seenRequest) {
	t.Helper()
	if strings.Contains(r.Body, secretToken) || r.Method != http.MethodGet || r.Body != "" {
		t.Errorf("%s got a %s with the body %q", where, r.Method, r.Body)
	}
}

// TestRedirectBodyNeverResent: even the caller's own aws.HTTPClient, whose
// redirect policy the client cannot change, does not re-send the body on
// a 307 or 308: net/http does so only if it can rewind the body, and the
// client gives it no way to.
func TestRedirectBodyNeverResent(t *testing.T) {
	elsewhere := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, status := range []int{307, 308} {
		origin := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", elsewhere.URL+"/Prod/urls")
			w.WriteHeader(status)
		})
		cfg := sessionConfig(origin.URL)
		_, err := client.NewHTTP(cfg, origin.URL+"/Prod", client.WithHTTPClient(followingClient{&http.Client{}})).
			CreateURLs(context.Background(), client.Request{Token: secretToken, Actions: []client.Action{client.Heartbeat("a")}})
		if !errors.Is(err, client.ErrRedirect) {
			t.Errorf("%d: %v, want ErrRedirect", status, err)
		}
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("%d requests reached the redirect's target", n)
	}
}

// silentServer accepts connections and never answers; it closes them
// when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestTimeout: a server that never answers ends the call at the client's
// timeout, through both transports, with a message saying so.
func TestTimeout(t *testing.T) {
	silent := silentServer(t)
	cfg := sessionConfig(silent)
	req := client.Request{Token: "t", Actions: []client.Action{client.Heartbeat("a")}}
	for name, c := range map[string]*client.Client{
		"http":   client.NewHTTP(cfg, silent, client.WithTimeout(100*time.Millisecond)),
		"lambda": client.NewLambda(cfg, "f", client.WithTimeout(100*time.Millisecond)),
	} {
		_, err := c.CreateURLs(context.Background(), req)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "WithTimeout") {
			t.Errorf("%s: %v, want the client's timeout", name, err)
		}
	}
}

// deadlineClient records the deadline of the requests it is given and
// answers none.
type deadlineClient struct {
	mu        sync.Mutex
	deadlines []time.Time
}

var errNoAnswer = errors.New("no answer (deadlineClient)")

func (d *deadlineClient) Do(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	if !ok {
		dl = time.Time{}
	}
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return nil, errNoAnswer
}

// TestDefaultTimeout: without a deadline of the caller's, a call is given
// DefaultTimeout; a context's deadline, or WithTimeout, replaces it.
func TestDefaultTimeout(t *testing.T) {
	req := client.Request{Token: "t", Actions: []client.Action{client.Heartbeat("a")}}
	farDeadline := time.Now().Add(time.Hour)
	tests := []struct {
		name     string
		opts     []client.Option
		deadline time.Time // the context's
		want     time.Duration
		none     bool // no deadline at all
	}{
		{name: "default", want: client.DefaultTimeout},
		{name: "WithTimeout", opts: []client.Option{client.WithTimeout(5 * time.Minute)}, want: 5 * time.Minute},
		{name: "context deadline", deadline: farDeadline, want: time.Hour},
		{name: "WithTimeout shorter than the context's", opts: []client.Option{client.WithTimeout(time.Minute)}, deadline: farDeadline, want: time.Minute},
		{name: "WithTimeout(0)", opts: []client.Option{client.WithTimeout(0)}, none: true},
	}
	for _, tc := range tests {
		for _, transport := range []string{"http", "lambda"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				dc := &deadlineClient{}
				cfg := sessionConfig("http://127.0.0.1:9")
				cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
				var c *client.Client
				if transport == "http" {
					c = client.NewHTTP(cfg, "http://127.0.0.1:9/Prod", append(tc.opts, client.WithHTTPClient(dc))...)
				} else {
					c = client.NewLambda(cfg, "f", append(tc.opts, client.WithLambdaOptions(func(o *lambda.Options) { o.HTTPClient = dc }))...)
				}
				ctx := context.Background()
				if !tc.deadline.IsZero() {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				_, err := c.CreateURLs(ctx, req)
				end := time.Now()
				if !errors.Is(err, errNoAnswer) {
					t.Fatalf("%v, want the HTTP client's error", err)
				}
				if len(dc.deadlines) != 1 {
					t.Fatalf("%d requests", len(dc.deadlines))
				}
				got := dc.deadlines[0]
				if tc.none {
					if !got.IsZero() {
						t.Errorf("deadline %v, want none", got)
					}
					return
				}
				// The deadline was set during the call.
				if got.Before(start.Add(tc.want-time.Second)) || got.After(end.Add(tc.want)) {
					t.Errorf("deadline %v after the call's start, want %v", got.Sub(start), tc.want)
				}
			})
		}
	}
}

// TestErrorTextPrintable: what a server says reaches the error's message
// without control characters and bounded, through both transports and in
// every field an error carries.
func TestErrorTextPrintable(t *testing.T) {
	nasty := "bad\x1b[2J\x1b]0;owned\x07 request\r\nX-Injected: 1\x00\u202eevil\u2066\x7f\u0085" + strings.Repeat("long ", 20_000)
	nastyJSON, _ := json.Marshal(nasty)
	errorBody := fmt.Sprintf(`{"error":%s,"message":%s,"transaction_id":%s,"step_functions_error":%s}`, nastyJSON, nastyJSON, nastyJSON, nastyJSON)
	req := client.Request{Token: "t", Actions: []client.Action{client.Heartbeat("a")}}

	type tc struct {
		name string
		call func(t *testing.T) error
	}
	var cases []tc
	api := func(status int, header map[string]string, body string) func(t *testing.T) error {
		return func(t *testing.T) error {
			srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
			})
			cfg := sessionConfig(srv.URL)
			cfg.RetryMaxAttempts = 1
			return errOf(client.NewHTTP(cfg, srv.URL).CreateURLs(context.Background(), req))
		}
	}
	// HTTP refuses ASCII controls in header values, not C1 controls and
	// bidi overrides encoded in UTF-8.
	headers := map[string]string{"X-Amzn-Requestid": "req\u0085\u2066-1", "X-Amzn-Errortype": "Access\u202eDenied\u009b2J:http://x"}
	cases = append(cases,
		tc{"http: an error body", api(400, headers, errorBody)},
		tc{"http: an error body on 200", api(200, headers, errorBody)},
		tc{"http: API Gateway's message", api(403, headers, fmt.Sprintf(`{"message":%s}`, nastyJSON))},
		tc{"http: a page", api(502, headers, nasty)},
	)
	srv := lambdatest.New(t)
	srv.AddFunction("body", func(context.Context, json.RawMessage) (any, error) { return json.RawMessage(errorBody), nil })
	srv.AddFunction("crash", func(context.Context, json.RawMessage) (any, error) { return nil, errors.New(nasty) })
	lambdaCall := func(fn string) func(*testing.T) error {
		return func(*testing.T) error {
			return errOf(client.NewLambda(srv.Config(), fn).CreateURLs(context.Background(), req))
		}
	}
	// Lambda's own endpoint answering an error with a nasty message: the
	// SDK's error quotes it.
	lambdaEndpoint := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(403)
		fmt.Fprintf(w, `{"message":%s}`, nastyJSON)
	})
	cases = append(cases,
		tc{"lambda: an error body", lambdaCall("body")},
		tc{"lambda: a function error", lambdaCall("crash")},
		tc{"lambda: the SDK's error", func(*testing.T) error {
			return errOf(client.NewLambda(sessionConfig(lambdaEndpoint.URL), "f").CreateURLs(context.Background(), req))
		}},
		tc{"http: a redirect's Location", api(307, map[string]string{"Location": "http://x.example/\u202e\u0085" + strings.Repeat("a", 10_000)}, "")},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(t)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			checkPrintable(t, "Error()", msg, 8<<10)
			var e *client.Error
			if errors.As(err, &e) {
				for name, v := range map[string]string{"Code": e.Code, "Message": e.Message, "TransactionID": e.TransactionID,
					"StepFunctionsError": e.StepFunctionsError, "RequestID": e.RequestID, "FunctionError": e.FunctionError} {
					checkPrintable(t, name, v, 4<<10)
				}
			}
			if !strings.Contains(msg, "bad") && !strings.Contains(msg, "x.example") {
				t.Errorf("message %.200q lost the server's text", msg)
			}
		})
	}
}

func errOf(_ *client.URLs, err error) error { return err }

func checkPrintable(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max {
		t.Errorf("%s is %d bytes, want at most %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s is not UTF-8: %.200q", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			t.Errorf("%s has %U: %.200q", what, r, s)
			return
		}
	}
	if bytes.Contains([]byte(s), []byte("X-Injected: 1")) && strings.Contains(s, "\n") {
		t.Errorf("%s carries a line break", what)
	}
}
