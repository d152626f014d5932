// Package mail composes the examples' approval and confirmation emails and
// sends them through Amazon SNS (plain text, to a topic's email
// subscriptions) or Amazon SES v2 (HTML with buttons and a plain-text part).
//
// Plain-text mail has a hard limit: RFC 5322 allows 998 characters a line,
// and mail servers such as Exchange break longer lines, cutting a link in
// two. So every link goes on a line of its own, and SNS refuses to publish
// a link longer than MaxLineLength (unless told otherwise) rather than
// send a broken one. The links of an sfn-callback-urls stack with a KMS
// HMAC key or a static keyring fit when they carry little besides the
// token; KMS envelope encryption's do not (see the examples' READMEs).
// SES's HTML part has no such limit.
//
// The only links in a message are its Buttons'. The rest (a subject, a
// paragraph, the small print) is text that may come from whoever started
// the execution, and mail clients make links of text that looks like one:
// so it is made inert (see Inert), and a requester cannot slip an
// "Approve" link of their own into the mail. A button without an absolute
// http or https URL is an error, and nothing is sent.
package mail

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// MaxLineLength is RFC 5322's limit on a line of a message, without its
// CRLF.
const MaxLineLength = 998

// wrapWidth is where text paragraphs are wrapped in the plain-text body,
// the width mail clients have long assumed.
const wrapWidth = 76

// MaxSNSSubjectLength: SNS wants a subject "less than 100 characters".
const MaxSNSSubjectLength = 99

// Style is how a button looks in the HTML body.
type Style int

// Button styles.
const (
	Neutral Style = iota
	Positive
	Negative
)

// Button is a link to act on: a button in HTML, a labelled line of its own
// in plain text.
type Button struct {
	Label string // "Approve"
	URL   string
	// Hint follows the label in plain text, "Reject (you can add a
	// comment)", and is shown under the buttons in HTML.
	Hint  string
	Style Style
}

// Message is an email in the examples' one layout: a subject, paragraphs
// of plain text, buttons, and small print.
type Message struct {
	Subject    string
	Paragraphs []string
	Buttons    []Button
	Footer     []string
}

// LinkTooLongError is a link that plain-text mail would break.
type LinkTooLongError struct {
	Label  string
	Length int
	Limit  int
}

func (e *LinkTooLongError) Error() string {
	return fmt.Sprintf("the %q link is %d characters long, more than the %d a plain-text mail line may have "+
		"(mail servers such as Exchange cut longer lines in two): give the sfn-callback-urls stack a KMS HMAC key "+
		"or a static keyring (shorter URLs), send HTML mail through SES, or raise the limit at the risk of broken links",
		e.Label, e.Length, e.Limit)
}

// Text is the plain-text body. Paragraphs are wrapped at 76 columns; each
// link stands alone on its line, and one longer than maxLink characters
// (0: no limit) is a *LinkTooLongError. A button without a link is an
// error.
func (m *Message) Text(maxLink int) (string, error) {
	if err := m.checkLinks(); err != nil {
		return "", err
	}
	for _, b := range m.Buttons {
		if maxLink > 0 && len(b.URL) > maxLink {
			return "", &LinkTooLongError{Label: b.Label, Length: len(b.URL), Limit: maxLink}
		}
	}
	return m.text(), nil
}

// checkLinks refuses a button whose URL is not an absolute http or https
// URL: a mail with a blank or odd link is never sent. The URL is not
// quoted: it is a secret.
func (m *Message) checkLinks() error {
	for _, b := range m.Buttons {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("the %q button has no link (an absolute http or https URL): not sent", oneLine(b.Label))
		}
	}
	return nil
}

func (m *Message) text() string {
	var sb strings.Builder
	for _, p := range m.Paragraphs {
		writeWrapped(&sb, Inert(p))
		sb.WriteString("\n")
	}
	for _, b := range m.Buttons {
		label := oneLine(b.Label)
		if b.Hint != "" {
			label += " (" + oneLine(b.Hint) + ")"
		}
		writeWrapped(&sb, label+":")
		sb.WriteString(b.URL)
		sb.WriteString("\n\n")
	}
	for _, f := range m.Footer {
		writeWrapped(&sb, Inert(f))
		sb.WriteString("\n")
	}
	return strings.TrimRight(sb.String(), "\n") + "\n"
}

// Inert keeps mail clients from making a link of text: "://" becomes
// "[:]//", and a dot that would join two labels of a host name (a letter,
// digit, '-' or '_' before it; a letter and at least one more letter,
// digit or '-' after it) becomes "[.]". So https://evil.example/approve
// reads https[:]//evil[.]example/approve and www.evil.example or
// bob@evil.example is no link either, while amounts (EUR 1,240.00),
// abbreviations (e.g.) and sentences ("done. Next") stay as they are. The
// full stops that IDNA reads as dots (U+3002, U+FF0E, U+FF61) count as
// dots.
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
			if unicode.IsLetter(next) && isLabelStart(after) {
				sb.WriteString("[" + s[i:i+size] + "]")
				prev, i = r, i+size
				continue
			}
		}
		sb.WriteString(s[i : i+size]) // an invalid byte is kept as it is
		prev, i = r, i+size
	}
	return sb.String()
}

func isDot(r rune) bool { return r == '.' || r == '\u3002' || r == '\uFF0E' || r == '\uFF61' }

// isLabelRune: a character of a host name's label (IDN included).
func isLabelRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
}

// isLabelStart: the second character of a label long enough to be a
// top-level domain (which has at least two).
func isLabelStart(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-'
}

// writeWrapped writes text, keeping its own line breaks and wrapping each
// line at wrapWidth characters on spaces. A word longer than that stays
// whole, unless it is over MaxLineLength bytes, which no line may be.
func writeWrapped(sb *strings.Builder, text string) {
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		width := 0
		for _, word := range strings.Fields(line) {
			for len(word) > MaxLineLength {
				cut := cutAt(word, MaxLineLength)
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

// cutAt is the largest index of a rune boundary of s at most n.
func cutAt(s string, n int) int {
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n // not UTF-8 there: any cut will do
}

// oneLine folds a label onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var page = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:24px 12px;background:#f3f4f6;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:8px;padding:24px">
<h1 style="font-size:20px;line-height:1.3;margin:0 0 16px">{{.Subject}}</h1>
{{- range .Paragraphs}}
<p style="font-size:15px;line-height:1.5;margin:0 0 12px;white-space:pre-line">{{.}}</p>
{{- end}}
{{- if .Buttons}}
<p style="margin:24px 0 8px">
{{- range .Buttons}}
<a href="{{.URL}}" style="display:inline-block;margin:0 8px 8px 0;padding:10px 20px;border-radius:6px;background:{{.Color}};color:#ffffff;font-size:15px;font-weight:600;text-decoration:none">{{.Label}}</a>
{{- end}}
</p>
{{- range .Buttons}}{{if .Hint}}
<p style="font-size:13px;line-height:1.4;margin:0 0 4px;color:#59636e">{{.Label}}: {{.Hint}}</p>
{{- end}}{{end}}
{{- end}}
{{- range .Footer}}
<p style="font-size:13px;line-height:1.4;margin:16px 0 0;color:#59636e">{{.}}</p>
{{- end}}
</div>
</body>
</html>
`))

type htmlButton struct {
	Button
	Color string
}

// HTML is the HTML body: the same text, the links as buttons. Everything
// but the URLs is escaped text.
func (m *Message) HTML() (string, error) {
	if err := m.checkLinks(); err != nil {
		return "", err
	}
	view := struct {
		Subject    string
		Paragraphs []string
		Buttons    []htmlButton
		Footer     []string
	}{Subject: Inert(m.Subject), Paragraphs: inertAll(m.Paragraphs), Footer: inertAll(m.Footer)}
	for _, b := range m.Buttons {
		color := "#424a53"
		switch b.Style {
		case Positive:
			color = "#1a7f37"
		case Negative:
			color = "#cf222e"
		}
		view.Buttons = append(view.Buttons, htmlButton{Button: b, Color: color})
	}
	var sb strings.Builder
	if err := page.Execute(&sb, view); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func inertAll(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = Inert(t)
	}
	return out
}

// SNSSubject makes s a subject SNS accepts: inert (see Inert), printable
// ASCII (others become '?'), on one line, starting with a letter, digit or
// punctuation, and shorter than 100 characters.
func SNSSubject(s string) string {
	var sb strings.Builder
	for _, r := range oneLine(Inert(s)) {
		if r < ' ' || r > '~' {
			r = '?'
		}
		sb.WriteRune(r)
	}
	out := strings.TrimSpace(sb.String())
	if len(out) > MaxSNSSubjectLength {
		out = strings.TrimSpace(out[:MaxSNSSubjectLength-3]) + "..."
	}
	if out == "" {
		out = "Notification"
	}
	return out
}

// Ready is an email written elsewhere: sfn-callback-urls' ready-made
// "messages" (docs/MESSAGES.md), whose plain text already keeps every line
// within MaxLineLength and whose text is already inert.
type Ready struct {
	Subject, Text, HTML string
}

// Sender sends a message to the recipients it was made for.
type Sender interface {
	Send(ctx context.Context, m *Message) error
	// SendReady sends a ready-made email (SNS: its subject and plain
	// text; SES: all of it).
	SendReady(ctx context.Context, r *Ready) error
	// HTML reports whether the mail is HTML, where a link may be long and
	// may go under a button; else it is plain text.
	HTML() bool
}

// SNS publishes the plain-text body to a topic, whose email subscriptions
// mail it.
type SNS struct {
	publish  func(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
	topicARN string
	maxLink  int
}

// NewSNS returns a Sender publishing to topicARN that refuses links over
// maxLink characters (MaxLineLength when 0; negative: no limit).
func NewSNS(client *sns.Client, topicARN string, maxLink int) *SNS {
	switch {
	case maxLink == 0:
		maxLink = MaxLineLength
	case maxLink < 0:
		maxLink = 0
	}
	return &SNS{publish: client.Publish, topicARN: topicARN, maxLink: maxLink}
}

// ParseMaxLinkLength reads a MAX_LINK_LENGTH setting as NewSNS takes it:
// empty for MaxLineLength, a number of characters, or 0 for no limit.
func ParseMaxLinkLength(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0:
		return 0, fmt.Errorf("MAX_LINK_LENGTH=%q: want a number of characters, or 0 for no limit", v)
	case n == 0:
		return -1, nil
	}
	return n, nil
}

// HTML is false: SNS email subscriptions get plain text.
func (s *SNS) HTML() bool { return false }

// Send publishes m; a link longer than the limit is a *LinkTooLongError
// and nothing is published.
func (s *SNS) Send(ctx context.Context, m *Message) error {
	body, err := m.Text(s.maxLink)
	if err != nil {
		return err
	}
	_, err = s.publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.topicARN),
		Subject:  aws.String(SNSSubject(m.Subject)),
		Message:  aws.String(body),
	})
	if err != nil {
		return fmt.Errorf("sns publish: %w", err)
	}
	return nil
}

// SendReady publishes r's plain text; a line longer than the limit (a
// link plain text would break) is a *LinkTooLongError and nothing is
// published.
func (s *SNS) SendReady(ctx context.Context, r *Ready) error {
	for _, line := range strings.Split(r.Text, "\n") {
		if s.maxLink > 0 && len(line) > s.maxLink {
			return &LinkTooLongError{Label: "a line", Length: len(line), Limit: s.maxLink}
		}
	}
	_, err := s.publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.topicARN),
		Subject:  aws.String(SNSSubject(r.Subject)),
		Message:  aws.String(r.Text),
	})
	if err != nil {
		return fmt.Errorf("sns publish: %w", err)
	}
	return nil
}

// SES sends HTML mail with a plain-text part through SES v2.
type SES struct {
	sendEmail func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	from      string
	to        []string
}

// NewSES returns a Sender mailing from (a verified SES identity, or an
// address of a verified domain) to the addresses to.
func NewSES(client *sesv2.Client, from string, to ...string) *SES {
	return &SES{sendEmail: client.SendEmail, from: from, to: to}
}

// HTML is true.
func (s *SES) HTML() bool { return true }

// Send mails m. The plain-text part keeps long links whole (SES encodes
// long lines); the HTML part is what mail clients show.
func (s *SES) Send(ctx context.Context, m *Message) error {
	if len(s.to) == 0 {
		return errors.New("ses: no recipient")
	}
	html, err := m.HTML()
	if err != nil {
		return err
	}
	return s.send(ctx, oneLine(Inert(m.Subject)), m.text(), html)
}

func (s *SES) send(ctx context.Context, subject, text, html string) error {
	if len(s.to) == 0 {
		return errors.New("ses: no recipient")
	}
	utf8 := aws.String("UTF-8")
	_, err := s.sendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &sestypes.Destination{ToAddresses: s.to},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(subject), Charset: utf8},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String(text), Charset: utf8},
				Html: &sestypes.Content{Data: aws.String(html), Charset: utf8},
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("ses send email: %w", err)
	}
	return nil
}

// SendReady mails r.
func (s *SES) SendReady(ctx context.Context, r *Ready) error {
	return s.send(ctx, oneLine(r.Subject), r.Text, r.HTML)
}

// Clip shortens s to at most n characters, marking the cut with "…".
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n-1])) + "…"
}

// Paragraphs keeps the paragraphs that are not blank, for a Message's body.
func Paragraphs(paragraphs ...string) []string {
	var out []string
	for _, p := range paragraphs {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}
