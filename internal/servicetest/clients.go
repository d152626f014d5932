package servicetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Accept headers and User-Agents of real browsers.
const (
	AcceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	AcceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	AcceptSafari  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	UAChrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	UAFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
	UASafari  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)

// Browser is what Chrome sends with a GET: a new map, to add to.
func Browser() map[string]string {
	return map[string]string{"Accept": AcceptChrome, "User-Agent": UAChrome}
}

// BrowserForm is what Chrome sends with a form's POST.
func BrowserForm() map[string]string {
	h := Browser()
	h["Content-Type"] = "application/x-www-form-urlencoded"
	return h
}

// Client is what a real client sends: its Accept and User-Agent headers.
// Scanners change their headers over time; these are representative of
// what each sends or has been seen to send.
type Client struct {
	Name, Accept, UserAgent string
	Page                    bool // gets pages: a GET asks to confirm
	Scanner                 bool // a robot that must not act
}

// Header is the client's headers.
func (c Client) Header() map[string]string {
	return map[string]string{"Accept": c.Accept, "User-Agent": c.UserAgent}
}

// Clients are people's browsers, mail scanners and link previewers, and
// API clients.
var Clients = []Client{
	// People's browsers.
	{Name: "Chrome", Accept: AcceptChrome, UserAgent: UAChrome, Page: true},
	{Name: "Firefox", Accept: AcceptFirefox, UserAgent: UAFirefox, Page: true},
	{Name: "Safari", Accept: AcceptSafari, UserAgent: UASafari, Page: true},
	{Name: "Edge", Accept: AcceptChrome, UserAgent: UAChrome + " Edg/124.0.0.0", Page: true},
	{Name: "Safari on iPhone", Accept: AcceptSafari, Page: true,
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
	{Name: "Chrome, no Accept", UserAgent: UAChrome, Page: true},

	// Mail security scanners and link previewers.
	{Name: "Microsoft Defender Safe Links", Accept: "text/html, application/xhtml+xml, image/jxr, */*", Page: true, Scanner: true,
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582"},
	{Name: "BingPreview", Accept: "*/*", Page: true, Scanner: true,
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b"},
	{Name: "Microsoft Office link check", Accept: "*/*", Page: true, Scanner: true,
		UserAgent: "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"},
	{Name: "Mimecast URL Protect", Accept: AcceptFirefox, UserAgent: UAChrome, Page: true, Scanner: true},
	{Name: "Proofpoint URL Defense", Accept: "*/*", Page: true, Scanner: true,
		UserAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"},
	{Name: "Barracuda Link Protection", Accept: "", Page: true, Scanner: true,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.0.0 Safari/537.36"},
	{Name: "Slack unfurler", Accept: "*/*", Page: true, Scanner: true,
		UserAgent: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
	{Name: "Teams preview", Accept: "*/*", Page: true, Scanner: true,
		UserAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Safari/537.36 SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com"},
	{Name: "WhatsApp preview", Accept: "*/*", UserAgent: "WhatsApp/2.23.20.0", Page: true, Scanner: true},
	{Name: "Discord", Accept: "*/*", UserAgent: "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", Page: true, Scanner: true},
	{Name: "Telegram", Accept: "*/*", UserAgent: "TelegramBot (like TwitterBot)", Page: true, Scanner: true},
	{Name: "Googlebot", Accept: AcceptFirefox, UserAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Page: true, Scanner: true},

	// API clients and SDKs keep the reference's one step.
	{Name: "curl", Accept: "*/*", UserAgent: "curl/8.5.0"},
	{Name: "Wget", Accept: "*/*", UserAgent: "Wget/1.21.4"},
	{Name: "Python requests", Accept: "*/*", UserAgent: "python-requests/2.31.0"},
	{Name: "Go net/http", UserAgent: "Go-http-client/1.1"},
	{Name: "Node fetch", Accept: "*/*", UserAgent: "node"},
	{Name: "AWS SDK for Go v2", UserAgent: "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64"},
	{Name: "boto3 (not a bot)", Accept: "*/*",
		UserAgent: "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12"},
	{Name: "Postman", Accept: "*/*", UserAgent: "PostmanRuntime/7.37.3"},
	{Name: "HTTPie", Accept: "application/json, */*;q=0.5", UserAgent: "HTTPie/3.2.2"},
	{Name: "Java HttpClient", UserAgent: "Java-http-client/17.0.2"},
	{Name: "okhttp", Accept: "*/*", UserAgent: "okhttp/4.12.0"},
	{Name: "PowerShell 7 (a browser's prefix)", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1"},
	{Name: "Windows PowerShell 5.1", UserAgent: "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506"},
	{Name: "Robot Framework", Accept: "*/*", UserAgent: "Mozilla/5.0 (compatible; Robot Framework RequestsLibrary)"},
	{Name: "no headers at all"},
	{Name: "browser fetch asking for JSON", Accept: "application/json", UserAgent: UAChrome},
	{Name: "browser fetch asking for text", Accept: "text/plain", UserAgent: UAFirefox},
	{Name: "problem+json", Accept: "application/problem+json", UserAgent: UAChrome},
}

// PathQuery is the path and query of an absolute URL.
func PathQuery(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// DataParam is the data parameter of a callback URL.
func DataParam(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("data")
}

// SetData returns a function that replaces the data parameter's value of
// a path and query by f's, keeping the rest as it is written.
func SetData(f func(string) string) func(testing.TB, string) string {
	return func(t testing.TB, pq string) string {
		path, query, _ := strings.Cut(pq, "?")
		parts := strings.Split(query, "&")
		for i, p := range parts {
			if v, ok := strings.CutPrefix(p, "data="); ok {
				parts[i] = "data=" + f(v)
			}
		}
		return path + "?" + strings.Join(parts, "&")
	}
}

// EditQuery returns a function that changes the query of a path and query.
func EditQuery(f func(q url.Values)) func(testing.TB, string) string {
	return func(t testing.TB, pq string) string {
		path, query, _ := strings.Cut(pq, "?")
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		f(q)
		return path + "?" + q.Encode()
	}
}

// Flip changes the character at i (from the end if negative) of a
// base64url string.
func Flip(s string, i int) string {
	if i < 0 {
		i += len(s)
	}
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// CheckPageHeaders checks the headers that keep a callback page's URL out
// of caches, referrers, indexes and other origins; csp: and the
// Content-Security-Policy of the service's own pages.
func CheckPageHeaders(t testing.TB, h http.Header, csp bool) {
	t.Helper()
	for name, want := range map[string]string{
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Robots-Tag":           "noindex, nofollow",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !csp {
		return
	}
	policy := h.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(policy, directive) {
			t.Errorf("Content-Security-Policy %q lacks %q", policy, directive)
		}
	}
}
