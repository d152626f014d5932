package localserver

import (
	"context"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// LocalSender is the From address of the outbox's mail when no
// SENDER_EMAIL is set.
const LocalSender = "sfn-callback-urls@localhost.localdomain"

// outboxChannels deliver into the local store's outbox: each email and
// SNS message becomes a letter, and each ask also a letter with its Teams
// and Slack messages, which the dashboard shows.
func outboxChannels(store *localstore.Store, composer callbackurls.Composer) delivery.Channels {
	return delivery.Channels{
		Mail: func(ctx context.Context, m *delivery.Mail) (string, error) {
			id, err := store.AddLetter(ctx, localstore.Letter{Kind: m.Kind, Channel: callbackurls.ChannelEmail, TransactionID: m.TransactionID,
				From: m.From, To: m.To, CC: m.CC, ReplyTo: m.ReplyTo, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
			return "outbox-" + id, err
		},
		Publish: func(ctx context.Context, p *delivery.Post) (string, error) {
			id, err := store.AddLetter(ctx, localstore.Letter{Kind: p.Kind, Channel: callbackurls.ChannelSNS, TransactionID: p.TransactionID,
				Topic: p.TopicARN, Subject: p.Subject, Text: p.Message})
			return "outbox-" + id, err
		},
		AnyTopic: true,
		Asks: func(ctx context.Context, out *callbackurls.Outgoing) {
			msgs, err := composer.Compose(out.Ask, []string{callbackurls.MessageTeams, callbackurls.MessageSlack})
			if err != nil {
				return // a link Slack cannot take: the email still goes
			}
			subject := out.Ask.Title
			if out.Email != nil { // none for an ask only posted to Slack
				subject = out.Email.Subject
			}
			_, _ = store.AddLetter(ctx, localstore.Letter{Kind: delivery.KindAsk, Channel: "chat", TransactionID: out.TransactionID,
				Subject: subject, Teams: msgs.Teams, Slack: msgs.Slack})
		},
	}
}
