package home_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
)

// TestHomeBrowser drives the home page in Chromium, on a desktop's and a
// phone's width.
func TestHomeBrowser(t *testing.T) {
	browser := browsertest.New(t)
	srv := servicetest.Start(t, servicetest.Options{Version: "v1.2.3"})

	for _, mobile := range []bool{false, true} {
		name := map[bool]string{false: "home", true: "home-mobile"}[mobile]
		t.Run(name, func(t *testing.T) {
			ctx := browsertest.Tab(t, browser)
			if mobile {
				browsertest.Mobile(t, ctx)
			}
			browsertest.Do(t, ctx, "open", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("body.page-home")))
			if got := browsertest.Text(t, ctx, "h1"); got != "Callback URLs for AWS Step Functions" {
				t.Errorf("heading %q", got)
			}
			if got := browsertest.Evaluate[string](t, ctx, `document.querySelector("a.button").getAttribute("href")`); got != "/local/" {
				t.Errorf("dashboard link %q", got)
			}
			browsertest.CheckFits(t, ctx)
			browsertest.Shoot(t, ctx, name+"-light")
			browsertest.Do(t, ctx, "dark mode", browsertest.DarkMode(true))
			browsertest.Shoot(t, ctx, name+"-dark")
		})
	}
	// A browser's fetch asking for JSON gets the API's 404.
	if resp := srv.Do(t, http.MethodGet, "/", map[string]string{"Accept": "application/json", "User-Agent": servicetest.UAChrome}, ""); resp.Status != http.StatusNotFound {
		t.Errorf("JSON GET /: %d", resp.Status)
	}
}
