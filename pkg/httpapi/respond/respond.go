// Package respond serves callback URLs over HTTP: GET, POST and HEAD
// /respond. Programs get the contract's JSON (or text); people, and the
// mail scanners that look like them, get pages: a confirmation page where
// an action asks for one, then a result or error page (package pages).
//
// The core (package callbackurls) opens the URL and acts on it; this
// package decides from the method and headers what is asked (act, confirm
// or preview), refuses what a post action URL cannot take (405, 415), and
// writes the answer.
package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// ConfirmationHeader is set on a confirmation page: nothing was sent yet.
const ConfirmationHeader = "X-Callback-Confirmation"

// MaxBodyBytes bounds a POST to a callback URL: a post action's JSON, a
// form's fields or an API client's input values.
const MaxBodyBytes = callbackurls.MaxPostBodyBytes

// DefaultTimeout is a callback's deadline: the keys, the outcome and the
// target must answer within it, else the caller gets 503 ServiceError
// with Retry-After (never a dropped connection). ProcessCallback's timeout
// is 10 s (template.yaml).
const DefaultTimeout = 5 * time.Second

// Options configure the handler.
type Options struct {
	// Logger receives the verbose lines (the request log line is the
	// Router's).
	Logger *slog.Logger
	// Verbose logs request bodies, which may hold task outcomes.
	Verbose bool
	// SignIn tells who is signed in, for URLs that name approvers (nil:
	// the deployment has no sign-in).
	SignIn SignIn
	// Timeout is a callback's deadline (DefaultTimeout when zero). A
	// request whose context ends sooner (a Lambda invocation's) keeps a
	// tenth of what it has left, at least 500 ms, to answer.
	Timeout time.Duration
}

type handler struct {
	svc  *callbackurls.Service
	opts Options
}

// NewHandler returns the callback endpoint.
func NewHandler(svc *callbackurls.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &handler{svc: svc, opts: opts}
}

// deadline is the callback's context: the handler's timeout, or less when
// the request's own deadline leaves less room to answer.
func (h *handler) deadline(parent context.Context) (context.Context, context.CancelFunc) {
	timeout := h.opts.Timeout
	if dl, ok := parent.Deadline(); ok {
		left := time.Until(dl)
		timeout = min(timeout, left-max(500*time.Millisecond, left/10))
	}
	return context.WithTimeout(parent, timeout)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var sub callbackurls.Submission
	switch r.Method {
	case http.MethodGet:
		// A browser's GET, or a mail scanner's, must not act where a
		// person has to confirm.
		if wantsPage(r) {
			sub.Intent = callbackurls.Confirm
		}
	case http.MethodHead:
		sub.Preview = true
		if wantsPage(r) {
			sub.Intent = callbackurls.Confirm
		}
	case http.MethodPost:
		body, err := httpapi.ReadBody(w, r, MaxBodyBytes)
		if err != nil {
			fail(w, r, callbackurls.AsError(err))
			return
		}
		sub.Body = body
		if httpapi.IsForm(r.Header.Get("Content-Type")) {
			// The confirmation page's form. A malformed body keeps the
			// fields it could read; the schema then says what is missing.
			sub.Form, _ = url.ParseQuery(string(body))
			if sub.Form == nil {
				sub.Form = url.Values{}
			}
		}
		if h.opts.Verbose {
			h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, "callback body", slog.String("body", string(body)))
		}
	default:
		w.Header().Set("Allow", "GET, POST, HEAD")
		fail(w, r, httpapi.ErrMethodNotAllowed(r.Method, "GET, POST, HEAD"))
		return
	}

	ctx, cancel := h.deadline(r.Context())
	defer cancel()
	cb, err := h.svc.Open(ctx, r.URL.Query())
	if err == nil && !cb.Type.Spec().Decides {
		err = checkPostRequest(r)
	}
	var who *person
	if err == nil {
		who, err = h.identify(r, cb, &sub)
	}
	res := callbackurls.CallbackResult{Callback: cb}
	if err == nil {
		res, err = h.svc.Act(ctx, cb, sub)
	}
	l := httpapi.Entry(r)
	l.TransactionID, l.Action, l.Type = res.TransactionID, res.Action, string(res.Type)
	switch {
	case err != nil:
		l.Outcome = "rejected"
	case res.Sent:
		l.Outcome = "sent"
		if res.Confirmation != callbackurls.NoConfirmation {
			l.Delivery = "confirmation " + res.Confirmation.String()
		}
	case res.Confirm:
		l.Outcome = "confirmation"
	default:
		l.Outcome = "checked"
	}
	if err != nil {
		e := callbackurls.AsError(err)
		if e.Code == callbackurls.CodeMethodNotAllowed {
			// A post action URL takes only POST; a 405 names what is allowed.
			w.Header().Set("Allow", http.MethodPost)
		}
		httpapi.NoteError(r, e, res.TransactionID)
		writeError(w, r, e, &res, sub.Form, who)
		return
	}
	if res.Confirm {
		// Lets a program that was taken for a browser see that nothing
		// was sent (send Accept: application/json to act at once).
		w.Header().Set(ConfirmationHeader, "required")
		if res.SignIn && who != nil {
			pages.Render(w, r, http.StatusOK, signInPage(&res, who, ""))
			return
		}
		p := confirmPage(&res, nil, nil, "")
		p.SignedIn = who.signedIn("Not you? Sign out")
		pages.Render(w, r, http.StatusOK, p)
		return
	}
	writeSuccess(w, r, &res)
}

// fail answers an error found before the URL was opened.
func fail(w http.ResponseWriter, r *http.Request, e *callbackurls.Error) {
	httpapi.NoteError(r, e, "")
	writeError(w, r, e, &callbackurls.CallbackResult{Callback: &callbackurls.Callback{}}, nil, nil)
}

// checkPostRequest refuses what a post action URL cannot take: it is for
// programs POSTing JSON.
func checkPostRequest(r *http.Request) error {
	if r.Method != http.MethodPost {
		return callbackurls.Errorf(callbackurls.CodeMethodNotAllowed,
			"a post action URL only accepts POST with a JSON body")
	}
	if !httpapi.IsJSON(r.Header.Get("Content-Type")) {
		return httpapi.ErrNotJSON("a post action URL only accepts Content-Type: application/json")
	}
	return nil
}

// wantsPage reports whether a request gets pages (see httpapi.WantsPage).
// The User-Agent guess is for GETs (links opened or scanned); a POST is
// a form's (whose browser asks for HTML) or a program's.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return httpapi.Negotiate(r.Header.Get("Accept")) == httpapi.TypeHTML
	}
	return httpapi.WantsPage(r.Header.Get("Accept"), r.Header.Get("User-Agent"))
}

// format is the type an answer is written in: a page for people and the
// robots that look like them, else the negotiated type.
func format(r *http.Request) string {
	if wantsPage(r) {
		return httpapi.TypeHTML
	}
	return httpapi.Negotiate(r.Header.Get("Accept"))
}

// writeError answers a failed callback. A person whose form POST could not
// be sent, because of the values or a passing outage, gets the form back
// with what they typed; other errors get their page.
func writeError(w http.ResponseWriter, r *http.Request, e *callbackurls.Error, res *callbackurls.CallbackResult, form url.Values, who *person) {
	status := httpapi.Status(e)
	switch format(r) {
	case httpapi.TypeHTML:
	case httpapi.TypeText:
		httpapi.NoStore(w)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", httpapi.RetryAfter(e))
		}
		httpapi.WriteRaw(w, r, httpapi.TypeText, status, indentedJSON(httpapi.NewErrorBody(e, res.TransactionID)))
		return
	default:
		httpapi.WriteError(w, e, res.TransactionID)
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", httpapi.RetryAfter(e))
	}
	if res.Presentation == nil {
		// Not even the payload could be read: a page that says so.
		pages.Render(w, r, status, errorPage(e, nil))
		return
	}
	if who != nil && e.Code == callbackurls.CodeSignInRequired {
		pages.Render(w, r, status, signInPage(res, who, "Nothing was sent: "+pages.Sentence(e.Message)))
		return
	}
	if p, ok := forbiddenPage(e, res, who); ok {
		pages.Render(w, r, status, p)
		return
	}
	if r.Method == http.MethodPost && (e.Code == callbackurls.CodeInvalidInput || status == http.StatusServiceUnavailable) {
		alert := ""
		if status == http.StatusServiceUnavailable {
			alert = "Temporarily unavailable: nothing was sent. Please try again in a minute."
		} else if len(res.InputErrors) == 0 {
			alert = "Nothing was sent: " + e.Message
		}
		p := confirmPage(res, form, res.InputErrors, alert)
		p.SignedIn = who.signedIn("Not you? Sign out")
		pages.Render(w, r, status, p)
		return
	}
	pages.Render(w, r, status, errorPage(e, res))
}

// successBody is the reference's success body, and the decision's signed
// receipt when it has one (an addition).
type successBody struct {
	TransactionID string       `json:"transaction_id"`
	Action        callbackName `json:"action"`
	Receipt       string       `json:"receipt,omitempty"`
}

type callbackName struct {
	Name string                  `json:"name"`
	Type callbackurls.ActionType `json:"type"`
}

// authorHTMLPolicy is the Content-Security-Policy of a response spec's
// html. With encryption off anyone can write that page, and it is served
// on this service's origin, so it may run no script at all: script-src
// 'none' (inline, javascript: URLs and files alike), and sandbox without
// allow-scripts or allow-same-origin, so that even a script the policy
// missed would run in an opaque origin that reads nothing of ours. The
// author's styles (inline, style attributes and style sheets), images,
// fonts and media load from anywhere; links work (allow-popups for
// target=_blank, whose pages leave the sandbox). Forms, frames, plugins,
// fetches and <base> are refused: none is needed to show a result.
const authorHTMLPolicy = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline' *; img-src * data:; " +
	"font-src * data:; media-src *; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; " +
	"sandbox allow-popups allow-popups-to-escape-sandbox"

func writeSuccess(w http.ResponseWriter, r *http.Request, res *callbackurls.CallbackResult) {
	httpapi.NoStore(w)
	spec := res.Response
	if spec != nil && spec.Redirect != "" {
		w.Header().Set("Location", spec.Redirect)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	body := successBody{TransactionID: res.TransactionID, Action: callbackName{res.Action, res.Type}}
	if res.Approval != nil {
		body.Receipt = res.Approval.Receipt
	}
	switch format(r) {
	case httpapi.TypeHTML:
		if spec != nil && spec.HTML != nil {
			// The author's page is served at the same secret URL as ours,
			// on this service's origin: keep it out of referrers and
			// indexes, and let it run nothing (authorHTMLPolicy).
			pages.Private(w)
			w.Header().Set("Content-Security-Policy", authorHTMLPolicy)
			httpapi.WriteRaw(w, r, httpapi.TypeHTML, http.StatusOK, *spec.HTML)
			return
		}
		pages.Render(w, r, http.StatusOK, resultPage(res))
	case httpapi.TypeText:
		if spec != nil && spec.Text != nil {
			httpapi.WriteRaw(w, r, httpapi.TypeText, http.StatusOK, *spec.Text)
			return
		}
		httpapi.WriteRaw(w, r, httpapi.TypeText, http.StatusOK, indentedJSON(body))
	default:
		if spec != nil && spec.JSON != nil {
			httpapi.WriteRaw(w, r, httpapi.TypeJSON, http.StatusOK, string(spec.JSON))
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
	}
}

// indentedJSON is v as the text/plain answers show it: indented, and, like
// the JSON answers, without HTML escaping ("&" stays "&").
func indentedJSON(v any) string {
	b, err := jsontext.Marshal(v)
	if err != nil {
		return "internal error\n"
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b) + "\n"
	}
	return out.String() + "\n"
}
