// Package messages renders the ready-made messages of a CreateUrls request
// (its "messages" member) and the confirmation after a decision: an email
// (subject, plain text and HTML), a Microsoft Teams Adaptive Card and a
// Slack Block Kit message. It is pure Go: no AWS, no HTTP, no templates
// parsed at start (the CreateUrls function links no html/template).
//
// What every rendering holds to:
//   - The only links are the actions' URLs, one per action. Text from the
//     request (title, description, form values) is made inert (see Inert)
//     so that a requester cannot slip a link of their own into an
//     approval message, and escaped for its format.
//   - Plain text: every line, links included, is at most 998 characters
//     (RFC 5322; Exchange and SNS email subscriptions break longer ones),
//     and each link stands on a line of its own. A link longer than that
//     is refused (UrlTooLong) rather than sent broken.
//   - HTML: inline styles only, explicit colours on every element (so a
//     mail client's dark mode keeps or inverts them together), buttons a
//     thumb can hit at 390 px, headings and link texts a screen reader can
//     list.
package messages

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Composer renders messages; its zero value is ready.
type Composer struct{}

var _ callbackurls.Composer = Composer{}

// wrapWidth is where paragraphs of plain text wrap, the width mail
// clients have long assumed.
const wrapWidth = 76

// DefaultSubject is the subject of an ask without a title.
const DefaultSubject = "A decision is waiting for you"

// Compose renders the kinds asked for (callbackurls.MessageKinds).
func (Composer) Compose(a *callbackurls.Ask, kinds []string) (*callbackurls.Messages, error) {
	v := newAskView(a)
	out := &callbackurls.Messages{}
	for _, kind := range kinds {
		switch kind {
		case callbackurls.MessageEmail:
			text, err := v.text()
			if err != nil {
				return nil, err
			}
			out.Email = &callbackurls.EmailMessage{Subject: v.subject, Text: text, HTML: v.html()}
		case callbackurls.MessageTeams:
			b, err := jsontext.Marshal(v.teams())
			if err != nil {
				return nil, err
			}
			out.Teams = b
		case callbackurls.MessageSlack:
			m, err := v.slack()
			if err != nil {
				return nil, err
			}
			b, err := jsontext.Marshal(m)
			if err != nil {
				return nil, err
			}
			out.Slack = b
		default:
			return nil, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "messages: unknown kind %q", kind)
		}
	}
	return out, nil
}

// askView is an ask as every rendering says it: the request's text made
// inert, each action's button and hint, the small print.
type askView struct {
	subject     string
	title       string // "" without one
	description string
	buttons     []button
	// lead says what to do; notes are the small print (what a link does,
	// when the links expire, the reference).
	lead  string
	notes []string
	// slackNotes are the Slack message's: its buttons may act in place.
	slackNotes []string
}

type button struct {
	label, url, hint string
	// textURL is the link plain text shows (url when it fits a line); ""
	// with noTextLink, when only the HTML part can carry it.
	textURL    string
	noTextLink bool
	tone       tone
	actionID   string
	// value is the Slack button's value (the action's data) when the
	// button acts in place; slackHint says what it does then.
	value, slackHint string
}

// tone is a button's colour and Slack style.
type tone uint8

const (
	neutral tone = iota
	positive
	negative
)

func toneOf(t callbackurls.ActionType) tone {
	switch t.Spec().Tone {
	case "approve":
		return positive
	case "reject":
		return negative
	}
	return neutral
}

func newAskView(a *callbackurls.Ask) *askView {
	v := &askView{title: oneLine(Inert(a.Title)), description: Inert(strings.TrimSpace(a.Description))}
	v.subject = v.title
	if v.subject == "" {
		v.subject = DefaultSubject
	}
	allAsk := len(a.Actions) > 0
	slackAllAsk, inPlace := allAsk, false
	for _, act := range a.Actions {
		b := button{label: oneLine(act.Label), url: act.URL, textURL: act.URL, tone: toneOf(act.Type), actionID: act.Name, value: act.Value}
		if act.TextURL != "" || act.NoTextLink {
			b.textURL, b.noTextLink = act.TextURL, act.NoTextLink
		}
		switch {
		case act.Form:
			b.hint = "opens a page where you can add details before you answer"
		case !act.AsksFirst && act.Type == callbackurls.Heartbeat:
			b.hint = "tells the request it is still being worked on; you can use it again"
		case !act.AsksFirst:
			b.hint = "answers at once when opened"
		}
		b.slackHint = b.hint
		switch {
		case b.value != "" && act.Form:
			b.slackHint = "opens a form here in Slack before you answer"
		case b.value != "" && act.Type == callbackurls.Heartbeat:
			b.slackHint = "tells the request it is still being worked on; you can use it again"
		case b.value != "":
			b.slackHint = ""
		}
		if !act.AsksFirst {
			allAsk = false
		}
		if !act.AsksFirst || b.value != "" {
			slackAllAsk = false
		}
		inPlace = inPlace || b.value != ""
		v.buttons = append(v.buttons, b)
	}
	if len(v.buttons) == 1 {
		v.lead = "Your answer is needed:"
	} else {
		v.lead = "Choose your answer:"
	}
	if allAsk {
		v.notes = append(v.notes, "Each link opens a page with one button: nothing is decided until you press it.")
	}
	if slackAllAsk {
		v.slackNotes = append(v.slackNotes, v.notes...)
	}
	if inPlace {
		v.slackNotes = append(v.slackNotes, "Your click answers here: this message then says who decided.")
	}
	if !a.Expiration.IsZero() {
		v.notes = append(v.notes, "The links work until "+When(a.Expiration)+".")
		what := "links"
		if inPlace {
			what = "buttons"
		}
		v.slackNotes = append(v.slackNotes, "The "+what+" work until "+When(a.Expiration)+".")
	}
	if a.TransactionID != "" {
		v.notes = append(v.notes, "Reference: "+a.TransactionID)
		v.slackNotes = append(v.slackNotes, "Reference: "+a.TransactionID)
	}
	return v
}

// When writes a time for people: in UTC, and also in t's own offset when
// that is not UTC ("2 March 2026 at 17:00 UTC (18:00 UTC+01:00)"). Seconds
// show only when there are some.
func When(t time.Time) string {
	layout := func(t time.Time) string {
		if t.Second() != 0 {
			return "15:04:05"
		}
		return "15:04"
	}
	u := t.UTC()
	s := u.Format("2 January 2006 at " + layout(u) + " UTC")
	if _, off := t.Zone(); off != 0 {
		local := t.Format(layout(t)) + " " + offsetName(t)
		if t.YearDay() != u.YearDay() || t.Year() != u.Year() {
			local = t.Format("2 January 2006 at ") + local
		}
		s += " (" + local + ")"
	}
	return s
}

// offsetName is "UTC+01:00", "UTC-03:30".
func offsetName(t time.Time) string { return "UTC" + t.Format("-07:00") }

// text is the plain-text body (see the package comment).
func (v *askView) text() (string, error) {
	var sb strings.Builder
	if v.title != "" {
		writeWrapped(&sb, v.title)
		sb.WriteString("\n")
	}
	if v.description != "" {
		writeWrapped(&sb, v.description)
		sb.WriteString("\n")
	}
	writeWrapped(&sb, v.lead)
	sb.WriteString("\n")
	for _, b := range v.buttons {
		label := b.label
		if b.hint != "" {
			label += " (" + b.hint + ")"
		}
		if b.noTextLink {
			writeWrapped(&sb, label+": use the button in this mail's HTML version (the link is too long for plain text).")
			sb.WriteString("\n")
			continue
		}
		if err := checkLink(b); err != nil {
			return "", err
		}
		writeWrapped(&sb, label+":")
		sb.WriteString(b.textURL)
		sb.WriteString("\n\n")
	}
	for _, n := range v.notes {
		writeWrapped(&sb, n)
	}
	return strings.TrimRight(sb.String(), "\n") + "\n", nil
}

// checkLink refuses a link plain-text mail would break. The link is not
// quoted: it is a secret.
func checkLink(b button) error {
	if len(b.textURL) > callbackurls.MaxTextLine {
		return callbackurls.Errorf(callbackurls.CodeURLTooLong,
			"the %s link is %d characters even without the title, description and form texts, over the %d a line of plain-text mail may have "+
				"(mail servers cut longer lines in two): shorten its output, error, cause or form, name fewer recipients of the confirmation, "+
				"or give the deployment a KMS HMAC key or a static keyring (shorter links than KMS envelope keys)",
			b.actionID, len(b.textURL), callbackurls.MaxTextLine)
	}
	return nil
}

// writeWrapped writes text, keeping its line breaks and wrapping each line
// at wrapWidth characters on spaces; a word longer than MaxTextLine bytes,
// which no line may be, is cut.
func writeWrapped(sb *strings.Builder, text string) {
	for line := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		width := 0
		for _, word := range strings.Fields(line) {
			for len(word) > callbackurls.MaxTextLine {
				cut := cutAt(word, callbackurls.MaxTextLine)
				if width > 0 {
					sb.WriteString("\n")
				}
				sb.WriteString(word[:cut])
				word, width = word[cut:], wrapWidth
			}
			n := utf8.RuneCountInString(word)
			switch {
			case width == 0:
			case width+1+n > wrapWidth:
				sb.WriteString("\n")
				width = 0
			default:
				sb.WriteString(" ")
				width++
			}
			sb.WriteString(word)
			width += n
		}
		sb.WriteString("\n")
	}
}

// cutAt is the largest rune boundary of s at most n.
func cutAt(s string, n int) int {
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// oneLine folds text onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Inert keeps mail and chat clients from making a link of text: "://"
// becomes "[:]//", and a dot joining two labels of what could be a host
// name (a letter, digit, '-' or '_' before it; a letter and one more
// label character after it) becomes "[.]". So https://evil.example/ok
// reads https[:]//evil[.]example/ok, and bob@evil.example is no link,
// while "1,240.00", "e.g." and "done. Next" stay as they are. IDNA's other
// full stops (U+3002, U+FF0E, U+FF61) count as dots.
func Inert(s string) string {
	if !strings.Contains(s, "://") && !strings.ContainsAny(s, ".\u3002\uFF0E\uFF61") {
		return s
	}
	s = strings.ReplaceAll(s, "://", "[:]//")
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	prev := rune(-1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isDot(r) && isLabelRune(prev) {
			next, n := utf8.DecodeRuneInString(s[i+size:])
			after, _ := utf8.DecodeRuneInString(s[i+size+n:])
			if unicode.IsLetter(next) && (unicode.IsLetter(after) || unicode.IsDigit(after) || after == '-') {
				sb.WriteString("[" + s[i:i+size] + "]")
				prev, i = r, i+size
				continue
			}
		}
		sb.WriteString(s[i : i+size])
		prev, i = r, i+size
	}
	return sb.String()
}

func isDot(r rune) bool { return r == '.' || r == '\u3002' || r == '\uFF0E' || r == '\uFF61' }

func isLabelRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
}

// clip shortens s to at most n characters, marking a cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// Confirmation renders the email that confirms a decision.
func (Composer) Confirmation(c *callbackurls.Confirmation) (*callbackurls.EmailMessage, error) {
	v := newConfirmView(c)
	return &callbackurls.EmailMessage{Subject: v.subject, Text: v.text(), HTML: v.html()}, nil
}

type confirmView struct {
	subject, heading, title, description string
	tone                                 tone
	lines                                []string // what was decided, by whom, when
	values                               []value
	notes                                []string
}

type value struct{ label, text string }

func newConfirmView(c *callbackurls.Confirmation) *confirmView {
	spec := c.Type.Spec()
	heading := "Decided"
	if spec != nil {
		heading = spec.Heading
	}
	v := &confirmView{heading: heading, title: oneLine(Inert(c.Title)), description: Inert(strings.TrimSpace(c.Description)), tone: toneOf(c.Type)}
	v.subject = heading
	if v.title != "" {
		v.subject += ": " + v.title
	}
	answer := "The answer “" + oneLine(Inert(c.Label)) + "” was sent"
	if c.Outcome != "" {
		answer = "The outcome “" + oneLine(Inert(c.Outcome)) + "” of “" + oneLine(Inert(c.Label)) + "” was sent"
	}
	if !c.DecidedAt.IsZero() {
		answer += " on " + When(c.DecidedAt)
	}
	if c.By != "" {
		answer += " by " + oneLine(Inert(c.By))
	}
	v.lines = append(v.lines, answer+".")
	for _, f := range c.Fields {
		val, ok := c.Input[f.Name]
		if !ok {
			continue
		}
		label := f.Title
		if label == "" {
			label = callbackurls.DisplayLabel("", f.Name)
		}
		v.values = append(v.values, value{label: oneLine(Inert(label)), text: Inert(formatValue(val))})
	}
	// Values of a form the payload does not describe (none today) still show.
	var extra []string
	for name := range c.Input {
		if !slices.ContainsFunc(c.Fields, func(f callbackurls.InputField) bool { return f.Name == name }) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		v.values = append(v.values, value{label: callbackurls.DisplayLabel("", name), text: Inert(formatValue(c.Input[name]))})
	}
	if c.Receipt != "" {
		v.notes = append(v.notes, "Receipt: "+oneLine(c.Receipt))
	}
	if c.TransactionID != "" {
		v.notes = append(v.notes, "Reference: "+c.TransactionID)
	}
	return v
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (v *confirmView) text() string {
	var sb strings.Builder
	writeWrapped(&sb, v.subject)
	sb.WriteString("\n")
	for _, l := range v.lines {
		writeWrapped(&sb, l)
	}
	sb.WriteString("\n")
	for _, val := range v.values {
		writeWrapped(&sb, val.label+":")
		writeWrapped(&sb, val.text)
		sb.WriteString("\n")
	}
	if v.description != "" {
		writeWrapped(&sb, v.description)
		sb.WriteString("\n")
	}
	for _, n := range v.notes {
		writeWrapped(&sb, n)
	}
	return strings.TrimRight(sb.String(), "\n") + "\n"
}
