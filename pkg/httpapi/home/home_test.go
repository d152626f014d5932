package home_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/home"
)

const (
	uaChrome     = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	acceptChrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)

// router mounts home as the local server does, next to stand-ins of the
// API's endpoints (only their names matter here).
func router(o home.Options, logs *bytes.Buffer) http.Handler {
	rt := httpapi.NewRouter(slog.New(slog.NewJSONHandler(logs, nil)), false)
	rt.Handle("/urls", "POST /urls", http.NotFoundHandler())
	rt.Handle("/respond", "/respond", http.NotFoundHandler())
	rt.Handle(home.Pattern, "", home.New(o))
	return rt
}

func do(h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHome(t *testing.T) {
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	for _, local := range []string{"", "/local/"} {
		t.Run("local="+local, func(t *testing.T) {
			var logs bytes.Buffer
			h := router(home.Options{Version: "v1.2.3 (abc1234)", Local: local}, &logs)
			resp := do(h, http.MethodGet, "/", browser)
			if resp.Code != http.StatusOK || resp.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%d %s", resp.Code, resp.Header().Get("Content-Type"))
			}
			body := resp.Body.String()
			for _, want := range []string{`<body class="page-home">`, "sfn-callback-urls v1.2.3 (abc1234)", "<code>POST /urls</code>",
				`<a href="` + home.ProjectURL + `">`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if got := strings.Contains(body, `href="/local/"`); got != (local != "") {
				t.Errorf("link to /local/: %t, want %t", got, local != "")
			}
			for _, h := range []string{"Content-Security-Policy", "Cache-Control", "X-Content-Type-Options"} {
				if resp.Header().Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["path"] != "/" || line["status"] != 200.0 {
				t.Errorf("log line %s (%v)", logs.String(), err)
			}
		})
	}
}

// TestHomeForAPIClients: everything but a browser's GET or HEAD gets the
// JSON 404 any unknown path gets, naming the endpoints.
func TestHomeForAPIClients(t *testing.T) {
	h := router(home.Options{Version: "v1", Local: "/local/"}, &bytes.Buffer{})
	unknown := do(h, http.MethodGet, "/nope", nil)
	if unknown.Code != http.StatusNotFound {
		t.Fatalf("GET /nope: %d", unknown.Code)
	}
	tests := []struct {
		name, method, path string
		header             map[string]string
	}{
		{"curl", http.MethodGet, "/", map[string]string{"User-Agent": "curl/8.5.0", "Accept": "*/*"}},
		{"no headers", http.MethodGet, "/", nil},
		{"JSON from a browser", http.MethodGet, "/", map[string]string{"User-Agent": uaChrome, "Accept": "application/json"}},
		{"SDK", http.MethodGet, "/", map[string]string{"User-Agent": "aws-sdk-go-v2/1.30.3"}},
		{"browser POST", http.MethodPost, "/", map[string]string{"User-Agent": uaChrome, "Accept": acceptChrome}},
		{"browser, another path", http.MethodGet, "/index.html", map[string]string{"User-Agent": uaChrome, "Accept": acceptChrome}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(h, tt.method, tt.path, tt.header)
			if resp.Code != http.StatusNotFound || resp.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", resp.Code, resp.Header().Get("Content-Type"))
			}
			if diff := cmp.Diff(unknown.Body.String(), resp.Body.String()); diff != "" {
				t.Errorf("body differs from an unknown path's (-unknown +got):\n%s", diff)
			}
			if !strings.Contains(resp.Body.String(), "use POST /urls or /respond") {
				t.Errorf("body %s does not name the endpoints", resp.Body)
			}
		})
	}
	head := do(h, http.MethodHead, "/", map[string]string{"User-Agent": uaChrome, "Accept": acceptChrome})
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", head.Code, head.Body.Len())
	}
}
