package signin

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// NewDev is the development sign-in (serve --dev-signin): a page of this
// service where one types an email address, for trying approvers on a
// laptop without an identity provider. Anyone can be anyone, so it runs on
// a loopback base URL only, and every page and approval says so (the
// identities' issuer is Base + DevPath).
func NewDev(cfg Config) (*Service, error) {
	u, err := url.Parse(cfg.Base)
	if err != nil || !config.IsLoopback(u.Hostname()) {
		return nil, errors.New("the development sign-in runs only on a loopback address (127.0.0.1, ::1, localhost): anyone can sign in as anyone with it")
	}
	f := &devFlow{}
	s, err := newService(cfg, f, "dev")
	if err != nil {
		return nil, err
	}
	f.svc = s
	return s, nil
}

type devFlow struct{ svc *Service }

// issuer is the development identities' issuer: this page.
func (f *devFlow) issuer() string { return f.svc.cfg.Base + DevPath }

func (f *devFlow) dev() bool { return true }

// start goes to the development sign-in page, with the state as a
// provider would get it.
func (f *devFlow) start(w http.ResponseWriter, r *http.Request, state, _, _ string) error {
	httpapi.NoStore(w)
	http.Redirect(w, r, f.svc.cfg.Base+DevPath+"?"+url.Values{"state": {state}}.Encode(), http.StatusSeeOther)
	return nil
}

func (f *devFlow) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != DevPath {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		state := r.URL.Query().Get("state")
		if state == "" {
			f.svc.fail(w, r, failed("the development sign-in starts from a link's sign-in button"), "")
			return true
		}
		f.page(w, r, http.StatusOK, state, "", "", "")
	case http.MethodPost:
		f.submit(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		f.svc.fail(w, r, httpapi.ErrMethodNotAllowed(r.Method, "GET, HEAD, POST"), "")
	}
	return true
}

func (f *devFlow) page(w http.ResponseWriter, r *http.Request, status int, state, email, name, alert string) {
	httpapi.NoStore(w)
	p := pages.Page{Template: pages.SignInTemplate, Kind: "signin", Tone: "warn", DocTitle: "Development sign-in",
		Heading: "Who are you?", Lead: "Type the email address to sign in as. The request's list of who may answer decides what you can do.",
		SignIn: &pages.SignInForm{Action: f.svc.cfg.Base + DevPath, Hidden: []pages.Hidden{{Name: "state", Value: state}},
			AskEmail: true, Email: email, Name: name, Button: "Sign in", Alert: alert, Dev: true}}
	f.svc.render(w, r, status, p)
}

func (f *devFlow) submit(w http.ResponseWriter, r *http.Request) {
	s := f.svc
	if err := s.crossOK.Check(r); err != nil {
		s.fail(w, r, failed("this form was sent from another site"), "")
		return
	}
	body, err := httpapi.ReadBody(w, r, 16<<10)
	if err != nil {
		s.fail(w, r, callbackurls.AsError(err), "")
		return
	}
	form, _ := url.ParseQuery(string(body))
	state, name := form.Get("state"), text.Truncate(form.Get("name"), MaxNameLength)
	email, err := callbackurls.ParseEmail(form.Get("email"))
	if err != nil {
		f.page(w, r, http.StatusBadRequest, state, form.Get("email"), name, "Type an email address, such as ana@example.com.")
		return
	}
	link, _, err := s.finish(w, r, state)
	if err != nil {
		s.fail(w, r, err, link)
		return
	}
	s.signIn(w, r, &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: f.issuer(), Subject: email, Email: email, Name: name}, link)
}
