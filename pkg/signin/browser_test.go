package signin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin/oidctest"
)

// TestBrowserSignIn drives Chromium from the link in a message to the
// decision, through the in-process OpenID Provider's login page: an
// approver, a domain entry, someone outside the list, the requester and an
// unverified email; and the pages light, dark and at 390 px.
func TestBrowserSignIn(t *testing.T) {
	browser := browsertest.New(t)
	e := newSignInEnv(t)

	// signIn opens link in a browser without cookies, presses the sign-in
	// button, signs in at the provider as user and waits for a page of
	// kind.
	signIn := func(t *testing.T, ctx context.Context, link string, user oidctest.User, kind, shot string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		browsertest.Open(t, ctx, link, "signin")
		if got := browsertest.Text(t, ctx, "h1"); got != "Sign in to answer" {
			t.Errorf("heading %q", got)
		}
		if shot != "" {
			browsertest.Shoot(t, ctx, shot)
		}
		browsertest.Do(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`a.button`)), chromedp.WaitVisible(chromedp.CSS(`#username`)))
		browsertest.Do(t, ctx, "at the provider", chromedp.SendKeys(chromedp.CSS(`#username`), user.Email), chromedp.Click(chromedp.CSS(`#login`)),
			chromedp.WaitVisible(chromedp.CSS("body.page-"+kind)))
	}

	// decide presses the confirmation form's button (not the sign-out
	// form's) and waits for the result page.
	decide := func(t *testing.T, ctx context.Context) {
		t.Helper()
		browsertest.Do(t, ctx, "press the button", chromedp.Click(chromedp.CSS(`form:not(.signout) button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("body.page-result")))
	}

	t.Run("an approver, from the link to the decision", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token, urls := e.approvalRequest(t, nil)
		start := time.Now()
		signIn(t, ctx, urls["approve"], ana, "confirm", "")
		took := time.Since(start)
		if got := browsertest.Text(t, ctx, ".signed-in p"); !strings.Contains(got, "Signed in as Ana Lima (ana@example.com)") {
			t.Errorf("signed in as %q", got)
		}
		browsertest.Shoot(t, ctx, "confirm-signed-in-light")
		if task := e.task(t, token); task.Status != "open" {
			t.Fatalf("signing in changed the task: %+v", task)
		}
		start = time.Now()
		decide(t, ctx)
		took += time.Since(start)
		t.Logf("link to decision in Chromium: %v (the provider's login typed at once)", took)
		if got := browsertest.Text(t, ctx, ".approval p"); got != "Decided by Ana Lima (ana@example.com)" {
			t.Errorf("result says %q", got)
		}
		browsertest.Do(t, ctx, "show the receipt", chromedp.Click(chromedp.CSS(".approval summary")), chromedp.WaitVisible(chromedp.CSS("textarea.receipt")))
		receipt := browsertest.Evaluate[string](t, ctx, `document.querySelector("textarea.receipt").value`)
		task := e.task(t, token)
		if task.Status != "succeeded" || len(receipt) < 100 || !strings.Contains(task.Output, `"receipt":"`+receipt+`"`) {
			t.Errorf("task %s %s, page's receipt %q", task.Status, task.Output, receipt)
		}
		browsertest.Shoot(t, ctx, "result-approval-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "result-approval-dark")
	})

	t.Run("a domain entry rejects with a comment", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		token, urls := e.approvalRequest(t, nil)
		signIn(t, ctx, urls["reject"], cy, "confirm", "signin-light")
		browsertest.Do(t, ctx, "comment", chromedp.SendKeys(chromedp.CSS(`#f-why`), "Not on a Friday"))
		decide(t, ctx)
		if task := e.task(t, token); task.Status != "failed" || !strings.Contains(task.Cause, `"why":"Not on a Friday"`) {
			t.Errorf("task %+v", task)
		}
	})

	for _, tt := range []struct {
		name, kind, heading, shot string
		user                      oidctest.User
	}{
		{"someone outside the list", "error", "This request is for someone else", "signin-someone-else", eve},
		{"the requester", "error", "You asked for this, so someone else must decide", "signin-requester", bo},
		{"an unverified email", "error", "Sign-in did not work", "signin-failed", unver},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := browsertest.Tab(t, browser)
			token, urls := e.approvalRequest(t, nil)
			signIn(t, ctx, urls["approve"], tt.user, tt.kind, "")
			if got := browsertest.Text(t, ctx, "h1"); got != tt.heading {
				t.Errorf("heading %q, want %q", got, tt.heading)
			}
			browsertest.Shoot(t, ctx, tt.shot+"-light")
			browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
			browsertest.Shoot(t, ctx, tt.shot+"-dark")
			browsertest.Do(t, ctx, "light mode", browsertest.DarkMode(false))
			if task := e.task(t, token); task.Status != "open" {
				t.Errorf("task %+v", task)
			}
		})
	}

	t.Run("390 px", func(t *testing.T) {
		ctx := browsertest.Tab(t, browser)
		_, urls := e.approvalRequest(t, nil)
		browsertest.Do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		signIn(t, ctx, urls["reject"], ana, "confirm", "signin-mobile-light")
		browsertest.CheckFits(t, ctx)
		browsertest.Shoot(t, ctx, "confirm-signed-in-mobile-light")
		browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
		browsertest.Shoot(t, ctx, "confirm-signed-in-mobile-dark")
		// Signing out comes back to the sign-in page.
		browsertest.Do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS("body.page-signin")))
		browsertest.CheckFits(t, ctx)
		browsertest.Shoot(t, ctx, "signin-mobile-dark")
	})
}

// TestBrowserDevSignIn: the development sign-in, clearly marked, from the
// dashboard's demo task to its confirmation, light, dark and at 390 px.
func TestBrowserDevSignIn(t *testing.T) {
	browser := browsertest.New(t)
	srv := newDevSignInServer(t)
	ctx := browsertest.Tab(t, browser)
	browsertest.Do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	browsertest.Do(t, ctx, "new demo task", chromedp.Navigate(srv.URL+"/local/"), chromedp.WaitVisible(chromedp.CSS("body.page-dashboard")),
		chromedp.Click(chromedp.CSS(`form.dash-new button`)), chromedp.WaitVisible(chromedp.CSS(".demo")))
	browsertest.Do(t, ctx, "open approve", chromedp.Click(chromedp.CSS(`.demo-links a.approve`)), chromedp.WaitVisible(chromedp.CSS("body.page-signin")))
	if got := browsertest.Text(t, ctx, ".dev-banner"); !strings.Contains(got, "Development sign-in.") {
		t.Errorf("the sign-in page is not marked: %q", got)
	}
	browsertest.CheckFits(t, ctx)
	browsertest.Shoot(t, ctx, "signin-dev-mobile-light")
	browsertest.Do(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`a.button`)), chromedp.WaitVisible(chromedp.CSS(`#f-email`)))
	browsertest.CheckFits(t, ctx)
	browsertest.Shoot(t, ctx, "signin-dev-page-mobile-light")
	browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
	browsertest.Shoot(t, ctx, "signin-dev-page-mobile-dark")
	browsertest.Do(t, ctx, "type", chromedp.SendKeys(chromedp.CSS(`#f-email`), "ana@example.com"), chromedp.SendKeys(chromedp.CSS(`#f-name`), "Ana"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("body.page-confirm")))
	if got := browsertest.Text(t, ctx, ".signed-in p"); !strings.Contains(got, "development sign-in") {
		t.Errorf("signed in as %q", got)
	}
	browsertest.Shoot(t, ctx, "confirm-dev-signed-in-mobile-dark")
}
