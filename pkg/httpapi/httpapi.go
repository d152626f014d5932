// Package httpapi is the HTTP edge every binary shares: a Router that
// writes one structured log line per request, the HTTP status of each kind
// of error (one table), the contract's error bodies, content negotiation,
// bounded body reading, and the CreateUrls endpoint (POST /urls).
//
// It links no page templates and no back end: the callback endpoint and
// its pages are package respond, the local store's endpoints package
// localweb. Each main mounts what it serves on a Router; the Lambda
// functions run the same handlers through package lambdaapi.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Router routes requests to the endpoints mounted on it and writes one log
// line per request: method, path, status, duration, and what the endpoint
// noted (see Entry). Queries and bodies are logged only when verbose: they
// hold payloads and, unencrypted, task tokens.
type Router struct {
	mux     *http.ServeMux
	logger  *slog.Logger
	verbose bool
	// endpoints name what the 404 answer points to.
	endpoints []string
}

// NewRouter returns a Router with /healthz and a JSON 404 for every path
// nothing is mounted on.
func NewRouter(logger *slog.Logger, verbose bool) *Router {
	rt := &Router{mux: http.NewServeMux(), logger: logger, verbose: verbose}
	rt.mux.HandleFunc("/healthz", healthz)
	rt.mux.HandleFunc("/", rt.notFound)
	return rt
}

// Handle mounts h on pattern (a net/http.ServeMux pattern). summary, such
// as "POST /urls", is named by the 404 answer; "" leaves it out.
func (rt *Router) Handle(pattern, summary string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	if summary != "" {
		rt.endpoints = append(rt.endpoints, summary)
	}
}

func (rt *Router) notFound(w http.ResponseWriter, r *http.Request) {
	msg := "no such endpoint"
	if len(rt.endpoints) > 0 {
		msg += ": use " + strings.Join(rt.endpoints, " or ")
	}
	Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound, "%s", msg), "")
}

func targetLogField(k callbackurls.TargetKind) string {
	if s := k.Spec(); s != nil {
		return s.LogField
	}
	return "target_error"
}

// LogEntry is what an endpoint adds to its request's log line. Its values
// are never secrets: no token, payload, body or key.
type LogEntry struct {
	TransactionID string
	Action        string
	Type          string
	Outcome       string
	Error         string // the contract's error code
	// TargetError is the target's own code behind a refusal, logged under
	// its kind's LogField (sfn_error for a task token).
	TargetError string
	Target      callbackurls.TargetKind
	// Cause is the operator's explanation of a 5xx (never shown to callers).
	Cause string
	// Delivery says what was delivered: the channels of an ask ("email
	// sns"), or what became of a decision's confirmation ("confirmation
	// sent", "confirmation failed").
	Delivery string
}

type logKey struct{}

// Entry is the log entry of r's line; outside a Router it is a scratch
// value nobody reads.
func Entry(r *http.Request) *LogEntry {
	if l, ok := r.Context().Value(logKey{}).(*LogEntry); ok {
		return l
	}
	return &LogEntry{}
}

// ServeHTTP routes the request and writes its log line.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	entry := &LogEntry{}
	r = r.WithContext(context.WithValue(r.Context(), logKey{}, entry))
	sw := &statusWriter{ResponseWriter: w}
	rt.mux.ServeHTTP(sw, r)

	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", sw.status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	for _, kv := range [][2]string{
		{"transaction_id", entry.TransactionID}, {"action", entry.Action}, {"type", entry.Type},
		{"outcome", entry.Outcome}, {"error", entry.Error}, {targetLogField(entry.Target), entry.TargetError},
		{"cause", entry.Cause}, {"delivery", entry.Delivery},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	if rt.verbose {
		attrs = append(attrs, slog.String("query", r.URL.RawQuery))
	}
	level := slog.LevelInfo
	if sw.status() >= 500 {
		level = slog.LevelError
	}
	rt.logger.LogAttrs(r.Context(), level, "request", attrs...)
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

func healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", TypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}
}
