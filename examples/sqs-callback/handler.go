package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/links"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// Message is the body of the queue's messages: the state machine's
// MessageBody (statemachine.asl.json).
type Message struct {
	Token     string `json:"token"`
	Execution string `json:"execution"`
	// ExpiresInSeconds is how long the links work: the task's
	// TimeoutSeconds (absent for a day, at most a year: see
	// links.Lifetime).
	ExpiresInSeconds *int64  `json:"expires_in_seconds"`
	Request          Request `json:"request"`
}

// Request is the execution's input.
type Request struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// RejectedError is the error a rejection fails the execution with.
const RejectedError = "Rejected"

const (
	defaultLifetime = 24 * time.Hour
	maxTitle        = 200
	maxDescription  = 1000
	// maxMessageBytes bounds a body: SQS's own limit is 256 KiB, and a
	// token, a title and a description need far less.
	maxMessageBytes = 64 << 10
)

// URLCreator creates callback URLs: a *client.Client.
type URLCreator interface {
	CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error)
}

// Handler consumes the queue.
type Handler struct {
	URLs   URLCreator
	Mail   mail.Sender
	Logger *slog.Logger
	Now    func() time.Time
}

// Handle processes a batch. Each message is mailed on its own; those that
// fail are reported in BatchItemFailures (the event source mapping has
// ReportBatchItemFailures), so SQS delivers only them again and, after the
// queue's maxReceiveCount, moves them to the dead-letter queue. The others
// are deleted.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	failed := make([]bool, len(ev.Records))
	var wg sync.WaitGroup
	for i := range ev.Records {
		wg.Go(func() {
			rec := &ev.Records[i]
			tid, err := h.process(ctx, rec)
			if err != nil {
				failed[i] = true
				// The error never holds the body (the token) or the URLs.
				h.Logger.ErrorContext(ctx, "not mailed", "message_id", rec.MessageId,
					"receive_count", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
				return
			}
			h.Logger.InfoContext(ctx, "mailed", "message_id", rec.MessageId, "transaction_id", tid)
		})
	}
	wg.Wait()
	var resp events.SQSEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

// process mails one message's links and returns the URLs' transaction id.
func (h *Handler) process(ctx context.Context, rec *events.SQSMessage) (string, error) {
	m, err := parse(rec.Body)
	if err != nil {
		return "", err
	}
	lifetime, err := links.Lifetime(m.ExpiresInSeconds, defaultLifetime)
	if err != nil {
		return "", err
	}
	title := mail.Clip(strings.TrimSpace(m.Request.Title), maxTitle)
	if title == "" {
		title = "Approval request"
	}
	// Plain-text mail: the links carry only the outcome (see the README),
	// the mail says what is decided.
	urls, err := h.URLs.CreateURLs(ctx, client.Request{
		Token:      m.Token,
		Expiration: h.Now().Add(lifetime),
		Actions: []client.Action{
			client.Success("approve", map[string]any{"approved": true}),
			client.Failure("reject", RejectedError, "Rejected by email"),
		},
	})
	if err != nil {
		return "", err
	}
	if err := links.Check(urls, h.Now(), "approve", "reject"); err != nil {
		return "", err
	}
	msg := &mail.Message{
		Subject:    "Approval needed: " + title,
		Paragraphs: mail.Paragraphs(mail.Clip(strings.TrimSpace(m.Request.Description), maxDescription)),
		Buttons: []mail.Button{
			{Label: "Approve", URL: urls.URLs["approve"], Style: mail.Positive},
			{Label: "Reject", URL: urls.URLs["reject"], Style: mail.Negative},
		},
		Footer: []string{
			"Each link opens a page with one button: nothing is decided until you press it. " +
				"The links work until " + urls.Expiration.UTC().Format("2 January 2006 at 15:04 UTC") + ".",
			"Execution " + m.Execution + ".",
		},
	}
	if err := h.Mail.Send(ctx, msg); err != nil {
		return "", err
	}
	return urls.TransactionID, nil
}

// parse reads a message body; errors never quote it.
func parse(body string) (*Message, error) {
	if len(body) > maxMessageBytes {
		return nil, fmt.Errorf("the body is %d bytes, more than %d", len(body), maxMessageBytes)
	}
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return nil, fmt.Errorf("the body is not JSON (offset %d)", syntax.Offset)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("the body's %q is not a %s", typ.Field, typ.Type)
		}
		return nil, errors.New("the body is not a JSON object")
	}
	if m.Token == "" {
		return nil, errors.New(`the body has no "token"`)
	}
	return &m, nil
}
