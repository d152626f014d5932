package messages_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
)

var all = callbackurls.MessageKinds

// link is a callback URL as the service makes them, its data n
// characters long.
func link(action string, typ callbackurls.ActionType, n int) string {
	return callbackurls.CallbackURL("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", action, typ, "3-"+strings.Repeat("A", n))
}

func twoActions(n int) *callbackurls.Ask {
	return &callbackurls.Ask{
		TransactionID: "0123456789abcdef0123456789abcdef",
		Title:         "Deploy release 1.4 to production",
		Description:   "Changes: the new billing page.\nRisk: low.",
		Expiration:    time.Date(2026, 3, 2, 18, 0, 0, 0, time.FixedZone("", 3600)),
		Actions: []callbackurls.AskAction{
			{Name: "approve", Type: callbackurls.Success, Label: "Approve", URL: link("approve", callbackurls.Success, n), AsksFirst: true},
			{Name: "reject", Type: callbackurls.Failure, Label: "Reject", URL: link("reject", callbackurls.Failure, n), AsksFirst: true, Form: true},
		},
	}
}

// urlPattern finds what a mail client or chat would make a link of.
var urlPattern = regexp.MustCompile(`https?://[^\s"'<>\\]+`)

func TestCompose(t *testing.T) {
	a := twoActions(830)
	m, err := messages.Composer{}.Compose(a, all)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a.Actions[0].URL, a.Actions[1].URL}

	t.Run("email text", func(t *testing.T) {
		lines := strings.Split(m.Email.Text, "\n")
		var links []string
		for i, l := range lines {
			if len(l) > callbackurls.MaxTextLine {
				t.Errorf("line %d is %d bytes", i+1, len(l))
			}
			if strings.Contains(l, "://") {
				if !strings.HasPrefix(l, "https://") || strings.ContainsAny(l, " \t") {
					t.Errorf("line %d has a link not alone on its line: %.80q", i+1, l)
				}
				links = append(links, l)
			}
		}
		if diff := cmp.Diff(want, links); diff != "" {
			t.Errorf("links (-want +got):\n%s", diff)
		}
		for _, s := range []string{"Deploy release 1.4 to production", "Approve:", "Reject (opens a page where you can add details before you answer):",
			"2 March 2026 at 17:00 UTC (18:00 UTC+01:00)", "Reference: 0123456789abcdef0123456789abcdef"} {
			if !strings.Contains(m.Email.Text, s) && !strings.Contains(strings.ReplaceAll(m.Email.Text, "\n", " "), s) {
				t.Errorf("text lacks %q:\n%s", s, m.Email.Text)
			}
		}
		if m.Email.Subject != "Deploy release 1.4 to production" {
			t.Errorf("subject %q", m.Email.Subject)
		}
	})
	t.Run("email html", func(t *testing.T) {
		var hrefs []string
		for _, h := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(m.Email.HTML, -1) {
			hrefs = append(hrefs, strings.ReplaceAll(h[1], "&amp;", "&"))
		}
		if diff := cmp.Diff(want, hrefs); diff != "" {
			t.Errorf("hrefs (-want +got):\n%s", diff)
		}
		if strings.Contains(m.Email.HTML, "<style") || strings.Contains(m.Email.HTML, "<script") {
			t.Error("the HTML has a style or script element: inline styles only")
		}
		if strings.Contains(m.Email.HTML, "&type=") {
			t.Error("a link's & is not escaped")
		}
	})
	t.Run("teams", func(t *testing.T) {
		var c struct {
			Version string
			Actions []struct{ Type, Title, URL, Style string }
		}
		if err := json.Unmarshal(m.Teams, &c); err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, a := range c.Actions {
			if a.Type != "Action.OpenUrl" {
				t.Errorf("action type %q", a.Type)
			}
			got = append(got, a.URL)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("card URLs (-want +got):\n%s", diff)
		}
		if c.Version != "1.4" || c.Actions[0].Style != "positive" || c.Actions[1].Style != "destructive" {
			t.Errorf("card %+v", c)
		}
	})
	t.Run("slack", func(t *testing.T) {
		var s struct {
			Text   string
			Blocks []struct {
				Type     string
				Elements []struct{ Type, URL, ActionID, Style string } `json:"elements"`
			}
		}
		if err := json.Unmarshal(m.Slack, &s); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range s.Blocks {
			if b.Type != "actions" {
				continue
			}
			for _, e := range b.Elements {
				got = append(got, e.URL)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("slack URLs (-want +got):\n%s", diff)
		}
	})
	t.Run("no other links", func(t *testing.T) {
		for name, s := range map[string]string{"text": m.Email.Text, "html": m.Email.HTML, "teams": string(m.Teams), "slack": string(m.Slack)} {
			for _, u := range urlPattern.FindAllString(s, -1) {
				u = strings.ReplaceAll(u, "&amp;", "&")
				if u != want[0] && u != want[1] && !strings.HasPrefix(u, "http://adaptivecards.io/schemas/") {
					t.Errorf("%s: a link that is no action's: %.100s", name, u)
				}
			}
		}
	})
}

// TestHostileText: the request's text makes no link, breaks no markup and
// adds no header line.
func TestHostileText(t *testing.T) {
	a := twoActions(100)
	a.Title = `Approve <b>now</b> at https://evil.example/approve & "quote"`
	a.Description = "Click [here](https://evil.example) or www.evil.example\n<script>alert(1)</script>"
	m, err := messages.Composer{}.Compose(a, all)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"subject": m.Email.Subject, "text": m.Email.Text, "html": m.Email.HTML, "teams": string(m.Teams), "slack": string(m.Slack)} {
		if strings.Contains(s, "evil.example") || strings.Contains(s, "https://evil") {
			t.Errorf("%s carries the requester's link", name)
		}
	}
	if strings.Contains(m.Email.HTML, "<script>") || strings.Contains(m.Email.HTML, "<b>") {
		t.Error("HTML not escaped")
	}
	if !strings.Contains(m.Email.HTML, "&lt;script&gt;") {
		t.Error("escaped text missing")
	}
}

func TestLinkTooLong(t *testing.T) {
	a := twoActions(1000)
	_, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageEmail})
	var e *callbackurls.Error
	if !errors.As(err, &e) || e.Code != callbackurls.CodeURLTooLong || strings.Contains(e.Message, a.Actions[0].URL) {
		t.Fatalf("err = %v, want UrlTooLong without the link", err)
	}
	if _, err := (messages.Composer{}).Compose(a, []string{callbackurls.MessageTeams, callbackurls.MessageSlack}); err != nil {
		t.Errorf("teams and slack take links over 998 characters: %v", err)
	}
}

func TestLongText(t *testing.T) {
	a := twoActions(100)
	a.Description = strings.Repeat("x", 2000) + " " + strings.Repeat("é", 800)
	m, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageEmail})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(m.Email.Text, "\n") {
		if len(l) > callbackurls.MaxTextLine || !utf8.ValidString(l) {
			t.Errorf("line %d: %d bytes, valid UTF-8 %v", i+1, len(l), utf8.ValidString(l))
		}
	}
}

func TestWhen(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC), "2 March 2026 at 17:00 UTC"},
		{time.Date(2026, 3, 2, 18, 0, 30, 0, time.FixedZone("", 3600)), "2 March 2026 at 17:00:30 UTC (18:00:30 UTC+01:00)"},
		{time.Date(2026, 3, 3, 1, 30, 0, 0, time.FixedZone("", 9*3600)), "2 March 2026 at 16:30 UTC (3 March 2026 at 01:30 UTC+09:00)"},
		{time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("", -(3*3600+1800))), "2 March 2026 at 13:30 UTC (10:00 UTC-03:30)"},
	}
	for _, tt := range tests {
		if got := messages.When(tt.t); got != tt.want {
			t.Errorf("When(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestInert(t *testing.T) {
	tests := map[string]string{
		"https://evil.example/a":   "https[:]//evil[.]example/a",
		"bob@evil.example":         "bob@evil[.]example",
		"EUR 1,240.00, e.g. done.": "EUR 1,240.00, e.g. done.",
		"www.evil.example":         "www[.]evil[.]example",
		"release 1.4":              "release 1.4",
	}
	for in, want := range tests {
		if got := messages.Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfirmation(t *testing.T) {
	c := &callbackurls.Confirmation{
		TransactionID: "0123456789abcdef0123456789abcdef", Title: "Deploy release 2", Action: "reject", Label: "Reject",
		Type: callbackurls.Failure, DecidedAt: time.Date(2026, 3, 2, 16, 5, 0, 0, time.UTC),
		Input:  map[string]any{"comment": "Not on a Friday.\nSee https://evil.example"},
		Fields: []callbackurls.InputField{{Name: "comment", Kind: callbackurls.FieldMultiline, Title: "Comment"}},
		By:     "alice@example.com", Receipt: "r-123",
	}
	m, err := messages.Composer{}.Confirmation(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Rejected: Deploy release 2" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, s := range []string{"“Reject” was sent on 2 March 2026 at 16:05 UTC by alice@example[.]com.", "Comment:\nNot on a Friday.", "Receipt: r-123"} {
		if !strings.Contains(strings.ReplaceAll(m.Text, " by\n", " by "), s) {
			t.Errorf("text lacks %q:\n%s", s, m.Text)
		}
	}
	if strings.Contains(m.Text+m.HTML, "evil.example") {
		t.Error("a link in a value")
	}
	if _, err := url.Parse("x"); err != nil {
		t.Fatal(err)
	}
}

// FuzzText: whatever the request's text, the plain-text email's lines fit
// a mail line, are valid UTF-8 when the text is, and hold no live link
// but the actions'.
func FuzzText(f *testing.F) {
	f.Add("Deploy 1.4", "See https://evil.example/x and www.evil.example", "Reject")
	f.Add(strings.Repeat("é", 600), strings.Repeat("x", 3000), strings.Repeat("L", 100))
	f.Add("", "\r\n\r\n", "")
	f.Fuzz(func(t *testing.T, title, description, label string) {
		a := twoActions(100)
		a.Title, a.Description, a.Actions[1].Label = title, description, label
		m, err := messages.Composer{}.Compose(a, callbackurls.MessageKinds)
		if err != nil {
			t.Fatal(err)
		}
		valid := utf8.ValidString(title) && utf8.ValidString(description) && utf8.ValidString(label)
		for _, line := range strings.Split(m.Email.Text, "\n") {
			if len(line) > callbackurls.MaxTextLine {
				t.Fatalf("a line of %d bytes", len(line))
			}
			if valid && !utf8.ValidString(line) {
				t.Fatalf("line %q is not UTF-8", line)
			}
		}
		for _, s := range []string{m.Email.Text, m.Email.HTML, string(m.Teams), string(m.Slack)} {
			for _, u := range urlPattern.FindAllString(strings.ReplaceAll(s, "&amp;", "&"), -1) {
				if !strings.HasPrefix(u, "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/respond?") && !strings.HasPrefix(u, "http://adaptivecards.io/") {
					t.Fatalf("a live link: %.80q", u)
				}
			}
		}
		if !json.Valid(m.Teams) || !json.Valid(m.Slack) {
			t.Fatal("invalid JSON")
		}
	})
}
