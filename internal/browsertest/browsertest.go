// Package browsertest drives a real headless Chromium through the
// service's pages, for the browser tests of the packages that serve them
// (respond, localweb, home). Without a Chromium a test skips, except under
// CI=true, where a missing browser is a failure (.ci/run installs Debian's
// chromium). Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

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

// New starts a headless Chromium for the test and returns its context;
// every tab is opened from it (Tab).
func New(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("-short (make test-quick): no browser")
	}
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

// Tab opens a new tab, which closes when the (sub)test ends.
func Tab(t *testing.T, browser context.Context) context.Context {
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
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatal("no go.mod above the test's directory")
			}
			root = parent
		}
		dir = filepath.Join(root, "testresults", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Shoot saves a full-page screenshot as name.png.
func Shoot(t *testing.T, ctx context.Context, name string) {
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

// Do runs steps; the test fails, saying what failed, unless they succeed.
func Do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Text is the trimmed text of the element sel selects.
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Evaluate runs a JavaScript expression in the page (DevTools runs it
// even with the page's scripts off).
func Evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// Open navigates to u and waits for a page of the kind given (the body's
// page-kind class: confirm, result, error, dashboard, home).
func Open(t *testing.T, ctx context.Context, u, kind string) {
	t.Helper()
	Do(t, ctx, "open "+kind+" page", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body.page-"+kind)))
}

// Press clicks the form's button and waits for the next page's kind.
func Press(t *testing.T, ctx context.Context, kind string) {
	t.Helper()
	Do(t, ctx, "press the button", chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("body.page-"+kind)))
}

// DarkMode emulates the dark (or light) colour scheme.
func DarkMode(dark bool) chromedp.Action[chromedp.Void] {
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

// Mobile emulates a phone's narrow screen.
func Mobile(t *testing.T, ctx context.Context) {
	t.Helper()
	Do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
}

// NoScripts turns the tab's JavaScript off.
func NoScripts(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
}

// CheckFits fails if anything sticks out of the viewport sideways, or a
// short token or a badge wraps onto a second line.
func CheckFits(t *testing.T, ctx context.Context) {
	t.Helper()
	if over := Evaluate[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the page is %v px wider than the viewport", over)
	}
	if wide := Evaluate[float64](t, ctx, `Math.max(0, ...[...document.querySelectorAll(".task, .badge, code.token, .button")].map(e => e.getBoundingClientRect().right - window.innerWidth))`); wide > 0 {
		t.Errorf("an element ends %v px past the viewport", wide)
	}
	if n := Evaluate[float64](t, ctx, `[...document.querySelectorAll("code.token, .badge")].filter(e => e.getClientRects().length != 1).length`); n > 0 {
		t.Errorf("%v short tokens or badges take more than one line", n)
	}
}
