package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// DefaultTimeout bounds a CreateURLs call whose context has no deadline:
// every attempt and every wait between them. It is longer than API
// Gateway's 29-second integration limit and the stack's 10-second
// function timeout, so a call that has not answered by then will not.
// WithTimeout changes it.
const DefaultTimeout = 30 * time.Second

// WithTimeout bounds each CreateURLs call to d, every attempt and wait
// included, whatever its context (the earlier of d and the context's
// deadline applies); d <= 0 removes the bound, leaving the context's.
// Without it, a call whose context has no deadline gets DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout, o.timeoutSet = d, true }
}

// ErrRedirect is wrapped by the error for a redirect (any 3xx) answered to
// CreateUrls. Redirects are never followed: neither API Gateway nor
// Lambda answers one, and following one would send the task token, and
// the signature or the session token, where the caller did not aim.
var ErrRedirect = errors.New("redirect not followed")

// Bounds of what a server's text may add to an error.
const (
	maxMessageBytes = 2048 // a message: the service's are far shorter
	maxFieldBytes   = 256  // a code, an id, a URL
)

// withTimeout is ctx bounded by the client's timeout, if one applies.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	d := c.timeout
	if !c.timeoutSet {
		if _, ok := ctx.Deadline(); ok {
			return ctx, func() {}, 0
		}
		d = DefaultTimeout
	}
	if d <= 0 {
		return ctx, func() {}, 0
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, d
}

// timeoutError is a call cut short by the client's own timeout (not the
// caller's context): the message says which bound it was and how to
// change it.
type timeoutError struct {
	d   time.Duration
	err error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v (no answer within the client's timeout of %v: change it with WithTimeout or a context deadline)", e.err, e.d)
}

func (e *timeoutError) Unwrap() error { return e.err }

// sanitized is a transport error (the SDK's, the network's) whose text may
// quote a server: its message is made printable, and it unwraps to the
// original for errors.As.
type sanitized struct {
	msg string
	err error
}

func (e *sanitized) Error() string { return e.msg }
func (e *sanitized) Unwrap() error { return e.err }

func wrapTransport(prefix string, err error) error {
	return &sanitized{msg: prefix + printable(err.Error(), maxMessageBytes), err: err}
}

// printable makes text that a server chose safe to show in a message, a
// log line or a terminal: line breaks and tabs become spaces; other
// control characters (C0, DEL, C1: escape sequences, NUL) and the Unicode
// controls that reorder text (bidi overrides and isolates) are dropped;
// invalid UTF-8 becomes U+FFFD; the result is cut to at most n bytes.
func printable(s string, n int) string {
	// Each kept character is at most 4 bytes: looking further is useless.
	if len(s) > 4*n+4 {
		s = s[:4*n+4]
	}
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s {
			switch {
			case r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' || r == '\u0085' || r == '\u2028' || r == '\u2029':
				b.WriteByte(' ')
			case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			default:
				b.WriteRune(r) // an invalid byte comes as U+FFFD
			}
		}
		s = b.String()
	}
	return text.Truncate(strings.TrimSpace(s), n)
}

// noRedirects returns an aws.HTTPClient that follows no redirect and
// bounds the bodies of the answers: the client's HTTP client in both
// transports.
//
// An *http.Client (the SDK's BuildableClient is one once frozen) is
// copied with a CheckRedirect that stops at the first answer, which Do
// then turns into an *Error wrapping ErrRedirect. Any other aws.HTTPClient
// keeps its own redirect policy, which this package cannot reach: its
// requests go without GetBody, so net/http does not re-send a body on a
// 307 or 308, and an answer that came from anywhere but the request's URL
// is refused.
func noRedirects(c aws.HTTPClient) aws.HTTPClient {
	switch v := c.(type) {
	case *guardedClient:
		return v
	case nil:
		return defaultGuarded()
	case *http.Client:
		return &guardedClient{next: refusingRedirects(v), own: true}
	case *awshttp.BuildableClient:
		if hc, ok := v.Freeze().(*http.Client); ok {
			return &guardedClient{next: refusingRedirects(hc), own: true}
		}
	}
	return &guardedClient{next: c}
}

// defaultGuarded is the SDK's default HTTP client, refusing redirects,
// shared as the SDK shares its default.
var defaultGuarded = sync.OnceValue(func() *guardedClient {
	hc, _ := awshttp.NewBuildableClient().Freeze().(*http.Client)
	return &guardedClient{next: refusingRedirects(hc), own: true}
})

func refusingRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// guardedClient refuses redirects and bounds answers.
type guardedClient struct {
	next aws.HTTPClient
	own  bool // next stops at the first answer (this package set its CheckRedirect)
}

func (g *guardedClient) Do(r *http.Request) (*http.Response, error) {
	sent := r
	if !g.own && r.GetBody != nil {
		cp := *r
		cp.GetBody = nil
		sent = &cp
	}
	resp, err := g.next.Do(sent)
	if err != nil {
		return nil, err
	}
	if final := resp.Request; final != nil && final.URL != nil && final.URL.String() != r.URL.String() {
		discard(resp)
		return nil, &Error{StatusCode: resp.StatusCode, RequestID: requestIDOf(resp.Header), err: ErrRedirect,
			Message: fmt.Sprintf("the HTTP client followed a redirect to %s; its answer is refused: "+
				"give the client an *http.Client, or an aws.HTTPClient that follows no redirect", showURL(final.URL))}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		discard(resp)
		target := "an unknown place (no Location)"
		if u, err := resp.Location(); err == nil {
			target = showURL(u)
		}
		return nil, &Error{StatusCode: resp.StatusCode, RequestID: requestIDOf(resp.Header), err: ErrRedirect,
			Message: fmt.Sprintf("redirect to %s not followed: CreateUrls never redirects, and following would send "+
				"the task token and the request's credentials there; check the API URL or the endpoint", target)}
	}
	if resp.Body != nil {
		resp.Body = &limitedBody{limitedReader: limitedReader{r: resp.Body, n: maxResponseBytes, limit: maxResponseBytes}, c: resp.Body}
	}
	return resp, nil
}

// discard reads a little of an unwanted answer, so its connection may be
// reused, and closes it.
func discard(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}
}

// showURL is a URL for a message: scheme, host and path, without user
// information or query, printable and bounded.
func showURL(u *url.URL) string {
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return printable(s, maxFieldBytes)
}

func requestIDOf(h http.Header) string {
	return printable(h.Get("X-Amzn-Requestid"), maxFieldBytes)
}
