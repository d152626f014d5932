package respond_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// TestCallbackDeadline: a callback that runs out of its time (a target
// that does not answer, an outcome slow to choose) gets 503 ServiceError
// with Retry-After, in JSON for programs and as a page for people, soon
// after the deadline; nothing is sent late.
func TestCallbackDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	target := &callbackurlstest.Target{Stuck: true}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := httpapi.NewRouter(logger, false)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	svc := callbackurls.New(callbackurls.Config{BaseURL: srv.URL, EnablePostActions: true, PostActions: callbackurlstest.PostActions{Delay: 2 * timeout}},
		&payload.Codec{}, callbackurls.Targets{callbackurls.TaskToken: target})
	mux.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: logger, Timeout: timeout}))
	url := func(p *callbackurls.Payload) string {
		data, err := (&payload.Codec{}).Encode(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		return srv.URL + callbackurls.CallbackPath + "?data=" + data
	}
	beat := url(&callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "ping", Type: callbackurls.Heartbeat})
	hook := url(&callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "hook", Type: callbackurls.Post,
		Outcomes: json.RawMessage(`[{"name": "ok", "type": "heartbeat", "match": "go"}]`)})

	for _, c := range []struct {
		name, method, url, accept, body string
		calls                           int32
	}{
		{"a target that does not answer", http.MethodGet, beat, "application/json", "", 1},
		{"a target that does not answer, a person", http.MethodGet, beat, "text/html", "", 1},
		{"an outcome slow to choose", http.MethodPost, hook, "application/json", `{"decision": "go"}`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			target.Reset()
			req, _ := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
			req.Header.Set("Accept", c.accept)
			req.Header.Set("Content-Type", "application/json")
			// No client timeout: only the handler's deadline ends these.
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("%d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			if c.accept == "text/html" {
				if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("Content-Type %q, want a page", resp.Header.Get("Content-Type"))
				}
			} else if !strings.Contains(string(body), `"error":"ServiceError"`) {
				t.Errorf("body %s, want ServiceError", body)
			}
			if n := target.Count(); n != int(c.calls) {
				t.Errorf("%d decisions sent, want %d", n, c.calls)
			}
		})
	}
}
