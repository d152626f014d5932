package messages_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
)

type slackButton struct {
	Type     string `json:"type"`
	ActionID string `json:"action_id"`
	URL      string `json:"url"`
	Value    string `json:"value"`
	Style    string `json:"style"`
}

func slackParts(t *testing.T, raw json.RawMessage) ([]slackButton, string) {
	t.Helper()
	var m struct {
		Blocks []struct {
			Type     string          `json:"type"`
			Elements json.RawMessage `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var btns []slackButton
	var context string
	for _, b := range m.Blocks {
		switch b.Type {
		case "actions":
			var els []slackButton
			if err := json.Unmarshal(b.Elements, &els); err != nil {
				t.Fatal(err)
			}
			btns = append(btns, els...)
		case "context":
			context = string(b.Elements)
		}
	}
	return btns, context
}

// TestSlackValueButtons: an action with a value is a button that acts in
// place (a value, no URL, never both), the others stay links, and the
// small print says what each does.
func TestSlackValueButtons(t *testing.T) {
	a := twoActions(800)
	a.Actions[0].Value = "3-approve-data"
	a.Actions = append(a.Actions, callbackurls.AskAction{Name: "ping", Type: callbackurls.Heartbeat, Label: "Still working",
		URL: link("ping", callbackurls.Heartbeat, 800), Value: "3-ping-data"})
	m, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageSlack})
	if err != nil {
		t.Fatal(err)
	}
	btns, context := slackParts(t, m.Slack)
	want := []slackButton{
		{Type: "button", ActionID: "approve", Value: "3-approve-data", Style: "primary"},
		{Type: "button", ActionID: "reject", URL: a.Actions[1].URL, Style: "danger"},
		{Type: "button", ActionID: "ping", Value: "3-ping-data"},
	}
	if diff := cmp.Diff(want, btns); diff != "" {
		t.Errorf("buttons (-want +got)\n%s", diff)
	}
	for _, s := range []string{"Your click answers here", "The buttons work until", "Reject: opens a page", "Still working: tells the request"} {
		if !strings.Contains(context, s) {
			t.Errorf("the small print lacks %q: %s", s, context)
		}
	}
	if strings.Contains(context, "Each link opens a page") {
		t.Errorf("the small print says every link opens a page: %s", context)
	}
	// The email is the same as ever: links, whatever the values.
	m, err = messages.Composer{}.Compose(a, []string{callbackurls.MessageEmail})
	if err != nil || strings.Contains(m.Email.Text, "3-approve-data") || !strings.Contains(m.Email.Text, a.Actions[0].URL) {
		t.Errorf("email %v\n%s", err, m.Email.Text)
	}
}

// TestSlackDecided: the decided message has no buttons; says what, who (a
// mention of a valid user id only) and when; keeps the requester's text
// inert and escaped.
func TestSlackDecided(t *testing.T) {
	c := &callbackurls.Confirmation{
		TransactionID: "0123456789abcdef0123456789abcdef", Title: "Pay <b>https://evil.example/x</b>", Label: "Reject & <close>",
		Type: callbackurls.Failure, DecidedAt: time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC), By: "Ana <Lima>",
		Input: map[string]any{"comment": "see www.evil.example"}, Fields: []callbackurls.InputField{{Name: "comment", Title: "Why?"}},
		Receipt: "sha256:0011223344556677",
	}
	u := messages.SlackDecided(c, "U0ANA00001")
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"replace_original":true`, "*Rejected*", "by \\u003c@U0ANA00001\\u003e", "2 January 2030 at 09:00 UTC",
		"Reject \\u0026amp; \\u0026lt;close\\u0026gt;", "Why?: see www[.]evil[.]example", "Receipt: sha256:0011223344556677", "Reference: 0123456789abcdef"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "evil.example") || strings.Contains(s, `"actions"`) || strings.Contains(s, `"ephemeral"`) {
		t.Errorf("%s", s)
	}
	// Not a user id: no mention, the name escaped.
	b, _ = json.Marshal(messages.SlackDecided(c, "<!channel>"))
	if strings.Contains(string(b), "!channel") || !strings.Contains(string(b), "by Ana \\u0026lt;Lima\\u0026gt;") {
		t.Errorf("%s", b)
	}
	n := messages.SlackNote("Nothing was sent: <b>")
	if n.ReplaceOriginal || n.ResponseType != "ephemeral" || n.Text != "Nothing was sent: &lt;b&gt;" {
		t.Errorf("%+v", n)
	}
}
