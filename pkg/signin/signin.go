// Package signin signs people in on the callback pages, so that a URL that
// names approvers can be used only by them: OpenID Connect with the
// deployment's identity provider (the authorization code flow with PKCE
// and a nonce, github.com/coreos/go-oidc and golang.org/x/oauth2), or, on
// a laptop, a development sign-in where one types an address.
//
// Nothing is stored on the server. The flow's state travels sealed with
// the deployment's payload keys (package payload's sealed values): the
// link to come back to in the state parameter, the PKCE verifier and the
// nonce in a cookie that binds the flow to the browser that started it.
// The person signed in is then held in a short-lived (10 minutes)
// encrypted cookie, bound to this deployment's base URL, issuer and client:
// __Host-, Secure, HttpOnly, SameSite=Lax. The core decides what the
// identity may do (callbackurls.Payload.Authorize); this package only
// establishes it.
//
// Routes, under the deployment's base URL:
//
//	GET  /oidc/start?link=QUERY  sign in, then come back to /respond?QUERY
//	GET  /oidc/callback          the identity provider's redirect
//	GET  /oidc/dev, POST /oidc/dev  the development sign-in's page
//	POST /oidc/signout           forget the person; back to the link
//
// The sign-in is started by a link (a GET that only redirects to the
// provider) and never acts: acting is the confirmation page's POST.
package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// Paths under the base URL.
const (
	Prefix       = "/oidc/"
	StartPath    = "/oidc/start"
	CallbackPath = "/oidc/callback"
	DevPath      = "/oidc/dev"
	SignOutPath  = "/oidc/signout"
)

// Lifetimes. A sign-in is for the decision at hand, not a session.
const (
	// IdentityLifetime is how long a sign-in lasts.
	IdentityLifetime = 10 * time.Minute
	// FlowLifetime is how long a started sign-in may take to come back.
	FlowLifetime = 10 * time.Minute
)

// Cookie names. __Host-: only this host sets or reads them, over HTTPS
// (browsers treat http://localhost and loopback addresses as secure), with
// Path=/ and no Domain.
const (
	identityCookie = "__Host-sfncb-id"
	flowCookie     = "__Host-sfncb-flow-" // + the first 8 characters of the flow id
)

// MaxLinkLength bounds the link a sign-in comes back to: a callback URL's
// query.
const MaxLinkLength = callbackurls.MaxDataLength + 2048

// Config is what both kinds of sign-in are built from.
type Config struct {
	// Base is the deployment's base URL (BASE_URL, or its API Gateway
	// stage): the redirect URI is Base + CallbackPath, the link comes
	// back to Base + "/respond", and cookies are bound to it.
	Base string
	// Keys seal the flow and the cookies: the payload keys. Sign-in needs
	// encryption (an unencrypted URL can be rewritten without approvers).
	Keys payload.KeySource
	// Logger receives why a sign-in failed (never a token or a code).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service signs people in: an http.Handler for the routes under Prefix,
// and what the callback pages ask (Identity, SignInURL, SignOutURL, Dev).
type Service struct {
	cfg     Config
	binding string // what cookies and flows are bound to
	flow    flow   // the OpenID Connect flow, or the development one
	crossOK *http.CrossOriginProtection
}

// flow is the part that differs between the real and the development
// sign-in.
type flow interface {
	// start sends the browser to sign in, with the sealed state and the
	// flow's nonce and PKCE verifier.
	start(w http.ResponseWriter, r *http.Request, state, nonce, verifier string) error
	// serve serves the flow's own paths (the callback, the dev page) and
	// reports whether r was one.
	serve(w http.ResponseWriter, r *http.Request) bool
	dev() bool
}

func newService(cfg Config, f flow, bindingExtra string) (*Service, error) {
	if cfg.Keys == nil {
		return nil, errors.New("sign-in needs encryption: with DISABLE_ENCRYPTION anyone can rewrite a URL without its approvers")
	}
	base, err := callbackurls.CheckBaseURL(cfg.Base)
	if err != nil {
		return nil, fmt.Errorf("sign-in: base URL %q: %w", cfg.Base, err)
	}
	if u, _ := url.Parse(base); u.Scheme != "https" && !config.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("sign-in: base URL %s: sign-in cookies need https (plain http only on a loopback address)", base)
	}
	cfg.Base = base
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, binding: base + "\n" + bindingExtra, flow: f, crossOK: http.NewCrossOriginProtection()}, nil
}

// Dev reports the development sign-in.
func (s *Service) Dev() bool { return s.flow.dev() }

// Base is the deployment's base URL the sign-in works on.
func (s *Service) Base() string { return s.cfg.Base }

// SignInURL is where a person goes to sign in and come back to the
// callback URL whose query is link.
func (s *Service) SignInURL(link string) string {
	return s.cfg.Base + StartPath + "?" + url.Values{"link": {link}}.Encode()
}

// SignOutURL is where the sign-out form posts.
func (s *Service) SignOutURL() string { return s.cfg.Base + SignOutPath }

// ServeHTTP serves the routes under Prefix.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case StartPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpapi.Fail(w, r, httpapi.ErrMethodNotAllowed(r.Method, "GET, HEAD"), "")
			return
		}
		s.serveStart(w, r)
	case SignOutPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			httpapi.Fail(w, r, httpapi.ErrMethodNotAllowed(r.Method, "POST"), "")
			return
		}
		s.serveSignOut(w, r)
	default:
		if !s.flow.serve(w, r) {
			httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound, "no such endpoint"), "")
		}
	}
}

// flowState is the state parameter's content: which flow, where to come
// back to, until when.
type flowState struct {
	ID      string `json:"id"`
	Link    string `json:"link"`
	Expires int64  `json:"exp"`
}

// flowSecrets is the flow cookie's content: what only the browser that
// started the flow has.
type flowSecrets struct {
	ID       string `json:"id"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Expires  int64  `json:"exp"`
}

// identityClaims is the identity cookie's content.
type identityClaims struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email"`
	Name    string `json:"name,omitempty"`
	Expires int64  `json:"exp"`
}

// Purposes of sealed values.
const (
	purposeState    = "signin-state"
	purposeFlow     = "signin-flow"
	purposeIdentity = "signin-identity"
)

// serveStart begins a sign-in: it checks the link, seals the state, sets
// the flow cookie and sends the browser to the identity provider.
func (s *Service) serveStart(w http.ResponseWriter, r *http.Request) {
	link, err := checkLink(r.URL.Query().Get("link"))
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	id, nonce, verifier := random(16), random(24), random(32)
	exp := s.cfg.Now().Add(FlowLifetime).Unix()
	state, err := s.seal(r.Context(), purposeState, flowState{ID: id, Link: link, Expires: exp})
	if err == nil {
		var secrets string
		if secrets, err = s.seal(r.Context(), purposeFlow, flowSecrets{ID: id, Nonce: nonce, Verifier: verifier, Expires: exp}); err == nil {
			http.SetCookie(w, s.cookie(flowCookie+id[:8], secrets, FlowLifetime))
			err = s.flow.start(w, r, state, nonce, verifier)
		}
	}
	if err != nil {
		s.fail(w, r, err, link)
	}
}

// checkLink takes a callback URL's query, as a sign-in comes back to it.
// Only the query travels: the way back is always this deployment's
// /respond, so the state cannot redirect anywhere else.
func checkLink(link string) (string, error) {
	if link == "" || len(link) > MaxLinkLength {
		return "", failed("the sign-in link is incomplete: open the link from your message again")
	}
	q, err := url.ParseQuery(link)
	if err != nil || len(q[callbackurls.QueryData]) != 1 || q.Get(callbackurls.QueryData) == "" {
		return "", failed("the sign-in link is damaged: open the link from your message again")
	}
	return q.Encode(), nil
}

// linkURL is the callback URL a sign-in comes back to.
func (s *Service) linkURL(link string) string {
	return s.cfg.Base + callbackurls.CallbackPath + "?" + link
}

// finish opens a flow that came back (the provider's callback, or the
// development page's POST): the state must open, name the flow whose
// cookie this browser holds, and not be too old. It returns the flow's
// link and secrets, and clears the flow cookie (a flow completes once).
func (s *Service) finish(w http.ResponseWriter, r *http.Request, rawState string) (string, *flowSecrets, error) {
	var st flowState
	if err := s.open(r.Context(), purposeState, rawState, &st); err != nil {
		return "", nil, err
	}
	if len(st.ID) < 8 {
		return "", nil, failed("the sign-in's state is damaged")
	}
	now := s.cfg.Now().Unix()
	if now > st.Expires {
		return st.Link, nil, failed("the sign-in took too long: start again")
	}
	name := flowCookie + st.ID[:8]
	c, err := r.Cookie(name)
	if err != nil {
		return st.Link, nil, failed("this sign-in was not started in this browser, or was completed already: start again from the link")
	}
	http.SetCookie(w, s.cookie(name, "", -1))
	var sec flowSecrets
	if err := s.open(r.Context(), purposeFlow, c.Value, &sec); err != nil {
		return st.Link, nil, err
	}
	if sec.ID != st.ID || now > sec.Expires {
		return st.Link, nil, failed("this sign-in does not belong to the one started in this browser: start again from the link")
	}
	return st.Link, &sec, nil
}

// signIn sets the identity cookie and goes back to the link.
func (s *Service) signIn(w http.ResponseWriter, r *http.Request, id *callbackurls.Identity, link string) {
	v, err := s.seal(r.Context(), purposeIdentity, identityClaims{Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, Name: id.Name,
		Expires: s.cfg.Now().Add(IdentityLifetime).Unix()})
	if err != nil {
		s.fail(w, r, err, link)
		return
	}
	http.SetCookie(w, s.cookie(identityCookie, v, IdentityLifetime))
	httpapi.NoStore(w)
	http.Redirect(w, r, s.linkURL(link), http.StatusSeeOther)
}

// Identity is the person signed in on r, or nil. A cookie that does not
// open (expired, altered, another deployment's) or a form sent from
// another site gives nil and a SignInRequired error that says so; the
// caller treats the person as not signed in.
func (s *Service) Identity(r *http.Request) (*callbackurls.Identity, error) {
	c, err := r.Cookie(identityCookie)
	if err != nil {
		return nil, nil
	}
	if err := s.crossOK.Check(r); err != nil {
		return nil, callbackurls.Errorf(callbackurls.CodeSignInRequired, "this form was sent from another site: open the link and confirm here")
	}
	var ic identityClaims
	if err := s.open(r.Context(), purposeIdentity, c.Value, &ic); err != nil {
		var e *callbackurls.Error
		if errors.As(err, &e) && e.Kind == callbackurls.Unavailable {
			return nil, err
		}
		return nil, callbackurls.Errorf(callbackurls.CodeSignInRequired, "your sign-in is not valid for this service: sign in again")
	}
	if s.cfg.Now().Unix() > ic.Expires {
		return nil, callbackurls.Errorf(callbackurls.CodeSignInRequired, "your sign-in has expired: sign in again")
	}
	return &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: ic.Issuer, Subject: ic.Subject, Email: ic.Email, Name: ic.Name}, nil
}

// serveSignOut forgets the person and goes back to the link. It signs out
// of this service only, not of the identity provider.
func (s *Service) serveSignOut(w http.ResponseWriter, r *http.Request) {
	if err := s.crossOK.Check(r); err != nil {
		s.fail(w, r, failed("this form was sent from another site"), "")
		return
	}
	body, err := httpapi.ReadBody(w, r, MaxLinkLength+64)
	if err != nil {
		s.fail(w, r, callbackurls.AsError(err), "")
		return
	}
	form, _ := url.ParseQuery(string(body))
	http.SetCookie(w, s.cookie(identityCookie, "", -1))
	link, err := checkLink(form.Get("link"))
	if err != nil {
		httpapi.NoStore(w)
		s.render(w, r, http.StatusOK, signedOutPage())
		return
	}
	httpapi.NoStore(w)
	http.Redirect(w, r, s.linkURL(link), http.StatusSeeOther)
}

// cookie is one of ours: __Host-, HttpOnly, SameSite=Lax; maxAge < 0
// deletes it.
func (s *Service) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

func (s *Service) seal(ctx context.Context, purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return payload.Seal(ctx, s.cfg.Keys, purpose, s.binding, b)
}

// open opens a sealed value; anything but an outage of the keys is the
// sign-in's failure.
func (s *Service) open(ctx context.Context, purpose, sealed string, v any) error {
	b, err := payload.Open(ctx, s.cfg.Keys, purpose, s.binding, sealed)
	if err != nil {
		var e *callbackurls.Error
		if errors.As(err, &e) && e.Kind == callbackurls.Unavailable {
			return err
		}
		return failed("the sign-in's state was altered, is too old, or is for another service: start again from the link")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return failed("the sign-in's state is damaged")
	}
	return nil
}

func failed(msg string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeSignInFailed, "%s", msg)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
