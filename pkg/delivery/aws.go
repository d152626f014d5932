package delivery

import (
	"context"
	"encoding/xml"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsjson"
)

// The two AWS operations are called through internal/awsjson with the
// SDK's configuration, credentials, signer and retryer, not through the
// SDK's sesv2 and sns clients: those build their schema tables at package
// init, which every cold start of both functions would pay (measured: 8
// to 12 ms and 2.6 MiB more) whether or not the deployment delivers.

// SES sends mail with Amazon SES v2's SendEmail.
type SES struct {
	cfg func() (aws.Config, error)
}

// NewSES sends with the configuration cfg loads (once: share it).
func NewSES(cfg func() (aws.Config, error)) *SES { return &SES{cfg: cfg} }

// sesContent is SES v2's Content: text and its charset.
type sesContent struct {
	Data    string `json:"Data"`
	Charset string `json:"Charset"`
}

type sendEmailInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      struct {
		ToAddresses []string `json:"ToAddresses,omitempty"`
		CcAddresses []string `json:"CcAddresses,omitempty"`
	} `json:"Destination"`
	ReplyToAddresses []string `json:"ReplyToAddresses,omitempty"`
	Content          struct {
		Simple struct {
			Subject sesContent `json:"Subject"`
			Body    struct {
				Text sesContent `json:"Text"`
				HTML sesContent `json:"Html"`
			} `json:"Body"`
		} `json:"Simple"`
	} `json:"Content"`
}

// Mail sends m: the HTML body with the plain text as its alternative,
// both UTF-8 (SES encodes each part's lines for transport).
func (s *SES) Mail(ctx context.Context, m *Mail) (string, error) {
	cfg, err := s.cfg()
	if err != nil {
		return "", err
	}
	var in sendEmailInput
	in.FromEmailAddress = m.From
	in.Destination.ToAddresses, in.Destination.CcAddresses = m.To, m.CC
	if m.ReplyTo != "" {
		in.ReplyToAddresses = []string{m.ReplyTo}
	}
	in.Content.Simple.Subject = sesContent{m.Subject, "UTF-8"}
	in.Content.Simple.Body.Text = sesContent{m.Text, "UTF-8"}
	in.Content.Simple.Body.HTML = sesContent{m.HTML, "UTF-8"}
	var out struct {
		MessageID string `json:"MessageId"`
	}
	if err := awsjson.CallREST(ctx, cfg, awsjson.SESv2, "SendEmail", "/v2/email/outbound-emails", &in, &out); err != nil {
		return "", err
	}
	return out.MessageID, nil
}

// SNS publishes with Amazon SNS's Publish.
type SNS struct {
	cfg func() (aws.Config, error)
}

// NewSNS publishes with the configuration cfg loads.
func NewSNS(cfg func() (aws.Config, error)) *SNS { return &SNS{cfg: cfg} }

// Publish publishes p's subject and plain text.
func (s *SNS) Publish(ctx context.Context, p *Post) (string, error) {
	cfg, err := s.cfg()
	if err != nil {
		return "", err
	}
	params := url.Values{"TopicArn": {p.TopicARN}, "Subject": {p.Subject}, "Message": {p.Message}}
	if p.GroupID != "" {
		params.Set("MessageGroupId", p.GroupID)
		params.Set("MessageDeduplicationId", p.DedupID)
	}
	var out struct {
		XMLName   xml.Name `xml:"PublishResponse"`
		MessageID string   `xml:"PublishResult>MessageId"`
	}
	if err := awsjson.CallQuery(ctx, cfg, awsjson.SNS, "Publish", "2010-03-31", params, &out); err != nil {
		return "", err
	}
	return out.MessageID, nil
}

// AWSChannels are the channels the settings configure, on AWS: SES when
// there is a sender, SNS when there are topics. cfg is read on a
// channel's first message (the endpoint variables AWS_ENDPOINT_URL_SESV2
// and AWS_ENDPOINT_URL_SNS apply through it), so a start pays for
// neither.
func AWSChannels(cfg func() (aws.Config, error), sender string, topics []string) Channels {
	var ch Channels
	if sender != "" {
		ch.Mail = NewSES(cfg).Mail
	}
	if len(topics) > 0 {
		ch.Publish = NewSNS(cfg).Publish
	}
	return ch
}
