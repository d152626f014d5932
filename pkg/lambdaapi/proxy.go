// Package lambdaapi runs net/http handlers inside AWS Lambda, so that the
// functions and the local server share one code path. ProxyHandler adapts
// API Gateway REST API (v1) proxy events to any http.Handler and puts the
// event in the request's context (EventFrom, Gateway); CreateURLsHandler
// also serves a direct CreateUrls invoke, and CallbackHandler answers a
// direct invoke of ProcessCallback with the contract's error body.
package lambdaapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

// ProxyHandler returns a Lambda handler for API Gateway REST API proxy
// events that serves each event with h. The event is in the request's
// context for whoever needs it (EventFrom, Gateway).
//
// Every outcome is an HTTP response: the handler never returns an error
// (API Gateway would turn it into a bare 502), not even when h panics
// (500 ServiceError, logged to logger).
func ProxyHandler(h http.Handler, logger *slog.Logger) func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
		defer func() {
			if v := recover(); v != nil {
				logger.LogAttrs(ctx, slog.LevelError, "panic",
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				resp, err = internalError(), nil
			}
		}()
		r := newRequest(ctx, &ev)
		w := newResponseWriter()
		h.ServeHTTP(w, r)
		return w.response(r.Method == http.MethodHead), nil
	}
}

type eventKey struct{}

// EventFrom returns the proxy event a request was made from, if it was.
func EventFrom(ctx context.Context) (*events.APIGatewayProxyRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(*events.APIGatewayProxyRequest)
	return ev, ok
}

// Gateway names the API Gateway stage a request came through (zero when
// it did not come through one): the CreateUrls endpoint's Via.
func Gateway(r *http.Request) callbackurls.Gateway {
	ev, ok := EventFrom(r.Context())
	if !ok {
		return callbackurls.Gateway{}
	}
	return callbackurls.Gateway{APIID: ev.RequestContext.APIID, Stage: ev.RequestContext.Stage}
}

// newRequest builds the server-side *http.Request for an event.
func newRequest(ctx context.Context, ev *events.APIGatewayProxyRequest) *http.Request {
	rc := &ev.RequestContext
	ctx = context.WithValue(ctx, eventKey{}, ev)

	header := make(http.Header, len(ev.MultiValueHeaders)+len(ev.Headers))
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			header.Add(k, v)
		}
	}

	query := make(url.Values, len(ev.MultiValueQueryStringParameters)+len(ev.QueryStringParameters))
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vs := range ev.MultiValueQueryStringParameters {
			query[k] = append(query[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			query.Add(k, v)
		}
	}

	u := &url.URL{Path: requestPath(ev), RawQuery: query.Encode()}
	method := ev.HTTPMethod
	if method == "" {
		method = http.MethodGet
	}
	host := header.Get("Host")
	if host == "" {
		host = rc.DomainName
	}
	r := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       host,
		RequestURI: u.RequestURI(),
		Body:       http.NoBody,
	}
	if ip := rc.Identity.SourceIP; ip != "" {
		// RemoteAddr is host:port in net/http; API Gateway gives no port.
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	switch {
	case ev.IsBase64Encoded:
		body, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			// The handler reports an unreadable body in its own terms.
			r.Body = io.NopCloser(errReader{errors.New("lambdaapi: the event body is not valid base64")})
			r.ContentLength = -1
			break
		}
		setBody(r, body)
	case ev.Body != "":
		setBody(r, []byte(ev.Body))
	}
	return r.WithContext(ctx)
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// requestPath is the path the handler routes on. The routes of the API are
// the resources /urls and /respond; anything else (a {proxy+} resource) is
// the event's path without the stage or a custom domain's base path prefix
// that API Gateway may have kept.
func requestPath(ev *events.APIGatewayProxyRequest) string {
	switch ev.Resource {
	case "/urls", "/respond":
		return ev.Resource
	}
	p := ev.Path
	if p == "" {
		p = "/"
	}
	if stage := ev.RequestContext.Stage; stage != "" {
		if rest, ok := strings.CutPrefix(p, "/"+stage); ok && (rest == "" || rest[0] == '/') {
			p = rest
			if p == "" {
				p = "/"
			}
		}
	}
	return p
}

// responseWriter is an in-memory http.ResponseWriter with net/http's
// semantics: the header is fixed by the first WriteHeader or Write.
type responseWriter struct {
	header  http.Header
	written http.Header
	status  int
	body    bytes.Buffer
}

func newResponseWriter() *responseWriter {
	return &responseWriter{header: make(http.Header)}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return // a second call, or an informational response, is dropped
	}
	w.status = code
	w.written = w.header.Clone()
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// response is the proxy response for what the handler wrote. A HEAD
// response has no body.
func (w *responseWriter) response(head bool) events.APIGatewayProxyResponse {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	header := w.written
	body := w.body.Bytes()
	if header.Get("Content-Type") == "" && len(body) > 0 {
		header.Set("Content-Type", http.DetectContentType(body)) // as net/http does
	}
	resp := events.APIGatewayProxyResponse{
		StatusCode:        w.status,
		Headers:           make(map[string]string, len(header)),
		MultiValueHeaders: make(map[string][]string, len(header)),
	}
	for k, vs := range header {
		if len(vs) > 0 {
			resp.Headers[k] = vs[0]
			resp.MultiValueHeaders[k] = vs
		}
	}
	switch {
	case head || len(body) == 0:
	case isText(header.Get("Content-Type")):
		resp.Body = string(body)
	default:
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// isText reports whether a response of this type can travel as a string.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || strings.Contains(mt, "json") ||
		strings.Contains(mt, "xml") || strings.Contains(mt, "javascript")
}

func internalError() events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{
		StatusCode: http.StatusInternalServerError,
		Headers:    map[string]string{"Content-Type": httpapi.TypeJSON, "Cache-Control": "no-store"},
		MultiValueHeaders: map[string][]string{
			"Content-Type": {httpapi.TypeJSON}, "Cache-Control": {"no-store"},
		},
		Body: `{"error":"ServiceError","message":"internal error"}`,
	}
}
