package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
)

const (
	sender = "approvals@example.com"
	topic  = "arn:aws:sns:eu-west-1:123456789012:approvals"
)

// sesInput is SendEmail's input as the stand-in decodes it.
type sesInput struct {
	FromEmailAddress string
	Destination      struct{ ToAddresses, CcAddresses []string }
	ReplyToAddresses []string
	Content          struct {
		Simple struct {
			Subject struct{ Data, Charset string }
			Body    struct {
				Text, Html struct{ Data, Charset string }
			}
		}
	}
}

type snsInput struct {
	TopicArn               string `query:"TopicArn"`
	Subject                string `query:"Subject"`
	Message                string `query:"Message"`
	MessageGroupId         string `query:"MessageGroupId"`
	MessageDeduplicationId string `query:"MessageDeduplicationId"`
}

type publishOutput struct {
	MessageId string
}

// standIns are SES v2 and SNS on one stand-in each, recording what they
// take.
type standIns struct {
	ses, sns *standin.Server
	mails    []sesInput
	posts    []snsInput
}

func newStandIns(t testing.TB) *standIns {
	s := &standIns{
		ses: standin.New(t, standin.Service{Name: "sestest", Protocol: standin.RESTJSON, SigningName: "ses"}),
		sns: standin.New(t, standin.Service{Name: "snstest", Protocol: standin.Query, SigningName: "sns", Version: "2010-03-31"}),
	}
	standin.HandleREST(s.ses, "SendEmail", "POST /v2/email/outbound-emails", func(_ *standin.Request, in *sesInput) (any, error) {
		if in.FromEmailAddress != sender {
			return nil, standin.Errorf(http.StatusBadRequest, "MessageRejected", "Email address is not verified.")
		}
		s.mails = append(s.mails, *in)
		return map[string]string{"MessageId": "ses-1"}, nil
	})
	standin.Handle(s.sns, "Publish", func(_ *standin.Request, in *snsInput) (any, error) {
		if in.TopicArn != topic && in.TopicArn != topic+".fifo" {
			return nil, standin.Errorf(http.StatusNotFound, "NotFound", "Topic does not exist")
		}
		s.posts = append(s.posts, *in)
		return &publishOutput{MessageId: "sns-1"}, nil
	})
	return s
}

// config is the functions' configuration from an environment naming the
// two stand-ins by their endpoint variables.
func (s *standIns) config() func() (aws.Config, error) {
	env := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": standin.Credentials().AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": standin.Credentials().SecretAccessKey, "AWS_MAX_ATTEMPTS": "2",
		"AWS_ENDPOINT_URL_SESV2": s.ses.URL(), "AWS_ENDPOINT_URL_SNS": s.sns.URL(),
	}
	return func() (aws.Config, error) { return awsenv.Config(func(k string) string { return env[k] }) }
}

func newService(t testing.TB, s *standIns, log *bytes.Buffer, topics ...string) *delivery.Service {
	if topics == nil {
		topics = []string{topic, topic + ".fifo"}
	}
	return delivery.New(delivery.AWSChannels(s.config(), sender, topics), delivery.Options{
		Sender: sender, Topics: topics, Composer: messages.Composer{},
		Logger: slog.New(slog.NewJSONHandler(log, nil)), ConfirmBackoff: time.Millisecond})
}

var email = &callbackurls.EmailMessage{Subject: "Deploy 1.4", Text: "Approve:\nhttps://x.example/respond\n", HTML: "<p>x</p>"}

func TestDeliver(t *testing.T) {
	s := newStandIns(t)
	d := newService(t, s, &bytes.Buffer{})
	out := &callbackurls.Outgoing{TransactionID: "tid1", Email: email, Deliver: &callbackurls.Deliver{
		Email: &callbackurls.EmailDelivery{To: []string{"a@example.com"}, CC: []string{"b@example.com"}, ReplyTo: "c@example.com"},
		SNS:   &callbackurls.SNSDelivery{TopicARN: topic + ".fifo"},
	}}
	got, err := d.Deliver(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	want := &callbackurls.Delivered{Email: &callbackurls.DeliveredMessage{MessageID: "ses-1"}, SNS: &callbackurls.DeliveredMessage{MessageID: "sns-1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if len(s.mails) != 1 || len(s.posts) != 1 {
		t.Fatalf("%d mails, %d posts", len(s.mails), len(s.posts))
	}
	m := s.mails[0]
	if m.FromEmailAddress != sender || !cmp.Equal(m.Destination.ToAddresses, []string{"a@example.com"}) || !cmp.Equal(m.Destination.CcAddresses, []string{"b@example.com"}) ||
		!cmp.Equal(m.ReplyToAddresses, []string{"c@example.com"}) || m.Content.Simple.Subject.Data != "Deploy 1.4" ||
		m.Content.Simple.Body.Text.Data != email.Text || m.Content.Simple.Body.Html.Data != email.HTML || m.Content.Simple.Body.Html.Charset != "UTF-8" {
		t.Errorf("mail %+v", m)
	}
	p := s.posts[0]
	if p.Subject != "Deploy 1.4" || p.Message != email.Text || p.MessageGroupId != "tid1" || p.MessageDeduplicationId != "tid1-ask" {
		t.Errorf("post %+v", p)
	}
}

func TestDeliverErrors(t *testing.T) {
	tests := []struct {
		name      string
		prepare   func(s *standIns)
		channel   string
		code      string
		transient bool
	}{
		{"rejected", func(s *standIns) { s.ses.FailNextOp("SendEmail", 1, 400, "MessageRejected") }, "email", "MessageRejected", false},
		{"throttled past the retries", func(s *standIns) { s.ses.Throttle("SendEmail", 5) }, "email", "TooManyRequestsException", true},
		{"SNS outage", func(s *standIns) { s.sns.FailNextOp("Publish", 5, 500, "InternalError") }, "sns", "InternalError", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStandIns(t)
			tc.prepare(s)
			d := newService(t, s, &bytes.Buffer{})
			_, err := d.Deliver(context.Background(), &callbackurls.Outgoing{TransactionID: "t", Email: email, Deliver: &callbackurls.Deliver{
				Email: &callbackurls.EmailDelivery{To: []string{"a@example.com"}}, SNS: &callbackurls.SNSDelivery{TopicARN: topic}}})
			var de *callbackurls.DeliveryError
			if !errors.As(err, &de) || de.Channel != tc.channel || de.Code != tc.code || de.Transient != tc.transient {
				t.Fatalf("err = %#v, want %s %s transient %v", err, tc.channel, tc.code, tc.transient)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	s := newStandIns(t)
	d := newService(t, s, &bytes.Buffer{}, topic)
	noMail := delivery.New(delivery.Channels{}, delivery.Options{Topics: []string{topic}})
	tests := []struct {
		name string
		svc  *delivery.Service
		spec callbackurls.Deliver
		ok   bool
	}{
		{"allowed", d, callbackurls.Deliver{Email: &callbackurls.EmailDelivery{To: []string{"a@example.com"}}, SNS: &callbackurls.SNSDelivery{TopicARN: topic}}, true},
		{"topic outside the list", d, callbackurls.Deliver{SNS: &callbackurls.SNSDelivery{TopicARN: topic + "2"}}, false},
		{"no sender", noMail, callbackurls.Deliver{Email: &callbackurls.EmailDelivery{To: []string{"a@example.com"}}}, false},
		{"no SNS channel", noMail, callbackurls.Deliver{SNS: &callbackurls.SNSDelivery{TopicARN: topic}}, false},
	}
	for _, tc := range tests {
		err := tc.svc.Check(&tc.spec)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v", tc.name, err)
		}
	}
}

func TestConfirm(t *testing.T) {
	c := &callbackurls.Confirmation{
		Route:         callbackurls.ConfirmRoute{To: []string{"a@example.com"}, Topic: topic},
		TransactionID: "tid9", Title: "Deploy 1.4", Action: "approve", Label: "Approve", Type: callbackurls.Success,
		DecidedAt: time.Date(2026, 3, 2, 16, 5, 0, 0, time.UTC),
	}
	t.Run("retried", func(t *testing.T) {
		s := newStandIns(t)
		// Two SDK-level attempts fail (AWS_MAX_ATTEMPTS=2), then the
		// confirmation's second try goes through.
		s.ses.Throttle("SendEmail", 2)
		var log bytes.Buffer
		if err := newService(t, s, &log).Confirm(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if len(s.mails) != 1 || len(s.posts) != 1 || !strings.HasPrefix(s.mails[0].Content.Simple.Subject.Data, "Approved: Deploy 1.4") {
			t.Fatalf("mails %+v posts %+v", s.mails, s.posts)
		}
		if log.Len() != 0 {
			t.Errorf("logged: %s", log.String())
		}
	})
	t.Run("refused and logged", func(t *testing.T) {
		s := newStandIns(t)
		s.ses.FailNextOp("SendEmail", 1, 400, "MessageRejected")
		var log bytes.Buffer
		err := newService(t, s, &log).Confirm(context.Background(), c)
		var de *callbackurls.DeliveryError
		if !errors.As(err, &de) || de.Code != "MessageRejected" || len(s.posts) != 1 {
			t.Fatalf("err %v posts %d", err, len(s.posts))
		}
		if s.ses.Count("SendEmail") != 1 {
			t.Errorf("a refusal was retried: %d calls", s.ses.Count("SendEmail"))
		}
		line := log.String()
		if !strings.Contains(line, `"msg":"confirmation not sent"`) || !strings.Contains(line, `"code":"MessageRejected"`) || strings.Contains(line, "a@example.com") {
			t.Errorf("log line %s", line)
		}
	})
	t.Run("topic no longer allowed", func(t *testing.T) {
		s := newStandIns(t)
		var log bytes.Buffer
		err := newService(t, s, &log, topic+".fifo").Confirm(context.Background(), c)
		if err == nil || len(s.posts) != 0 || len(s.mails) != 1 {
			t.Fatalf("err %v, %d posts, %d mails", err, len(s.posts), len(s.mails))
		}
	})
}

func TestSNSSubject(t *testing.T) {
	tests := map[string]string{
		"Deploy 1.4":               "Deploy 1.4",
		"Déployer\nla version":     "D?ployer la version",
		"":                         "Notification",
		strings.Repeat("x", 150):   strings.Repeat("x", 96) + "...",
		"  spaced   out  subject ": "spaced out subject",
	}
	for in, want := range tests {
		if got := delivery.SNSSubject(in); got != want {
			t.Errorf("SNSSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTopicRef: a confirmation's route names an allowed topic by its name
// when no other allowed topic has it, and that name is resolved again.
func TestTopicRef(t *testing.T) {
	other := "arn:aws:sns:us-east-1:123456789012:approvals"
	d := delivery.New(delivery.Channels{Publish: func(context.Context, *delivery.Post) (string, error) { return "", nil }},
		delivery.Options{Topics: []string{topic, topic + ".fifo", other, "arn:aws:sns:eu-west-1:123456789012:ops"}, Composer: messages.Composer{}})
	for arn, want := range map[string]string{
		topic:                                    topic, // two allowed topics are named approvals
		other:                                    other,
		topic + ".fifo":                          "approvals.fifo",
		"arn:aws:sns:eu-west-1:123456789012:ops": "ops",
	} {
		if got := d.TopicRef(arn); got != want {
			t.Errorf("TopicRef(%s) = %q, want %q", arn, got, want)
		}
	}
	var published []string
	d = delivery.New(delivery.Channels{Publish: func(_ context.Context, p *delivery.Post) (string, error) {
		published = append(published, p.TopicARN)
		return "id", nil
	}}, delivery.Options{Topics: []string{topic}, Composer: messages.Composer{}})
	c := &callbackurls.Confirmation{Route: callbackurls.ConfirmRoute{Topic: d.TopicRef(topic)}, Type: callbackurls.Success, Label: "OK"}
	if c.Route.Topic != "approvals" {
		t.Fatalf("route topic %q", c.Route.Topic)
	}
	if err := d.Confirm(context.Background(), c); err != nil || len(published) != 1 || published[0] != topic {
		t.Errorf("Confirm: %v, published to %v", err, published)
	}
}
