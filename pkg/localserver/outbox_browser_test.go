package localserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
)

// TestOutboxInChromium: the dashboard's outbox on a desktop and a phone,
// light and dark (nothing past the screen, the letters' texts behind
// their summaries), and a letter's page, which shows the email with its
// inline styles under its own sandboxed policy.
func TestOutboxInChromium(t *testing.T) {
	browser := browsertest.New(t)
	keys, err := keyring.New(keyring.Key{ID: "t", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	var srv *localserver.Server
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Handler.ServeHTTP(w, r) }))
	defer ts.Close()
	c := &config.Config{SFN: config.SFNLocal, BaseURL: ts.URL, StorePath: filepath.Join(t.TempDir(), "tasks.db")}
	if srv, err = localserver.New(context.Background(), c, localserver.Options{KeySource: keys}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	task, err := srv.Store.CreateTask(context.Background(), "deploy-1-4")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"token": task.Token, "title": "Deploy release 1.4 to production", "description": "Changes: the new billing page.",
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approved": true}},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected"},
		},
		"deliver": map[string]any{"email": map[string]any{"to": []string{"alice@example.com"}},
			"sns": map[string]any{"topic_arn": "arn:aws:sns:eu-west-1:123456789012:approvals"}},
	})
	get(t, http.MethodPost, ts.URL+"/urls", string(body), nil)

	for _, l := range []struct {
		name   string
		mobile bool
		dark   bool
	}{{"desktop-light", false, false}, {"phone-dark", true, true}} {
		t.Run(l.name, func(t *testing.T) {
			ctx := browsertest.Tab(t, browser)
			if l.mobile {
				browsertest.Mobile(t, ctx)
			}
			browsertest.Do(t, ctx, "scheme", browsertest.DarkMode(l.dark))
			browsertest.Open(t, ctx, ts.URL+"/local/", "dashboard")
			browsertest.Do(t, ctx, "open the letters' details", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.letter details').forEach(d => d.open = true)`))
			browsertest.CheckFits(t, ctx)
			if n := browsertest.Evaluate[float64](t, ctx, `document.querySelectorAll('.letters > li').length`); n != 3 {
				t.Errorf("%v letters shown, want the email, the SNS message and the chat messages", n)
			}
			if got := browsertest.Text(t, ctx, "#outbox-heading"); got != "Outbox" {
				t.Errorf("heading %q", got)
			}
			browsertest.Shoot(t, ctx, "outbox-"+l.name)
		})
	}
	t.Run("letter", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		browsertest.Open(t, ctx, ts.URL+"/local/", "dashboard")
		href := browsertest.Evaluate[string](t, ctx, `document.querySelector('.letter a[target=_blank]').getAttribute('href')`)
		browsertest.Do(t, ctx, "open the letter", chromedp.Navigate(ts.URL+href), chromedp.WaitVisible(chromedp.CSS("h1")))
		// The inline styles apply: the Approve button is green.
		if bg := browsertest.Evaluate[string](t, ctx, `getComputedStyle(document.querySelector('a[href*="action=approve"]')).backgroundColor`); bg != "rgb(26, 127, 55)" {
			t.Errorf("the Approve button's background is %s: the letter's inline styles did not apply", bg)
		}
		if !strings.Contains(browsertest.Text(t, ctx, "h1"), "Deploy release 1.4") {
			t.Error("no heading")
		}
		browsertest.Shoot(t, ctx, "outbox-letter")
	})
}
