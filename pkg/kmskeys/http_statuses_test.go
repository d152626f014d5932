package kmskeys_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	respondhttp "github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

// TestHTTPStatuses checks what the real HTTP handler answers for KMS
// failures: a JSON body with the contract's code, Retry-After on 503, and
// never the cause.
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
		{"throttled", func(s *kmstest.Server) { s.FailNext(3, 400, "ThrottlingException") }, false, false, 503, callbackurls.CodeServiceError},
		{"altered encrypted key", nil, true, false, 400, callbackurls.CodeInvalidPayload},
		{"over the bound on cold KMS calls", nil, false, true, 503, callbackurls.CodeServiceError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kmstest.New(t)
			u := kmsURL(t, srv)
			if tt.alter {
				u = alterData(t, u, 50)
			}
			clk := newClock()
			src := newSource(t, srv, kmskeys.Options{ColdCallsPerSecond: 0.001, ColdCallsBurst: 1, Now: clk.Now})
			svc := newService(src, &callbackurlstest.Target{}, clk.Now)
			if tt.overBound {
				mustRespond(t, svc, kmsURL(t, srv))
			}
			if tt.setup != nil {
				tt.setup(srv)
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			h := httpapi.NewRouter(logger, false)
			h.Handle("/respond", "/respond", respondhttp.NewHandler(svc, respondhttp.Options{Logger: logger}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", strings.TrimPrefix(u, apiBase), nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode == "" {
				return
			}
			var body struct{ Error, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Error != tt.wantCode {
				t.Errorf("error %q, want %q", body.Error, tt.wantCode)
			}
			if strings.Contains(body.Message, "Exception") || strings.Contains(body.Message, "goroutine") {
				t.Errorf("message leaks the cause: %q", body.Message)
			}
			if tt.wantStatus == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}
