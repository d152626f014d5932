package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Gateway stands in for Amazon API Gateway in front of a handler, as the
// stack deploys the service: a route with IAM authorisation takes only
// requests signed (SigV4, execute-api) with Credentials for Region, and
// refuses others as API Gateway does (403, X-Amzn-Errortype, a JSON
// message); the Open paths take anyone. Answers queued with FailNext or
// Inject stand for the gateway's own (throttling, a 502 page, an IAM
// denial), given after the signature check; every request is logged.
//
//	gw := &standin.Gateway{}
//	srv := httptest.NewServer(gw.Wrap(handler))
//	c := client.NewHTTP(gw.Config(), srv.URL)
//
// The zero Gateway is ready: Credentials and Region are the stand-ins',
// and only /respond is open.
type Gateway struct {
	Credentials aws.Credentials // zero: Credentials()
	Region      string          // "": Region
	// Open are the paths served without a signature (nil: /respond).
	Open []string
	// Unsigned takes every request unsigned, as the local server does.
	// Set it before the first request.
	Unsigned bool

	mu       sync.Mutex
	requests []GatewayRequest
	answers  []func() Answer
}

// GatewayRequest is one request the gateway received, and its status.
type GatewayRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Status       int
}

// Answer is a canned HTTP answer.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// Config is an aws.Config that signs for the gateway: its credentials and
// region, FastRetryer. A client is given the endpoint itself.
func (g *Gateway) Config() aws.Config {
	creds := g.creds()
	return aws.Config{
		Region:      g.region(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		Retryer:     FastRetryer,
	}
}

func (g *Gateway) creds() aws.Credentials {
	if g.Credentials.AccessKeyID == "" {
		return Credentials()
	}
	return g.Credentials
}

func (g *Gateway) region() string {
	if g.Region == "" {
		return Region
	}
	return g.Region
}

func (g *Gateway) open(path string) bool {
	if g.Open == nil {
		return path == "/respond"
	}
	return slices.Contains(g.Open, path)
}

// FailNext answers the next n requests to routes with IAM authorisation
// with a instead of the handler's answer.
func (g *Gateway) FailNext(n int, a Answer) {
	for range n {
		g.Inject(func() Answer { return a })
	}
}

// Inject queues f's answer for the next request to a route with IAM
// authorisation: f runs as that request is answered.
func (g *Gateway) Inject(f func() Answer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answers = append(g.answers, f)
}

// Requests returns every request received so far, in order.
func (g *Gateway) Requests() []GatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// Count is the number of requests received for method and path.
func (g *Gateway) Count(method, path string) int {
	n := 0
	for _, r := range g.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// Wrap puts the gateway in front of next.
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20)) // API Gateway's payload limit
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := GatewayRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		rec.Status = g.serve(w, r, body, next)
		g.mu.Lock()
		g.requests = append(g.requests, rec)
		g.mu.Unlock()
	})
}

// serve answers r and returns the status.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, body []byte, next http.Handler) int {
	if g.open(r.URL.Path) {
		return serveStatus(w, r, next)
	}
	if !g.Unsigned {
		if e := VerifySigV4(r, body, g.creds(), "execute-api", g.region()); e != nil {
			msg, _ := json.Marshal(map[string]string{"message": e.Message})
			return write(w, Answer{Status: e.Status, Header: map[string]string{"X-Amzn-Errortype": e.Code, "Content-Type": "application/json"}, Body: string(msg)})
		}
	}
	g.mu.Lock()
	var answer func() Answer
	if len(g.answers) > 0 {
		answer, g.answers = g.answers[0], g.answers[1:]
	}
	g.mu.Unlock()
	if answer != nil {
		return write(w, answer())
	}
	return serveStatus(w, r, next)
}

func write(w http.ResponseWriter, a Answer) int {
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
	return a.Status
}

// serveStatus serves r with next and returns the status it answered.
func serveStatus(w http.ResponseWriter, r *http.Request, next http.Handler) int {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(sw, r)
	return sw.status
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
