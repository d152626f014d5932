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

// slackButton is a link button (url) or, where the deployment takes
// Slack's clicks, a button that acts in place (value: the action's data,
// which the click sends back signed by Slack). Never both: a button with
// a URL opens the page as well as sending the click. action_id is the
// action's name.
type slackButton struct {
	Type     string    `json:"type"` // button
	Text     slackText `json:"text"`
	URL      string    `json:"url,omitempty"`
	Value    string    `json:"value,omitempty"`
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
			btn := slackButton{Type: "button", Text: plain(b.label, slackButtonMax), ActionID: b.actionID}
			switch {
			case b.value != "" && len(b.value) <= callbackurls.MaxSlackValue:
				btn.Value = b.value
			case len(b.url) > slackURLMax:
				return nil, callbackurls.Errorf(callbackurls.CodeURLTooLong,
					"the %s link is %d characters, over the %d Slack takes for a button: shorten what every link carries",
					b.actionID, len(b.url), slackURLMax)
			default:
				btn.URL = b.url
			}
			switch b.tone {
			case positive:
				btn.Style = "primary"
			case negative:
				btn.Style = "danger"
			}
			blk.Elements = append(blk.Elements, btn)
			hint := b.hint
			if btn.Value != "" {
				hint = b.slackHint
			}
			if hint != "" {
				hints = append(hints, b.label+": "+hint+".")
			}
		}
		m.Blocks = append(m.Blocks, blk)
	}
	small := append(hints, v.slackNotes...)
	if len(small) > 0 {
		m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []any{plain(strings.Join(small, "\n"), slackSectionMax)}})
	}
	return m, nil
}

func ptr[T any](v T) *T { return &v }

// SlackUpdate is a follow-up to a Slack interaction's response_url: the
// message clicked replaced (ReplaceOriginal), or a message only the
// person who clicked sees (ResponseType "ephemeral").
type SlackUpdate struct {
	ReplaceOriginal bool   `json:"replace_original"`
	ResponseType    string `json:"response_type,omitempty"`
	Text            string `json:"text"`
	Blocks          []any  `json:"blocks,omitempty"`
}

type slackMrkdwn struct {
	Type string `json:"type"` // mrkdwn
	Text string `json:"text"`
	// Verbatim: Slack makes no links of its own in the text.
	Verbatim bool `json:"verbatim"`
}

// SlackDecided is what the message becomes once the target has accepted
// a decision made in Slack: the title, what was decided, by whom (a
// mention of user, the Slack user id) and when, the form's values, the
// receipt's short form and the reference. No buttons: nothing is left to
// decide. c.By is the person's name, for the fallback text.
func SlackDecided(c *callbackurls.Confirmation, user string) *SlackUpdate {
	v := newConfirmView(c)
	u := &SlackUpdate{ReplaceOriginal: true, Text: slackEscape(v.subject)}
	if v.title != "" {
		u.Blocks = append(u.Blocks, slackBlock{Type: "header", Text: ptr(plain(v.title, slackHeaderMax))})
	}
	if v.description != "" {
		u.Blocks = append(u.Blocks, slackBlock{Type: "section", Text: ptr(plain(v.description, slackSectionMax))})
	}
	icon := map[tone]string{positive: ":white_check_mark:", negative: ":x:"}[v.tone]
	if icon == "" {
		icon = ":information_source:"
	}
	line := icon + " *" + v.heading + "*: “" + slackEscape(oneLine(Inert(c.Label))) + "”"
	if c.Outcome != "" {
		line += " (" + slackEscape(oneLine(Inert(c.Outcome))) + ")"
	}
	if validSlackUser(user) {
		line += " by <@" + user + ">"
	} else if c.By != "" {
		line += " by " + slackEscape(oneLine(Inert(c.By)))
	}
	if !c.DecidedAt.IsZero() {
		line += " on " + When(c.DecidedAt)
	}
	u.Blocks = append(u.Blocks, map[string]any{"type": "section", "text": slackMrkdwn{Type: "mrkdwn", Text: clip(line+".", slackSectionMax), Verbatim: true}})
	var fields []slackText
	for _, val := range v.values {
		if len(fields) == 10 { // Slack's most fields in a section
			break
		}
		fields = append(fields, plain(val.label+": "+val.text, 2000))
	}
	if len(fields) > 0 {
		u.Blocks = append(u.Blocks, slackBlock{Type: "section", Fields: fields})
	}
	if len(v.notes) > 0 {
		u.Blocks = append(u.Blocks, slackBlock{Type: "context", Elements: []any{plain(strings.Join(v.notes, "\n"), slackSectionMax)}})
	}
	if c.By != "" {
		u.Text += " by " + slackEscape(oneLine(Inert(c.By)))
	}
	return u
}

// SlackNote is a message only the person who clicked sees; the message
// clicked stays as it is.
func SlackNote(text string) *SlackUpdate {
	return &SlackUpdate{ResponseType: "ephemeral", Text: slackEscape(clip(text, slackSectionMax)),
		Blocks: []any{slackBlock{Type: "section", Text: ptr(plain(text, slackSectionMax))}}}
}

// validSlackUser accepts a Slack user id for a mention.
func validSlackUser(id string) bool {
	if len(id) < 3 || len(id) > 24 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	return strings.IndexFunc(id[1:], func(r rune) bool { return !('A' <= r && r <= 'Z' || '0' <= r && r <= '9') }) < 0
}
