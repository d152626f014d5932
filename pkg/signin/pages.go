package signin

import (
	"log/slog"
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// fail answers a sign-in that did not complete with a page that says why,
// and, when the link is known, a way back to it. Nothing was decided: the
// task stays open. An outage is a 503; everything else a 4xx.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error, link string) {
	e := callbackurls.AsError(err)
	httpapi.NoteError(r, e, "")
	if e.Err != nil {
		// Why, for the operator: never a token, a code or a cookie.
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "sign-in failed", slog.String("error", e.Code), slog.String("cause", e.Err.Error()))
	}
	status := httpapi.Status(e)
	p := pages.Page{Template: pages.MessageTemplate, Kind: "error", Tone: "error", Icon: "alert",
		Heading: "Sign-in did not work", Lead: pages.Sentence(e.Message) + " Nothing was sent.",
		Details: []string{"Error code: " + e.Code}}
	switch {
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", httpapi.RetryAfterSeconds)
		p.Tone, p.Heading = "warn", "Sign-in is unavailable"
		p.Lead = "The sign-in service could not be reached just now, so nothing was sent. Please try again in a minute."
	case status >= 500:
		p.Lead = "Something went wrong on our side, so nothing was sent. Please try again later."
	}
	if link != "" {
		p.Back = &pages.Link{Label: "Back to the request", URL: s.linkURL(link)}
	}
	p.DocTitle = p.Heading
	s.render(w, r, status, p)
}

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, p pages.Page) {
	pages.Render(w, r, status, p)
}

func signedOutPage() pages.Page {
	return pages.Page{Template: pages.MessageTemplate, Kind: "result", Tone: "info", Icon: "info", DocTitle: "Signed out",
		Heading: "Signed out", Lead: "You are signed out of this service. Open the link from your message again to answer."}
}
