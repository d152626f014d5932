package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLocalHostsOnly(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := localHostsOnly(ok, "http://devbox.example:8080")
	tests := []struct {
		host, path string
		want       int
	}{
		{"127.0.0.1:8080", "/local/tasks", http.StatusNoContent},
		{"localhost:8080", "/local/", http.StatusNoContent},
		{"[::1]:8080", "/local/tasks", http.StatusNoContent},
		{"devbox.example:8080", "/local/tasks", http.StatusNoContent},
		{"attacker.example:8080", "/local/tasks", http.StatusForbidden},
		{"attacker.example", "/local/", http.StatusForbidden},
		{"attacker.example:8080", "/respond", http.StatusNoContent}, // callbacks are for anyone with the URL
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "http://x"+tt.path, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Host %s %s: %d, want %d", tt.host, tt.path, w.Code, tt.want)
		}
	}
}
