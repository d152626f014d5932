package messages_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
)

// cardSchema is the official Adaptive Cards 1.4 schema
// (testdata/adaptivecards/README.md).
func cardSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile("testdata/adaptivecards/adaptive-card-1.4.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "http://adaptivecards.io/schemas/adaptive-card.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, card []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(card))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// TestCardSchema checks the Teams cards of several asks against the
// official schema, and that the check can fail.
func TestCardSchema(t *testing.T) {
	s := cardSchema(t)
	full := twoActions(300)
	bare := &callbackurls.Ask{Actions: []callbackurls.AskAction{{Name: "ok", Type: callbackurls.Success, Label: "OK", URL: link("ok", callbackurls.Success, 50)}}}
	many := twoActions(100)
	many.Actions = append(many.Actions,
		callbackurls.AskAction{Name: "ping", Type: callbackurls.Heartbeat, Label: "Still working", URL: link("ping", callbackurls.Heartbeat, 100)},
		callbackurls.AskAction{Name: "later", Type: callbackurls.Success, Label: "Approve for tomorrow", URL: link("later", callbackurls.Success, 100)})
	hostile := twoActions(100)
	hostile.Title, hostile.Description = `"}]} <b>x</b> **bold** [link](https://evil.example)`, "line 1\nline 2\t\u2028end"
	for name, a := range map[string]*callbackurls.Ask{"two actions": full, "one action, no title": bare, "four actions": many, "hostile text": hostile} {
		m, err := messages.Composer{}.Compose(a, []string{callbackurls.MessageTeams})
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, s, m.Teams); err != nil {
			t.Errorf("%s: the card does not fit the schema: %v\n%s", name, err, m.Teams)
		}
		var c struct{ Version string }
		if json.Unmarshal(m.Teams, &c) != nil || c.Version < "1.4" {
			t.Errorf("%s: version %q", name, c.Version)
		}
	}
	for name, bad := range map[string]string{
		"an action without its url": `{"type":"AdaptiveCard","version":"1.4","body":[],"actions":[{"type":"Action.OpenUrl","title":"Approve"}]}`,
		"an unknown action style":   `{"type":"AdaptiveCard","version":"1.4","body":[],"actions":[{"type":"Action.OpenUrl","title":"x","url":"https://x.example","style":"green"}]}`,
		"a TextRun with a number":   `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"RichTextBlock","inlines":[{"type":"TextRun","text":5}]}]}`,
	} {
		if err := validate(t, s, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: an empty error", name)
		}
	}
}
