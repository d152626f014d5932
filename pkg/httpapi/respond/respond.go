// Package httpapi serves the API over net/http: POST /urls, GET|POST|HEAD
// /respond, GET /healthz and, with a local task store, /local/. The Lambda
// functions run this same handler (see package lambdaapi), so the local
// server and AWS share one code path.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// ConfirmationHeader is set on a confirmation page: nothing was sent yet.
const ConfirmationHeader = "X-Callback-Confirmation"

// MaxCallbackBodyBytes bounds a POST to /respond (a post action's JSON).
const MaxCallbackBodyBytes = 1 << 20

// Options configure a Handler.
type Options struct {
	// Logger receives one line per request (slog.Default() when nil).
	Logger *slog.Logger
	// Verbose adds query strings and bodies to the log lines. They hold
	// payloads (and, unencrypted, task tokens): keep it off in production.
	Verbose bool
	// Local enables the /local/ endpoints (nil: they answer 404).
	Local LocalTasks
}

// Handler is the service's HTTP interface.
type Handler struct {
	svc  *callbackurls.Service
	opts Options
	mux  *http.ServeMux
}

// New returns the HTTP handler for svc.
func New(svc *callbackurls.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{svc: svc, opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("/urls", h.createURLs)
	h.mux.HandleFunc("/respond", h.respond)
	h.mux.HandleFunc("/healthz", h.healthz)
	if opts.Local != nil {
		h.mux.HandleFunc("/local/tasks", h.localTasks)
		h.mux.HandleFunc("/local/", h.localDashboard)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		setLog(r, func(l *logEntry) { l.code = callbackurls.CodeNotFound })
		writeError(w, r, &callbackurls.Error{Code: callbackurls.CodeNotFound, Status: http.StatusNotFound,
			Message: "no such endpoint: use POST /urls or /respond"}, "")
	})
	return h
}

type defaultBaseKey struct{}

// WithDefaultBaseURL returns a context whose requests create URLs under
// base when neither the request nor the deployment names one (the Lambda
// adapter passes the API Gateway stage a request came through).
func WithDefaultBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, defaultBaseKey{}, base)
}

func defaultBaseURL(ctx context.Context) string {
	s, _ := ctx.Value(defaultBaseKey{}).(string)
	return s
}

// logEntry collects what a request's log line says.
type logEntry struct {
	tid, action, actionType, outcome, code string
	sfnCode                                string
	// cause is the operator's explanation of a 5xx (never shown to callers).
	cause string
}

type logKey struct{}

func setLog(r *http.Request, f func(*logEntry)) {
	if l, ok := r.Context().Value(logKey{}).(*logEntry); ok {
		f(l)
	}
}

// ServeHTTP routes the request and writes one structured log line.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	entry := &logEntry{}
	r = r.WithContext(context.WithValue(r.Context(), logKey{}, entry))
	sw := &statusWriter{ResponseWriter: w}
	h.mux.ServeHTTP(sw, r)

	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", sw.status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	for _, kv := range [][2]string{
		{"transaction_id", entry.tid}, {"action", entry.action}, {"type", entry.actionType},
		{"outcome", entry.outcome}, {"error", entry.code}, {"sfn_error", entry.sfnCode},
		{"cause", entry.cause},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	if h.opts.Verbose {
		attrs = append(attrs, slog.String("query", r.URL.RawQuery))
	}
	level := slog.LevelInfo
	if sw.status() >= 500 {
		level = slog.LevelError
	}
	h.opts.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", TypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

func (h *Handler) createURLs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, r, "POST")
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		fail(w, r, &callbackurls.Error{Code: callbackurls.CodeUnsupportedMedia, Status: http.StatusUnsupportedMediaType,
			Message: "send the request as Content-Type: application/json"}, "")
		return
	}
	body, err := readBody(w, r, callbackurls.MaxCreateBodyBytes)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	req, err := callbackurls.ParseCreateRequest(body)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	h.verbose(r, "create request", body)
	resp, tid, err := h.svc.CreateURLs(r.Context(), req, defaultBaseURL(r.Context()))
	setLog(r, func(l *logEntry) { l.tid = tid })
	if err != nil {
		fail(w, r, err, tid)
		return
	}
	setLog(r, func(l *logEntry) { l.outcome = "created" })
	noStore(w) // the URLs are secrets
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) verbose(r *http.Request, msg string, body []byte) {
	if h.opts.Verbose {
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, msg, slog.String("body", string(body)))
	}
}

func (h *Handler) respond(w http.ResponseWriter, r *http.Request) {
	req := &callbackurls.CallbackRequest{Method: r.Method, Query: r.URL.Query()}
	switch r.Method {
	case http.MethodGet:
		// A browser's GET, or a mail scanner's, must not act where a
		// person has to confirm: the service then only reports Confirm.
		req.Interactive = wantsPage(r)
	case http.MethodHead:
		req.DryRun, req.Interactive = true, wantsPage(r)
	case http.MethodPost:
		body, err := readBody(w, r, MaxCallbackBodyBytes)
		if err != nil {
			fail(w, r, err, "")
			return
		}
		req.Body, req.ContentType = body, r.Header.Get("Content-Type")
		if isForm(req.ContentType) {
			// The confirmation page's form. A malformed body keeps the
			// fields it could read; the schema then says what is missing.
			req.Form, _ = url.ParseQuery(string(body))
			if req.Form == nil {
				req.Form = url.Values{}
			}
		}
		h.verbose(r, "callback body", body)
	default:
		methodNotAllowed(w, r, "GET, POST, HEAD")
		return
	}
	res, err := h.svc.Respond(r.Context(), req)
	setLog(r, func(l *logEntry) {
		l.tid, l.action, l.actionType = res.TransactionID, res.Action, string(res.Type)
		switch {
		case err != nil:
			l.outcome = "rejected"
		case res.Sent:
			l.outcome = "sent"
		case res.Confirm:
			l.outcome = "confirmation"
		default:
			l.outcome = "checked"
		}
	})
	if err != nil {
		e := callbackurls.AsError(err)
		if e.Code == callbackurls.CodeMethodNotAllowed {
			// A post action URL takes only POST; a 405 names what is allowed.
			w.Header().Set("Allow", http.MethodPost)
		}
		logFailure(r, e, res.TransactionID)
		writeCallbackError(w, r, e, res, req)
		return
	}
	if res.Confirm {
		// Lets a program that was taken for a browser see that nothing
		// was sent (send Accept: application/json to act at once).
		w.Header().Set(ConfirmationHeader, "required")
		writePage(w, r, http.StatusOK, confirmPage(res, nil, nil, ""))
		return
	}
	writeCallbackSuccess(w, r, res)
}

// wantsPage reports whether a /respond request gets pages (see WantsPage).
// The User-Agent guess is for GETs (links opened or scanned); a POST is
// a form's (whose browser asks for HTML) or a program's.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return Negotiate(r.Header.Get("Accept")) == TypeHTML
	}
	return WantsPage(r.Header.Get("Accept"), r.Header.Get("User-Agent"))
}

// callbackFormat is the type a /respond answer is written in: a page for
// people and the robots that look like them, else the negotiated type.
func callbackFormat(r *http.Request) string {
	if wantsPage(r) {
		return TypeHTML
	}
	return Negotiate(r.Header.Get("Accept"))
}

// isForm reports whether a Content-Type is an HTML form's.
func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// writeCallbackError answers a failed callback. A person whose form POST
// could not be sent, because of the values or a passing outage, gets the
// form back with what they typed; other errors get their page.
func writeCallbackError(w http.ResponseWriter, r *http.Request, e *callbackurls.Error, res *callbackurls.CallbackResult, req *callbackurls.CallbackRequest) {
	if callbackFormat(r) != TypeHTML || res.Presentation == nil {
		writeError(w, r, e, res.TransactionID)
		return
	}
	if r.Method == http.MethodPost && (e.Code == callbackurls.CodeInvalidInput || e.Status == http.StatusServiceUnavailable) {
		alert := ""
		if e.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
			alert = "Temporarily unavailable: nothing was sent. Please try again in a minute."
		} else if len(res.InputErrors) == 0 {
			alert = "Nothing was sent: " + e.Message
		}
		writePage(w, r, e.Status, confirmPage(res, req.Form, res.InputErrors, alert))
		return
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writePage(w, r, e.Status, errorPage(e, res))
}

// callbackBody is the reference's success body.
type callbackBody struct {
	TransactionID string       `json:"transaction_id"`
	Action        callbackName `json:"action"`
}

type callbackName struct {
	Name string                  `json:"name"`
	Type callbackurls.ActionType `json:"type"`
}

func writeCallbackSuccess(w http.ResponseWriter, r *http.Request, res *callbackurls.CallbackResult) {
	noStore(w)
	spec := res.Response
	if spec != nil && spec.Redirect != "" {
		w.Header().Set("Location", spec.Redirect)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	body := callbackBody{TransactionID: res.TransactionID, Action: callbackName{res.Action, res.Type}}
	switch callbackFormat(r) {
	case TypeHTML:
		if spec != nil && spec.HTML != nil {
			// The author's page is served at the same secret URL as ours:
			// keep it out of referrers and indexes too (no CSP, which
			// would block the author's own styles and images).
			privatePage(w)
			writeRaw(w, r, TypeHTML, http.StatusOK, *spec.HTML)
			return
		}
		writePage(w, r, http.StatusOK, resultPage(res))
	case TypeText:
		if spec != nil && spec.Text != nil {
			writeRaw(w, r, TypeText, http.StatusOK, *spec.Text)
			return
		}
		b, _ := json.MarshalIndent(body, "", "  ")
		writeRaw(w, r, TypeText, http.StatusOK, string(b)+"\n")
	default:
		if spec != nil && spec.JSON != nil {
			writeRaw(w, r, TypeJSON, http.StatusOK, string(spec.JSON))
			return
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// errorBody is the contract's error body.
type errorBody struct {
	Error         string `json:"error"`
	Message       string `json:"message"`
	TransactionID string `json:"transaction_id,omitempty"`
	// StepFunctionsError names the Step Functions code behind a
	// StepFunctionsError (an addition to the reference's body).
	StepFunctionsError string `json:"step_functions_error,omitempty"`
}

func fail(w http.ResponseWriter, r *http.Request, err error, tid string) {
	e := callbackurls.AsError(err)
	logFailure(r, e, tid)
	writeError(w, r, e, tid)
}

// logFailure puts an error's facts in the request's log line.
func logFailure(r *http.Request, e *callbackurls.Error, tid string) {
	setLog(r, func(l *logEntry) {
		l.code, l.sfnCode = e.Code, e.StepFunctionsCode
		if l.tid == "" {
			l.tid = tid
		}
		// The cause is for the operator, never for the caller; it goes in
		// the request's own line, to the handler's logger.
		if e.Status >= 500 && e.Err != nil {
			l.cause = e.Err.Error()
		}
	})
}

func writeError(w http.ResponseWriter, r *http.Request, e *callbackurls.Error, tid string) {
	noStore(w)
	body := errorBody{Error: e.Code, Message: e.Message, TransactionID: tid, StepFunctionsError: e.StepFunctionsCode}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	// Only the callback endpoint serves people; the API answers JSON.
	if r.URL.Path == "/respond" {
		switch callbackFormat(r) {
		case TypeHTML:
			writePage(w, r, e.Status, errorPage(e, nil))
			return
		case TypeText:
			b, _ := json.MarshalIndent(body, "", "  ")
			writeRaw(w, r, TypeText, e.Status, string(b)+"\n")
			return
		}
	}
	writeJSON(w, e.Status, body)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	fail(w, r, &callbackurls.Error{Code: callbackurls.CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
		Message: "method " + r.Method + " is not allowed here; use " + allow}, "")
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "the request body could not be read")
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &callbackurls.Error{Code: callbackurls.CodeBodyTooLarge, Status: http.StatusRequestEntityTooLarge,
		Message: "the request body is larger than " + itoa(limit) + " bytes"}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func isJSON(contentType string) bool { return callbackurls.IsJSONContentType(contentType) }

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"ServiceError","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", TypeJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeRaw(w http.ResponseWriter, r *http.Request, contentType string, status int, body string) {
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}
