package callbackurls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// Ready-made messages and their delivery (an addition to the reference's
// request): "messages" asks for the ask rendered for email, Teams and
// Slack; "deliver" sends it by email (SES) or to an SNS topic once the
// URLs are made; "deliver.confirm" sends a confirmation to the same
// recipients after the decision. The core validates, and calls its ports:
// a Composer renders (package messages), a Deliverer sends and a Notifier
// confirms (package delivery, at the edge).

// The kinds of ready-made message.
const (
	MessageEmail = "email"
	MessageTeams = "teams"
	MessageSlack = "slack"
)

// MessageKinds are the kinds a request's "messages" may name.
var MessageKinds = []string{MessageEmail, MessageTeams, MessageSlack}

// The channels of "deliver".
const (
	ChannelEmail = "email"
	ChannelSNS   = "sns"
	ChannelSlack = "slack"
)

// Limits of "deliver".
const (
	// MaxRecipients bounds an email's To and Cc together (SES takes 50).
	MaxRecipients = 50
	// MaxAddressLength is RFC 5321's longest address (a path of 256
	// octets less its angle brackets).
	MaxAddressLength = 254
	// MaxTopicARNLength bounds an SNS topic ARN (a 256-character name
	// and its prefix).
	MaxTopicARNLength = 400
	// MaxTextLine is RFC 5322's longest line of a message, without its
	// CRLF: a plain-text mail's lines, links included, stay within it.
	MaxTextLine = 998
	// MaxSlackValue is the most characters of a Slack button's value,
	// which carries an action's data to act in place.
	MaxSlackValue = 2000
)

// Deliver is a request's "deliver": where the ask is sent.
type Deliver struct {
	Email *EmailDelivery `json:"email,omitempty"`
	SNS   *SNSDelivery   `json:"sns,omitempty"`
	Slack *SlackDelivery `json:"slack,omitempty"`
	// Confirm: the callback that decides sends a confirmation to the
	// same recipients once the target has accepted the decision.
	Confirm bool `json:"confirm,omitempty"`
}

// EmailDelivery is an email from the deployment's sender (SENDER_EMAIL).
type EmailDelivery struct {
	To      []string `json:"to"`
	CC      []string `json:"cc,omitempty"`
	ReplyTo string   `json:"reply_to,omitempty"`
}

// SNSDelivery is a message published to a topic the deployment allows
// (ALLOWED_TOPIC_ARNS).
type SNSDelivery struct {
	TopicARN string `json:"topic_arn"`
}

// SlackDelivery is a message posted to a Slack channel by the
// deployment's Slack app (SLACK_BOT_TOKEN), which must be in the channel.
type SlackDelivery struct {
	Channel string `json:"channel"`
}

// UnmarshalJSON reads "deliver.slack".
func (s *SlackDelivery) UnmarshalJSON(data []byte) error {
	if err := strictMembers(data, "deliver.slack", []string{"channel"}, "member"); err != nil {
		return err
	}
	type plain SlackDelivery
	if err := json.Unmarshal(data, (*plain)(s)); err != nil {
		return deliverTypeError("deliver.slack", err)
	}
	return nil
}

// ValidSlackChannel reports whether s is a Slack conversation id: C (a
// channel), G (a private one) or D (a direct message), then upper-case
// letters and digits.
func ValidSlackChannel(s string) bool {
	if len(s) < 3 || len(s) > MaxSlackIDLength || strings.IndexByte("CGD", s[0]) < 0 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads "deliver", refusing channels and members it does
// not know (a misspelt "emial" must not silently send nothing).
func (d *Deliver) UnmarshalJSON(data []byte) error {
	if err := strictMembers(data, "deliver", []string{"email", "sns", "slack", "confirm"}, "channel"); err != nil {
		return err
	}
	type plain Deliver
	if err := json.Unmarshal(data, (*plain)(d)); err != nil {
		return deliverTypeError("deliver", err)
	}
	return nil
}

// UnmarshalJSON reads "deliver.email", refusing members it does not know
// (there is no "bcc": every recipient sees who else was asked).
func (e *EmailDelivery) UnmarshalJSON(data []byte) error {
	if err := strictMembers(data, "deliver.email", []string{"to", "cc", "reply_to"}, "member"); err != nil {
		return err
	}
	type plain EmailDelivery
	if err := json.Unmarshal(data, (*plain)(e)); err != nil {
		return deliverTypeError("deliver.email", err)
	}
	return nil
}

// UnmarshalJSON reads "deliver.sns".
func (s *SNSDelivery) UnmarshalJSON(data []byte) error {
	if err := strictMembers(data, "deliver.sns", []string{"topic_arn"}, "member"); err != nil {
		return err
	}
	type plain SNSDelivery
	if err := json.Unmarshal(data, (*plain)(s)); err != nil {
		return deliverTypeError("deliver.sns", err)
	}
	return nil
}

// strictMembers refuses a value that is not an object, or an object with
// a member not in known.
func strictMembers(data []byte, where string, known []string, what string) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Errorf(CodeInvalidDelivery, "%s must be an object", where)
	}
	return eachMember(data, func(key, _ []byte) error {
		if !slices.Contains(known, string(key)) {
			return Errorf(CodeInvalidDelivery, "%s: unknown %s %q: %s takes %s", where, what, text.Truncate(string(key), 64), where, listWords(known, "and"))
		}
		return nil
	})
}

func deliverTypeError(where string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return Errorf(CodeInvalidDelivery, "%s.%s: expected %s, got %s", where, typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	}
	return Errorf(CodeInvalidDelivery, "%s is not valid", where)
}

// listWords joins words for messages: "a, b and c".
func listWords(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// validateMessages checks "messages", "message_actions" and "deliver"
// (what does not depend on the deployment).
func (r *CreateRequest) validateMessages() error {
	for i, kind := range r.Messages {
		if !slices.Contains(MessageKinds, kind) {
			return Errorf(CodeInvalidJSON, "messages: unknown kind %q: a request may ask for %s", text.Truncate(kind, 64), listWords(MessageKinds, "and"))
		}
		if slices.Contains(r.Messages[:i], kind) {
			return Errorf(CodeInvalidJSON, "messages names %q twice", kind)
		}
	}
	if r.MessageActions != nil {
		if len(r.Messages) == 0 && r.Deliver == nil {
			return Errorf(CodeInvalidJSON, "message_actions says which actions the messages show: ask for messages or deliver too")
		}
		for i, name := range r.MessageActions {
			a := r.action(name)
			switch {
			case a == nil:
				return Errorf(CodeInvalidJSON, "message_actions names %q, which is not an action of the request", text.Truncate(name, 64))
			case slices.Contains(r.MessageActions[:i], name):
				return Errorf(CodeInvalidJSON, "message_actions names %q twice", name)
			case !a.Type.Spec().ForPeople:
				return Errorf(CodeInvalidJSON, "message_actions names %s, a %s action: it is for programs, and its URL opens no page a person can use", name, a.Type)
			}
		}
		if len(r.MessageActions) == 0 {
			return Errorf(CodeInvalidJSON, "message_actions is empty: name at least one action, or leave it out for the success and failure actions")
		}
	}
	if len(r.Messages) > 0 || r.Deliver != nil {
		if len(r.messageActions()) == 0 {
			return Errorf(CodeInvalidJSON, "the messages would have no link: they show the success and failure actions unless message_actions names others")
		}
	}
	mailed := slices.Contains(r.Messages, MessageEmail) || (r.Deliver != nil && (r.Deliver.Email != nil || r.Deliver.SNS != nil))
	if mailed && strings.IndexFunc(r.Title, unicode.IsControl) >= 0 {
		// The title is the mail's subject: a line break there would start
		// a header of the requester's choosing.
		return Errorf(CodeInvalidDelivery, "title is the email's subject and must be one line without control characters")
	}
	if r.Deliver != nil {
		return r.Deliver.validate()
	}
	return nil
}

func (d *Deliver) validate() error {
	if d.Email == nil && d.SNS == nil && d.Slack == nil {
		return Errorf(CodeInvalidDelivery, "deliver needs a channel: email, sns, slack or more than one")
	}
	if s := d.Slack; s != nil && !ValidSlackChannel(s.Channel) {
		return Errorf(CodeInvalidDelivery, "deliver.slack.channel must be a Slack channel id (C0123ABCD; a private channel's G..., a direct message's D...): a channel's name can change")
	}
	if e := d.Email; e != nil {
		if len(e.To) == 0 {
			return Errorf(CodeInvalidDelivery, "deliver.email.to must list at least one address")
		}
		if n := len(e.To) + len(e.CC); n > MaxRecipients {
			return Errorf(CodeInvalidDelivery, "deliver.email: at most %d recipients in to and cc together (got %d)", MaxRecipients, n)
		}
		for _, list := range []struct {
			name  string
			addrs []string
		}{{"to", e.To}, {"cc", e.CC}} {
			for i, a := range list.addrs {
				if !ValidEmailAddress(a) {
					return Errorf(CodeInvalidDelivery, "deliver.email.%s[%d] is not an email address (one plain address such as alice@example.com, no name, no line breaks)", list.name, i)
				}
			}
		}
		if e.ReplyTo != "" && !ValidEmailAddress(e.ReplyTo) {
			return Errorf(CodeInvalidDelivery, "deliver.email.reply_to is not an email address (one plain address such as alice@example.com)")
		}
	}
	if s := d.SNS; s != nil && !ValidTopicARN(s.TopicARN) {
		return Errorf(CodeInvalidDelivery, "deliver.sns.topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
	}
	return nil
}

// action is the request's action of that name, or nil.
func (r *CreateRequest) action(name string) *Action {
	for i := range r.Actions {
		if r.Actions[i].Name == name {
			return &r.Actions[i]
		}
	}
	return nil
}

// messageActions are the actions the messages show, in the request's
// order: those message_actions names, else the success and failure ones
// (heartbeats and post actions only when named).
func (r *CreateRequest) messageActions() []*Action {
	var out []*Action
	for i := range r.Actions {
		a := &r.Actions[i]
		spec := a.Type.Spec()
		if r.MessageActions != nil {
			if slices.Contains(r.MessageActions, a.Name) {
				out = append(out, a)
			}
		} else if spec.ForPeople && spec.AsksFirst {
			out = append(out, a)
		}
	}
	return out
}

// ValidEmailAddress reports whether s is one plain address as "deliver"
// takes it: ASCII, a dot-atom local part of at most 64 characters, an @,
// and a domain of at least two labels (letters, digits and inner
// hyphens), 254 characters in all. No display name, no quoted local part,
// no comment: nothing a header could be folded or injected through.
func ValidEmailAddress(s string) bool {
	if len(s) < 3 || len(s) > MaxAddressLength {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return false
	}
	for _, part := range strings.Split(local, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
				return false
			}
		}
	}
	return validDomain(domain)
}

func validDomain(domain string) bool {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidTopicARN reports whether s has the form of an SNS topic ARN:
// arn:<partition>:sns:<region>:<12-digit account>:<name>, the name 1 to
// 256 letters, digits, '-' and '_' (and ".fifo" at the end).
func ValidTopicARN(s string) bool {
	if len(s) > MaxTopicARNLength {
		return false
	}
	f := strings.Split(s, ":")
	if len(f) != 6 || f[0] != "arn" || f[2] != "sns" || f[1] == "" || f[3] == "" {
		return false
	}
	for _, part := range []string{f[1], f[3]} {
		for i := 0; i < len(part); i++ {
			if !isAlnum(part[i]) && part[i] != '-' {
				return false
			}
		}
	}
	if len(f[4]) != 12 || strings.IndexFunc(f[4], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return false
	}
	name := strings.TrimSuffix(f[5], ".fifo")
	if name == "" || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) && name[i] != '-' && name[i] != '_' {
			return false
		}
	}
	return true
}

// Ask is what the ready-made messages say: the request's title and
// description, the links of the actions they show, and when the links
// expire.
type Ask struct {
	TransactionID      string
	Title, Description string
	Actions            []AskAction
	// Expiration is when the links stop working, in the request's own
	// offset; zero: they do not expire.
	Expiration time.Time
}

// AskAction is one link of the messages.
type AskAction struct {
	Name  string
	Type  ActionType
	Label string // as the pages show it (DisplayLabel)
	URL   string
	// TextURL, if set, stands for URL in plain text: a URL of the same
	// action whose page shows less (no title, description or form
	// texts), made when URL is too long for a line of plain-text mail.
	TextURL string
	// NoTextLink: even TextURL is too long, and the email goes only
	// through SES, whose HTML part has the link: the plain text names the
	// action without it.
	NoTextLink bool
	// AsksFirst: the link opens a confirmation page, where nothing is
	// decided until the person presses its button.
	AsksFirst bool
	// Form: the confirmation page asks for values (a comment, ...).
	Form bool
	// Value, if set, is the action's data for a Slack button that acts in
	// place (the deployment takes Slack's clicks): the click decides, or
	// with a form opens a Slack modal. Empty: a link button.
	Value string
}

// Messages are the ready-made messages of a CreateUrls response.
type Messages struct {
	Email *EmailMessage `json:"email,omitempty"`
	// Teams is an Adaptive Card.
	Teams json.RawMessage `json:"teams,omitempty"`
	// Slack is a message of Block Kit blocks ({"text", "blocks"}).
	Slack json.RawMessage `json:"slack,omitempty"`
}

// EmailMessage is an email: its subject, a plain-text body whose lines
// are at most MaxTextLine characters with each link on a line of its own,
// and an HTML body.
type EmailMessage struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Composer renders messages (package messages).
type Composer interface {
	// Compose renders the kinds asked for. A link too long for a line of
	// plain-text mail is an *Error (UrlTooLong).
	Compose(a *Ask, kinds []string) (*Messages, error)
	// Confirmation renders the email that confirms a decision.
	Confirmation(c *Confirmation) (*EmailMessage, error)
}

// Outgoing is an ask to deliver: where to, the email and the Slack
// message that carry it, and the ask itself (for a channel that shows
// more, such as the local outbox).
type Outgoing struct {
	TransactionID string
	Deliver       *Deliver
	Email         *EmailMessage
	Slack         json.RawMessage
	Ask           *Ask
}

// Delivered says where an ask went: each channel's message id.
type Delivered struct {
	Email *DeliveredMessage `json:"email,omitempty"`
	SNS   *DeliveredMessage `json:"sns,omitempty"`
	Slack *DeliveredMessage `json:"slack,omitempty"`
}

// DeliveredMessage is the id a channel gave a message (SES's MessageId,
// SNS's MessageId, Slack's message ts; the outbox's own), and for Slack
// the channel.
type DeliveredMessage struct {
	MessageID string `json:"message_id"`
	Channel   string `json:"channel,omitempty"`
}

// Deliverer sends asks (package delivery, at the edge).
type Deliverer interface {
	// Check refuses, with an *Error (InvalidDelivery), what this
	// deployment does not deliver: email without a sender, a topic it
	// does not allow. It runs before any URL is made.
	Check(d *Deliver) error
	// Deliver sends the ask on each channel of out.Deliver. A failure is
	// a *DeliveryError.
	Deliver(ctx context.Context, out *Outgoing) (*Delivered, error)
}

// DeliveryError is a channel's failure to take a message.
type DeliveryError struct {
	Channel string // ChannelEmail, ChannelSNS or ChannelSlack
	// Code is the service's error code (MessageRejected, Throttling...).
	Code string
	// Transient: sending again later may work (throttling, an outage).
	Transient bool
	Message   string
	Err       error
}

func (e *DeliveryError) Error() string {
	return "delivery by " + e.Channel + " failed: " + e.Code + ": " + e.Message
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// deliveryFailed is the contract's error for a delivery's failure: 503
// with Retry-After where retrying helps, else 502.
func deliveryFailed(err error) *Error {
	var de *DeliveryError
	if !errors.As(err, &de) {
		if e := (*Error)(nil); errors.As(err, &e) {
			return e
		}
		e := Errorf(CodeDeliveryFailed, "delivery failed")
		e.Err = err
		return e
	}
	msg := fmt.Sprintf("delivery by %s failed: %s", de.Channel, de.Code)
	if de.Message != "" {
		msg += ": " + text.Truncate(de.Message, 300)
	}
	var e *Error
	if de.Transient {
		e = Unavailablef(CodeDeliveryFailed, "%s", msg)
	} else {
		e = Errorf(CodeDeliveryFailed, "%s", msg)
	}
	e.Err = err
	return e
}

// checkDelivery refuses, before anything is made, what the deployment
// cannot render or deliver.
func (s *Service) checkDelivery(req *CreateRequest) error {
	if req.Deliver != nil && s.cfg.Deliverer == nil {
		return Errorf(CodeInvalidDelivery, "delivery is off in this deployment: it has no sender (SENDER_EMAIL), no topics (ALLOWED_TOPIC_ARNS) and no Slack bot token (SLACK_BOT_TOKEN)")
	}
	if (len(req.Messages) > 0 || req.Deliver != nil) && s.cfg.Composer == nil {
		return Errorf(CodeServiceError, "this deployment renders no messages")
	}
	if req.Deliver == nil {
		return nil
	}
	if err := s.cfg.Deliverer.Check(req.Deliver); err != nil {
		return err
	}
	if req.Deliver.Confirm && (req.Deliver.Email != nil || req.Deliver.SNS != nil) {
		// A Slack message's confirmation is the message itself, updated
		// by the click that decides.
		if s.cfg.Notifier == nil {
			return Errorf(CodeInvalidDelivery, "deliver.confirm: this deployment sends no confirmations")
		}
		if !authenticates(s.codec) {
			return Errorf(CodeInvalidDelivery, "deliver.confirm needs encrypted URLs: with encryption disabled anyone could write a URL whose confirmation mails whom they like")
		}
	}
	return nil
}

// textURL gives an action whose URL is too long for a line of plain-text
// mail a shorter one: its payload without the title and description, its
// form without titles and help (the page then names the action and its
// fields by their names; the email says the rest), and no readable
// action and type in the query. The decision, the form's rules and the
// confirmation's route are the same.
func (s *Service) textURL(ctx context.Context, req *CreateRequest, act *AskAction, tid, base string, now, expiration time.Time) error {
	if len(act.URL) <= MaxTextLine {
		return nil
	}
	a := req.action(act.Name)
	lean := *req
	lean.Title, lean.Description = "", ""
	p, err := s.payloadFor(&lean, a, tid, now, expiration)
	if err != nil {
		return err
	}
	if p.Presentation, err = leanPresentation(p.Presentation, a); err != nil {
		return err
	}
	data, err := s.codec.Encode(ctx, p)
	if err != nil {
		return err
	}
	// Without the readable action and type (the payload's copy is the
	// truth; Open checks them only when present): about 30 characters.
	act.TextURL = base + CallbackPath + "?" + QueryData + "=" + data
	if len(act.TextURL) > MaxTextLine && htmlOnly(req) {
		// Only SES sends this email, whose HTML part carries the link:
		// the plain-text part says so rather than breaking the link.
		act.TextURL, act.NoTextLink = "", true
	}
	return nil
}

// htmlOnly reports whether the email is only sent by SES, HTML with a
// plain-text part, and not handed to the caller or to SNS, where the plain
// text is all there is.
func htmlOnly(req *CreateRequest) bool {
	return req.Deliver != nil && req.Deliver.Email != nil && req.Deliver.SNS == nil && !slices.Contains(req.Messages, MessageEmail)
}

// leanPresentation drops what only reads well on a page: the form's
// titles and help, and a label that is the name in words.
func leanPresentation(raw json.RawMessage, a *Action) (json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	p, err := ParsePresentation(raw)
	if err != nil {
		return nil, err
	}
	if p.Label == DisplayLabel("", a.Name) {
		p.Label = ""
	}
	if p.Input != nil {
		fields := slices.Clone(p.Input.Fields)
		for i := range fields {
			fields[i].Title, fields[i].Help = "", ""
		}
		p.Input = &InputSchema{Fields: fields}
	}
	if *p == (Presentation{}) {
		return nil, nil
	}
	return jsontext.Marshal(p)
}

// ask is what the messages of a request say, its links made.
func (s *Service) ask(r *CreateRequest, tid string, urls, data map[string]string, expiration time.Time) (*Ask, error) {
	a := &Ask{TransactionID: tid, Title: r.Title, Description: r.Description, Expiration: expiration}
	for _, act := range r.messageActions() {
		p := Presentation{Confirm: act.Confirm}
		form := hasInput(act)
		if form {
			p.Input = &InputSchema{}
		}
		aa := AskAction{
			Name: act.Name, Type: act.Type, Label: DisplayLabel(act.Label, act.Name), URL: urls[act.Name],
			AsksFirst: p.NeedsConfirmation(act.Type, s.cfg.BrowserGET), Form: form,
		}
		var err error
		if aa.Value, err = s.slackValue(r, act, data[act.Name]); err != nil {
			return nil, err
		}
		a.Actions = append(a.Actions, aa)
	}
	return a, nil
}

// slackValue is the value of an action's Slack button, or "" for a link
// button: a deployment that takes Slack's clicks gives success, failure
// and heartbeat actions buttons that act in place, except an action with
// a form when it has no bot token to open a modal with. A value longer
// than Slack's 2,000 characters falls back to the link, unless only Slack
// users may decide: nobody could use the link's page, and the request is
// refused.
func (s *Service) slackValue(r *CreateRequest, a *Action, data string) (string, error) {
	spec := a.Type.Spec()
	if !slices.Contains(s.cfg.SignIn, ViaSlack) || !spec.ForPeople || !spec.Decides || (hasInput(a) && !s.cfg.SlackBot) ||
		!slices.Contains(r.Messages, MessageSlack) && (r.Deliver == nil || r.Deliver.Slack == nil) {
		return "", nil
	}
	if len(data) <= MaxSlackValue {
		return data, nil
	}
	if spec.Approvable && len(r.Approvers) > 0 && !slices.ContainsFunc(r.Approvers, func(e string) bool {
		_, k, err := ParseApprover(e)
		return err != nil || k != ApproverSlack
	}) {
		return "", Errorf(CodeURLTooLong,
			"the %s button's value would be %d characters, over the %d Slack takes, and only Slack users may decide, so its link is no help: "+
				"shorten its output, error, cause or form, or name fewer approvers", a.Name, len(data), MaxSlackValue)
	}
	return "", nil
}

// compose renders the messages asked for and delivers the ask; it runs
// once the URLs are made.
func (s *Service) compose(ctx context.Context, req *CreateRequest, resp *CreateResponse, data map[string]string, base string, now, expiration time.Time) error {
	if len(req.Messages) == 0 && req.Deliver == nil {
		return nil
	}
	kinds := req.Messages
	if d := req.Deliver; d != nil && (d.Email != nil || d.SNS != nil) && !slices.Contains(kinds, MessageEmail) {
		// Both channels send the email's subject and text.
		kinds = append(slices.Clip(kinds), MessageEmail)
	}
	if d := req.Deliver; d != nil && d.Slack != nil && !slices.Contains(kinds, MessageSlack) {
		kinds = append(slices.Clip(kinds), MessageSlack)
	}
	ask, err := s.ask(req, resp.TransactionID, resp.URLs, data, expiration)
	if err != nil {
		return err
	}
	if slices.Contains(kinds, MessageEmail) {
		for i := range ask.Actions {
			if err := s.textURL(ctx, req, &ask.Actions[i], resp.TransactionID, base, now, expiration); err != nil {
				return err
			}
		}
	}
	msgs, err := s.cfg.Composer.Compose(ask, kinds)
	if err != nil {
		return AsError(err)
	}
	if req.Deliver != nil {
		d, err := s.cfg.Deliverer.Deliver(ctx, &Outgoing{TransactionID: resp.TransactionID, Deliver: req.Deliver, Email: msgs.Email, Slack: msgs.Slack, Ask: ask})
		if err != nil {
			return deliveryFailed(err)
		}
		resp.Delivered = d
	}
	if len(req.Messages) == 0 {
		return nil
	}
	if !slices.Contains(req.Messages, MessageEmail) {
		msgs.Email = nil
	}
	if !slices.Contains(req.Messages, MessageSlack) {
		msgs.Slack = nil
	}
	resp.Messages = msgs
	return nil
}
