package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
)

func TestBaseURLForAddr(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"localhost:3000", "http://localhost:3000"},
		{"192.168.1.20:80", "http://192.168.1.20:80"},
		{"no-port", "http://no-port"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := baseURLForAddr(tt.addr); got != tt.want {
				t.Errorf("baseURLForAddr(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

// TestNewServerLocal wires the local server twice on one key file: the
// first creates the key, the second reuses it, and both serve every
// endpoint, /local/ only to local host names.
func TestNewServerLocal(t *testing.T) {
	dir := t.TempDir()
	c := config.Config{SFN: config.SFNLocal, StorePath: filepath.Join(dir, "tasks.db"), BaseURL: "http://127.0.0.1:1", Settings: keysource.Settings{KeyFile: filepath.Join(dir, "keyring.json")}}
	for i, wantCreated := range []bool{true, false} {
		srv, err := localserver.New(context.Background(), &c, localserver.Options{Logger: config.NewLogger(io.Discard, false), Keys: keysource.Options{CreateKeyFile: true}})
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if srv.Keys.Created != wantCreated || srv.Store == nil {
			t.Errorf("build %d: Created %t, store %v", i, srv.Keys.Created, srv.Store != nil)
		}
		const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
		for _, tt := range []struct {
			host, method, path, accept string
			want                       int
			wantType                   string
		}{
			{"127.0.0.1:1", http.MethodGet, "/healthz", "", 200, "application/json"},
			{"127.0.0.1:1", http.MethodGet, "/local/tasks", "", 200, "application/json"},
			{"rebound.example", http.MethodGet, "/local/tasks", "", 403, ""},
			{"rebound.example", http.MethodGet, "/respond", "", 400, "application/json"}, // callbacks are for anyone holding a URL
			{"127.0.0.1:1", http.MethodGet, "/urls", "", 405, "application/json"},
			{"127.0.0.1:1", http.MethodGet, "/nothing", "", 404, "application/json"},
			{"127.0.0.1:1", http.MethodGet, "/", browser, 200, "text/html"},
			{"127.0.0.1:1", http.MethodGet, "/", "", 404, "application/json"},
		} {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Host = tt.host
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			srv.Handler.ServeHTTP(rec, r)
			if rec.Code != tt.want || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.wantType) {
				t.Errorf("build %d: %s %s (Host %s, Accept %q): %d %s %s, want %d %s", i, tt.method, tt.path, tt.host, tt.accept,
					rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.want, tt.wantType)
			}
			if tt.path == "/" && tt.want == 200 && !strings.Contains(rec.Body.String(), `href="/local/"`) {
				t.Errorf("build %d: the home page does not link the local store", i)
			}
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
