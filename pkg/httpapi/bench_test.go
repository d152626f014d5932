package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func benchHandler(b *testing.B) (http.Handler, *callbackurls.Service) {
	b.Helper()
	svc := callbackurls.New(callbackurls.Config{BaseURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"},
		&payload.Codec{Keys: testKeys(b)}, callbackurls.Targets{callbackurls.TaskToken: &callbackurlstest.Target{Discard: true}})
	return localServer(svc, slog.New(slog.NewJSONHandler(io.Discard, nil)), false, nil, ""), svc
}

// benchCreateBody is a typical approval request with a real token.
func benchCreateBody(b *testing.B) string {
	return createBody(b, map[string]any{"token": corpus.Tokens()[1]})
}

func BenchmarkCreateURLsHTTP(b *testing.B) {
	h, _ := benchHandler(b)
	body := benchCreateBody(b)
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

func BenchmarkRespondHTTP(b *testing.B) {
	h, svc := benchHandler(b)
	req, err := callbackurls.ParseCreateRequest([]byte(benchCreateBody(b)))
	if err != nil {
		b.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		b.Fatal(err)
	}
	target := strings.TrimPrefix(resp.URLs["approve"], "https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
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
	h, svc := benchHandler(b)
	body := createBody(b, map[string]any{"token": corpus.Tokens()[1], "title": "Expense report #4821",
		"description": "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.",
		"actions": []any{map[string]any{"name": "reject", "type": "failure", "label": "Reject",
			"input": map[string]any{"type": "object", "properties": map[string]any{
				"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment"}}}}}})
	req, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		b.Fatal(err)
	}
	target := strings.TrimPrefix(resp.URLs["reject"], "https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
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
