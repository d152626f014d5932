package home_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/home"
)

func TestHome(t *testing.T) {
	// The local store's back end has /local/; Step Functions' has none.
	for backend, local := range map[servicetest.Backend]string{servicetest.SFN: "", servicetest.Local: "/local/"} {
		t.Run("local="+local, func(t *testing.T) {
			s := servicetest.Start(t, servicetest.Options{Backend: backend, Version: "v1.2.3 (abc1234)"})
			resp := s.Serve(http.MethodGet, "/", servicetest.Browser(), "")
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%d %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			body := resp.Body
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
				if resp.Header.Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			if lines := s.LogLines(t); len(lines) != 1 || lines[0]["path"] != "/" || lines[0]["status"] != 200.0 {
				t.Errorf("log lines %v", lines)
			}
		})
	}
}

// TestHomeForAPIClients: everything but a browser's GET or HEAD gets the
// JSON 404 any unknown path gets, naming the endpoints.
func TestHomeForAPIClients(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	unknown := s.Serve(http.MethodGet, "/nope", nil, "")
	if unknown.Status != http.StatusNotFound {
		t.Fatalf("GET /nope: %d", unknown.Status)
	}
	tests := []struct {
		name, method, path string
		header             map[string]string
	}{
		{"curl", http.MethodGet, "/", map[string]string{"User-Agent": "curl/8.5.0", "Accept": "*/*"}},
		{"no headers", http.MethodGet, "/", nil},
		{"JSON from a browser", http.MethodGet, "/", map[string]string{"User-Agent": servicetest.UAChrome, "Accept": "application/json"}},
		{"SDK", http.MethodGet, "/", map[string]string{"User-Agent": "aws-sdk-go-v2/1.30.3"}},
		{"browser POST", http.MethodPost, "/", servicetest.Browser()},
		{"browser, another path", http.MethodGet, "/index.html", servicetest.Browser()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.Serve(tt.method, tt.path, tt.header, "")
			if resp.Status != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			if diff := cmp.Diff(unknown.Body, resp.Body); diff != "" {
				t.Errorf("body differs from an unknown path's (-unknown +got):\n%s", diff)
			}
			if !strings.Contains(resp.Body, "use POST /urls or /respond") {
				t.Errorf("body %s does not name the endpoints", resp.Body)
			}
		})
	}
	head := s.Serve(http.MethodHead, "/", servicetest.Browser(), "")
	if head.Status != http.StatusOK || head.Body != "" {
		t.Errorf("HEAD: %d with %d bytes", head.Status, len(head.Body))
	}
}
