package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// createBody is a CreateUrls body with fields replaced (nil deletes one).
func createBody(t testing.TB, fields map[string]any) string {
	t.Helper()
	req := map[string]any{
		"token":   "AAAAKgAAAAIAAAAAAAAAAR6J3LYI50Qzc0ukkCD+d8CKvtNW3hYKR5bNUOk8j5HZOmgrRrjm57HRyb0H8nxhP",
		"actions": []any{servicetest.Approve, servicetest.Reject, servicetest.Ping},
	}
	for k, v := range fields {
		if v == nil {
			delete(req, k)
		} else {
			req[k] = v
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func heartbeats(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("a%d", i), "type": "heartbeat"}
	}
	return out
}

var tidPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestCreateURLs is POST /urls: the contract's status codes and bodies.
func TestCreateURLs(t *testing.T) {
	type want struct {
		status int
		code   string // error code; "" for 200
		allow  string // the Allow header of a 405
		tid    bool   // an error body carries the transaction id
	}
	tests := []struct {
		name        string
		method      string
		contentType string // "-" sends none
		body        func(t testing.TB) string
		maxURL      int
		want        want
		// urlPrefix is what every URL of a 200 starts with ("": the
		// server's own base URL).
		urlPrefix  string
		expiration string // the 200's expiration
	}{
		{name: "ok", want: want{status: 200}},
		{name: "charset utf-8", contentType: "application/json; charset=utf-8", want: want{status: 200}},
		{name: "json suffix type", contentType: "application/vnd.example+json", want: want{status: 200}},
		{name: "GET", method: http.MethodGet, want: want{status: 405, code: "MethodNotAllowed", allow: "POST"}},
		{name: "PUT", method: http.MethodPut, want: want{status: 405, code: "MethodNotAllowed", allow: "POST"}},
		{name: "DELETE", method: http.MethodDelete, want: want{status: 405, code: "MethodNotAllowed", allow: "POST"}},
		{name: "text/plain", contentType: "text/plain", want: want{status: 415, code: "UnsupportedMediaType"}},
		{name: "form", contentType: "application/x-www-form-urlencoded", want: want{status: 415, code: "UnsupportedMediaType"}},
		{name: "no content type", contentType: "-", want: want{status: 415, code: "UnsupportedMediaType"}},
		{name: "not JSON", body: raw("token=abc&actions=approve"), want: want{status: 400, code: "InvalidJSON"}},
		{name: "empty body", body: raw(""), want: want{status: 400, code: "InvalidJSON"}},
		{name: "truncated JSON", body: func(t testing.TB) string { b := createBody(t, nil); return b[:len(b)/2] },
			want: want{status: 400, code: "InvalidJSON"}},
		{name: "array", body: raw(`[{"token":"x"}]`), want: want{status: 400, code: "InvalidJSON"}},
		{name: "token is a number", body: body(map[string]any{"token": 12345}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "actions is an object", body: body(map[string]any{"actions": map[string]any{"name": "a"}}),
			want: want{status: 400, code: "InvalidJSON"}},
		{name: "action type is a number", body: body(map[string]any{"actions": []any{map[string]any{"name": "a", "type": 1}}}),
			want: want{status: 400, code: "InvalidJSON"}},
		{name: "expiration is a number", body: body(map[string]any{"expiration": 1893456000}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "no token", body: body(map[string]any{"token": nil}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "no actions", body: body(map[string]any{"actions": nil}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "0 actions", body: body(map[string]any{"actions": []any{}}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "1000 actions", body: body(map[string]any{"actions": heartbeats(1000)}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "64 actions", body: body(map[string]any{"actions": heartbeats(64)}), want: want{status: 200}},
		{name: "success without output", body: body(map[string]any{"actions": []any{map[string]any{"name": "a", "type": "success"}}}),
			want: want{status: 400, code: "InvalidJSON"}},
		{name: "bad action name", body: body(map[string]any{"actions": []any{map[string]any{"name": "a b", "type": "heartbeat"}}}),
			want: want{status: 400, code: "InvalidJSON"}},
		{name: "duplicate names", body: body(map[string]any{"actions": []any{servicetest.Approve, servicetest.Ping, servicetest.Approve}}),
			want: want{status: 400, code: "DuplicateActionName"}},
		{name: "past expiration", body: body(map[string]any{"expiration": "2029-12-31T23:59:59Z"}), want: want{status: 400, code: "InvalidDate", tid: true}},
		{name: "expiration now", body: body(map[string]any{"expiration": "2030-01-01T00:00:00Z"}), want: want{status: 400, code: "InvalidDate", tid: true}},
		{name: "expiration without offset", body: body(map[string]any{"expiration": "2030-06-01T00:00:00"}), want: want{status: 400, code: "InvalidDate", tid: true}},
		{name: "expiration not a date", body: body(map[string]any{"expiration": "tomorrow"}), want: want{status: 400, code: "InvalidDate", tid: true}},
		{name: "expiration Z", body: body(map[string]any{"expiration": "2030-06-01T00:00:00Z"}),
			want: want{status: 200}, expiration: "2030-06-01T00:00:00Z"},
		{name: "expiration +02:00", body: body(map[string]any{"expiration": "2030-06-01T12:00:00+02:00"}),
			want: want{status: 200}, expiration: "2030-06-01T12:00:00+02:00"},
		// Payloads hold whole seconds: a fraction rounds up (never earlier than asked).
		{name: "expiration fractional", body: body(map[string]any{"expiration": "2030-06-01T00:00:00.750Z"}),
			want: want{status: 200}, expiration: "2030-06-01T00:00:01Z"},
		{name: "base_url string", body: body(map[string]any{"base_url": "https://approvals.example.com/prod/"}),
			want: want{status: 200}, urlPrefix: "https://approvals.example.com/prod/respond?"},
		{name: "base_url object", body: body(map[string]any{"base_url": map[string]any{"api_id": "abc123", "stage": "prod", "region": "eu-west-1"}}),
			want: want{status: 200}, urlPrefix: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/respond?"},
		{name: "base_url not http", body: body(map[string]any{"base_url": "ftp://example.com/x"}), want: want{status: 400, code: "InvalidBaseUrl", tid: true}},
		{name: "base_url relative", body: body(map[string]any{"base_url": "/prod"}), want: want{status: 400, code: "InvalidBaseUrl", tid: true}},
		{name: "base_url with query", body: body(map[string]any{"base_url": "https://example.com/?a=1"}), want: want{status: 400, code: "InvalidBaseUrl", tid: true}},
		{name: "base_url object no region", body: body(map[string]any{"base_url": map[string]any{"api_id": "abc123", "stage": "prod"}}),
			want: want{status: 400, code: "InvalidBaseUrl", tid: true}},
		{name: "base_url object bad api id", body: body(map[string]any{"base_url": map[string]any{"api_id": "ABC/../x", "stage": "prod", "region": "eu-west-1"}}),
			want: want{status: 400, code: "InvalidBaseUrl", tid: true}},
		{name: "base_url number", body: body(map[string]any{"base_url": 42}), want: want{status: 400, code: "InvalidJSON"}},
		{name: "URL too long", maxURL: 200, want: want{status: 400, code: "UrlTooLong", tid: true}},
		{name: "output parameters disabled", body: body(map[string]any{"enable_output_parameters": true}),
			want: want{status: 400, code: "ParametersDisabled", tid: true}},
		{name: "post actions disabled", body: body(map[string]any{"actions": []any{map[string]any{"name": "hook", "type": "post", "outcomes": []any{}}}}),
			want: want{status: 400, code: "PostActionsDisabled", tid: true}},
	}
	for _, backend := range servicetest.Backends {
		for _, tt := range tests {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				e := servicetest.Start(t, servicetest.Options{Backend: backend, Settings: config.Config{MaxURLLength: tt.maxURL}})
				method := tt.method
				if method == "" {
					method = http.MethodPost
				}
				header := map[string]string{"Content-Type": "application/json"}
				switch tt.contentType {
				case "":
				case "-":
					header = nil
				default:
					header["Content-Type"] = tt.contentType
				}
				b := createBody(t, nil)
				if tt.body != nil {
					b = tt.body(t)
				}
				resp := e.Do(t, method, "/urls", header, b)
				m := resp.JSON(t)
				got := want{status: resp.Status, allow: resp.Header.Get("Allow")}
				if resp.Status != http.StatusOK {
					got.code, _ = m["error"].(string)
					_, got.tid = m["transaction_id"]
					if msg, _ := m["message"].(string); msg == "" {
						t.Errorf("error body %s has no message", resp.Body)
					}
				}
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
					t.Fatalf("%s /urls (-want +got):\n%s\nbody: %s", method, diff, resp.Body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if n := e.Calls(); n != 0 {
					t.Errorf("%d Step Functions calls while creating URLs", n)
				}
				if resp.Status != http.StatusOK {
					return
				}
				var c servicetest.Created
				if err := json.Unmarshal([]byte(resp.Body), &c); err != nil {
					t.Fatal(err)
				}
				if !tidPattern.MatchString(c.TransactionID) {
					t.Errorf("transaction_id %q is not 32 hex digits", c.TransactionID)
				}
				if c.Expiration != tt.expiration {
					t.Errorf("expiration = %q, want %q", c.Expiration, tt.expiration)
				}
				var req struct{ Actions []struct{ Name, Type string } }
				if err := json.Unmarshal([]byte(b), &req); err != nil {
					t.Fatal(err)
				}
				if len(c.URLs) != len(req.Actions) {
					t.Fatalf("%d URLs for %d actions", len(c.URLs), len(req.Actions))
				}
				prefix := tt.urlPrefix
				if prefix == "" {
					prefix = e.URL + "/respond?"
				}
				for _, a := range req.Actions {
					u := c.URLs[a.Name]
					if !strings.HasPrefix(u, prefix) {
						t.Errorf("URL %s does not start with %s", u, prefix)
						continue
					}
					parsed, err := url.Parse(u)
					if err != nil {
						t.Fatal(err)
					}
					q := parsed.Query()
					if q.Get("action") != a.Name || q.Get("type") != a.Type || !strings.HasPrefix(q.Get("data"), "3-") {
						t.Errorf("URL %s: want action=%s type=%s data=3-...", u, a.Name, a.Type)
					}
				}
			})
		}
	}
}

func raw(s string) func(testing.TB) string { return func(testing.TB) string { return s } }

func body(fields map[string]any) func(testing.TB) string {
	return func(t testing.TB) string { return createBody(t, fields) }
}

// TestCreateURLsTooLarge sends bodies over 1 MiB, with and without a
// Content-Length, to the handler directly (a server may reset the
// connection while the client still writes, which would make the test
// depend on timing).
func TestCreateURLsTooLarge(t *testing.T) {
	big := createBody(t, map[string]any{"actions": []any{map[string]any{
		"name": "approve", "type": "success", "output": strings.Repeat("x", 1<<20)}}})
	tests := []struct {
		name          string
		contentLength int64 // -1: unknown (chunked)
		body          string
		want          int
	}{
		{"known length", int64(len(big)), big, 413},
		{"unknown length", -1, big, 413},
		{"exactly 1 MiB of spaces around a small body", 1 << 20, createBody(t, nil) + strings.Repeat(" ", 1<<20-len(createBody(t, nil))), 200},
	}
	for _, backend := range servicetest.Backends {
		for _, tt := range tests {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				e := servicetest.Start(t, servicetest.Options{Backend: backend})
				req := e.NewRequest(http.MethodPost, "/urls", map[string]string{"Content-Type": "application/json"}, tt.body)
				req.ContentLength = tt.contentLength
				resp := e.Record(req)
				if resp.Status != tt.want {
					t.Fatalf("status %d, want %d: %.200s", resp.Status, tt.want, resp.Body)
				}
				if tt.want == 413 {
					if got := resp.JSON(t)["error"]; got != "RequestTooLarge" {
						t.Errorf("error = %v, want RequestTooLarge", got)
					}
				}
			})
		}
	}
}

func BenchmarkCreateURLsHTTP(b *testing.B) {
	h := servicetest.Start(b, servicetest.Options{Backend: servicetest.Double, Double: &callbackurlstest.Target{Discard: true}, NoLogs: true,
		Settings: config.Config{BaseURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"}}).Handler
	body := createBody(b, map[string]any{"token": corpus.Tokens()[1]})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/urls", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
