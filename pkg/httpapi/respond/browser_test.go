package respond_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
)

// expenseRequest is a typical approval with a rejection comment form.
func expenseRequest(token string) map[string]any {
	return map[string]any{
		"token":       token,
		"title":       "Expense report #4821",
		"description": "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.\nTravel and two hotel nights; receipts attached to the report.",
		"expiration":  servicetest.Epoch.Add(72 * time.Hour).Format(time.RFC3339),
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

// TestBrowser drives a real headless Chromium through the pages: the
// confirmation step, the forms, the result and error pages.
func TestBrowser(t *testing.T) {
	browser := browsertest.New(t)
	e := servicetest.Start(t, servicetest.Options{})

	t.Run("approve", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		c := e.Create(t, expenseRequest(token))

		browsertest.Open(t, ctx, c.URLs["approve"], "confirm")
		if got := browsertest.Text(t, ctx, "h1"); got != "Expense report #4821" {
			t.Errorf("heading %q", got)
		}
		if got := browsertest.Text(t, ctx, ".description"); !strings.Contains(got, "Alice Martin asks for EUR 1,240.00") {
			t.Errorf("description %q", got)
		}
		if got := browsertest.Text(t, ctx, "button[type=submit]"); got != "Approve expense" {
			t.Errorf("button %q", got)
		}
		if title, _ := chromedp.Run(ctx, chromedp.Title()); title != "Approve expense – Expense report #4821" {
			t.Errorf("title %q", title)
		}
		browsertest.Shoot(t, ctx, "confirm-approve-light")
		if got := e.Task(t, token); got.Status != "open" {
			t.Fatalf("the confirmation page's GET changed the task: %+v", got)
		}

		browsertest.Press(t, ctx, "result")
		if got := browsertest.Text(t, ctx, "h1"); got != "Approved" {
			t.Errorf("result heading %q", got)
		}
		if got := browsertest.Text(t, ctx, ".lead"); !strings.Contains(got, "“Approve expense” was sent") {
			t.Errorf("result lead %q", got)
		}
		browsertest.Shoot(t, ctx, "result-approved-light")
		want := servicetest.Task{Status: "succeeded", Output: `{"approved":true}`}
		if diff := cmp.Diff(want, e.Task(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}

		// A second click, the commonest "error": said kindly.
		browsertest.Open(t, ctx, c.URLs["approve"], "confirm")
		browsertest.Press(t, ctx, "error")
		if got := browsertest.Text(t, ctx, "h1"); got != "This request was already answered" {
			t.Errorf("second click heading %q", got)
		}
		browsertest.Shoot(t, ctx, "error-already-answered-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("body")))
		browsertest.Shoot(t, ctx, "error-already-answered-dark")
	})

	t.Run("reject with a comment", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		c := e.Create(t, expenseRequest(token))

		browsertest.Open(t, ctx, c.URLs["reject"], "confirm")
		if got := browsertest.Text(t, ctx, `label[for="f-comment"]`); got != "Comment (optional)" {
			t.Errorf("label %q", got)
		}
		comment := "Please split the hotel nights\nfrom the travel costs & resend <3"
		browsertest.Do(t, ctx, "type a comment", chromedp.SendKeys(chromedp.CSS("#f-comment"), comment))
		browsertest.Shoot(t, ctx, "confirm-reject-form-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "confirm-reject-form-dark")
		browsertest.Do(t, ctx, "light mode", browsertest.DarkMode(false))
		if got := e.Task(t, token); got.Status != "open" {
			t.Fatalf("task %+v before the button", got)
		}

		browsertest.Press(t, ctx, "result")
		if got := browsertest.Text(t, ctx, "h1"); got != "Rejected" {
			t.Errorf("result heading %q", got)
		}
		if got := browsertest.Text(t, ctx, "dl.sent dd"); got != comment {
			t.Errorf("the result page shows the comment as %q", got)
		}
		browsertest.Shoot(t, ctx, "result-rejected-light")
		got := e.Task(t, token)
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
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		req := expenseRequest(token)
		req["actions"] = []any{map[string]any{"name": "approve", "type": "success", "output": map[string]any{}, "label": "Approve",
			"input": map[string]any{"type": "object", "required": []any{"cost_centre", "amount"}, "properties": map[string]any{
				"cost_centre": map[string]any{"type": "string", "title": "Cost centre", "enum": []any{"Engineering", "Sales", "Operations"}},
				"amount":      map[string]any{"type": "integer", "title": "Amount approved (EUR)", "minimum": 1, "maximum": 1240, "default": 1240},
				"urgent":      map[string]any{"type": "boolean", "title": "Pay this month"},
				"note":        map[string]any{"type": "string", "title": "Note for accounting", "maxLength": 80},
			}}}}
		c := e.Create(t, req)
		browsertest.Open(t, ctx, c.URLs["approve"], "confirm")
		// The browser's own checks (required) would stop the form; turn
		// them off to reach the server's.
		browsertest.Do(t, ctx, "submit without a cost centre", chromedp.SetAttributeValue(chromedp.CSS("form"), "novalidate", ""),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".alert")))
		if got := browsertest.Text(t, ctx, ".alert"); !strings.Contains(got, "Cost centre: Please fill in this field.") {
			t.Errorf("alert %q", got)
		}
		if got, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-amount"))); got != "1240" {
			t.Errorf("the amount was not kept: %q", got)
		}
		browsertest.Shoot(t, ctx, "confirm-form-errors-light")
		if got := e.Task(t, token); got.Status != "open" {
			t.Fatalf("task %+v after a refused form", got)
		}
		browsertest.Do(t, ctx, "fill the form", chromedp.Click(chromedp.CSS(`label[for="f-cost_centre-1"]`)),
			chromedp.Click(chromedp.CSS("#f-urgent")), chromedp.SendKeys(chromedp.CSS("#f-note"), "Q3 budget"))
		browsertest.Press(t, ctx, "result")
		want := `{"input":{"amount":1240,"cost_centre":"Sales","note":"Q3 budget","urgent":true}}`
		if got := e.Task(t, token); got.Status != "succeeded" || got.Output != want {
			t.Errorf("task %+v, want output %s", got, want)
		}
		browsertest.Shoot(t, ctx, "result-approved-with-values-light")
	})

	t.Run("mobile", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		c := e.Create(t, expenseRequest(e.NewTask(t)))
		browsertest.Mobile(t, ctx)
		browsertest.Open(t, ctx, c.URLs["reject"], "confirm")
		browsertest.Shoot(t, ctx, "confirm-reject-mobile-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "confirm-reject-mobile-dark")
		// The button spans the narrow screen.
		w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("button").getBoundingClientRect().width`))
		if err != nil || w < 300 {
			t.Errorf("button width %v on a 390 px screen (%v)", w, err)
		}
	})

	t.Run("JavaScript off", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		c := e.Create(t, expenseRequest(token))
		browsertest.NoScripts(t, ctx)
		browsertest.Open(t, ctx, c.URLs["reject"], "confirm")
		browsertest.Do(t, ctx, "type a comment", chromedp.SendKeys(chromedp.CSS("#f-comment"), "No JavaScript needed"))
		browsertest.Press(t, ctx, "result")
		if got := e.Task(t, token); got.Status != "failed" || !strings.Contains(got.Cause, "No JavaScript needed") {
			t.Errorf("task %+v", got)
		}
	})

	t.Run("expired link", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		c := e.Create(t, map[string]any{"token": token, "title": "Approve the Friday release",
			"expiration": servicetest.Epoch.Add(time.Hour).Format(time.RFC3339), "actions": []any{servicetest.Approve}})
		e.Clock.Set(servicetest.Epoch.Add(2 * time.Hour))
		defer e.Clock.Set(servicetest.Epoch)
		browsertest.Open(t, ctx, c.URLs["approve"], "error")
		if got := browsertest.Text(t, ctx, "h1"); got != "This link has expired" {
			t.Errorf("heading %q", got)
		}
		if got := browsertest.Text(t, ctx, ".lead"); !strings.Contains(got, "It stopped working on 1 January 2030 at 01:00 UTC") {
			t.Errorf("lead %q", got)
		}
		browsertest.Shoot(t, ctx, "error-expired-light")
	})

	t.Run("damaged link", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		c := e.Create(t, expenseRequest(e.NewTask(t)))
		browsertest.Open(t, ctx, c.URLs["approve"][:len(c.URLs["approve"])-20], "error")
		if got := browsertest.Text(t, ctx, "h1"); got != "This link is damaged" {
			t.Errorf("heading %q", got)
		}
		browsertest.Shoot(t, ctx, "error-damaged-light")
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
		ctx := browsertest.Tab(t, browser)
		token := e.NewTask(t)
		c := e.Create(t, map[string]any{"token": token, "actions": []any{map[string]any{"name": "approve", "type": "success",
			"output": map[string]any{"approved": true}, "response": map[string]any{"redirect": target}}}})
		browsertest.Open(t, ctx, c.URLs["approve"], "confirm")
		browsertest.Do(t, ctx, "press", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#thanks")))
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != target {
			t.Errorf("location %q, want %q", loc, target)
		}
		if got := e.Task(t, token); got.Status != "succeeded" {
			t.Errorf("task %+v", got)
		}
	})
}
