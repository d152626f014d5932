package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

// TestHealthAndNotFound covers the endpoints outside the API.
func TestHealthAndNotFound(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		body         map[string]any // nil: an error body with code
		code         string
	}{
		{"GET", "/healthz", 200, map[string]any{"status": "ok"}, ""},
		{"POST", "/healthz", 405, nil, "MethodNotAllowed"},
		{"GET", "/", 404, nil, "NotFound"}, // a browser's is the home page (package home)
		{"GET", "/nope", 404, nil, "NotFound"},
		{"POST", "/urls/", 404, nil, "NotFound"},
		{"GET", "/respond/x", 404, nil, "NotFound"},
	}
	for _, backend := range servicetest.Backends {
		e := servicetest.Start(t, servicetest.Options{Backend: backend})
		for _, tt := range tests {
			t.Run(string(backend)+"/"+tt.method+tt.path, func(t *testing.T) {
				header := servicetest.Browser()
				if tt.path == "/" {
					header = nil
				}
				resp := e.Do(t, tt.method, tt.path, header, "")
				if resp.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json (even for a browser)", ct)
				}
				got := resp.JSON(t)
				want := tt.body
				if want == nil {
					want = map[string]any{"error": tt.code, "message": got["message"]}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			})
		}
	}
	// The functions' routers have no home page: a browser's GET / gets the
	// JSON 404 too.
	rec, req := httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", servicetest.AcceptChrome)
	httpapi.NewRouter(slog.New(slog.DiscardHandler), false).ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("a browser's GET / of a function: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// logScenario is what the log tests share: a task and its URLs.
type logScenario struct {
	token   string
	tid     string
	approve string // path and query
	ping    string
}

// TestRequestLog checks that every request writes exactly one JSON line
// with the request's facts, and that no token, payload or query is in it.
func TestRequestLog(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, e *servicetest.Service, s *logScenario)
		req    func(t *testing.T, s *logScenario) (method, target, body string)
		want   map[string]any // "<tid>" stands for the scenario's transaction id
		level  string
		cause  bool // the line explains a 5xx
	}{
		{name: "create", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "POST", "/urls", createBody(t, map[string]any{"token": s.token})
		}, want: map[string]any{"method": "POST", "path": "/urls", "status": 200.0, "transaction_id": "*", "outcome": "created"}},
		{name: "create, bad JSON", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "POST", "/urls", `{"token":"` + s.token + `","actions":`
		}, want: map[string]any{"method": "POST", "path": "/urls", "status": 400.0, "error": "InvalidJSON"}},
		{name: "create, past expiration", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "POST", "/urls", createBody(t, map[string]any{"token": s.token, "expiration": "2001-01-01T00:00:00Z"})
		}, want: map[string]any{"method": "POST", "path": "/urls", "status": 400.0, "error": "InvalidDate", "transaction_id": "*"}},
		{name: "callback", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", s.approve, ""
		}, want: map[string]any{"method": "GET", "path": "/respond", "status": 200.0, "transaction_id": "<tid>",
			"action": "approve", "type": "success", "outcome": "sent"}},
		{name: "HEAD callback", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "HEAD", s.ping, ""
		}, want: map[string]any{"method": "HEAD", "path": "/respond", "status": 200.0, "transaction_id": "<tid>",
			"action": "ping", "type": "heartbeat", "outcome": "checked"}},
		{name: "callback refused", before: func(t *testing.T, e *servicetest.Service, s *logScenario) {
			if resp := e.Serve("GET", s.approve, nil, ""); resp.Status != 200 {
				t.Fatalf("completing the task: %d %s", resp.Status, resp.Body)
			}
		}, req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "POST", s.approve, ""
		}, want: map[string]any{"method": "POST", "path": "/respond", "status": 400.0, "transaction_id": "<tid>",
			"action": "approve", "type": "success", "outcome": "rejected", "error": "StepFunctionsError", "sfn_error": "TaskTimedOut"}},
		{name: "callback altered", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", servicetest.SetData(func(d string) string { return servicetest.Flip(d, len(d)/2) })(t, s.approve), ""
		}, want: map[string]any{"method": "GET", "path": "/respond", "status": 400.0, "outcome": "rejected", "error": "InvalidPayload"}},
		{name: "callback mismatched", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", servicetest.EditQuery(func(q url.Values) { q.Set("action", "other") })(t, s.approve), ""
		}, want: map[string]any{"method": "GET", "path": "/respond", "status": 400.0, "transaction_id": "<tid>",
			"action": "approve", "type": "success", "outcome": "rejected", "error": "ActionMismatched"}},
		{name: "callback PUT", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "PUT", s.approve, ""
		}, want: map[string]any{"method": "PUT", "path": "/respond", "status": 405.0, "error": "MethodNotAllowed"}},
		{name: "callback unavailable", before: func(_ *testing.T, e *servicetest.Service, _ *logScenario) { e.FailNext(500, "InternalFailure") }, req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", s.approve, ""
		}, want: map[string]any{"method": "GET", "path": "/respond", "status": 503.0, "transaction_id": "<tid>",
			"action": "approve", "type": "success", "outcome": "rejected", "error": "ServiceError"}, level: "ERROR", cause: true},
		{name: "healthz", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", "/healthz", ""
		}, want: map[string]any{"method": "GET", "path": "/healthz", "status": 200.0}},
		{name: "not found", req: func(t *testing.T, s *logScenario) (string, string, string) {
			return "GET", "/nope?token=" + url.QueryEscape(s.token), ""
		}, want: map[string]any{"method": "GET", "path": "/nope", "status": 404.0, "error": "NotFound"}},
	}
	for _, backend := range servicetest.Backends {
		for _, verbose := range []bool{false, true} {
			for _, tt := range tests {
				name := string(backend) + "/" + tt.name
				if verbose {
					name += "/verbose"
				}
				t.Run(name, func(t *testing.T) {
					e := servicetest.Start(t, servicetest.Options{Backend: backend, Settings: config.Config{Verbose: verbose}})
					s := &logScenario{token: e.NewTask(t)}
					c := e.Create(t, map[string]any{"token": s.token, "actions": []any{servicetest.Approve, servicetest.Ping}})
					s.tid, s.approve, s.ping = c.TransactionID, servicetest.PathQuery(t, c.URLs["approve"]), servicetest.PathQuery(t, c.URLs["ping"])
					data := servicetest.DataParam(t, c.URLs["approve"])
					if tt.before != nil {
						tt.before(t, e, s)
					}
					method, target, body := tt.req(t, s)
					header := map[string]string{"Content-Type": "application/json"}
					e.Logs.Reset()
					resp := e.Serve(method, target, header, body)
					raw := e.Logs.String()

					var lines []map[string]any
					for _, l := range e.LogLines(t) {
						if l["msg"] == "request" {
							lines = append(lines, l)
						} else if !verbose {
							t.Errorf("a log line other than the request's: %v", l)
						}
					}
					if len(lines) != 1 {
						t.Fatalf("%d request log lines, want 1:\n%s", len(lines), raw)
					}
					got := lines[0]
					if d, ok := got["duration_ms"].(float64); !ok || d < 0 {
						t.Errorf("duration_ms = %v", got["duration_ms"])
					}
					if got["status"] != float64(resp.Status) {
						t.Errorf("logged status %v, answered %d", got["status"], resp.Status)
					}
					level := tt.level
					if level == "" {
						level = "INFO"
					}
					if got["level"] != level {
						t.Errorf("level %v, want %s", got["level"], level)
					}
					if _, ok := got["cause"]; ok != tt.cause {
						t.Errorf("cause in the line: %t, want %t (%v)", ok, tt.cause, got["cause"])
					}
					query, hasQuery := got["query"]
					if hasQuery != verbose {
						t.Errorf("query logged: %t, verbose: %t", hasQuery, verbose)
					}
					want := map[string]any{}
					for k, v := range tt.want {
						switch v {
						case "<tid>":
							v = s.tid
						case "*":
							v = got[k] // any non-empty value
							if v == "" || v == nil {
								t.Errorf("%s is empty", k)
							}
						}
						want[k] = v
					}
					for _, k := range []string{"time", "level", "msg", "duration_ms", "cause", "query"} {
						delete(got, k)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("log line (-want +got):\n%s", diff)
					}

					_, rawQuery, _ := strings.Cut(target, "?")
					secrets := map[string]string{"token": s.token, "data": data}
					if rawQuery != "" {
						secrets["query"] = rawQuery
					}
					if !verbose {
						for what, secret := range secrets {
							if strings.Contains(raw, secret) {
								t.Errorf("the log holds the %s:\n%s", what, raw)
							}
						}
						return
					}
					if query != rawQuery {
						t.Errorf("verbose query %q, want %q", query, rawQuery)
					}
					if target == "/urls" && tt.want["error"] != "InvalidJSON" && !strings.Contains(raw, `\"token\"`) {
						t.Errorf("verbose log without the request body:\n%s", raw)
					}
				})
			}
		}
	}
}
