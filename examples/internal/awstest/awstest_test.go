package awstest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
)

// TestSNSRefuses: what SNS refuses, the stand-in refuses, with the typed
// errors the SDK decodes.
func TestSNSRefuses(t *testing.T) {
	ctx := context.Background()
	srv := awstest.NewSNS(t)
	topic := srv.AddTopic("t")
	c := srv.Client(func(o *sns.Options) { o.RetryMaxAttempts = 1 })
	var invalid *snstypes.InvalidParameterException
	for _, tc := range []struct{ name, subject, message string }{
		{"empty message", "", ""},
		{"subject with a line break", "a\nb", "m"},
		{"subject of 100 characters", strings.Repeat("a", 100), "m"},
		{"non-ASCII subject", "für", "m"},
		{"subject starting with a space", " a", "m"},
		{"message over 256 KiB", "", strings.Repeat("m", awstest.MaxSNSMessageBytes+1)},
	} {
		in := &sns.PublishInput{TopicArn: &topic, Message: &tc.message}
		if tc.subject != "" {
			in.Subject = &tc.subject
		}
		if _, err := c.Publish(ctx, in); !errors.As(err, &invalid) {
			t.Errorf("%s: err = %v, want InvalidParameter", tc.name, err)
		}
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("ok"), Subject: aws.String("Fine: 99 or fewer ASCII characters")}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(topic); len(got) != 1 || got[0].Message != "ok" {
		t.Errorf("messages %v", got)
	}

	// Unsigned, or signed for another service: refused before anything.
	resp, err := http.PostForm(srv.URL(), url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {topic}, "Message": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(srv.Messages(topic)) != 1 {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
}

func TestSESRefuses(t *testing.T) {
	ctx := context.Background()
	srv := awstest.NewSES(t)
	srv.Verify("example.com")
	c := srv.Client(func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	send := func(from string, to []string, subject *string, text *string) error {
		var body sestypes.Body
		if text != nil {
			body.Text = &sestypes.Content{Data: text}
		}
		_, err := c.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: &from,
			Destination:      &sestypes.Destination{ToAddresses: to},
			Content:          &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: subject}, Body: &body}},
		})
		return err
	}
	hi := aws.String("hi")
	var rejected *sestypes.MessageRejected
	var bad *sestypes.BadRequestException
	if err := send("me@example.net", []string{"a@example.org"}, hi, hi); !errors.As(err, &rejected) {
		t.Errorf("unverified sender: %v", err)
	}
	if err := send("me@example.com", nil, hi, hi); !errors.As(err, &bad) {
		t.Errorf("no recipient: %v", err)
	}
	if err := send("me@example.com", []string{"a@example.org"}, hi, nil); !errors.As(err, &bad) {
		t.Errorf("no body: %v", err)
	}
	if err := send("Approvals <me@example.com>", []string{"a@example.org"}, hi, hi); err != nil {
		t.Errorf("a display name: %v", err)
	}
	srv.SetSandbox(true)
	if err := send("me@example.com", []string{"a@example.org"}, hi, hi); !errors.As(err, &rejected) {
		t.Errorf("sandbox, unverified recipient: %v", err)
	}
	if err := send("me@example.com", []string{"b@example.com"}, hi, hi); err != nil {
		t.Errorf("sandbox, verified recipient: %v", err)
	}
	if n := len(srv.Emails()); n != 2 {
		t.Errorf("%d emails accepted, want 2", n)
	}
}
