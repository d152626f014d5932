package messages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/browsertest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
)

// These tests render the HTML mail and the Teams card in a real headless
// Chromium (internal/browsertest), light and dark, on a phone's 390 px and
// a desktop's width, check what a person needs (every button visible,
// thumb-sized, readable, linking to its action; nothing wider than the
// screen), and save screenshots (browsertest.Shoot: $SCREENSHOT_DIR, else
// testresults/screenshots). The card is drawn by Microsoft's own renderer, the npm package
// adaptivecards (.ci/run installs it; $ADAPTIVECARDS_JS names its
// dist/adaptivecards.min.js elsewhere). Without Chromium or the renderer a
// test skips, except under CI=true, where it fails.

// need skips a test that lacks a tool, except under CI=true, where it
// fails.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(what)
	}
	t.Skip(what)
}

// serve serves pages by path on a loopback server for the test.
func serve(t *testing.T, pages map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(p))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// box is an element's place and colours as the page computes them.
type box struct {
	Text                 string
	Href                 string
	X, Y, Width, Height  float64
	Color, Background    string
	FontSize, FontWeight string
}

const boxesJS = `(sel) => [...document.querySelectorAll(sel)].map(e => {
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  let bg = s.backgroundColor, p = e;
  while (p && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) { p = p.parentElement; bg = p ? getComputedStyle(p).backgroundColor : 'rgb(255, 255, 255)'; }
  return {Text: e.innerText.trim(), Href: e.getAttribute('href') || '', X: r.x, Y: r.y, Width: r.width, Height: r.height,
          Color: s.color, Background: bg, FontSize: s.fontSize, FontWeight: s.fontWeight};
})`

func boxes(t *testing.T, ctx context.Context, sel string) []box {
	t.Helper()
	var out []box
	raw, err := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[json.RawMessage]("("+boxesJS+")("+quote(sel)+")"))
	if err != nil {
		t.Fatalf("boxes %s: %v", sel, err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// contrast is the WCAG contrast ratio of two CSS rgb() colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	lum := func(c string) float64 {
		var r, g, bl float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(c, "rgba("), "rgb("), ",", " "), "%f %f %f", &r, &g, &bl); err != nil {
			t.Fatalf("colour %q: %v", c, err)
		}
		ch := func(v float64) float64 {
			v /= 255
			if v <= 0.03928 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(bl)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// The layouts: a phone and a desktop, light and dark; "inverted" is a
// client that forces dark mode by inverting the mail's colours (as Gmail
// and Outlook do on some platforms).
var layouts = []struct {
	name   string
	width  int64
	dark   bool
	invert bool
}{
	{"390-light", 390, false, false}, {"390-dark", 390, true, false}, {"390-inverted", 390, true, true},
	{"800-light", 800, false, false}, {"800-dark", 800, true, false},
}

func TestHTMLMailInChromium(t *testing.T) {
	browser := browsertest.New(t)
	a := twoActions(830)
	a.Description = "Changes: the new billing page and two fixes.\nRisk: low; rollback takes five minutes.\nAsked by bob@example.com (see https://evil.example)."
	m, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageEmail})
	if err != nil {
		t.Fatal(err)
	}
	c := &callbackurls.Confirmation{Title: a.Title, Action: "reject", Label: "Reject", Type: callbackurls.Failure,
		DecidedAt: time.Date(2026, 3, 2, 16, 5, 0, 0, time.UTC), By: "alice@example.com",
		Input:  map[string]any{"comment": "Not on a Friday: the on-call team is away.\nNext Tuesday?"},
		Fields: []callbackurls.InputField{{Name: "comment", Title: "Comment", Kind: callbackurls.FieldMultiline}}, TransactionID: a.TransactionID}
	conf, err := messages.Composer{}.Confirmation(c)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, map[string]string{"/ask": m.Email.HTML, "/confirmation": conf.HTML})
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			ctx := browsertest.Tab(t, browser)
			browsertest.Do(t, ctx, "viewport", chromedp.EmulateViewport(l.width, 844, chromedp.EmulateScale(2)), browsertest.DarkMode(l.dark))
			browsertest.Do(t, ctx, "open", chromedp.Navigate(base+"/ask"), chromedp.WaitVisible(chromedp.CSS("h1")))
			if l.invert {
				browsertest.Do(t, ctx, "invert", chromedp.Evaluate[chromedp.Void](`document.documentElement.style.filter = 'invert(1) hue-rotate(180deg)'`))
			}
			if w := browsertest.Evaluate[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(l.width) {
				t.Errorf("the page is %v px wide on a %d px screen", w, l.width)
			}
			buttons := boxes(t, ctx, "a[href]")
			if len(buttons) != 2 || buttons[0].Text != "Approve" || buttons[1].Text != "Reject" ||
				buttons[0].Href != a.Actions[0].URL || buttons[1].Href != a.Actions[1].URL {
				t.Fatalf("buttons %+v", buttons)
			}
			for _, b := range buttons {
				if b.Height < 44 || b.X < 0 || b.X+b.Width > float64(l.width) {
					t.Errorf("%s button at %.0f,%.0f %.0fx%.0f: under 44 px or off the screen", b.Text, b.X, b.Y, b.Width, b.Height)
				}
				if !l.invert {
					if r := contrast(t, b.Color, b.Background); r < 4.5 {
						t.Errorf("%s button: contrast %.2f (%s on %s)", b.Text, r, b.Color, b.Background)
					}
				}
			}
			if !l.invert {
				for _, sel := range []string{"h1", "p"} {
					for _, p := range boxes(t, ctx, sel) {
						if r := contrast(t, p.Color, p.Background); r < 4.5 {
							t.Errorf("%s %q: contrast %.2f (%s on %s)", sel, p.Text, r, p.Color, p.Background)
						}
					}
				}
			}
			browsertest.Shoot(t, ctx, "mail-ask-"+l.name)
			browsertest.Do(t, ctx, "open confirmation", chromedp.Navigate(base+"/confirmation"), chromedp.WaitVisible(chromedp.CSS("h1")))
			if l.invert {
				browsertest.Do(t, ctx, "invert", chromedp.Evaluate[chromedp.Void](`document.documentElement.style.filter = 'invert(1) hue-rotate(180deg)'`))
			}
			if n := browsertest.Evaluate[float64](t, ctx, `document.querySelectorAll('a[href]').length`); n != 0 {
				t.Errorf("the confirmation has %v links", n)
			}
			if w := browsertest.Evaluate[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(l.width) {
				t.Errorf("the confirmation is %v px wide on a %d px screen", w, l.width)
			}
			browsertest.Shoot(t, ctx, "mail-confirmation-"+l.name)
		})
	}
}

// adaptiveCardsJS finds the renderer's browser bundle.
func adaptiveCardsJS(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ADAPTIVECARDS_JS")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "adaptivecards", "node_modules", "adaptivecards", "dist", "adaptivecards.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		need(t, "the Adaptive Cards renderer is not installed ("+path+"): npm install --prefix ~/.cache/adaptivecards adaptivecards@3.0.6, or set $ADAPTIVECARDS_JS")
	}
	return string(b)
}

// hostConfig is a Teams-like host: its font, colours and button styles,
// light or dark.
func hostConfig(dark bool) string {
	bg, fg, subtle, accent, good, attention := "#FFFFFF", "#242424", "#616161", "#5B5FC7", "#0E700E", "#C4314B"
	if dark {
		bg, fg, subtle, accent, good, attention = "#292929", "#FFFFFF", "#ADADAD", "#7F85F5", "#92C353", "#F9526B"
	}
	colours := fmt.Sprintf(`{"default": {"default": %q, "subtle": %q}, "accent": {"default": %q, "subtle": %q},
	  "good": {"default": %q, "subtle": %q}, "attention": {"default": %q, "subtle": %q},
	  "dark": {"default": %q, "subtle": %q}, "light": {"default": %q, "subtle": %q}, "warning": {"default": %q, "subtle": %q}}`,
		fg, subtle, accent, accent, good, good, attention, attention, fg, subtle, fg, subtle, fg, subtle)
	return fmt.Sprintf(`{"fontFamily": "'Segoe UI', system-ui, sans-serif", "supportsInteractivity": true,
	  "containerStyles": {"default": {"backgroundColor": %q, "foregroundColors": %s},
	                      "emphasis": {"backgroundColor": %q, "foregroundColors": %s}},
	  "actions": {"maxActions": 6, "actionsOrientation": "horizontal", "buttonSpacing": 8, "actionAlignment": "stretch"}}`,
		bg, colours, bg, colours)
}

const cardPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0;padding:16px;background:%s;font-family:'Segoe UI',system-ui,sans-serif}
.ac-pushButton{min-height:44px;border-radius:4px;border:1px solid %s;background:%s;color:%s;font-weight:600;cursor:pointer}
.ac-pushButton.style-positive{background:#0E700E;color:#fff;border-color:#0E700E}
.ac-pushButton.style-destructive{background:#C4314B;color:#fff;border-color:#C4314B}
#card{border:1px solid %s;border-radius:8px;overflow:hidden}</style>
<script>%s</script></head><body><div id="card"></div><script>
window.opened = []; window.problems = [];
const card = new AdaptiveCards.AdaptiveCard();
card.hostConfig = new AdaptiveCards.HostConfig(%s);
card.onExecuteAction = a => window.opened.push(a.url);
const ctx = new AdaptiveCards.SerializationContext();
card.parse(%s, ctx);
for (let i = 0; i < ctx.eventCount; i++) window.problems.push(ctx.getEventAt(i).message);
document.getElementById('card').appendChild(card.render());
document.body.dataset.ready = '1';
</script></body></html>`

func TestTeamsCardInChromium(t *testing.T) {
	renderer := adaptiveCardsJS(t)
	browser := browsertest.New(t)
	a := twoActions(830)
	m, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageTeams})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, dark := range []bool{false, true} {
		page, line, fg := "#F5F5F5", "#D1D1D1", "#242424"
		if dark {
			page, line, fg = "#1F1F1F", "#3D3D3D", "#FFFFFF"
		}
		pages[fmt.Sprintf("/%v", dark)] = fmt.Sprintf(cardPage, page, line, page, fg, line, renderer, hostConfig(dark), m.Teams)
	}
	base := serve(t, pages)
	for _, l := range layouts {
		if l.invert {
			continue // Teams draws its own dark theme
		}
		t.Run(l.name, func(t *testing.T) {
			ctx := browsertest.Tab(t, browser)
			browsertest.Do(t, ctx, "viewport", chromedp.EmulateViewport(l.width, 844, chromedp.EmulateScale(2)), browsertest.DarkMode(l.dark))
			browsertest.Do(t, ctx, "open", chromedp.Navigate(fmt.Sprintf("%s/%v", base, l.dark)), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"] .ac-adaptiveCard`)))
			if problems := browsertest.Evaluate[[]string](t, ctx, `window.problems`); len(problems) > 0 {
				t.Errorf("the renderer reports: %v", problems)
			}
			buttons := boxes(t, ctx, "button.ac-pushButton")
			if len(buttons) != 2 || buttons[0].Text != "Approve" || buttons[1].Text != "Reject" {
				t.Fatalf("buttons %+v", buttons)
			}
			for _, b := range buttons {
				if b.Height < 44 || b.X+b.Width > float64(l.width) {
					t.Errorf("%s button %.0fx%.0f at x %.0f", b.Text, b.Width, b.Height, b.X)
				}
			}
			for _, p := range boxes(t, ctx, ".ac-richTextBlock span") {
				if r := contrast(t, p.Color, p.Background); r < 4.5 {
					t.Errorf("text %q: contrast %.2f", p.Text, r)
				}
			}
			if w := browsertest.Evaluate[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(l.width) {
				t.Errorf("the card is %v px wide on a %d px screen", w, l.width)
			}
			browsertest.Shoot(t, ctx, "teams-card-"+l.name)
			// Each button opens its action's URL.
			browsertest.Do(t, ctx, "press Approve", chromedp.Click(chromedp.CSS("button.ac-pushButton:nth-of-type(1)")))
			browsertest.Do(t, ctx, "press Reject", chromedp.Click(chromedp.CSS("button.ac-pushButton:nth-of-type(2)")))
			opened := browsertest.Evaluate[[]string](t, ctx, `window.opened`)
			if len(opened) != 2 || opened[0] != a.Actions[0].URL || opened[1] != a.Actions[1].URL {
				t.Errorf("the buttons opened %d URLs, not the approve and reject ones", len(opened))
			}
		})
	}
}
