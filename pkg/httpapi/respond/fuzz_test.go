package respond_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// fuzzTarget is a deployment with output parameters on, with URLs made for
// one of its tasks (their path and query).
type fuzzTarget struct {
	*servicetest.Service
	urls  []string
	token string
}

func newFuzzTarget(t testing.TB, encrypted bool) *fuzzTarget {
	t.Helper()
	const base = "https://cb.example.test/prod"
	// A healthy Step Functions: its refusals are all the caller's problem.
	s := servicetest.Start(t, servicetest.Options{Backend: servicetest.Double, Double: &callbackurlstest.Target{Strict: true, Discard: true},
		NoEncryption: !encrypted, NoLogs: true, Settings: config.Config{BaseURL: base, EnableOutputParameters: true}})
	ft := &fuzzTarget{Service: s, token: corpus.Tokens()[0]}
	s.Double.Open(ft.token)
	c := s.Create(t, json.RawMessage(`{"token":"`+ft.token+`","expiration":"2030-01-01T01:00:00Z","actions":[
		{"name":"approve","type":"success","output":{"ok":"$who"},"response":{"redirect":"https://example.com/$who"}},
		{"name":"reject","type":"failure","error":"E","cause":"by ${who}","response":{"json":{"a":"$who"},"html":"<b>$who</b>","text":"$$"}},
		{"name":"ping","type":"heartbeat"}],"enable_output_parameters":true}`))
	for _, name := range []string{"approve", "reject", "ping"} {
		ft.urls = append(ft.urls, strings.TrimPrefix(c.URLs[name], base))
	}
	return ft
}

// FuzzRespondQuery sends random query strings (and Accept headers) to
// GET /respond of an encrypted and an unencrypted deployment, both with
// output parameters on. With a healthy Step Functions nothing may be a
// 5xx, panic, or echo the task token.
func FuzzRespondQuery(f *testing.F) {
	sealed, plain := newFuzzTarget(f, true), newFuzzTarget(f, false)
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
			resp := ft.Serve(http.MethodGet, "/respond?"+rawQuery, map[string]string{"Accept": accept}, "")
			if resp.Status >= 500 {
				t.Fatalf("GET /respond?%s (Accept %q): %d %s", rawQuery, accept, resp.Status, resp.Body)
			}
			if strings.Contains(resp.Body, ft.token) || strings.Contains(resp.Header.Get("Location"), ft.token) {
				t.Fatalf("GET /respond?%s: the answer quotes the task token", rawQuery)
			}
			if resp.Status >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				var body struct{ Error, Message string }
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error == "" || body.Message == "" {
					t.Fatalf("GET /respond?%s: %d with body %q", rawQuery, resp.Status, resp.Body)
				}
			}
		}
	})
}
