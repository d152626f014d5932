package delivery

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SES sends mail with Amazon SES v2's SendEmail.
type SES struct {
	sendEmail func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// NewSES wraps an SDK client (its retryer as it is).
func NewSES(c *sesv2.Client) *SES { return &SES{sendEmail: c.SendEmail} }

// Mail sends m: the HTML body with the plain text as its alternative,
// both UTF-8 (SES encodes the lines of each part for transport).
func (s *SES) Mail(ctx context.Context, m *Mail) (string, error) {
	utf8 := aws.String("UTF-8")
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From),
		Destination:      &sestypes.Destination{ToAddresses: m.To, CcAddresses: m.CC},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(m.Subject), Charset: utf8},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String(m.Text), Charset: utf8},
				Html: &sestypes.Content{Data: aws.String(m.HTML), Charset: utf8},
			},
		}},
	}
	if m.ReplyTo != "" {
		in.ReplyToAddresses = []string{m.ReplyTo}
	}
	out, err := s.sendEmail(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// SNS publishes with Amazon SNS's Publish.
type SNS struct {
	publish func(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// NewSNS wraps an SDK client.
func NewSNS(c *sns.Client) *SNS { return &SNS{publish: c.Publish} }

// Publish publishes p's subject and plain text.
func (s *SNS) Publish(ctx context.Context, p *Post) (string, error) {
	in := &sns.PublishInput{TopicArn: aws.String(p.TopicARN), Subject: aws.String(p.Subject), Message: aws.String(p.Message)}
	if p.GroupID != "" {
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(p.GroupID), aws.String(p.DedupID)
	}
	out, err := s.publish(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// AWSChannels are the channels the settings configure, on AWS: SES when
// there is a sender, SNS when there are topics. Each SDK client is made
// on its channel's first message (the endpoint variables
// AWS_ENDPOINT_URL_SESV2 and AWS_ENDPOINT_URL_SNS apply through cfg), so
// that a cold start pays for neither.
func AWSChannels(cfg func() (aws.Config, error), sender string, topics []string) Channels {
	var ch Channels
	if sender != "" {
		client := sync.OnceValues(func() (*SES, error) {
			c, err := cfg()
			if err != nil {
				return nil, err
			}
			return NewSES(sesv2.NewFromConfig(c)), nil
		})
		ch.Mail = func(ctx context.Context, m *Mail) (string, error) {
			s, err := client()
			if err != nil {
				return "", err
			}
			return s.Mail(ctx, m)
		}
	}
	if len(topics) > 0 {
		client := sync.OnceValues(func() (*SNS, error) {
			c, err := cfg()
			if err != nil {
				return nil, err
			}
			return NewSNS(sns.NewFromConfig(c)), nil
		})
		ch.Publish = func(ctx context.Context, p *Post) (string, error) {
			s, err := client()
			if err != nil {
				return "", err
			}
			return s.Publish(ctx, p)
		}
	}
	return ch
}
