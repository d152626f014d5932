package kmskeys_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

// TestHTTPStatuses checks what the whole service answers for KMS failures:
// a JSON body with the contract's code, Retry-After on 503, and never the
// cause.
func TestHTTPStatuses(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(srv *kmstest.Server)
		alter      bool
		overBound  bool // another URL spent the only token first
		wantStatus int
		wantCode   string
	}{
		{"ok", nil, false, false, 200, ""},
		{"throttled", failNext(3, 400, "ThrottlingException"), false, false, 503, callbackurls.CodeServiceError},
		{"altered encrypted key", nil, true, false, 400, callbackurls.CodeInvalidPayload},
		{"over the bound on cold KMS calls", nil, false, true, 503, callbackurls.CodeServiceError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := sourceURL(t, srv, kmskeys.Options{})
			if tt.alter {
				u = alterData(t, u, 50)
			}
			clk := newClock()
			src := newSource(t, srv, kmskeys.Options{ColdCallsPerSecond: 0.001, ColdCallsBurst: 1, Now: clk.Now})
			svc := servicetest.Start(t, servicetest.Options{Backend: servicetest.Double, Keys: src})
			if tt.overBound {
				if r := svc.Do(t, http.MethodGet, strings.TrimPrefix(sourceURL(t, srv, kmskeys.Options{}), apiBase), nil, ""); r.Status != 200 {
					t.Fatalf("the first URL: %d %s", r.Status, r.Body)
				}
			}
			if tt.setup != nil {
				tt.setup(srv)
			}
			resp := svc.Do(t, http.MethodGet, strings.TrimPrefix(u, apiBase), nil, "")
			if resp.Status != tt.wantStatus {
				t.Errorf("status %d, want %d; body %s", resp.Status, tt.wantStatus, resp.Body)
			}
			if tt.wantCode == "" {
				return
			}
			if got := resp.ErrorCode(t); got != tt.wantCode {
				t.Errorf("error %q, want %q", got, tt.wantCode)
			}
			if msg, _ := resp.JSON(t)["message"].(string); strings.Contains(msg, "Exception") || strings.Contains(msg, "goroutine") {
				t.Errorf("message leaks the cause: %q", msg)
			}
			if tt.wantStatus == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}
