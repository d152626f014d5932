package localweb_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
)

// TestHostGuard: every endpoint answers only to loopback names and the
// base URL's host (DNS rebinding), whatever mounts it.
func TestHostGuard(t *testing.T) {
	store, err := localstore.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.CreateTask(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	h := localweb.New(store, "http://devbox.example:8080")
	tests := []struct {
		host, path string
		want       int
	}{
		{"127.0.0.1:8080", "/local/tasks", http.StatusOK},
		{"localhost:8080", "/local/", http.StatusOK},
		{"LOCALHOST", "/local/", http.StatusOK},
		{"[::1]:8080", "/local/tasks", http.StatusOK},
		{"127.0.0.2", "/local/tasks", http.StatusOK},
		{"devbox.example:8080", "/local/tasks", http.StatusOK},
		{"attacker.example:8080", "/local/tasks", http.StatusForbidden},
		{"attacker.example", "/local/", http.StatusForbidden},
		{"attacker.example", "/local/nothing", http.StatusForbidden},
		{"localhost.attacker.example", "/local/tasks", http.StatusForbidden},
		{"127.0.0.1.nip.io", "/local/tasks", http.StatusForbidden},
		{"", "/local/tasks", http.StatusForbidden},
		{"127.0.0.1:8080", "/local/nothing", http.StatusNotFound},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "http://x"+tt.path, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Host %q %s: %d, want %d: %s", tt.host, tt.path, w.Code, tt.want, w.Body)
		}
	}
}
