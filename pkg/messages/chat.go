package messages

import (
	"strconv"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// AdaptiveCardVersion is the version of the Teams card: 1.4 has
// Action.OpenUrl with styles, RichTextBlock and TextRun, and Teams shows it
// on desktop, web and mobile.
const AdaptiveCardVersion = "1.4"

// AdaptiveCardSchema is the card's $schema.
const AdaptiveCardSchema = "http://adaptivecards.io/schemas/adaptive-card.json"

// card is an Adaptive Card. The request's text goes in TextRuns, which
// Teams shows as they are: a TextBlock would read its text as Markdown,
// where a description could draw a link of its own.
type card struct {
	Type    string       `json:"type"`
	Schema  string       `json:"$schema"`
	Version string       `json:"version"`
	Body    []any        `json:"body"`
	Actions []cardAction `json:"actions,omitempty"`
}

type richText struct {
	Type    string    `json:"type"` // RichTextBlock
	Inlines []textRun `json:"inlines"`
	Spacing string    `json:"spacing,omitempty"`
}

type textRun struct {
	Type     string `json:"type"` // TextRun
	Text     string `json:"text"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

type cardAction struct {
	Type  string `json:"type"` // Action.OpenUrl
	Title string `json:"title"`
	URL   string `json:"url"`
	Style string `json:"style,omitempty"`
}

func runBlock(text, size, weight string, subtle bool) richText {
	return richText{Type: "RichTextBlock", Inlines: []textRun{{Type: "TextRun", Text: text, Size: size, Weight: weight, IsSubtle: subtle}}}
}

func (t tone) cardStyle() string {
	switch t {
	case positive:
		return "positive"
	case negative:
		return "destructive"
	}
	return "default"
}

// teams is the Adaptive Card: the title, the description, one
// Action.OpenUrl per action (opening its confirmation page), the hints
// and the small print.
func (v *askView) teams() *card {
	c := &card{Type: "AdaptiveCard", Schema: AdaptiveCardSchema, Version: AdaptiveCardVersion}
	c.Body = append(c.Body, runBlock(v.subject, "Large", "Bolder", false))
	if v.description != "" {
		c.Body = append(c.Body, runBlock(v.description, "", "", false))
	}
	c.Body = append(c.Body, runBlock(v.lead, "", "", false))
	for _, b := range v.buttons {
		c.Actions = append(c.Actions, cardAction{Type: "Action.OpenUrl", Title: b.label, URL: b.url, Style: b.tone.cardStyle()})
		if b.hint != "" {
			c.Body = append(c.Body, runBlock(b.label+": "+b.hint+".", "Small", "", true))
		}
	}
	if len(v.notes) > 0 {
		n := runBlock(strings.Join(v.notes, "\n"), "Small", "", true)
		n.Spacing = "Medium"
		c.Body = append(c.Body, n)
	}
	return c
}

// Slack's limits (Block Kit reference).
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackButtonMax  = 75
	slackURLMax     = 3000
	slackPerActions = 25
)

// slackMessage is a message for chat.postMessage or an incoming webhook:
// "text" is the notification's fallback, "blocks" what Slack shows.
type slackMessage struct {
	Text   string `json:"text"`
	Blocks []any  `json:"blocks"`
}

type slackText struct {
	Type  string `json:"type"` // plain_text
	Text  string `json:"text"`
	Emoji bool   `json:"emoji"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	BlockID  string      `json:"block_id,omitempty"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []any       `json:"elements,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
}

// slackButton is a link button. The Slack issue makes buttons act in
// place by giving them a value; action_id is the action's name, which
// stays.
type slackButton struct {
	Type     string    `json:"type"` // button
	Text     slackText `json:"text"`
	URL      string    `json:"url"`
	ActionID string    `json:"action_id"`
	Style    string    `json:"style,omitempty"`
}

func plain(s string, limit int) slackText {
	return slackText{Type: "plain_text", Text: clip(s, limit)}
}

// slackEscape escapes the three characters Slack's mrkdwn reads as markup
// (the fallback text is mrkdwn).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slack is the Block Kit message. Text is plain_text throughout, which
// Slack shows as it is; buttons are link buttons to the confirmation
// pages (a link longer than Slack takes is refused, UrlTooLong).
func (v *askView) slack() (*slackMessage, error) {
	m := &slackMessage{Text: slackEscape(v.subject)}
	m.Blocks = append(m.Blocks, slackBlock{Type: "header", Text: ptr(plain(v.subject, slackHeaderMax))})
	if v.description != "" {
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: ptr(plain(v.description, slackSectionMax))})
	}
	var hints []string
	for i := 0; i < len(v.buttons); i += slackPerActions {
		blk := slackBlock{Type: "actions", BlockID: "actions"}
		if i > 0 {
			blk.BlockID = "actions_" + strconv.Itoa(i/slackPerActions)
		}
		for _, b := range v.buttons[i:min(i+slackPerActions, len(v.buttons))] {
			if len(b.url) > slackURLMax {
				return nil, callbackurls.Errorf(callbackurls.CodeURLTooLong,
					"the %s link is %d characters, over the %d Slack takes for a button: shorten what every link carries",
					b.actionID, len(b.url), slackURLMax)
			}
			btn := slackButton{Type: "button", Text: plain(b.label, slackButtonMax), URL: b.url, ActionID: b.actionID}
			switch b.tone {
			case positive:
				btn.Style = "primary"
			case negative:
				btn.Style = "danger"
			}
			blk.Elements = append(blk.Elements, btn)
			if b.hint != "" {
				hints = append(hints, b.label+": "+b.hint+".")
			}
		}
		m.Blocks = append(m.Blocks, blk)
	}
	small := append(hints, v.notes...)
	if len(small) > 0 {
		m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []any{plain(strings.Join(small, "\n"), slackSectionMax)}})
	}
	return m, nil
}

func ptr[T any](v T) *T { return &v }
