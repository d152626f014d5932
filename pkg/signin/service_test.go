package signin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin/oidctest"
)

// These run the whole local server (localserver.New, what serve builds)
// with OpenID Connect sign-in against a real OpenID Provider in-process
// (pkg/signin/oidctest), over HTTP with a cookie jar as a browser keeps
// cookies: who may decide, forged ID tokens, tampered and replayed state,
// foreign cookies and cross-site forms. Every refusal is a 4xx page and
// leaves the task open. signin_browser_test.go drives the same in
// Chromium.

// The people of the provider.
var (
	ana   = oidctest.User{Subject: "u-ana", Email: "ana@example.com", EmailVerified: true, Name: "Ana Lima"}
	bo    = oidctest.User{Subject: "u-bo", Email: "Bo@Example.com", EmailVerified: true, Name: "Bo Chen"}
	eve   = oidctest.User{Subject: "u-eve", Email: "eve@example.com", EmailVerified: true, Name: "Eve"}
	cy    = oidctest.User{Subject: "u-cy", Email: "cy@ops.example.com", EmailVerified: true, Name: "Cy Ops"}
	unver = oidctest.User{Subject: "u-unverified", Email: "ana@ops.example.com", EmailVerified: false, Name: "Not Verified"}
)

// signinEnv is a deployment with sign-in (servicetest: what serve
// builds, on the local task store) and its provider.
type signinEnv struct {
	op   *oidctest.Provider
	svc  *servicetest.Service
	ring *keyring.Keyring
	// URL is the deployment's base URL.
	URL string
}

func newSignInEnv(t testing.TB) *signinEnv { return newSignInEnvWith(t, nil) }

// newSignInEnvWith is a deployment on ring (nil: a new keyring, with a
// signing key).
func newSignInEnvWith(t testing.TB, ring *keyring.Keyring) *signinEnv {
	t.Helper()
	e := &signinEnv{ring: ring}
	if e.ring == nil {
		var err error
		if e.ring, err = keyring.Generate(); err != nil {
			t.Fatal(err)
		}
	}
	e.op = oidctest.New(t, nil, ana, bo, eve, cy, unver)
	e.svc = servicetest.Start(t, servicetest.Options{Keys: e.ring, Settings: config.Config{
		SignIn: config.SignIn{OIDCIssuer: e.op.Issuer, OIDCClientID: oidctest.ClientID, OIDCClientSecret: oidctest.ClientSecret}}})
	e.URL = e.svc.URL
	e.op.SetRedirectURIs(e.URL + "/oidc/callback")
	// The provider's tokens are of this moment: so is the service's clock.
	e.svc.Clock.Set(time.Now())
	return e
}

// approvalRequest names who may decide on a new task, and returns the
// task's token and URLs.
func (e *signinEnv) approvalRequest(t testing.TB, extra map[string]any) (string, map[string]string) {
	t.Helper()
	req := map[string]any{
		"title":     "Release 2.4 to production",
		"approvers": []string{"ana@example.com", "bo@example.com", "@ops.example.com"}, "requester": "bo@example.com",
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"release": "2.4"}, "label": "Approve release"},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected by the approver", "label": "Reject",
				"input": map[string]any{"type": "object", "properties": map[string]any{"why": map[string]any{"type": "string", "title": "Why"}}}},
		},
	}
	for k, v := range extra {
		req[k] = v
	}
	return e.svc.NewURLs(t, req)
}

func (e *signinEnv) task(t testing.TB, token string) servicetest.Task {
	t.Helper()
	return e.svc.Task(t, token)
}

// browserLike is an HTTP client that keeps cookies and follows redirects,
// as a browser does, asking for pages.
type browserLike struct {
	t      testing.TB
	client *http.Client
}

func newBrowserLike(t testing.TB) *browserLike {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browserLike{t: t, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	status int
	url    string
	body   string
}

func (b *browserLike) do(method, u string, form url.Values, header map[string]string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("User-Agent", "Mozilla/5.0 (test)")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// A form of the page's own origin, as a browser sends it.
		if p, err := url.Parse(u); err == nil {
			req.Header.Set("Origin", p.Scheme+"://"+p.Host)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(data)}
}

var (
	hrefPattern   = regexp.MustCompile(`<a class="button" href="([^"]+)">Sign in`)
	authReqID     = regexp.MustCompile(`name="id" value="([^"]+)"`)
	headingPatten = regexp.MustCompile(`<h1>([^<]*)</h1>`)
)

func heading(p page) string {
	if m := headingPatten.FindStringSubmatch(p.body); m != nil {
		return htmlText(m[1])
	}
	return ""
}

func htmlText(s string) string {
	return strings.NewReplacer("&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`).Replace(s)
}

// signIn opens link, follows its sign-in button to the provider, signs in
// there as email and comes back: the page it lands on.
func (b *browserLike) signIn(link, email string) page {
	b.t.Helper()
	p := b.do(http.MethodGet, link, nil, nil)
	m := hrefPattern.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no sign-in button:\n%s", link, p.status, p.body)
	}
	login := b.do(http.MethodGet, htmlText(m[1]), nil, nil)
	id := authReqID.FindStringSubmatch(login.body)
	if login.status != http.StatusOK || id == nil {
		b.t.Fatalf("the provider's login page: %d %s\n%s", login.status, login.url, login.body)
	}
	u, _ := url.Parse(login.url)
	return b.do(http.MethodPost, u.Scheme+"://"+u.Host+"/login", url.Values{"id": {id[1]}, "username": {email}}, nil)
}

// decide posts the confirmation page's form of link.
func (b *browserLike) decide(link string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.do(http.MethodPost, link, form, nil)
}

func wantPage(t testing.TB, p page, status int, heading_, text string) {
	t.Helper()
	if p.status != status || heading(p) != heading_ || !strings.Contains(p.body, text) {
		t.Fatalf("page %d %q at %s, want %d %q with %q:\n%s", p.status, heading(p), p.url, status, heading_, text, p.body)
	}
}

func TestSignInApprovers(t *testing.T) {
	e := newSignInEnv(t)

	t.Run("an approver decides, with a receipt", func(t *testing.T) {
		token, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		start := time.Now()
		confirm := b.signIn(urls["approve"], ana.Email)
		wantPage(t, confirm, http.StatusOK, "Release 2.4 to production", "Signed in as <strong>Ana Lima</strong>")
		if !strings.HasPrefix(confirm.url, urls["approve"][:strings.Index(urls["approve"], "?")]) {
			t.Errorf("the sign-in came back to %s", confirm.url)
		}
		if task := e.task(t, token); task.Status != "open" {
			t.Fatalf("signing in changed the task: %+v", task)
		}
		result := b.decide(urls["approve"], nil)
		t.Logf("link to decision over HTTP: %v", time.Since(start))
		wantPage(t, result, http.StatusOK, "Approved", "Decided by <strong>Ana Lima (ana@example.com)</strong>")
		task := e.task(t, token)
		var out struct {
			Release  string `json:"release"`
			Approval struct {
				By      map[string]string `json:"by"`
				Via, At string
				Receipt string `json:"receipt"`
			} `json:"approval"`
		}
		if err := json.Unmarshal([]byte(task.Output), &out); err != nil || task.Status != "succeeded" {
			t.Fatalf("task %+v: %v", task, err)
		}
		if out.Release != "2.4" || out.Approval.By["email"] != "ana@example.com" || out.Approval.By["sub"] != ana.Subject ||
			out.Approval.By["iss"] != e.op.Issuer || out.Approval.Via != "web" || out.Approval.Receipt == "" {
			t.Errorf("output %s", task.Output)
		}
		if !strings.Contains(result.body, out.Approval.Receipt) {
			t.Error("the result page does not show the receipt")
		}
		// The receipt verifies with the deployment's published keys.
		resp, err := http.Get(e.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		set, err := receipts.ParseJWKS(doc)
		if err != nil || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
			t.Fatalf("JWKS %s (%s): %v", doc, resp.Header.Get("Content-Type"), err)
		}
		claims, _, err := receipts.Verify(out.Approval.Receipt, set)
		if err != nil {
			t.Fatal(err)
		}
		if claims.Issuer != e.URL || claims.By == nil || claims.By.Email != "ana@example.com" || claims.Action != "approve" ||
			claims.RefField != "token" || claims.RefSHA256 == "" || strings.Contains(out.Approval.Receipt, token) {
			t.Errorf("claims %+v", claims)
		}
		t.Logf("receipt: %d characters", len(out.Approval.Receipt))
		// Signed in once, a second click is the task's answer, not a
		// sign-in again.
		again := b.decide(urls["approve"], nil)
		wantPage(t, again, http.StatusBadRequest, "This request was already answered", "already recorded")
	})

	t.Run("a domain entry, and the cause as JSON", func(t *testing.T) {
		token, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		wantPage(t, b.signIn(urls["reject"], cy.Email), http.StatusOK, "Release 2.4 to production", "Signed in as <strong>Cy Ops</strong>")
		wantPage(t, b.decide(urls["reject"], url.Values{"why": {"not on a Friday"}}), http.StatusOK, "Rejected", "Cy Ops (cy@ops.example.com)")
		task := e.task(t, token)
		var cause struct {
			Cause    string            `json:"cause"`
			Input    map[string]string `json:"input"`
			Approval map[string]any    `json:"approval"`
		}
		if err := json.Unmarshal([]byte(task.Cause), &cause); err != nil || cause.Cause != "Rejected by the approver" ||
			cause.Input["why"] != "not on a Friday" || cause.Approval["receipt"] == nil {
			t.Errorf("cause %s (%v)", task.Cause, err)
		}
	})

	for _, tt := range []struct {
		name    string
		user    oidctest.User
		status  int
		heading string
		text    string
		signed  bool // the sign-in itself succeeded
	}{
		{"someone outside the list", eve, http.StatusForbidden, "This request is for someone else", "Signed in as <strong>Eve</strong>", true},
		{"the requester", bo, http.StatusForbidden, "You asked for this, so someone else must decide", "Signed in as <strong>Bo Chen</strong>", true},
		{"an unverified email", unver, http.StatusBadRequest, "Sign-in did not work", "has not verified your email address", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.approvalRequest(t, nil)
			b := newBrowserLike(t)
			p := b.signIn(urls["approve"], tt.user.Email)
			wantPage(t, p, tt.status, tt.heading, tt.text)
			for _, secret := range []string{"ana@example.com", "@ops.example.com", token} {
				if strings.Contains(p.body, secret) {
					t.Errorf("the page names %q", secret)
				}
			}
			if tt.signed {
				// Its POST is refused the same way.
				wantPage(t, b.decide(urls["approve"], nil), tt.status, tt.heading, "Nothing was sent")
			}
			if task := e.task(t, token); task.Status != "open" {
				t.Errorf("task %+v", task)
			}
		})
	}

	t.Run("sign out", func(t *testing.T) {
		_, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		b.signIn(urls["approve"], eve.Email)
		q, _ := url.Parse(urls["approve"])
		p := b.do(http.MethodPost, e.URL+"/oidc/signout", url.Values{"link": {q.RawQuery}}, nil)
		wantPage(t, p, http.StatusOK, "Sign in to answer", "Sign in to continue")
	})
}

// TestSignInRefusals: forged ID tokens, tampered, replayed and foreign
// state, open redirects, foreign cookies and cross-site forms. Each is a
// clear 4xx page, never a 5xx, and the task stays open.
func TestSignInRefusals(t *testing.T) {
	e := newSignInEnv(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// Each forgery, and why go-oidc or this service refuses it (in the
	// page, or in the log line for the operator).
	forged := []struct {
		name  string
		forge func(c map[string]any) string
		why   string
	}{
		{"wrong issuer", func(c map[string]any) string { c["iss"] = "http://127.0.0.1:1/evil"; return e.op.Sign(c, nil) }, "issued by a different provider"},
		{"wrong audience", func(c map[string]any) string { c["aud"] = []string{"another-client"}; return e.op.Sign(c, nil) }, "expected audience"},
		{"alg none", func(c map[string]any) string { return oidctest.Unsigned(c) }, "malformed jwt"},
		{"expired", func(c map[string]any) string {
			c["exp"], c["iat"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix()
			return e.op.Sign(c, nil)
		}, "token is expired"},
		{"wrong nonce", func(c map[string]any) string { c["nonce"] = "another-nonce"; return e.op.Sign(c, nil) }, "is not for this sign-in"},
		{"another key", func(c map[string]any) string { return e.op.Sign(c, otherKey) }, "failed to verify signature"},
		{"an unverified email", func(c map[string]any) string {
			c["email"], c["email_verified"] = "ana@example.com", false
			return e.op.Sign(c, nil)
		}, "has not verified your email"},
	}
	for _, f := range forged {
		t.Run("forged ID token: "+f.name, func(t *testing.T) {
			token, urls := e.approvalRequest(t, nil)
			e.op.Forge(func(c map[string]any) (string, bool) { return f.forge(c), true })
			t.Cleanup(func() { e.op.Forge(nil) })
			b := newBrowserLike(t)
			e.svc.Logs.Reset()
			p := b.signIn(urls["approve"], ana.Email)
			wantPage(t, p, http.StatusBadRequest, "Sign-in did not work", "SignInFailed")
			if !strings.Contains(p.body+e.svc.Logs.String(), f.why) {
				t.Errorf("refused for another reason than %q:\n%s\n%s", f.why, p.body, e.svc.Logs.String())
			}
			// Nobody is signed in: the link asks again.
			wantPage(t, b.do(http.MethodGet, urls["approve"], nil, nil), http.StatusOK, "Sign in to answer", "Sign in to continue")
			wantPage(t, b.decide(urls["approve"], nil), http.StatusForbidden, "Sign in to answer", "Nothing was sent")
			if task := e.task(t, token); task.Status != "open" {
				t.Errorf("task %+v", task)
			}
		})
	}

	// start begins a sign-in for link and returns the provider's redirect
	// to our callback, without following it.
	start := func(t *testing.T, b *browserLike, link string) *url.URL {
		t.Helper()
		q, _ := url.Parse(link)
		login := b.do(http.MethodGet, e.URL+"/oidc/start?"+url.Values{"link": {q.RawQuery}}.Encode(), nil, nil)
		id := authReqID.FindStringSubmatch(login.body)
		if id == nil {
			t.Fatalf("no login page: %s", login.body)
		}
		client := *b.client
		client.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), e.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := client.PostForm(e.op.Issuer+"/login", url.Values{"id": {id[1]}, "username": {ana.Email}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(cb.String(), e.URL+"/oidc/callback?") {
			t.Fatalf("the provider redirected to %q", resp.Header.Get("Location"))
		}
		return cb
	}
	withState := func(u *url.URL, state string) string {
		q := u.Query()
		q.Set("state", state)
		c := *u
		c.RawQuery = q.Encode()
		return c.String()
	}

	t.Run("state tampered", func(t *testing.T) {
		token, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		cb := start(t, b, urls["approve"])
		state := []byte(cb.Query().Get("state"))
		state[len(state)/2] ^= 'A' ^ 'B'
		wantPage(t, b.do(http.MethodGet, withState(cb, string(state)), nil, nil), http.StatusBadRequest, "Sign-in did not work", "altered")
		if task := e.task(t, token); task.Status != "open" {
			t.Errorf("task %+v", task)
		}
	})
	t.Run("state replayed", func(t *testing.T) {
		_, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		cb := start(t, b, urls["approve"])
		wantPage(t, b.do(http.MethodGet, cb.String(), nil, nil), http.StatusOK, "Release 2.4 to production", "Signed in as")
		// The same callback again: the flow completed, its cookie is gone.
		wantPage(t, b.do(http.MethodGet, cb.String(), nil, nil), http.StatusBadRequest, "Sign-in did not work", "completed already")
		// And in another browser, which never started it.
		wantPage(t, newBrowserLike(t).do(http.MethodGet, cb.String(), nil, nil), http.StatusBadRequest, "Sign-in did not work", "not started in this browser")
	})
	t.Run("another flow's state", func(t *testing.T) {
		_, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		first := start(t, b, urls["approve"])
		second := start(t, b, urls["reject"])
		// The second flow's code with the first one's state: the first
		// flow's secrets (verifier, nonce) do not fit the code.
		p := b.do(http.MethodGet, withState(second, first.Query().Get("state")), nil, nil)
		wantPage(t, p, http.StatusBadRequest, "Sign-in did not work", "SignInFailed")
	})
	t.Run("open redirect through the link", func(t *testing.T) {
		b := newBrowserLike(t)
		for _, link := range []string{"https://evil.example/x", "//evil.example/", "next=https://evil.example", ""} {
			p := b.do(http.MethodGet, e.URL+"/oidc/start?"+url.Values{"link": {link}}.Encode(), nil, nil)
			wantPage(t, p, http.StatusBadRequest, "Sign-in did not work", "link")
		}
		// A link's extra parameters stay a query of this deployment's
		// /respond: the way back never leaves it.
		_, urls := e.approvalRequest(t, nil)
		tampered := urls["approve"] + "&next=https://evil.example/&url=//evil.example"
		cb := start(t, b, tampered)
		client := *b.client
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, e.URL+"/respond?") {
			t.Errorf("the callback redirected (%d) to %q", resp.StatusCode, loc)
		}
	})
	t.Run("a cookie from another deployment", func(t *testing.T) {
		// Other deployments, each with its provider: one with its own
		// keys, one with the very same keyring (another stage, say).
		for name, other := range map[string]*signinEnv{"own keys": newSignInEnv(t), "same keys": newSignInEnvWith(t, e.ring)} {
			_, otherURLs := other.approvalRequest(t, nil)
			ob := newBrowserLike(t)
			wantPage(t, ob.signIn(otherURLs["approve"], ana.Email), http.StatusOK, "Release 2.4 to production", "Signed in as")
			foreign := cookie(t, ob, other.URL, "__Host-sfncb-id")

			token, urls := e.approvalRequest(t, nil)
			b := newBrowserLike(t)
			u, _ := url.Parse(e.URL)
			b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-sfncb-id", Value: foreign, Path: "/", Secure: true}})
			if got := cookie(t, b, e.URL, "__Host-sfncb-id"); got != foreign {
				t.Fatalf("%s: the jar does not send the cookie", name)
			}
			wantPage(t, b.do(http.MethodGet, urls["approve"], nil, nil), http.StatusOK, "Sign in to answer", "not valid for this service")
			wantPage(t, b.decide(urls["approve"], nil), http.StatusForbidden, "Sign in to answer", "not valid for this service")
			if task := e.task(t, token); task.Status != "open" {
				t.Errorf("%s: task %+v", name, task)
			}
		}
	})
	t.Run("a sign-in older than ten minutes", func(t *testing.T) {
		token, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		wantPage(t, b.signIn(urls["approve"], ana.Email), http.StatusOK, "Release 2.4 to production", "Signed in as")
		e.svc.Clock.Advance(signin.IdentityLifetime + time.Second)
		t.Cleanup(func() { e.svc.Clock.Set(time.Now()) })
		wantPage(t, b.do(http.MethodGet, urls["approve"], nil, nil), http.StatusOK, "Sign in to answer", "has expired")
		wantPage(t, b.decide(urls["approve"], nil), http.StatusForbidden, "Sign in to answer", "has expired")
		if task := e.task(t, token); task.Status != "open" {
			t.Errorf("task %+v", task)
		}
	})
	t.Run("a cross-site form", func(t *testing.T) {
		token, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		b.signIn(urls["approve"], ana.Email)
		for _, h := range []map[string]string{
			{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
			{"Origin": "https://evil.example", "Sec-Fetch-Site": ""},
			{"Origin": "", "Sec-Fetch-Site": "cross-site"},
		} {
			p := b.do(http.MethodPost, urls["approve"], url.Values{}, h)
			wantPage(t, p, http.StatusForbidden, "Sign in to answer", "another site")
		}
		if task := e.task(t, token); task.Status != "open" {
			t.Errorf("task %+v", task)
		}
	})
	t.Run("the provider refuses", func(t *testing.T) {
		_, urls := e.approvalRequest(t, nil)
		b := newBrowserLike(t)
		cb := start(t, b, urls["approve"])
		q := cb.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "<script>alert(1)</script>")
		cb.RawQuery = q.Encode()
		p := b.do(http.MethodGet, cb.String(), nil, nil)
		wantPage(t, p, http.StatusBadRequest, "Sign-in did not work", "(access_denied)")
		if strings.Contains(p.body, "<script>") {
			t.Error("the provider's text reached the page")
		}
	})
	if strings.Contains(e.svc.Logs.String(), `"status":5`) {
		t.Errorf("a 5xx in the log:\n%s", e.svc.Logs.String())
	}
}

// cookie is the value of the cookie name the browser holds for base.
func cookie(t *testing.T, b *browserLike, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no cookie %s for %s", name, base)
	return ""
}

func TestSignInNeedsConfiguration(t *testing.T) {
	// A deployment without sign-in refuses approvers at creation.
	svc := servicetest.Start(t, servicetest.Options{})
	resp := svc.PostURLs(t, map[string]any{"token": svc.NewTask(t), "approvers": []string{"ana@example.com"},
		"actions": []any{map[string]any{"name": "a", "type": "success", "output": map[string]any{}}}})
	if resp.Status != 400 || resp.ErrorCode(t) != callbackurls.CodeSignInDisabled {
		t.Errorf("%d %s", resp.Status, resp.Body)
	}
}

// TestDevSignIn: serve --dev-signin's page, through to a decision whose
// approval names the development sign-in as the issuer; and the
// dashboard's demo task names approvers.
func TestDevSignIn(t *testing.T) {
	srv := newDevSignInServer(t)
	b := newBrowserLike(t)
	// The dashboard's "New demo task": approve and reject for anyone at
	// example.com but the requester.
	dash := b.do(http.MethodPost, srv.URL+"/local/demo", url.Values{}, nil)
	link := regexp.MustCompile(`href="(http[^"]+action=approve[^"]+)"`).FindStringSubmatch(dash.body)
	if link == nil {
		t.Fatalf("no approve link on the dashboard:\n%s", dash.body)
	}
	approve := htmlText(link[1])
	p := b.do(http.MethodGet, approve, nil, nil)
	wantPage(t, p, http.StatusOK, "Sign in to answer", "Development sign-in.")
	start := hrefPattern.FindStringSubmatch(p.body)
	if start == nil {
		t.Fatalf("no sign-in button:\n%s", p.body)
	}
	dev := b.do(http.MethodGet, htmlText(start[1]), nil, nil)
	wantPage(t, dev, http.StatusOK, "Who are you?", "not a real identity provider")
	state := regexp.MustCompile(`name="state" value="([^"]+)"`).FindStringSubmatch(dev.body)
	if state == nil {
		t.Fatalf("no state:\n%s", dev.body)
	}
	// Not an address: the page again, the flow still open.
	wantPage(t, b.do(http.MethodPost, srv.URL+"/oidc/dev", url.Values{"state": {state[1]}, "email": {"ana"}}, nil),
		http.StatusBadRequest, "Who are you?", "Type an email address")
	// The requester may not decide.
	confirm := b.do(http.MethodPost, srv.URL+"/oidc/dev", url.Values{"state": {state[1]}, "email": {"Requester@example.com"}}, nil)
	wantPage(t, confirm, http.StatusForbidden, "You asked for this, so someone else must decide", "development sign-in")
	// Anyone else at example.com may.
	b = newBrowserLike(t)
	wantPage(t, b.signInDev(srv.URL, approve, "ana@example.com", "Ana"), http.StatusOK, "Demo deployment to the local environment", "development sign-in")
	result := b.decide(approve, nil)
	wantPage(t, result, http.StatusOK, "Approved", "Decided by <strong>Ana (ana@example.com)</strong>")
	tasks, err := srv.Store.Newest(context.Background(), 1)
	if err != nil || len(tasks) != 1 || !strings.Contains(string(tasks[0].Output), `"iss":"`+srv.URL+`/oidc/dev"`) {
		t.Errorf("task %+v (%v)", tasks, err)
	}
	// A cross-site POST to the development page signs nobody in.
	p = b.do(http.MethodPost, srv.URL+"/oidc/dev", url.Values{"state": {"x"}, "email": {"eve@example.com"}},
		map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	wantPage(t, p, http.StatusBadRequest, "Sign-in did not work", "another site")
}

// newDevSignInServer is the service as serve --dev-signin builds it.
func newDevSignInServer(t testing.TB) *servicetest.Service {
	t.Helper()
	ring, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return servicetest.Start(t, servicetest.Options{Keys: ring, Settings: config.Config{SignIn: config.SignIn{DevSignIn: true}}})
}

// signInDev signs in with the development page as email, from link.
func (b *browserLike) signInDev(base, link, email, name string) page {
	b.t.Helper()
	p := b.do(http.MethodGet, link, nil, nil)
	start := hrefPattern.FindStringSubmatch(p.body)
	if start == nil {
		b.t.Fatalf("no sign-in button:\n%s", p.body)
	}
	dev := b.do(http.MethodGet, htmlText(start[1]), nil, nil)
	state := regexp.MustCompile(`name="state" value="([^"]+)"`).FindStringSubmatch(dev.body)
	if state == nil {
		b.t.Fatalf("no state:\n%s", dev.body)
	}
	return b.do(http.MethodPost, base+"/oidc/dev", url.Values{"state": {state[1]}, "email": {email}, "name": {name}}, nil)
}
