package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/home"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
)

// These drive the local server's own pages in Chromium: the /local/
// dashboard (light, dark, a phone's width), its "New demo task" button
// through to an answer, with JavaScript off, and the home page.

// seedTasks makes tasks in each state, as a dashboard in use has them.
func seedTasks(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	mk := func(name string) string {
		task, err := e.store.CreateTask(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return task.Token
	}
	failed, done, open := mk("expense-4821"), mk("release 2.4 to production"), mk("")
	if err := e.store.SendTaskFailure(ctx, failed, "Rejected", `{"cause":"Rejected by the approver","input":{"comment":"Please split the hotel nights from the travel costs"}}`); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SendTaskSuccess(ctx, done, `{"approved":true,"input":{"note":"Go ahead"}}`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.store.SendTaskHeartbeat(ctx, open); err != nil {
			t.Fatal(err)
		}
	}
	mk("nightly-import")
}

// evaluate runs a JavaScript expression in the page (DevTools runs it
// even with the page's scripts off).
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// checkFits fails if anything sticks out of the viewport sideways, or a
// short token or a badge wraps onto a second line.
func checkFits(t *testing.T, ctx context.Context) {
	t.Helper()
	if over := evaluate[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the page is %v px wider than the viewport", over)
	}
	if wide := evaluate[float64](t, ctx, `Math.max(0, ...[...document.querySelectorAll(".task, .badge, code.token, .button")].map(e => e.getBoundingClientRect().right - window.innerWidth))`); wide > 0 {
		t.Errorf("an element ends %v px past the viewport", wide)
	}
	if n := evaluate[float64](t, ctx, `[...document.querySelectorAll("code.token, .badge")].filter(e => e.getClientRects().length != 1).length`); n > 0 {
		t.Errorf("%v short tokens or badges take more than one line", n)
	}
}

func TestDashboardBrowser(t *testing.T) {
	browser := newBrowser(t)
	e := newEnv(t, backendLocal)
	seedTasks(t, e)

	t.Run("desktop", func(t *testing.T) {
		ctx := tab(t, browser)
		do(t, ctx, "open", chromedp.Navigate(e.srv.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		if n := evaluate[float64](t, ctx, `document.querySelectorAll("article.task").length`); n != 4 {
			t.Errorf("%v task cards, want 4", n)
		}
		if got := text(t, ctx, "article.task.status-failed .badge"); got != "✕ Failed" {
			t.Errorf("failed badge %q", got)
		}
		// Each status has its own colour.
		colours := evaluate[[]string](t, ctx, `["open","succeeded","failed"].map(s => getComputedStyle(document.querySelector(".badge.status-"+s)).backgroundColor)`)
		if colours[0] == colours[1] || colours[1] == colours[2] || colours[0] == colours[2] {
			t.Errorf("badge colours %v are not distinct", colours)
		}
		// The full token is one selection away, for copying.
		if got := evaluate[string](t, ctx, `getComputedStyle(document.querySelector("code.copy")).userSelect`); got != "all" {
			t.Errorf("user-select of the full token: %q", got)
		}
		checkFits(t, ctx)
		shoot(t, ctx, "dashboard-light")
		do(t, ctx, "dark mode", darkMode(true))
		shoot(t, ctx, "dashboard-dark")
	})

	t.Run("mobile", func(t *testing.T) {
		ctx := tab(t, browser)
		do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		do(t, ctx, "open", chromedp.Navigate(e.srv.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		checkFits(t, ctx)
		// Cards stack: one column.
		if n := evaluate[float64](t, ctx, `new Set([...document.querySelectorAll("article.task")].map(e => e.getBoundingClientRect().left)).size`); n != 1 {
			t.Errorf("cards in %v columns at 390 px", n)
		}
		shoot(t, ctx, "dashboard-mobile-light")
		do(t, ctx, "dark mode", darkMode(true))
		shoot(t, ctx, "dashboard-mobile-dark")
	})

	t.Run("demo with JavaScript off", func(t *testing.T) {
		ctx := tab(t, browser)
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "open", chromedp.Navigate(e.srv.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		before := evaluate[float64](t, ctx, `document.querySelectorAll("article.task").length`)
		do(t, ctx, "press New demo task", chromedp.Click(chromedp.CSS(`form.dash-new button`)), chromedp.WaitVisible(chromedp.CSS("#demo")))
		demoPage, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if got := evaluate[float64](t, ctx, `document.querySelectorAll("ul.tasks article.task").length`); got != before+1 {
			t.Errorf("%v tasks after the button, want %v", got, before+1)
		}
		if got := text(t, ctx, "#demo .badge"); got != "● Open" {
			t.Errorf("demo task badge %q", got)
		}
		links := evaluate[[]string](t, ctx, `[...document.querySelectorAll(".demo-links a")].map(a => a.textContent + " " + new URL(a.href).searchParams.get("action"))`)
		if fmt.Sprint(links) != "[Approve approve Reject reject Heartbeat heartbeat]" {
			t.Errorf("demo links %v", links)
		}
		shoot(t, ctx, "dashboard-demo-light")

		do(t, ctx, "open Approve", chromedp.Click(chromedp.CSS(`.demo-links a.approve`)), chromedp.WaitVisible(chromedp.CSS("body.page-confirm")))
		if got := text(t, ctx, "h1"); got != "Demo deployment to the local environment" {
			t.Errorf("confirmation heading %q", got)
		}
		shoot(t, ctx, "demo-confirm-light")
		press(t, ctx, "result")
		if got := text(t, ctx, "h1"); got != "Approved" {
			t.Errorf("result heading %q", got)
		}

		do(t, ctx, "back to the dashboard", chromedp.Navigate(demoPage), chromedp.WaitVisible(chromedp.CSS("#demo")))
		if got := text(t, ctx, "#demo .badge"); got != "✓ Succeeded" {
			t.Errorf("demo task badge after approving: %q", got)
		}
		if got := text(t, ctx, "ul.tasks article.task .badge"); got != "✓ Succeeded" {
			t.Errorf("newest task's badge after approving: %q", got)
		}
		if got := text(t, ctx, "#demo dl.fields"); !strings.Contains(got, `{"approved":true}`) || !strings.Contains(got, "Closed") {
			t.Errorf("demo task fields %q", got)
		}
		shoot(t, ctx, "dashboard-demo-answered-light")
	})
}

func TestHomeBrowser(t *testing.T) {
	browser := newBrowser(t)
	rt := httpapi.NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)), false)
	rt.Handle(home.Pattern, "", home.New(home.Options{Version: "v1.2.3", Local: localweb.Prefix}))
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)

	for _, mobile := range []bool{false, true} {
		name := map[bool]string{false: "home", true: "home-mobile"}[mobile]
		t.Run(name, func(t *testing.T) {
			ctx := tab(t, browser)
			if mobile {
				do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
			}
			do(t, ctx, "open", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("body.page-home")))
			if got := text(t, ctx, "h1"); got != "Callback URLs for AWS Step Functions" {
				t.Errorf("heading %q", got)
			}
			if got := evaluate[string](t, ctx, `document.querySelector("a.button").getAttribute("href")`); got != "/local/" {
				t.Errorf("dashboard link %q", got)
			}
			checkFits(t, ctx)
			shoot(t, ctx, name+"-light")
			do(t, ctx, "dark mode", darkMode(true))
			shoot(t, ctx, name+"-dark")
		})
	}
	// A browser's fetch asking for JSON gets the API's 404.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", uaChrome)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("JSON GET /: %d", resp.StatusCode)
	}
}
