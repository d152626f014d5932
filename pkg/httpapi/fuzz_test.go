package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// fuzzTarget is a handler with URLs made for one of its tasks.
type fuzzTarget struct {
	h     http.Handler
	urls  []string // path and query
	token string
}

func newFuzzTarget(t testing.TB, codec *payload.Codec, cfg callbackurls.Config) *fuzzTarget {
	t.Helper()
	token := corpus.Tokens()[0]
	cfg.BaseURL = "https://cb.example.test/prod"
	cfg.Now = testkit.NewClock(epoch).Now
	// A healthy Step Functions: its refusals are all the caller's problem.
	sfn := &callbackurlstest.Target{Strict: true, Discard: true}
	sfn.Open(token)
	svc := callbackurls.New(cfg, codec, callbackurls.Targets{callbackurls.TaskToken: sfn})
	h := localServer(svc, slog.New(slog.NewJSONHandler(io.Discard, nil)), false, nil, cfg.BaseURL)
	ft := &fuzzTarget{h: h, token: token}
	req, err := callbackurls.ParseCreateRequest([]byte(`{"token":"` + token + `","expiration":"2030-01-01T01:00:00Z","actions":[
		{"name":"approve","type":"success","output":{"ok":"$who"},"response":{"redirect":"https://example.com/$who"}},
		{"name":"reject","type":"failure","error":"E","cause":"by ${who}","response":{"json":{"a":"$who"},"html":"<b>$who</b>","text":"$$"}},
		{"name":"ping","type":"heartbeat"}],"enable_output_parameters":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"approve", "reject", "ping"} {
		ft.urls = append(ft.urls, strings.TrimPrefix(resp.URLs[name], "https://cb.example.test/prod"))
	}
	return ft
}

// FuzzRespondQuery sends random query strings (and Accept headers) to
// GET /respond of an encrypted and an unencrypted deployment, both with
// output parameters on. With a healthy Step Functions nothing may be a
// 5xx, panic, or echo the task token.
func FuzzRespondQuery(f *testing.F) {
	cfg := callbackurls.Config{EnableOutputParameters: true}
	sealed := newFuzzTarget(f, &payload.Codec{Keys: testKeys(f)}, cfg)
	plain := newFuzzTarget(f, &payload.Codec{}, cfg)
	for _, ft := range []*fuzzTarget{sealed, plain} {
		for _, u := range ft.urls {
			_, q, _ := strings.Cut(u, "?")
			f.Add(q, "")
			f.Add(q+"&who=me", acceptChrome)
			f.Add(q+"&who=%24who&x=1", "text/plain")
		}
	}
	f.Add("", "")
	f.Add("data=3-", "*/*")
	f.Add("data=1-e30", "*/*")
	f.Add("data=1-eyJ0b2tlbiI6IngiLCJuYW1lIjoiYSIsImFjdCI6InBvc3QifQ", "")
	f.Add("data=%zz&data", "text/html;q=0")
	f.Add(";;&&==", "")
	f.Fuzz(func(t *testing.T, rawQuery, accept string) {
		for _, ft := range []*fuzzTarget{sealed, plain} {
			req := httptest.NewRequest(http.MethodGet, "/respond", nil)
			req.URL.RawQuery = rawQuery
			req.Header.Set("Accept", accept)
			rec := httptest.NewRecorder()
			ft.h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET /respond?%s (Accept %q): %d %s", rawQuery, accept, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), ft.token) || strings.Contains(rec.Header().Get("Location"), ft.token) {
				t.Fatalf("GET /respond?%s: the answer quotes the task token", rawQuery)
			}
			if rec.Code >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				var body struct{ Error, Message string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" || body.Message == "" {
					t.Fatalf("GET /respond?%s: %d with body %q", rawQuery, rec.Code, rec.Body)
				}
			}
		}
	})
}
