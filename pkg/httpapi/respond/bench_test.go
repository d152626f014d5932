package respond_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// benchCallback is the service's handler and the path and query of the
// URL of action, made for req (a real token's).
func benchCallback(b *testing.B, req map[string]any, action string) (http.Handler, string) {
	const base = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
	s := servicetest.Start(b, servicetest.Options{Backend: servicetest.Double, Double: &callbackurlstest.Target{Discard: true},
		NoLogs: true, Settings: config.Config{BaseURL: base}})
	req["token"] = corpus.Tokens()[1]
	return s.Handler, strings.TrimPrefix(s.Create(b, req).URLs[action], base)
}

func BenchmarkRespondHTTP(b *testing.B) {
	h, target := benchCallback(b, map[string]any{"actions": []any{servicetest.Approve, servicetest.Reject, servicetest.Ping}}, "approve")
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkConfirmPageHTTP is a browser's GET of an approve URL with a
// title, a description and a comment form: decoding and the page.
func BenchmarkConfirmPageHTTP(b *testing.B) {
	h, target := benchCallback(b, map[string]any{"title": "Expense report #4821",
		"description": "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.",
		"actions": []any{map[string]any{"name": "reject", "type": "failure", "label": "Reject",
			"input": map[string]any{"type": "object", "properties": map[string]any{
				"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment"}}}}}}, "reject")
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", acceptChrome)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<textarea") {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
