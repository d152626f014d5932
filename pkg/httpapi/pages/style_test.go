package pages_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
)

// TestPageSafety checks that every kind of page escapes what callers
// wrote, loads nothing from anywhere, and sends the headers that keep a
// secret URL secret.
func TestPageSafety(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	form := map[string]any{"type": "object", "properties": map[string]any{
		"x": map[string]any{"type": "string", "title": evil, "description": evil, "default": evil, "enum": []any{evil, "b"}},
	}}
	token := e.NewTask(t)
	c := e.Create(t, map[string]any{"token": token, "title": evil, "description": evil, "actions": []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{}, "label": evil, "input": form},
	}})
	browser, posted := servicetest.Browser(), servicetest.BrowserForm()
	pages := map[string]*servicetest.Response{
		"confirm":          e.Do(t, http.MethodGet, c.URLs["approve"], browser, ""),
		"result":           e.Do(t, http.MethodPost, c.URLs["approve"], posted, "x="+url.QueryEscape(evil)),
		"already answered": e.Do(t, http.MethodPost, c.URLs["approve"], posted, "x=b"),
		"damaged":          e.Do(t, http.MethodGet, c.URLs["approve"][:len(c.URLs["approve"])-4], browser, ""),
		"dashboard":        e.Do(t, http.MethodGet, "/local/", browser, ""),
	}

	for name, resp := range pages {
		t.Run(name, func(t *testing.T) {
			servicetest.CheckPageHeaders(t, resp.Header, true)
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
	_ = json.Unmarshal([]byte(e.Task(t, token).Output), &gotOut)
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
	resp := servicetest.Start(t, servicetest.Options{}).Do(t, http.MethodGet, "/local/", nil, "")
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
	css, err := os.ReadFile("style.css")
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
