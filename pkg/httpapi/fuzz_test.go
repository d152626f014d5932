package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// memSFN is a healthy in-process Step Functions: tasks in a map, with its
// refusals (all of them the caller's problem, 4xx).
type memSFN struct {
	mu    sync.Mutex
	tasks map[string]*taskState
}

func newMemSFN(tokens ...string) *memSFN {
	m := &memSFN{tasks: map[string]*taskState{}}
	for _, tok := range tokens {
		m.tasks[tok] = &taskState{Status: "open"}
	}
	return m
}

func (m *memSFN) update(token string, f func(t *taskState) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tasks[token]
	switch {
	case token == "" || utf8.RuneCountInString(token) > callbackurls.MaxTokenLength:
		return &callbackurls.TaskError{Code: callbackurls.InvalidToken, Message: "bad token"}
	case !ok:
		return &callbackurls.TaskError{Code: callbackurls.TaskDoesNotExist, Message: "no such task"}
	case t.Status != "open":
		return &callbackurls.TaskError{Code: callbackurls.TaskTimedOut, Message: "closed"}
	}
	return f(t)
}

func (m *memSFN) SendTaskSuccess(_ context.Context, token, output string) error {
	return m.update(token, func(t *taskState) error {
		if len(output) > callbackurls.MaxOutputBytes || !json.Valid([]byte(output)) {
			return &callbackurls.TaskError{Code: callbackurls.InvalidOutput, Message: "bad output"}
		}
		t.Status, t.Output = "succeeded", output
		return nil
	})
}

func (m *memSFN) SendTaskFailure(_ context.Context, token, errorCode, cause string) error {
	return m.update(token, func(t *taskState) error {
		t.Status, t.Error, t.Cause = "failed", errorCode, cause
		return nil
	})
}

func (m *memSFN) SendTaskHeartbeat(_ context.Context, token string) error {
	return m.update(token, func(t *taskState) error {
		t.Heartbeats++
		return nil
	})
}

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
	cfg.Now = (&fakeClock{now: epoch}).Now
	svc := callbackurls.New(cfg, codec, newMemSFN(token))
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
