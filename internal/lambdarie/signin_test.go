package lambdarie

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring/awskeyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin/oidctest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// gateway is API Gateway in front of a function under the emulator, as an
// http.RoundTripper: a request for the stage's host becomes a proxy event
// of its resource, and the function's answer the response. Everything
// else (the identity provider) goes over the network.
type gateway struct {
	t  *testing.T
	fn *Emulator
}

func (g gateway) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != stage.Host() {
		return http.DefaultTransport.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	header := map[string]string{}
	for k, vs := range req.Header {
		header[k] = strings.Join(vs, "; ") // one Cookie header, as browsers send it
	}
	event, err := stage.URLEvent(req.Method, req.URL.String(), header, string(body))
	if err != nil {
		return nil, err
	}
	answer := g.fn.Invoke(g.t, event)
	r, err := DecodeProxyResponse(answer.Body)
	if err != nil {
		return nil, err
	}
	resp := &http.Response{StatusCode: r.StatusCode, Status: http.StatusText(r.StatusCode), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(r.Body)), Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for k, v := range r.Headers {
		resp.Header.Set(k, v)
	}
	for k, vs := range r.MultiValueHeaders {
		resp.Header.Del(k)
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	return resp, nil
}

// TestSignInThroughTheFunctions runs issue 17's flow on both Lambda
// functions under AWS's emulator, with API Gateway's events: CreateUrls
// (direct invoke) accepts approvers, and ProcessCallback signs a person in
// with the OpenID Provider (its client secret read from Secrets Manager),
// takes the decision with an approval and a receipt, and publishes the key
// set the receipt verifies with.
func TestSignInThroughTheFunctions(t *testing.T) {
	bins := bootstraps(t, "create-urls", "process-callback")
	op := oidctest.New(t, []string{stage.URL() + "/oidc/callback"},
		oidctest.User{Subject: "u-ana", Email: "ana@example.com", EmailVerified: true, Name: "Ana Lima"},
		oidctest.User{Subject: "u-eve", Email: "eve@example.com", EmailVerified: true, Name: "Eve"})
	sfn := sfntest.New(t)
	sfn.AddCredentials(Credentials())
	secrets := awskeyringtest.NewSecretsManager(t)
	secrets.AddCredentials(Credentials()) // the emulated function's
	secrets.Put("oidc-client", oidctest.ClientSecret)
	ring, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ring.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env := append(stage.Env(), "AWS_ENDPOINT_URL_SFN="+sfn.URL(), "AWS_ENDPOINT_URL_SECRETS_MANAGER="+secrets.URL(), "KEYRING="+string(doc),
		"OIDC_ISSUER="+op.Issuer, "OIDC_CLIENT_ID="+oidctest.ClientID, "OIDC_CLIENT_SECRET_ARN="+secrets.ARN("oidc-client"))
	create := Start(t, Config{Bootstrap: bins[0], FunctionName: "create-urls", Env: env})
	callback := Start(t, Config{Bootstrap: bins[1], FunctionName: "process-callback", Env: env})

	token := corpus.Tokens()[1]
	sfn.AddTask(token)
	tok, _ := json.Marshal(token)
	created := checkCreate(t, invokeDirect(t, create, `{"token": `+string(tok)+`, "title": "Release 2.4", `+
		`"approvers": ["ana@example.com"], "actions": [{"name": "approve", "type": "success", "output": {"ok": true}}, `+
		`{"name": "reject", "type": "failure"}]}`), "approve", "reject")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: gateway{t: t, fn: callback}}
	get := func(u string, form url.Values) (int, string) {
		t.Helper()
		var req *http.Request
		if form == nil {
			req, _ = http.NewRequest(http.MethodGet, u, nil)
		} else {
			req, _ = http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if p, err := url.Parse(u); err == nil && p.Host == stage.Host() {
				req.Header.Set("Origin", "https://"+p.Host)
			}
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("User-Agent", browserAgent)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	signIn := func(email string) (int, string) {
		t.Helper()
		status, page := get(created.URLs["approve"], nil)
		m := regexp.MustCompile(`<a class="button" href="([^"]+)">Sign in`).FindStringSubmatch(page)
		if status != http.StatusOK || m == nil {
			t.Fatalf("the link: %d, no sign-in button\n%s", status, page)
		}
		_, login := get(strings.ReplaceAll(m[1], "&amp;", "&"), nil)
		id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(login)
		if id == nil {
			t.Fatalf("no login page:\n%s\n%s", login, callback.Tail())
		}
		return get(op.Issuer+"/login", url.Values{"id": {id[1]}, "username": {email}})
	}

	// Someone else signs in: refused, the task open.
	if status, page := signIn("eve@example.com"); status != http.StatusForbidden || !strings.Contains(page, "This request is for someone else") {
		t.Fatalf("eve: %d\n%s\n%s", status, page, callback.Tail())
	}
	jar, _ = cookiejar.New(nil)
	client.Jar = jar
	// Ana signs in and approves.
	if status, page := signIn("ana@example.com"); status != http.StatusOK || !strings.Contains(page, "Signed in as <strong>Ana Lima</strong>") {
		t.Fatalf("ana: %d\n%s", status, page)
	}
	if task, _ := sfn.Task(token); task.Status != sfntest.StatusOpen {
		t.Fatalf("signing in changed the task: %+v", task)
	}
	if status, page := get(created.URLs["approve"], url.Values{}); status != http.StatusOK || !strings.Contains(page, "Decided by <strong>Ana Lima (ana@example.com)</strong>") {
		t.Fatalf("approve: %d\n%s\n%s", status, page, callback.Tail())
	}
	task, _ := sfn.Task(token)
	var out struct {
		OK       bool `json:"ok"`
		Approval struct {
			Receipt string `json:"receipt"`
		} `json:"approval"`
	}
	if err := json.Unmarshal([]byte(task.Output), &out); err != nil || task.Status != sfntest.StatusSucceeded || !out.OK || out.Approval.Receipt == "" {
		t.Fatalf("task %+v (%v)", task, err)
	}
	if n := secrets.Count(); n != 1 {
		t.Errorf("the client secret was read %d times, want once", n)
	}

	// The receipt verifies with the key set the function publishes.
	status, keys := get(stage.URL()+"/.well-known/jwks.json", nil)
	set, err := receipts.ParseJWKS([]byte(keys))
	if status != http.StatusOK || err != nil {
		t.Fatalf("key set: %d %v\n%s", status, err, keys)
	}
	claims, _, err := receipts.Verify(out.Approval.Receipt, set)
	if err != nil || claims.Issuer != stage.URL() || claims.By == nil || claims.By.Email != "ana@example.com" {
		t.Errorf("receipt: %+v, %v", claims, err)
	}
	if bytes.Contains([]byte(callback.Output()), []byte(token)) {
		t.Error("the function logged the token")
	}
}
