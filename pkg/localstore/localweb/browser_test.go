package localweb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
)

// These drive the dashboard in Chromium: light, dark, a phone's width,
// and its "New demo task" button through to an answer, with JavaScript
// off.

// seedTasks makes tasks in each state, as a dashboard in use has them.
func seedTasks(t *testing.T, e *servicetest.Service) {
	t.Helper()
	ctx := context.Background()
	mk := func(name string) string {
		task, err := e.Store.CreateTask(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return task.Token
	}
	failed, done, open := mk("expense-4821"), mk("release 2.4 to production"), mk("")
	if err := e.Store.SendTaskFailure(ctx, failed, "Rejected", `{"cause":"Rejected by the approver","input":{"comment":"Please split the hotel nights from the travel costs"}}`); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SendTaskSuccess(ctx, done, `{"approved":true,"input":{"note":"Go ahead"}}`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.Store.SendTaskHeartbeat(ctx, open); err != nil {
			t.Fatal(err)
		}
	}
	mk("nightly-import")
}

// TestDashboardBrowser: see the file's comment.
func TestDashboardBrowser(t *testing.T) {
	browser := browsertest.New(t)
	e := servicetest.Start(t, servicetest.Options{})
	seedTasks(t, e)

	t.Run("desktop", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		browsertest.Do(t, ctx, "open", chromedp.Navigate(e.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		if n := browsertest.Evaluate[float64](t, ctx, `document.querySelectorAll("article.task").length`); n != 4 {
			t.Errorf("%v task cards, want 4", n)
		}
		if got := browsertest.Text(t, ctx, "article.task.status-failed .badge"); got != "✕ Failed" {
			t.Errorf("failed badge %q", got)
		}
		// Each status has its own colour.
		colours := browsertest.Evaluate[[]string](t, ctx, `["open","succeeded","failed"].map(s => getComputedStyle(document.querySelector(".badge.status-"+s)).backgroundColor)`)
		if colours[0] == colours[1] || colours[1] == colours[2] || colours[0] == colours[2] {
			t.Errorf("badge colours %v are not distinct", colours)
		}
		// The full token is one selection away, for copying.
		if got := browsertest.Evaluate[string](t, ctx, `getComputedStyle(document.querySelector("code.copy")).userSelect`); got != "all" {
			t.Errorf("user-select of the full token: %q", got)
		}
		browsertest.CheckFits(t, ctx)
		browsertest.Shoot(t, ctx, "dashboard-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "dashboard-dark")
	})

	t.Run("mobile", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		browsertest.Mobile(t, ctx)
		browsertest.Do(t, ctx, "open", chromedp.Navigate(e.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		browsertest.CheckFits(t, ctx)
		// Cards stack: one column.
		if n := browsertest.Evaluate[float64](t, ctx, `new Set([...document.querySelectorAll("article.task")].map(e => e.getBoundingClientRect().left)).size`); n != 1 {
			t.Errorf("cards in %v columns at 390 px", n)
		}
		browsertest.Shoot(t, ctx, "dashboard-mobile-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "dashboard-mobile-dark")
	})

	t.Run("demo with JavaScript off", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		browsertest.NoScripts(t, ctx)
		browsertest.Do(t, ctx, "open", chromedp.Navigate(e.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")))
		before := browsertest.Evaluate[float64](t, ctx, `document.querySelectorAll("article.task").length`)
		browsertest.Do(t, ctx, "press New demo task", chromedp.Click(chromedp.CSS(`form.dash-new button`)), chromedp.WaitVisible(chromedp.CSS("#demo")))
		demoPage, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if got := browsertest.Evaluate[float64](t, ctx, `document.querySelectorAll("ul.tasks article.task").length`); got != before+1 {
			t.Errorf("%v tasks after the button, want %v", got, before+1)
		}
		if got := browsertest.Text(t, ctx, "#demo .badge"); got != "● Open" {
			t.Errorf("demo task badge %q", got)
		}
		links := browsertest.Evaluate[[]string](t, ctx, `[...document.querySelectorAll(".demo-links a")].map(a => a.textContent + " " + new URL(a.href).searchParams.get("action"))`)
		if fmt.Sprint(links) != "[Approve approve Reject reject Heartbeat heartbeat]" {
			t.Errorf("demo links %v", links)
		}
		browsertest.Shoot(t, ctx, "dashboard-demo-light")

		browsertest.Do(t, ctx, "open Approve", chromedp.Click(chromedp.CSS(`.demo-links a.approve`)), chromedp.WaitVisible(chromedp.CSS("body.page-confirm")))
		if got := browsertest.Text(t, ctx, "h1"); got != "Demo deployment to the local environment" {
			t.Errorf("confirmation heading %q", got)
		}
		browsertest.Shoot(t, ctx, "demo-confirm-light")
		browsertest.Press(t, ctx, "result")
		if got := browsertest.Text(t, ctx, "h1"); got != "Approved" {
			t.Errorf("result heading %q", got)
		}

		browsertest.Do(t, ctx, "back to the dashboard", chromedp.Navigate(demoPage), chromedp.WaitVisible(chromedp.CSS("#demo")))
		if got := browsertest.Text(t, ctx, "#demo .badge"); got != "✓ Succeeded" {
			t.Errorf("demo task badge after approving: %q", got)
		}
		if got := browsertest.Text(t, ctx, "ul.tasks article.task .badge"); got != "✓ Succeeded" {
			t.Errorf("newest task's badge after approving: %q", got)
		}
		if got := browsertest.Text(t, ctx, "#demo dl.fields"); !strings.Contains(got, `{"approved":true}`) || !strings.Contains(got, "Closed") {
			t.Errorf("demo task fields %q", got)
		}
		browsertest.Shoot(t, ctx, "dashboard-demo-answered-light")
	})
}
