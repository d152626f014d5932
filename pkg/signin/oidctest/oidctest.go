// Package oidctest runs a real OpenID Provider in-process for tests: the
// OP of github.com/zitadel/oidc (an OpenID Certified implementation) on
// loopback, with users the test defines, one confidential client, a login
// page to pick a user (by a browser or by LogIn over HTTP), and a way to
// replace the ID token its token endpoint returns with a forged one
// (wrong issuer, audience, alg none, expired, wrong nonce, another key).
//
// It is a test-only dependency: nothing outside tests imports it.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person the provider signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// The client the provider knows.
const (
	ClientID     = "sfn-callback-urls-test"
	ClientSecret = "test-client-secret"
)

// Provider is a running OpenID Provider.
type Provider struct {
	// Issuer is its issuer URL (http://127.0.0.1:port).
	Issuer string

	srv      *httptest.Server
	provider *op.Provider
	key      *rsa.PrivateKey
	keyID    string

	mu        sync.Mutex
	users     map[string]User // by email
	requests  map[string]*authRequest
	codes     map[string]string // code -> request id
	redirects []string
	forge     func(claims map[string]any) (string, bool)
	tokens    int
}

// New starts a provider with users; it stops when the test ends.
// redirectURIs are the client's registered redirect URIs.
func New(t testing.TB, redirectURIs []string, users ...User) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Issuer: "http://" + ln.Addr().String(), key: key, keyID: "op-key-1",
		users: map[string]User{}, requests: map[string]*authRequest{}, codes: map[string]string{}, redirects: redirectURIs}
	for _, u := range users {
		p.users[strings.ToLower(u.Email)] = u
	}
	cfg := &op.Config{CryptoKey: sha256.Sum256([]byte("oidctest")), CodeMethodS256: true, AuthMethodPost: true,
		SupportedUILocales: []language.Tag{language.English}}
	p.provider, err = op.NewProvider(cfg, &storage{p}, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(p.provider.IssuerFromRequest)
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", interceptor.HandlerFunc(p.login))
	mux.Handle("POST /oauth/token", http.HandlerFunc(p.token))
	mux.Handle("/", p.provider)
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// SetRedirectURIs replaces the client's registered redirect URIs.
func (p *Provider) SetRedirectURIs(uris ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects = uris
}

// Forge makes the token endpoint return, in place of the ID token it made,
// what f returns for that token's claims (ok false: the real one). Claims
// can be changed and signed again with Sign, or written unsigned. nil
// stops forging.
func (p *Provider) Forge(f func(claims map[string]any) (idToken string, ok bool)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forge = f
}

// Tokens is how many token requests succeeded.
func (p *Provider) Tokens() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// Sign signs claims as an ID token with the provider's key (RS256, its key
// id), or with key when not nil (another key, under the same key id).
func (p *Provider) Sign(claims map[string]any, key *rsa.PrivateKey) string {
	if key == nil {
		key = p.key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := signer.Sign(b)
	if err != nil {
		panic(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// Unsigned writes claims as a JWT with alg "none".
func Unsigned(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(b) + "."
}

// token serves the token endpoint, then forges its ID token if asked.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.provider.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	p.mu.Lock()
	forge := p.forge
	if rec.Code == http.StatusOK {
		p.tokens++
	}
	p.mu.Unlock()
	if forge != nil && rec.Code == http.StatusOK {
		var resp map[string]any
		if json.Unmarshal(body, &resp) == nil {
			if raw, ok := resp["id_token"].(string); ok {
				if claims, err := claimsOf(raw); err == nil {
					if forged, ok := forge(claims); ok {
						resp["id_token"] = forged
						body, _ = json.Marshal(resp)
					}
				}
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

func claimsOf(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(b, &claims)
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><h1>Test identity provider</h1>
<form method="post" action="/login"><input type="hidden" name="id" value="{{.}}">
<label for="username">Email</label> <input id="username" name="username" type="text">
<button id="login" type="submit">Sign in</button></form></body></html>`))

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginTemplate.Execute(w, r.URL.Query().Get("authRequestID"))
}

// login signs the user named by the form in and returns to the OP, which
// sends the browser to the client with a code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, email := r.FormValue("id"), strings.ToLower(r.FormValue("username"))
	p.mu.Lock()
	u, known := p.users[email]
	req := p.requests[id]
	if known && req != nil {
		req.subject, req.done, req.authTime = u.Subject, true, time.Now()
	}
	p.mu.Unlock()
	if !known || req == nil {
		http.Error(w, "no such user or request", http.StatusForbidden)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.provider)(r.Context(), id), http.StatusFound)
}

// LoginURL is the login page of an authorization request.
func (p *Provider) loginURL(id string) string { return p.Issuer + "/login?authRequestID=" + id }

type authRequest struct {
	id, clientID, redirectURI, state, nonce, subject string
	scopes                                           []string
	challenge                                        *oidc.CodeChallenge
	responseType                                     oidc.ResponseType
	responseMode                                     oidc.ResponseMode
	done                                             bool
	authTime                                         time.Time
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// storage is the OP's storage: the provider's maps.
type storage struct{ p *Provider }

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	a := &authRequest{id: randomID(), clientID: req.ClientID, redirectURI: req.RedirectURI, state: req.State, nonce: req.Nonce,
		scopes: req.Scopes, responseType: req.ResponseType, responseMode: req.ResponseMode}
	if req.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	p.requests[a.id] = a
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if a := s.p.requests[id]; a != nil {
		return a, nil
	}
	return nil, errors.New("no such request")
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.p.mu.Lock()
	id, ok := s.p.codes[code]
	s.p.mu.Unlock()
	if !ok {
		return nil, errors.New("invalid or used code")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.codes[code] = id
	return nil
}

// DeleteAuthRequest runs once the code is redeemed: a code works once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	delete(s.p.requests, id)
	for code, rid := range s.p.codes {
		if rid == id {
			delete(s.p.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return randomID(), time.Now().Add(5 * time.Minute), nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("no refresh tokens")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errors.New("no refresh tokens")
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{s.p}, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{s.p}}, nil }

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != ClientID {
		return nil, errors.New("no such client")
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return &client{p: s.p, redirects: append([]string(nil), s.p.redirects...)}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != ClientID || secret != ClientSecret {
		return errors.New("wrong client credentials")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the user's claims in the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.userinfo(info, req.GetSubject(), scopes)
}

func (s *storage) userinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	for _, u := range s.p.users {
		if u.Subject != subject {
			continue
		}
		info.Subject = u.Subject
		for _, sc := range scopes {
			switch sc {
			case oidc.ScopeEmail:
				info.Email, info.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
			case oidc.ScopeProfile:
				info.Name = u.Name
			}
		}
		return nil
	}
	return fmt.Errorf("no user %s", subject)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	return s.userinfo(info, subject, []string{oidc.ScopeEmail, oidc.ScopeProfile})
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("no introspection")
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("no client keys")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("no JWT profile")
}

func (s *storage) Health(context.Context) error { return nil }

type signingKey struct{ p *Provider }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.p.key }
func (k signingKey) ID() string                                  { return k.p.keyID }

type publicKey struct{ p *Provider }

func (k publicKey) ID() string                         { return k.p.keyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.p.key.PublicKey }

// client is the one confidential web client.
type client struct {
	p         *Provider
	redirects []string
}

func (c *client) GetID() string                       { return ClientID }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.p.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c *client) DevMode() bool                        { return true }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
