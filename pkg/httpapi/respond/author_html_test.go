package respond_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// forgedHTMLURL is the URL, on an unencrypted deployment with the local
// store (whose /local/tasks has every task token to steal), of a heartbeat
// (which acts on a browser's GET) whose forged 1- payload carries html:
// anyone can write one.
func forgedHTMLURL(t *testing.T, html string) string {
	t.Helper()
	s := servicetest.Start(t, servicetest.Options{NoEncryption: true})
	spec, _ := json.Marshal(map[string]string{"html": html})
	data, err := (&payload.Codec{}).Encode(context.Background(), &callbackurls.Payload{
		Target: callbackurls.TargetRef{ID: s.NewTask(t)}, Action: "ping", Type: callbackurls.Heartbeat, Response: spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.URL + callbackurls.CallbackPath + "?action=ping&type=heartbeat&data=" + data
}

// TestAuthorHTMLPolicy: a response spec's html is served under a
// Content-Security-Policy that allows no script, with the private page
// headers.
func TestAuthorHTMLPolicy(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, forgedHTMLURL(t, "<p>Thanks!</p>"), nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "<p>Thanks!</p>" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'none'", "sandbox", "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"allow-scripts", "allow-same-origin", "unsafe-eval", "script-src *"} {
		if strings.Contains(csp, bad) {
			t.Errorf("Content-Security-Policy %q has %q", csp, bad)
		}
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s %q, want %q", h, got, want)
		}
	}
}

// TestAuthorHTMLInBrowser: in a real Chromium, the forged page's scripts
// (inline, event handlers, javascript: links, script files) do not run,
// while its styles and images do.
func TestAuthorHTMLInBrowser(t *testing.T) {
	var imageHits, scriptHits atomic.Int32
	assets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pixel.gif":
			imageHits.Add(1)
			w.Header().Set("Content-Type", "image/gif")
			_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
		case "/x.js":
			scriptHits.Add(1)
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = io.WriteString(w, "document.title = 'script file ran';")
		}
	}))
	defer assets.Close()
	u := forgedHTMLURL(t, `<!doctype html><title>Thanks</title>
<style>#p { color: rgb(1, 2, 3); }</style>
<p id="p" style="font-size: 31px">Thanks!</p>
<img id="img" src="`+assets.URL+`/pixel.gif">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==" id="dataimg">
<script>document.title = 'inline script ran'; fetch('/local/tasks').then(r => r.text()).then(t => document.title = t);</script>
<script src="`+assets.URL+`/x.js"></script>
<img src="nowhere" onerror="document.title = 'handler ran'">
<a id="js" href="javascript:document.title='link ran'">click</a>`)
	ctx := browsertest.Tab(t, browsertest.New(t))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(u),
		chromedp.WaitReady(chromedp.CSS("#img")),
		// Every image loaded or failed: the onerror handler's turn has
		// come, as the inline script's did while the page was parsed.
		chromedp.Poll[chromedp.Void](`document.readyState === "complete" && [...document.images].every(i => i.complete)`),
		chromedp.Click(chromedp.CSS("#js")),
	); err != nil {
		t.Fatal(err)
	}
	eval := func(expr string) string { t.Helper(); return browsertest.Evaluate[string](t, ctx, expr) }
	if title := eval(`document.title`); title != "Thanks" {
		t.Errorf("title %q: a script ran", title)
	}
	if scriptHits.Load() != 0 {
		t.Error("the script file was fetched")
	}
	if color, size := eval(`getComputedStyle(document.getElementById("p")).color`), eval(`getComputedStyle(document.getElementById("p")).fontSize`); color != "rgb(1, 2, 3)" || size != "31px" {
		t.Errorf("style element and attribute: color %q, size %q", color, size)
	}
	if w, dw := eval(`String(document.getElementById("img").naturalWidth)`), eval(`String(document.getElementById("dataimg").naturalWidth)`); w != "1" || dw != "1" || imageHits.Load() == 0 {
		t.Errorf("images: %s and %s pixels wide, %d requests", w, dw, imageHits.Load())
	}
}
