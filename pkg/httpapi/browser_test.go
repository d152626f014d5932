package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// These tests drive a real headless Chromium through the pages: the
// confirmation step, the forms, the result and error pages. Without a
// browser they skip, except under CI=true, where a missing browser is a
// failure (.ci/run installs Debian's chromium).

// browserPaths are where a Chromium is looked for, in order.
var browserPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range browserPaths {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for " + strings.Join(browserPaths, ", ") +
		", or $CHROMIUM): install one (apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium for the test and returns its
// context; every tab is opened from it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// tab opens a new tab; it closes when the (sub)test ends.
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// screenshotDir is where screenshots go: $SCREENSHOT_DIR, else
// testresults/screenshots at the top of the module (ignored by git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "testresults", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shoot saves a full-page screenshot as name.png.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// open navigates to u and waits for a page of the kind given (confirm,
// result or error).
func open(t *testing.T, ctx context.Context, u, kind string) {
	t.Helper()
	do(t, ctx, "open "+kind+" page", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body.page-"+kind)))
}

// press clicks the form's button and waits for the next page's kind.
func press(t *testing.T, ctx context.Context, kind string) {
	t.Helper()
	do(t, ctx, "press the button", chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("body.page-"+kind)))
}

func darkMode(dark bool) chromedp.Action[chromedp.Void] {
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// expenseRequest is a typical approval with a rejection comment form.
func expenseRequest(token string) map[string]any {
	return map[string]any{
		"token":       token,
		"title":       "Expense report #4821",
		"description": "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.\nTravel and two hotel nights; receipts attached to the report.",
		"expiration":  epoch.Add(72 * time.Hour).Format(time.RFC3339),
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approved": true}, "label": "Approve expense"},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected by the approver", "label": "Reject",
				"input": map[string]any{"type": "object", "properties": map[string]any{
					"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment",
						"description": "Tell Alice what to change. It is sent with the rejection.", "maxLength": 1000},
				}}},
		},
	}
}

func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	e := newEnv(t, backendLocal)

	t.Run("approve", func(t *testing.T) {
		ctx := tab(t, browser)
		token := e.newTask(t)
		c := e.create(t, expenseRequest(token))

		open(t, ctx, c.URLs["approve"], "confirm")
		if got := text(t, ctx, "h1"); got != "Expense report #4821" {
			t.Errorf("heading %q", got)
		}
		if got := text(t, ctx, ".description"); !strings.Contains(got, "Alice Martin asks for EUR 1,240.00") {
			t.Errorf("description %q", got)
		}
		if got := text(t, ctx, "button[type=submit]"); got != "Approve expense" {
			t.Errorf("button %q", got)
		}
		if title, _ := chromedp.Run(ctx, chromedp.Title()); title != "Approve expense – Expense report #4821" {
			t.Errorf("title %q", title)
		}
		shoot(t, ctx, "confirm-approve-light")
		if got := e.task(t, token); got.Status != "open" {
			t.Fatalf("the confirmation page's GET changed the task: %+v", got)
		}

		press(t, ctx, "result")
		if got := text(t, ctx, "h1"); got != "Approved" {
			t.Errorf("result heading %q", got)
		}
		if got := text(t, ctx, ".lead"); !strings.Contains(got, "“Approve expense” was sent") {
			t.Errorf("result lead %q", got)
		}
		shoot(t, ctx, "result-approved-light")
		want := taskState{Status: "succeeded", Output: `{"approved":true}`}
		if diff := cmp.Diff(want, e.task(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}

		// A second click, the commonest "error": said kindly.
		open(t, ctx, c.URLs["approve"], "confirm")
		press(t, ctx, "error")
		if got := text(t, ctx, "h1"); got != "This request was already answered" {
			t.Errorf("second click heading %q", got)
		}
		shoot(t, ctx, "error-already-answered-light")
		do(t, ctx, "dark mode", darkMode(true), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("body")))
		shoot(t, ctx, "error-already-answered-dark")
	})

	t.Run("reject with a comment", func(t *testing.T) {
		ctx := tab(t, browser)
		token := e.newTask(t)
		c := e.create(t, expenseRequest(token))

		open(t, ctx, c.URLs["reject"], "confirm")
		if got := text(t, ctx, `label[for="f-comment"]`); got != "Comment (optional)" {
			t.Errorf("label %q", got)
		}
		comment := "Please split the hotel nights\nfrom the travel costs & resend <3"
		do(t, ctx, "type a comment", chromedp.SendKeys(chromedp.CSS("#f-comment"), comment))
		shoot(t, ctx, "confirm-reject-form-light")
		do(t, ctx, "dark mode", darkMode(true))
		shoot(t, ctx, "confirm-reject-form-dark")
		do(t, ctx, "light mode", darkMode(false))
		if got := e.task(t, token); got.Status != "open" {
			t.Fatalf("task %+v before the button", got)
		}

		press(t, ctx, "result")
		if got := text(t, ctx, "h1"); got != "Rejected" {
			t.Errorf("result heading %q", got)
		}
		if got := text(t, ctx, "dl.sent dd"); got != comment {
			t.Errorf("the result page shows the comment as %q", got)
		}
		shoot(t, ctx, "result-rejected-light")
		got := e.task(t, token)
		var cause map[string]any
		if err := json.Unmarshal([]byte(got.Cause), &cause); err != nil {
			t.Fatalf("cause %q: %v", got.Cause, err)
		}
		wantCause := map[string]any{"cause": "Rejected by the approver", "input": map[string]any{"comment": comment}}
		if got.Status != "failed" || got.Error != "Rejected" {
			t.Errorf("task %+v", got)
		}
		if diff := cmp.Diff(wantCause, cause); diff != "" {
			t.Errorf("cause (-want +got):\n%s", diff)
		}
	})

	t.Run("form errors are shown with the form", func(t *testing.T) {
		ctx := tab(t, browser)
		token := e.newTask(t)
		req := expenseRequest(token)
		req["actions"] = []any{map[string]any{"name": "approve", "type": "success", "output": map[string]any{}, "label": "Approve",
			"input": map[string]any{"type": "object", "required": []any{"cost_centre", "amount"}, "properties": map[string]any{
				"cost_centre": map[string]any{"type": "string", "title": "Cost centre", "enum": []any{"Engineering", "Sales", "Operations"}},
				"amount":      map[string]any{"type": "integer", "title": "Amount approved (EUR)", "minimum": 1, "maximum": 1240, "default": 1240},
				"urgent":      map[string]any{"type": "boolean", "title": "Pay this month"},
				"note":        map[string]any{"type": "string", "title": "Note for accounting", "maxLength": 80},
			}}}}
		c := e.create(t, req)
		open(t, ctx, c.URLs["approve"], "confirm")
		// The browser's own checks (required) would stop the form; turn
		// them off to reach the server's.
		do(t, ctx, "submit without a cost centre", chromedp.SetAttributeValue(chromedp.CSS("form"), "novalidate", ""),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".alert")))
		if got := text(t, ctx, ".alert"); !strings.Contains(got, "Cost centre: Please fill in this field.") {
			t.Errorf("alert %q", got)
		}
		if got, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-amount"))); got != "1240" {
			t.Errorf("the amount was not kept: %q", got)
		}
		shoot(t, ctx, "confirm-form-errors-light")
		if got := e.task(t, token); got.Status != "open" {
			t.Fatalf("task %+v after a refused form", got)
		}
		do(t, ctx, "fill the form", chromedp.Click(chromedp.CSS(`label[for="f-cost_centre-1"]`)),
			chromedp.Click(chromedp.CSS("#f-urgent")), chromedp.SendKeys(chromedp.CSS("#f-note"), "Q3 budget"))
		press(t, ctx, "result")
		want := `{"input":{"amount":1240,"cost_centre":"Sales","note":"Q3 budget","urgent":true}}`
		if got := e.task(t, token); got.Status != "succeeded" || got.Output != want {
			t.Errorf("task %+v, want output %s", got, want)
		}
		shoot(t, ctx, "result-approved-with-values-light")
	})

	t.Run("mobile", func(t *testing.T) {
		ctx := tab(t, browser)
		c := e.create(t, expenseRequest(e.newTask(t)))
		do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		open(t, ctx, c.URLs["reject"], "confirm")
		shoot(t, ctx, "confirm-reject-mobile-light")
		do(t, ctx, "dark mode", darkMode(true))
		shoot(t, ctx, "confirm-reject-mobile-dark")
		// The button spans the narrow screen.
		w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("button").getBoundingClientRect().width`))
		if err != nil || w < 300 {
			t.Errorf("button width %v on a 390 px screen (%v)", w, err)
		}
	})

	t.Run("JavaScript off", func(t *testing.T) {
		ctx := tab(t, browser)
		token := e.newTask(t)
		c := e.create(t, expenseRequest(token))
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		open(t, ctx, c.URLs["reject"], "confirm")
		do(t, ctx, "type a comment", chromedp.SendKeys(chromedp.CSS("#f-comment"), "No JavaScript needed"))
		press(t, ctx, "result")
		if got := e.task(t, token); got.Status != "failed" || !strings.Contains(got.Cause, "No JavaScript needed") {
			t.Errorf("task %+v", got)
		}
	})

	t.Run("expired link", func(t *testing.T) {
		ctx := tab(t, browser)
		token := e.newTask(t)
		c := e.create(t, map[string]any{"token": token, "title": "Approve the Friday release",
			"expiration": epoch.Add(time.Hour).Format(time.RFC3339), "actions": []any{approveAction}})
		e.clock.Set(epoch.Add(2 * time.Hour))
		defer e.clock.Set(epoch)
		open(t, ctx, c.URLs["approve"], "error")
		if got := text(t, ctx, "h1"); got != "This link has expired" {
			t.Errorf("heading %q", got)
		}
		if got := text(t, ctx, ".lead"); !strings.Contains(got, "It stopped working on 1 January 2030 at 01:00 UTC") {
			t.Errorf("lead %q", got)
		}
		shoot(t, ctx, "error-expired-light")
	})

	t.Run("damaged link", func(t *testing.T) {
		ctx := tab(t, browser)
		c := e.create(t, expenseRequest(e.newTask(t)))
		open(t, ctx, c.URLs["approve"][:len(c.URLs["approve"])-20], "error")
		if got := text(t, ctx, "h1"); got != "This link is damaged" {
			t.Errorf("heading %q", got)
		}
		shoot(t, ctx, "error-damaged-light")
	})

	t.Run("redirect after the button", func(t *testing.T) {
		// Another origin, as a real thank-you page would be: the page's
		// Content-Security-Policy must let the form's redirect go there.
		thanks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><title>Thanks</title><h1 id="thanks">Thanks, ` + r.URL.Query().Get("who") + `</h1>`))
		}))
		defer thanks.Close()
		target := strings.Replace(thanks.URL, "127.0.0.1", "localhost", 1) + "/done?who=ann"
		ctx := tab(t, browser)
		token := e.newTask(t)
		c := e.create(t, map[string]any{"token": token, "actions": []any{map[string]any{"name": "approve", "type": "success",
			"output": map[string]any{"approved": true}, "response": map[string]any{"redirect": target}}}})
		open(t, ctx, c.URLs["approve"], "confirm")
		do(t, ctx, "press", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#thanks")))
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != target {
			t.Errorf("location %q, want %q", loc, target)
		}
		if got := e.task(t, token); got.Status != "succeeded" {
			t.Errorf("task %+v", got)
		}
	})

}
