// Package delivery sends the ready-made messages of CreateUrls requests
// ("deliver") and the confirmations after decisions ("deliver.confirm"):
// email through Amazon SES v2 from the deployment's sender, plain text to
// the SNS topics the deployment allows, or, on the local server, into the
// local store's outbox. It implements the core's Deliverer and Notifier.
//
// Bounds: email goes only from the deployment's sender (SENDER_EMAIL) and
// to at most 50 addresses, which the core has checked to be plain
// addresses; SNS only to topics in ALLOWED_TOPIC_ARNS; the recipients of
// a confirmation come from the payload the deployment sealed, never from
// anything else a callback brings.
//
// The SES and SNS clients are made on their first use and only for a
// channel the deployment configures, holding the one operation each
// calls (a method value: see pkg/stepfunctions), so a function without
// SENDER_EMAIL or ALLOWED_TOPIC_ARNS starts no slower.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Mail is one email to send.
type Mail struct {
	From    string
	To, CC  []string
	ReplyTo string
	Subject string
	Text    string
	HTML    string
	// TransactionID and Kind ("ask" or "confirmation") are for the outbox
	// and logs; they are not sent.
	TransactionID, Kind string
}

// Post is one message to publish to an SNS topic.
type Post struct {
	TopicARN string
	Subject  string // SNSSubject's form
	Message  string
	// GroupID and DedupID are set for a FIFO topic (".fifo").
	GroupID, DedupID    string
	TransactionID, Kind string
}

// The kinds of message, in Mail.Kind and Post.Kind.
const (
	KindAsk          = "ask"
	KindConfirmation = "confirmation"
)

// Channels send mail and posts; each returns the id the service gave the
// message. A nil channel is not configured.
type Channels struct {
	Mail    func(ctx context.Context, m *Mail) (string, error)
	Publish func(ctx context.Context, p *Post) (string, error)
	// Slack posts a message (a Block Kit {"text", "blocks"}) to a channel
	// with the deployment's bot token and returns its ts; its failure is
	// a *callbackurls.DeliveryError.
	Slack func(ctx context.Context, channel string, message json.RawMessage) (string, error)
	// AnyTopic lets Publish take any well-formed topic ARN when no topics
	// are listed (the local outbox, which sends nothing).
	AnyTopic bool
	// Asks, if set, is told of each ask before it is sent (the local
	// outbox keeps it, to show its Teams and Slack messages too).
	Asks func(ctx context.Context, out *callbackurls.Outgoing)
}

// Options configure a Service.
type Options struct {
	// Sender is the From address (SENDER_EMAIL); "" turns email off.
	Sender string
	// Topics are the SNS topics messages may go to (ALLOWED_TOPIC_ARNS).
	Topics []string
	// Composer renders the confirmations.
	Composer callbackurls.Composer
	// Logger receives a line for each confirmation that fails (nil: discard).
	Logger *slog.Logger
	// ConfirmAttempts bounds the tries of a confirmation's send
	// (default 3); ConfirmBackoff is the first pause between them (default
	// 200 ms, doubling).
	ConfirmAttempts int
	ConfirmBackoff  time.Duration
}

// Service is the core's Deliverer and Notifier.
type Service struct {
	opts Options
	ch   Channels
}

var (
	_ callbackurls.Deliverer  = (*Service)(nil)
	_ callbackurls.Notifier   = (*Service)(nil)
	_ callbackurls.TopicNamer = (*Service)(nil)
)

// New returns a Service sending through ch.
func New(ch Channels, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ConfirmAttempts <= 0 {
		opts.ConfirmAttempts = 3
	}
	if opts.ConfirmBackoff <= 0 {
		opts.ConfirmBackoff = 200 * time.Millisecond
	}
	return &Service{opts: opts, ch: ch}
}

// Configured reports whether settings turn delivery by AWS on: a sender
// or a topic. Without either (and without a Slack bot token), a
// deployment builds no Service.
func Configured(sender string, topics []string) bool { return sender != "" || len(topics) > 0 }

// Check refuses what this deployment does not deliver.
func (s *Service) Check(d *callbackurls.Deliver) error {
	if d.Email != nil && (s.opts.Sender == "" || s.ch.Mail == nil) {
		return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "deliver.email: this deployment sends no email (it has no SENDER_EMAIL)")
	}
	if d.Slack != nil && s.ch.Slack == nil {
		return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "deliver.slack: this deployment posts to no Slack channel (it has no SLACK_BOT_TOKEN)")
	}
	if d.SNS != nil {
		if s.ch.Publish == nil {
			return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "deliver.sns: this deployment publishes to no topic (it has no ALLOWED_TOPIC_ARNS)")
		}
		if !s.topicAllowed(d.SNS.TopicARN) {
			return callbackurls.Errorf(callbackurls.CodeInvalidDelivery, "deliver.sns.topic_arn is not a topic this deployment publishes to: it must be one of ALLOWED_TOPIC_ARNS")
		}
	}
	return nil
}

// TopicRef is the confirmation route's reference to an allowed topic: its
// name when no other allowed topic has that name, else its ARN. With no
// list (the local outbox), the ARN.
func (s *Service) TopicRef(arn string) string {
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	if s.topicByName(name) == arn {
		return name
	}
	return arn
}

// topicByName is the one allowed topic with that name, or "".
func (s *Service) topicByName(name string) string {
	found := ""
	for _, t := range s.opts.Topics {
		if t[strings.LastIndexByte(t, ':')+1:] == name {
			if found != "" {
				return ""
			}
			found = t
		}
	}
	return found
}

// resolveTopic is the ARN a route's topic reference stands for, or "".
func (s *Service) resolveTopic(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return s.topicByName(ref)
}

func (s *Service) topicAllowed(arn string) bool {
	if len(s.opts.Topics) == 0 {
		return s.ch.AnyTopic && callbackurls.ValidTopicARN(arn)
	}
	for _, t := range s.opts.Topics {
		if t == arn {
			return true
		}
	}
	return false
}

// Deliver sends the ask on each of its channels, email first. The SDK's
// own retries have run; what still fails is a *callbackurls.DeliveryError
// for the state machine's Retry.
func (s *Service) Deliver(ctx context.Context, out *callbackurls.Outgoing) (*callbackurls.Delivered, error) {
	if err := s.Check(out.Deliver); err != nil {
		return nil, err
	}
	if s.ch.Asks != nil {
		s.ch.Asks(ctx, out)
	}
	d := &callbackurls.Delivered{}
	if e := out.Deliver.Email; e != nil {
		id, err := s.ch.Mail(ctx, s.mail(e.To, e.CC, e.ReplyTo, out.Email, out.TransactionID, KindAsk))
		if err != nil {
			return nil, deliveryError(callbackurls.ChannelEmail, err)
		}
		d.Email = &callbackurls.DeliveredMessage{MessageID: id}
	}
	if t := out.Deliver.SNS; t != nil {
		id, err := s.ch.Publish(ctx, post(t.TopicARN, out.Email, out.TransactionID, KindAsk))
		if err != nil {
			return nil, deliveryError(callbackurls.ChannelSNS, err)
		}
		d.SNS = &callbackurls.DeliveredMessage{MessageID: id}
	}
	if sl := out.Deliver.Slack; sl != nil {
		ts, err := s.ch.Slack(ctx, sl.Channel, out.Slack)
		if err != nil {
			return nil, deliveryError(callbackurls.ChannelSlack, err)
		}
		d.Slack = &callbackurls.DeliveredMessage{MessageID: ts, Channel: sl.Channel}
	}
	return d, nil
}

func (s *Service) mail(to, cc []string, replyTo string, m *callbackurls.EmailMessage, tid, kind string) *Mail {
	return &Mail{From: s.opts.Sender, To: to, CC: cc, ReplyTo: replyTo, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		TransactionID: tid, Kind: kind}
}

func post(topic string, m *callbackurls.EmailMessage, tid, kind string) *Post {
	p := &Post{TopicARN: topic, Subject: SNSSubject(m.Subject), Message: m.Text, TransactionID: tid, Kind: kind}
	if strings.HasSuffix(topic, ".fifo") {
		// A FIFO topic needs both; one transaction's message is one group.
		p.GroupID, p.DedupID = tid, tid+"-"+kind
	}
	return p
}

// Confirm sends a confirmation on the channels of its route, each tried up
// to ConfirmAttempts times while its failure is transient and ctx lasts.
// Failures are logged (transaction id, channel, code: no address, no
// text) and returned; the decision stands.
func (s *Service) Confirm(ctx context.Context, c *callbackurls.Confirmation) error {
	m, err := s.opts.Composer.Confirmation(c)
	if err != nil {
		return err
	}
	r := c.Route
	var errs []error
	if len(r.To) > 0 {
		if s.opts.Sender == "" || s.ch.Mail == nil {
			errs = append(errs, s.logFailure(ctx, c, callbackurls.ChannelEmail, errors.New("this deployment sends no email now (no SENDER_EMAIL)"), 0))
		} else {
			mail := s.mail(r.To, r.CC, r.ReplyTo, m, c.TransactionID, KindConfirmation)
			errs = append(errs, s.retry(ctx, c, callbackurls.ChannelEmail, func() error { _, err := s.ch.Mail(ctx, mail); return err }))
		}
	}
	if r.Topic != "" {
		// The topic list may have changed since the URL was made: it is
		// checked again.
		topic := s.resolveTopic(r.Topic)
		if s.ch.Publish == nil || topic == "" || !s.topicAllowed(topic) {
			errs = append(errs, s.logFailure(ctx, c, callbackurls.ChannelSNS, errors.New("the topic is not in ALLOWED_TOPIC_ARNS now"), 0))
		} else {
			p := post(topic, m, c.TransactionID, KindConfirmation)
			errs = append(errs, s.retry(ctx, c, callbackurls.ChannelSNS, func() error { _, err := s.ch.Publish(ctx, p); return err }))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) retry(ctx context.Context, c *callbackurls.Confirmation, channel string, send func() error) error {
	pause := s.opts.ConfirmBackoff
	for attempt := 1; ; attempt++ {
		err := send()
		if err == nil {
			return nil
		}
		if attempt >= s.opts.ConfirmAttempts || !awserr.Transient(err) {
			return s.logFailure(ctx, c, channel, err, attempt)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.logFailure(ctx, c, channel, err, attempt)
		case <-t.C:
		}
		pause *= 2
	}
}

func (s *Service) logFailure(ctx context.Context, c *callbackurls.Confirmation, channel string, err error, attempts int) error {
	de := deliveryError(channel, err)
	s.opts.Logger.LogAttrs(ctx, slog.LevelError, "confirmation not sent",
		slog.String("transaction_id", c.TransactionID), slog.String("channel", channel),
		slog.String("code", de.Code), slog.Int("attempts", attempts), slog.String("cause", de.Message))
	return de
}

// deliveryError sorts a channel's failure: AWS's error code, and whether
// retrying may help (the shared judgement of package awserr).
func deliveryError(channel string, err error) *callbackurls.DeliveryError {
	var de *callbackurls.DeliveryError
	if errors.As(err, &de) {
		return de
	}
	e := &callbackurls.DeliveryError{Channel: channel, Code: "Error", Message: err.Error(), Err: err, Transient: awserr.Transient(err)}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.Code, e.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	} else if awserr.IsContextErr(err) {
		e.Code = "Timeout"
	}
	return e
}

// MaxSNSSubject: SNS takes a subject of fewer than 100 characters.
const MaxSNSSubject = 99

// SNSSubject makes s a subject SNS takes: printable ASCII (anything else
// becomes '?'), one line, starting with a letter, digit or punctuation,
// under 100 characters.
func SNSSubject(s string) string {
	var sb strings.Builder
	for _, r := range strings.Join(strings.Fields(s), " ") {
		if r < ' ' || r > '~' {
			r = '?'
		}
		sb.WriteRune(r)
	}
	out := strings.TrimSpace(sb.String())
	if len(out) > MaxSNSSubject {
		out = strings.TrimSpace(out[:MaxSNSSubject-3]) + "..."
	}
	if out == "" {
		out = "Notification"
	}
	return out
}
