package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
)

// client is what a real client sends: its Accept and User-Agent headers.
// Scanners change their headers over time; these are representative of
// what each sends or has been seen to send.
type client struct {
	name, accept, userAgent string
	page                    bool // gets pages: a GET asks to confirm
	scanner                 bool // a robot that must not act
}

const (
	uaChrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaSafari  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)

var clients = []client{
	// People's browsers.
	{name: "Chrome", accept: acceptChrome, userAgent: uaChrome, page: true},
	{name: "Firefox", accept: acceptFirefox, userAgent: uaFirefox, page: true},
	{name: "Safari", accept: acceptSafari, userAgent: uaSafari, page: true},
	{name: "Edge", accept: acceptChrome, userAgent: uaChrome + " Edg/124.0.0.0", page: true},
	{name: "Safari on iPhone", accept: acceptSafari, page: true,
		userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
	{name: "Chrome, no Accept", userAgent: uaChrome, page: true},

	// Mail security scanners and link previewers.
	{name: "Microsoft Defender Safe Links", accept: "text/html, application/xhtml+xml, image/jxr, */*", page: true, scanner: true,
		userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582"},
	{name: "BingPreview", accept: "*/*", page: true, scanner: true,
		userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b"},
	{name: "Microsoft Office link check", accept: "*/*", page: true, scanner: true,
		userAgent: "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"},
	{name: "Mimecast URL Protect", accept: acceptFirefox, userAgent: uaChrome, page: true, scanner: true},
	{name: "Proofpoint URL Defense", accept: "*/*", page: true, scanner: true,
		userAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"},
	{name: "Barracuda Link Protection", accept: "", page: true, scanner: true,
		userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.0.0 Safari/537.36"},
	{name: "Slack unfurler", accept: "*/*", page: true, scanner: true,
		userAgent: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
	{name: "Teams preview", accept: "*/*", page: true, scanner: true,
		userAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Safari/537.36 SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com"},
	{name: "WhatsApp preview", accept: "*/*", userAgent: "WhatsApp/2.23.20.0", page: true, scanner: true},
	{name: "Discord", accept: "*/*", userAgent: "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", page: true, scanner: true},
	{name: "Telegram", accept: "*/*", userAgent: "TelegramBot (like TwitterBot)", page: true, scanner: true},
	{name: "Googlebot", accept: acceptFirefox, userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", page: true, scanner: true},

	// API clients and SDKs keep the reference's one step.
	{name: "curl", accept: "*/*", userAgent: "curl/8.5.0"},
	{name: "Wget", accept: "*/*", userAgent: "Wget/1.21.4"},
	{name: "Python requests", accept: "*/*", userAgent: "python-requests/2.31.0"},
	{name: "Go net/http", userAgent: "Go-http-client/1.1"},
	{name: "Node fetch", accept: "*/*", userAgent: "node"},
	{name: "AWS SDK for Go v2", userAgent: "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64"},
	{name: "boto3 (not a bot)", accept: "*/*",
		userAgent: "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12"},
	{name: "Postman", accept: "*/*", userAgent: "PostmanRuntime/7.37.3"},
	{name: "HTTPie", accept: "application/json, */*;q=0.5", userAgent: "HTTPie/3.2.2"},
	{name: "Java HttpClient", userAgent: "Java-http-client/17.0.2"},
	{name: "okhttp", accept: "*/*", userAgent: "okhttp/4.12.0"},
	{name: "PowerShell 7 (a browser's prefix)", userAgent: "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1"},
	{name: "Windows PowerShell 5.1", userAgent: "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506"},
	{name: "Robot Framework", accept: "*/*", userAgent: "Mozilla/5.0 (compatible; Robot Framework RequestsLibrary)"},
	{name: "no headers at all"},
	{name: "browser fetch asking for JSON", accept: "application/json", userAgent: uaChrome},
	{name: "browser fetch asking for text", accept: "text/plain", userAgent: uaFirefox},
	{name: "problem+json", accept: "application/problem+json", userAgent: uaChrome},
}

func TestWantsPage(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			if got := httpapi.WantsPage(c.accept, c.userAgent); got != c.page {
				t.Errorf("WantsPage(%q, %q) = %t, want %t", c.accept, c.userAgent, got, c.page)
			}
		})
	}
}

// TestClientsOnApproveURL sends every client's GET to a fresh approve URL:
// people and robots get the confirmation page and the task stays open, API
// clients act at once as in the reference. Scanners' HEADs never act
// either.
func TestClientsOnApproveURL(t *testing.T) {
	e := newEnv(t, backendLocal)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			token := e.newTask(t)
			u := e.createURLs(t, token, approveAction, rejectAction)
			header := map[string]string{"Accept": c.accept, "User-Agent": c.userAgent}
			for _, action := range []string{"approve", "reject"} {
				if !c.page {
					break
				}
				if c.scanner {
					head := e.do(t, http.MethodHead, u[action], header, nil)
					if head.Status != 200 || head.Body != "" {
						t.Errorf("HEAD %s: %d %q", action, head.Status, head.Body)
					}
				}
				resp := e.do(t, http.MethodGet, u[action], header, nil)
				if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
					!strings.Contains(resp.Body, `<form method="post"`) {
					t.Errorf("GET %s: %d %s, want the confirmation page", action, resp.Status, resp.Header.Get("Content-Type"))
				}
				checkPageHeaders(t, resp.Header, true)
				if got := resp.Header.Get(respond.ConfirmationHeader); got != "required" {
					t.Errorf("%s: %q, want required", respond.ConfirmationHeader, got)
				}
			}
			if c.page {
				if got := e.task(t, token); got != (taskState{Status: "open"}) {
					t.Errorf("task %+v after the confirmation pages, want open", got)
				}
				return
			}
			resp := e.do(t, http.MethodGet, u["approve"], header, nil)
			if resp.Status != 200 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get(respond.ConfirmationHeader) != "" {
				t.Errorf("GET: %d %s %s, want the API's answer", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
			}
			if got := e.task(t, token); got.Status != "succeeded" {
				t.Errorf("task %+v, want succeeded", got)
			}
		})
	}
}

// TestConfirmationSettings covers the per-action confirm and the
// deployment's one-click default, for a browser's GET.
func TestConfirmationSettings(t *testing.T) {
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	tests := []struct {
		name     string
		oneClick bool
		action   map[string]any
		confirm  bool
	}{
		{"success confirms", false, approveAction, true},
		{"failure confirms", false, rejectAction, true},
		{"heartbeat acts", false, pingAction, false},
		{"confirm false acts", false, map[string]any{"name": "a", "type": "success", "output": 1, "confirm": false}, false},
		{"heartbeat with confirm true", false, map[string]any{"name": "a", "type": "heartbeat", "confirm": true}, true},
		{"one-click deployment: success acts", true, approveAction, false},
		{"one-click deployment: confirm true", true, map[string]any{"name": "a", "type": "failure", "confirm": true}, true},
		{"one-click deployment: a form still asks", true, map[string]any{"name": "a", "type": "failure",
			"input": map[string]any{"type": "object", "properties": map[string]any{"why": map[string]any{"type": "string"}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, backendLocal, func(s *setup) {
				s.cfg.BrowserGET = map[bool]callbackurls.BrowserGET{true: callbackurls.ActOnBrowserGET}[tt.oneClick]
			})
			token := e.newTask(t)
			name := tt.action["name"].(string)
			resp := e.do(t, http.MethodGet, e.createURLs(t, token, tt.action)[name], browser, nil)
			if got := strings.Contains(resp.Body, "Please confirm"); got != tt.confirm || resp.Status != 200 {
				t.Errorf("%d, confirmation page %t, want %t:\n%s", resp.Status, got, tt.confirm, resp.Body)
			}
			if calls := e.calls(); calls != map[bool]int{false: 1}[tt.confirm] {
				t.Errorf("%d Step Functions calls", calls)
			}
		})
	}
}

// commentForm is a rejection with an optional comment and a required
// reason.
var commentForm = map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "By mail",
	"input": map[string]any{"type": "object", "required": []any{"reason"}, "properties": map[string]any{
		"reason":  map[string]any{"type": "string", "enum": []any{"budget", "scope", "timing"}, "title": "Reason"},
		"comment": map[string]any{"type": "string", "format": "multiline", "maxLength": 50},
	}}}

func TestFormPosts(t *testing.T) {
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome, "Content-Type": "application/x-www-form-urlencoded"}
	api := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		header  map[string]string
		method  string
		body    string
		status  int
		bodyHas []string
		task    taskState
	}{
		{name: "form", header: browser, body: "reason=scope&comment=Too+big%0D%0Afor+Q3", status: 200,
			bodyHas: []string{"Rejected", "<dd>scope</dd>", "Too big\nfor Q3"},
			task:    taskState{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"comment":"Too big\nfor Q3","reason":"scope"}}`}},
		{name: "form, missing reason", header: browser, body: "comment=%3Cb%3Ehi%3C%2Fb%3E", status: 400,
			bodyHas: []string{`role="alert"`, "Reason: Please fill in this field.", `aria-invalid="true"`, "&lt;b&gt;hi&lt;/b&gt;</textarea>"},
			task:    taskState{Status: "open"}},
		{name: "form, comment too long", header: browser, body: "reason=budget&comment=" + strings.Repeat("x", 51), status: 400,
			bodyHas: []string{"Use at most 50 characters (this has 51)."}, task: taskState{Status: "open"}},
		{name: "form, malformed body", header: browser, body: "reason=%zz", status: 400,
			bodyHas: []string{"Please fill in this field."}, task: taskState{Status: "open"}},
		{name: "JSON", header: api, body: `{"reason":"timing"}`, status: 200,
			task: taskState{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"reason":"timing"}}`}},
		{name: "JSON, invalid", header: api, body: `{"reason":"other"}`, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`, "reason: Choose one of the options."}, task: taskState{Status: "open"}},
		{name: "JSON, unknown field", header: api, body: `{"reason":"timing","coment":"x"}`, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`, `the form has no field \"coment\"`}, task: taskState{Status: "open"}},
		{name: "API GET without values", method: http.MethodGet, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`}, task: taskState{Status: "open"}},
		{name: "form POSTed by an API client", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "reason=budget", status: 200, task: taskState{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"reason":"budget"}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, backendLocal)
			token := e.newTask(t)
			u := e.createURLs(t, token, commentForm)["reject"]
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			resp := e.do(t, method, u, tt.header, strings.NewReader(tt.body))
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
			for _, s := range tt.bodyHas {
				if !strings.Contains(resp.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, resp.Body)
				}
			}
			if diff := cmp.Diff(tt.task, e.task(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPageSafety checks that every kind of page escapes what callers
// wrote, loads nothing from anywhere, and sends the headers that keep a
// secret URL secret.
func TestPageSafety(t *testing.T) {
	e := newEnv(t, backendLocal)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	form := map[string]any{"type": "object", "properties": map[string]any{
		"x": map[string]any{"type": "string", "title": evil, "description": evil, "default": evil, "enum": []any{evil, "b"}},
	}}
	token := e.newTask(t)
	c := e.create(t, map[string]any{"token": token, "title": evil, "description": evil, "actions": []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{}, "label": evil, "input": form},
	}})
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	pages := map[string]*response{
		"confirm": e.do(t, http.MethodGet, c.URLs["approve"], browser, nil),
	}
	browser["Content-Type"] = "application/x-www-form-urlencoded"
	pages["result"] = e.do(t, http.MethodPost, c.URLs["approve"], browser, strings.NewReader("x="+url.QueryEscape(evil)))
	pages["already answered"] = e.do(t, http.MethodPost, c.URLs["approve"], browser, strings.NewReader("x=b"))
	pages["damaged"] = e.do(t, http.MethodGet, c.URLs["approve"][:len(c.URLs["approve"])-4], browser, nil)
	pages["dashboard"] = e.do(t, http.MethodGet, "/local/", browser, nil)

	for name, resp := range pages {
		t.Run(name, func(t *testing.T) {
			checkPageHeaders(t, resp.Header, true)
			if csp := resp.Header.Get("Content-Security-Policy"); !regexp.MustCompile(`style-src 'sha256-[A-Za-z0-9+/]+={0,2}';`).MatchString(csp) ||
				strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
				t.Errorf("Content-Security-Policy %q: want our style sheet's hash and no script", csp)
			}
			// The escaped text is harmless; anything else of it is not.
			b := strings.ReplaceAll(resp.Body, template.HTMLEscapeString(evil), "")
			if m := badMarkup.FindString(b); m != "" {
				t.Errorf("page contains %q", m)
			}
			if strings.Contains(b, "http://") || strings.Contains(b, "https://") {
				t.Errorf("page refers to another site")
			}
			if !strings.Contains(b, `<html lang="en">`) || !strings.Contains(b, `name="viewport"`) {
				t.Errorf("page lacks lang or viewport")
			}
			if strings.Contains(b, token) {
				t.Errorf("page quotes the task token")
			}
		})
	}
	if !strings.Contains(pages["confirm"].Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the confirmation page does not show the title escaped")
	}
	if got := pages["result"].Status; got != 200 {
		t.Errorf("result: %d %s", got, pages["result"].Body)
	}
	want := `{"input":{"x":` + strconv.Quote(evil) + `}}`
	var gotOut, wantOut any
	_ = json.Unmarshal([]byte(e.task(t, token).Output), &gotOut)
	_ = json.Unmarshal([]byte(want), &wantOut)
	if diff := cmp.Diff(wantOut, gotOut); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// badMarkup finds elements and attributes that run or load something, or
// style that the Content-Security-Policy would refuse.
var badMarkup = regexp.MustCompile(`(?i)<(script|img|iframe|link|object|embed)\b|<[^>]*\s(on[a-z]+|src|style)=`)

// TestStyleHash checks that the hash in the Content-Security-Policy is the
// hash of the style element the pages carry (else browsers drop the
// styles).
func TestStyleHash(t *testing.T) {
	e := newEnv(t, backendLocal)
	resp := e.do(t, http.MethodGet, "/local/", nil, nil)
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(resp.Body)
	if m == nil {
		t.Fatal("no style element")
	}
	sum := sha256.Sum256([]byte(m[1]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if got, want := resp.Header.Get("Content-Security-Policy"), "style-src "+hash+";"; !strings.Contains(got, want) {
		t.Errorf("Content-Security-Policy %q lacks %q", got, want)
	}
}

// TestContrast checks the colour pairs of the style sheet, light and dark,
// against WCAG 2's 4.5:1 for text (3:1 for borders of form controls).
func TestContrast(t *testing.T) {
	css, err := os.ReadFile("pages/style.css")
	if err != nil {
		t.Fatal(err)
	}
	light, dark := palette(t, string(css), 0), palette(t, string(css), 1)
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"fg", "card", 4.5}, {"muted", "card", 4.5}, {"muted", "bg", 4.5}, {"fg", "field", 4.5},
		{"error", "card", 4.5}, {"error", "alert", 4.5}, {"fg", "alert", 4.5}, {"info", "card", 4.5},
		{"on-button", "approve", 4.5}, {"on-button", "reject", 4.5}, {"on-button", "neutral", 4.5},
		{"border", "field", 3}, {"focus", "card", 3}, {"ok", "card", 3}, {"warn", "card", 3},
		// The dashboard's status badges, and links on its demo panel.
		{"open-fg", "open-bg", 4.5}, {"succeeded-fg", "succeeded-bg", 4.5}, {"failed-fg", "failed-bg", 4.5},
		{"info", "bg", 4.5},
	}
	for scheme, colours := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, p := range pairs {
			fg, bg := colours[p.fg], colours[p.bg]
			if fg == "" || bg == "" {
				t.Fatalf("%s: no --%s or --%s", scheme, p.fg, p.bg)
			}
			if r := contrast(fg, bg); r < p.min {
				t.Errorf("%s: --%s %s on --%s %s: %.2f:1, want at least %.1f:1", scheme, p.fg, fg, p.bg, bg, r, p.min)
			}
		}
	}
}

// palette reads the custom properties of the nth :root rule (0: light,
// 1: dark); the dark rule only overrides, so it starts from the light.
func palette(t *testing.T, css string, n int) map[string]string {
	t.Helper()
	rules := regexp.MustCompile(`:root\{([^}]*)\}`).FindAllStringSubmatch(css, -1)
	if len(rules) < 2 {
		t.Fatal("want a light and a dark :root rule")
	}
	out := map[string]string{}
	for i := 0; i <= n; i++ {
		for _, m := range regexp.MustCompile(`--([a-z-]+):(#[0-9a-fA-F]{3,6})`).FindAllStringSubmatch(rules[i][1], -1) {
			out[m[1]] = m[2]
		}
	}
	return out
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

// TestErrorPages checks the wording of each kind of error a person meets.
func TestErrorPages(t *testing.T) {
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	tests := []struct {
		name    string
		target  func(e *env, u map[string]string) (method, target string)
		before  func(e *env)
		status  int
		heading string
	}{
		{"damaged", func(e *env, u map[string]string) (string, string) {
			return http.MethodGet, setData(func(d string) string { return flip(d, len(d)/2) })(t, pathQuery(t, u["approve"]))
		}, nil, 400, "This link is damaged"},
		{"mismatched", func(e *env, u map[string]string) (string, string) {
			return http.MethodGet, editQuery(func(q url.Values) { q.Set("action", "reject") })(t, pathQuery(t, u["approve"]))
		}, nil, 400, "This link is damaged"},
		{"already answered", func(e *env, u map[string]string) (string, string) {
			e.do(t, http.MethodPost, u["reject"], nil, nil)
			return http.MethodPost, u["approve"]
		}, nil, 400, "This request was already answered"},
		{"unknown task", func(e *env, u map[string]string) (string, string) { return http.MethodPost, u["ghost"] },
			nil, 400, "This request is closed"},
		{"unavailable", func(e *env, u map[string]string) (string, string) { return http.MethodGet, u["ping"] },
			func(e *env) { e.failNext(503, "ServiceUnavailable") }, 503, "Temporarily unavailable"},
		{"post action in a browser", func(e *env, u map[string]string) (string, string) { return http.MethodGet, u["hook"] },
			nil, 405, "This link is for another system"},
		{"wrong method", func(e *env, u map[string]string) (string, string) { return http.MethodPut, u["approve"] },
			nil, 405, "This link did not work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, backendLocal, func(s *setup) { s.cfg.EnablePostActions, s.cfg.PostActions = true, callbackurlstest.PostActions{} })
			token := e.newTask(t)
			u := e.createURLs(t, token, approveAction, rejectAction, pingAction,
				map[string]any{"name": "hook", "type": "post", "outcomes": []any{}})
			u["ghost"] = e.createURLs(t, "no-such-task", approveAction)["approve"]
			if tt.before != nil {
				tt.before(e)
			}
			method, target := tt.target(e, u)
			resp := e.do(t, method, target, browser, nil)
			if resp.Status != tt.status {
				t.Errorf("status %d, want %d", resp.Status, tt.status)
			}
			if !strings.Contains(resp.Body, "<h1>"+tt.heading+"</h1>") {
				t.Errorf("heading is not %q:\n%s", tt.heading, resp.Body)
			}
			checkPageHeaders(t, resp.Header, true)
		})
	}
}

// TestPageSizes logs the size of each page (a measurement, not a limit
// that matters to a browser; it keeps the pages honest).
func TestPageSizes(t *testing.T) {
	e := newEnv(t, backendLocal)
	c := e.create(t, expenseRequest(e.newTask(t)))
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	sizes := []struct {
		name string
		resp *response
	}{
		{"confirmation", e.do(t, http.MethodGet, c.URLs["approve"], browser, nil)},
		{"confirmation with a comment form", e.do(t, http.MethodGet, c.URLs["reject"], browser, nil)},
		{"result", e.do(t, http.MethodPost, c.URLs["approve"], browser, nil)},
		{"already answered", e.do(t, http.MethodPost, c.URLs["approve"], browser, nil)},
	}
	for _, s := range sizes {
		t.Logf("%-33s %5d bytes (%d)", s.name, len(s.resp.Body), s.resp.Status)
		if len(s.resp.Body) > 16<<10 {
			t.Errorf("%s: %d bytes", s.name, len(s.resp.Body))
		}
	}
}

// TestPageLogs checks the log lines of the confirmation step: the GET is
// logged as a confirmation, and a form's values stay out of the log unless
// it is verbose.
func TestPageLogs(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("verbose=%t", verbose), func(t *testing.T) {
			var opts []func(*setup)
			if verbose {
				opts = append(opts, withVerbose)
			}
			e := newEnv(t, backendLocal, opts...)
			token := e.newTask(t)
			target := pathQuery(t, e.createURLs(t, token, commentForm)["reject"])
			browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}

			e.logs.Reset()
			e.serve(http.MethodGet, target, browser, "")
			lines := logLines(t, e.logs.String())
			if got := lines[len(lines)-1]; got["outcome"] != "confirmation" || got["status"] != 200.0 {
				t.Errorf("GET log line %v", got)
			}

			e.logs.Reset()
			browser["Content-Type"] = "application/x-www-form-urlencoded"
			secret := "my-private-remark"
			if resp := e.serve(http.MethodPost, target, browser, "reason=budget&comment="+secret); resp.Status != 200 {
				t.Fatalf("POST: %d %s", resp.Status, resp.Body)
			}
			raw := e.logs.String()
			lines = logLines(t, raw)
			if got := lines[len(lines)-1]; got["outcome"] != "sent" {
				t.Errorf("POST log line %v", got)
			}
			if strings.Contains(raw, secret) != verbose {
				t.Errorf("the form's value in the log: %t, verbose: %t\n%s", strings.Contains(raw, secret), verbose, raw)
			}
			if !verbose && strings.Contains(raw, token) {
				t.Errorf("the log holds the token")
			}
		})
	}
}

// FuzzFormPost sends random form bodies to an action with a form, as a
// browser: never a 5xx, never the token, and the task is either untouched
// or failed with the action's error.
func FuzzFormPost(f *testing.F) {
	f.Add("reason=budget&comment=ok")
	f.Add("reason=%zz&comment=%ff%fe")
	f.Add("reason=scope&comment=" + strings.Repeat("x", 60))
	f.Add("comment=a&comment=b&reason=timing&reason=budget")
	e := newEnv(f, backendLocal)
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome, "Content-Type": "application/x-www-form-urlencoded"}
	f.Fuzz(func(t *testing.T, body string) {
		token := e.newTask(t)
		target := pathQuery(t, e.createURLs(t, token, commentForm)["reject"])
		resp := e.serve(http.MethodPost, target, browser, body)
		if resp.Status >= 500 || strings.Contains(resp.Body, token) {
			t.Fatalf("%q: %d %s", body, resp.Status, resp.Body)
		}
		got := e.task(t, token)
		switch {
		case resp.Status == 200 && got.Status == "failed" && got.Error == "Rejected":
		case resp.Status == 400 && got.Status == "open" && strings.Contains(resp.Body, `role="alert"`):
		default:
			t.Fatalf("%q: %d with task %+v", body, resp.Status, got)
		}
	})
}

// TestConfirmFormControls checks the control each kind of property gets,
// with its constraints, default, label and help.
func TestConfirmFormControls(t *testing.T) {
	e := newEnv(t, backendLocal)
	input := map[string]any{"type": "object", "required": []any{"env", "count"}, "properties": map[string]any{
		"note":   map[string]any{"type": "string", "maxLength": 80, "minLength": 2, "description": "A short note."},
		"why":    map[string]any{"type": "string", "format": "multiline", "default": "Because"},
		"env":    map[string]any{"type": "string", "enum": []any{"a", "b", "c", "d", "e", "f"}, "default": "c", "title": "Environment"},
		"size":   map[string]any{"type": "string", "enum": []any{"small", "large"}},
		"notify": map[string]any{"type": "boolean", "default": true},
		"count":  map[string]any{"type": "integer", "minimum": 1, "maximum": 9},
		"ratio":  map[string]any{"type": "number", "default": 0.5},
	}}
	u := e.createURLs(t, e.newTask(t), map[string]any{"name": "go", "type": "success", "output": map[string]any{}, "input": input})["go"]
	resp := e.do(t, http.MethodGet, u, map[string]string{"Accept": acceptChrome}, nil)
	for _, want := range []string{
		`<label for="f-note">Note <span class="opt">(optional)</span></label>`,
		`<p class="help" id="f-note-help">A short note.</p>`,
		`<input type="text" id="f-note" name="note" value="" maxlength="80" minlength="2" aria-describedby="f-note-help">`,
		`<textarea id="f-why" name="why" rows="5" maxlength="4000">Because</textarea>`,
		`<select id="f-env" name="env" required>`,
		`<option value="c" selected>c</option>`,
		`<legend id="f-size-legend">Size <span class="opt">(optional)</span></legend>`,
		`<input type="radio" id="f-size" name="size" value="small">`,
		`<input type="radio" id="f-size-1" name="size" value="large">`,
		`<input type="checkbox" id="f-notify" name="notify" value="true" checked>`,
		`<input type="number" id="f-count" name="count" value="" step="1" inputmode="numeric" min="1" max="9" required>`,
		`<input type="number" id="f-ratio" name="ratio" value="0.5" step="any" inputmode="decimal">`,
		`<button type="submit" class="button approve">Go</button>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(resp.Body)
	}
}

// TestPostsIgnoreUserAgent: a program's POST (a webhook sender whose
// User-Agent looks like a robot's) gets the API's answer; only a POST
// that asks for HTML gets a page.
func TestPostsIgnoreUserAgent(t *testing.T) {
	e := newEnv(t, backendLocal)
	token := e.newTask(t)
	u := e.createURLs(t, token, approveAction, rejectAction)
	resp := e.do(t, http.MethodPost, u["approve"], map[string]string{"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}, nil)
	if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("POST: %d %s %s, want the JSON answer", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
	}
	if got := e.task(t, token); got.Status != "succeeded" {
		t.Errorf("task %+v, want succeeded", got)
	}
}

// TestExpiryOffsetOnPages: a link made with "+02:00" says when it expires
// in UTC and in that offset, on the confirmation page and once expired.
func TestExpiryOffsetOnPages(t *testing.T) {
	e := newEnv(t, backendLocal)
	browser := map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}
	c := e.create(t, map[string]any{"token": e.newTask(t), "expiration": "2030-01-02T00:00:00+02:00", "actions": []any{approveAction}})
	want := "1 January 2030 at 22:00 UTC (2 January 2030 at 00:00, UTC+02:00)"
	confirm := e.do(t, http.MethodGet, c.URLs["approve"], browser, nil)
	if !strings.Contains(html.UnescapeString(confirm.Body), "This link works until "+want+".") {
		t.Errorf("the confirmation page does not say %q:\n%s", want, confirm.Body)
	}
	e.clock.Set(epoch.Add(48 * time.Hour))
	defer e.clock.Set(epoch)
	expired := e.do(t, http.MethodGet, c.URLs["approve"], browser, nil)
	if expired.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(expired.Body), "It stopped working on "+want+".") {
		t.Errorf("the expired page (%d) does not say %q:\n%s", expired.Status, want, expired.Body)
	}
}

// TestSettingChangedPage: a link made with output parameters, opened by a
// person after the deployment turned them off, says what to do in the
// person's words; programs still get the contract's code.
func TestSettingChangedPage(t *testing.T) {
	on := newEnv(t, backendLocal, func(s *setup) { s.cfg.EnableOutputParameters = true })
	off := newEnv(t, backendLocal)
	token := off.newTask(t)
	c := on.create(t, map[string]any{"token": token, "enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{"by": "$by"}}}})
	target := pathQuery(t, c.URLs["approve"]) + "&by=ann"
	page := off.do(t, http.MethodGet, target, map[string]string{"Accept": acceptChrome, "User-Agent": uaChrome}, nil)
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "<h1>This link no longer works</h1>") ||
		!strings.Contains(page.Body, "ask the sender for a new link") || strings.Contains(page.Body, "deployment") {
		t.Errorf("%d:\n%s", page.Status, page.Body)
	}
	api := off.do(t, http.MethodGet, target, nil, nil)
	if api.Status != http.StatusBadRequest || api.JSON(t)["error"] != callbackurls.CodeParametersDisabled {
		t.Errorf("API: %d %s", api.Status, api.Body)
	}
	if got := off.task(t, token); got.Status != "open" {
		t.Errorf("task %+v", got)
	}
}
