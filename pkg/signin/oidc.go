package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// Scopes asked of the identity provider.
var Scopes = []string{oidc.ScopeOpenID, "email", "profile"}

// MaxNameLength bounds the display name kept from the provider.
const MaxNameLength = 100

// OIDCConfig is an OpenID Connect sign-in's settings.
type OIDCConfig struct {
	Config
	// Issuer is the provider's issuer URL (OIDC_ISSUER): https, or http
	// on a loopback address only.
	Issuer       string
	ClientID     string
	ClientSecret string
	// ReadClientSecret, when ClientSecret is empty, reads it at the first
	// sign-in (a Secrets Manager secret: no call at start).
	ReadClientSecret func(context.Context) (string, error)
	// HTTPClient calls the provider: discovery, the token endpoint and its
	// keys (nil: one with a 10-second timeout).
	HTTPClient *http.Client
}

// NewOIDC is the OpenID Connect sign-in. It calls nothing: the provider's
// discovery document and keys are fetched at the first sign-in.
func NewOIDC(cfg OIDCConfig) (*Service, error) {
	if err := config.CheckIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" || (cfg.ClientSecret == "") == (cfg.ReadClientSecret == nil) {
		return nil, errors.New("OIDC sign-in needs a client id and a client secret (OIDC_CLIENT_ID, and OIDC_CLIENT_SECRET or OIDC_CLIENT_SECRET_ARN)")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	f := &oidcFlow{issuerURL: cfg.Issuer, clientID: cfg.ClientID, secret: cfg.ClientSecret, readSecret: cfg.ReadClientSecret, client: client}
	s, err := newService(cfg.Config, f, cfg.Issuer+"\n"+cfg.ClientID)
	if err != nil {
		return nil, err
	}
	f.svc = s
	return s, nil
}

type oidcFlow struct {
	svc                         *Service
	issuerURL, clientID, secret string
	readSecret                  func(context.Context) (string, error)
	client                      *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (f *oidcFlow) dev() bool { return false }

// discover reads the provider's discovery document once it succeeds; a
// failure is retried at the next sign-in.
func (f *oidcFlow) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oauth != nil {
		return f.oauth, f.verifier, nil
	}
	if f.secret == "" {
		secret, err := f.readSecret(ctx)
		if err != nil {
			return nil, nil, unavailable("OIDC client secret", err)
		}
		if secret == "" {
			e := callbackurls.Errorf(callbackurls.CodeServiceError, "the sign-in is misconfigured")
			e.Err = errors.New("OIDC client secret: the secret is empty")
			return nil, nil, e
		}
		f.secret = secret
	}
	ctx = oidc.ClientContext(ctx, f.client)
	p, err := oidc.NewProvider(ctx, f.issuerURL)
	if err != nil {
		return nil, nil, unavailable("OIDC discovery", err)
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, nil, unavailable("OIDC discovery", err)
	}
	ep := p.Endpoint()
	for _, u := range []string{ep.AuthURL, ep.TokenURL, doc.JWKS} {
		// The issuer's rule for every endpoint: a token or key fetched
		// over plain http from another machine could be anyone's.
		if err := config.CheckIssuer(u); err != nil {
			e := callbackurls.Errorf(callbackurls.CodeServiceError, "the identity provider's configuration cannot be used")
			e.Err = fmt.Errorf("OIDC discovery: endpoint %s: %w", u, err)
			return nil, nil, e
		}
	}
	f.oauth = &oauth2.Config{ClientID: f.clientID, ClientSecret: f.secret, Endpoint: ep,
		RedirectURL: f.svc.cfg.Base + CallbackPath, Scopes: Scopes}
	f.verifier = p.VerifierContext(ctx, &oidc.Config{ClientID: f.clientID, Now: f.svc.cfg.Now})
	return f.oauth, f.verifier, nil
}

func unavailable(what string, err error) error {
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError, "the identity provider cannot be reached")
	e.Err = fmt.Errorf("%s: %w: %w", what, callbackurls.ErrUnavailable, err)
	return e
}

// start sends the browser to the provider's authorization endpoint.
func (f *oidcFlow) start(w http.ResponseWriter, r *http.Request, state, nonce, verifier string) error {
	oc, _, err := f.discover(r.Context())
	if err != nil {
		return err
	}
	u := oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusSeeOther)
	return nil
}

func (f *oidcFlow) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != CallbackPath {
		return false
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		f.svc.fail(w, r, callbackurls.Errorf(callbackurls.CodeMethodNotAllowed, "the sign-in comes back with a GET"), "")
		return true
	}
	f.callback(w, r)
	return true
}

// callback completes a sign-in: the state names this browser's flow, the
// code is exchanged with its PKCE verifier, the ID token verifies (issuer,
// audience, expiry, signature by the provider's keys) and carries the
// flow's nonce, and the email is verified.
func (f *oidcFlow) callback(w http.ResponseWriter, r *http.Request) {
	s := f.svc
	q := r.URL.Query()
	if q.Get("state") == "" {
		s.fail(w, r, failed("the sign-in came back without its state: start again from the link"), "")
		return
	}
	link, sec, err := s.finish(w, r, q.Get("state"))
	if err != nil {
		s.fail(w, r, err, link)
		return
	}
	if code := q.Get("error"); code != "" {
		s.fail(w, r, failed("the identity provider did not sign you in ("+providerCode(code)+")"), link)
		return
	}
	if q.Get("code") == "" {
		s.fail(w, r, failed("the identity provider sent no authorization code"), link)
		return
	}
	oc, verifier, err := f.discover(r.Context())
	if err != nil {
		s.fail(w, r, err, link)
		return
	}
	ctx := oidc.ClientContext(r.Context(), f.client)
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(sec.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			e := failed("the identity provider did not accept this sign-in (" + providerCode(re.ErrorCode) + "): start again from the link")
			e.Err = err
			s.fail(w, r, e, link)
			return
		}
		s.fail(w, r, unavailable("OIDC token endpoint", err), link)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.fail(w, r, failed("the identity provider sent no ID token"), link)
		return
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		e := failed("the identity provider's answer could not be verified")
		e.Err = err
		s.fail(w, r, e, link)
		return
	}
	if idt.Nonce != sec.Nonce {
		s.fail(w, r, failed("the identity provider's answer is not for this sign-in"), link)
		return
	}
	id, err := identityOf(idt)
	if err != nil {
		s.fail(w, r, err, link)
		return
	}
	s.signIn(w, r, id, link)
}

// identityOf reads who the ID token names. Its email counts only when the
// provider says it verified it: email_verified true (a string "true" as
// some providers write it), or Microsoft Entra ID's xms_edov (the email's
// domain is verified by its owner), since Entra ID sends no
// email_verified.
func identityOf(idt *oidc.IDToken) (*callbackurls.Identity, error) {
	var c struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		EDOV          any    `json:"xms_edov"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&c); err != nil {
		return nil, failed("the identity provider's answer is damaged")
	}
	if c.Email == "" {
		return nil, failed("the identity provider did not say your email address (the email claim): ask its administrator to release it to this service")
	}
	if !isTrue(c.EmailVerified) && !isTrue(c.EDOV) {
		return nil, failed("the identity provider has not verified your email address, so it cannot show here who you are")
	}
	if len(c.Email) > callbackurls.MaxEmailLength || !utf8.ValidString(c.Email) {
		return nil, failed("the identity provider's email address is longer than an address can be")
	}
	name := c.Name
	if !utf8.ValidString(name) {
		name = ""
	}
	return &callbackurls.Identity{Via: callbackurls.ViaWeb, Issuer: idt.Issuer, Subject: idt.Subject,
		Email: strings.ToLower(c.Email), Name: text.Truncate(name, MaxNameLength)}, nil
}

func isTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// providerCode is an OAuth error code as a page may show it: the
// provider's own short code, never its free text.
func providerCode(code string) string {
	if code == "" || len(code) > 64 || strings.IndexFunc(code, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z') }) >= 0 {
		return "an error"
	}
	return code
}
