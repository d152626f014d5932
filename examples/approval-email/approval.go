package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/links"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// The steps of the state machine (statemachine.asl.json) that invoke the
// function, named in the event's "step".
const (
	StepAsk      = "ask"      // mail the Approve and Reject links
	StepApproved = "approved" // mail the confirmation of an approval
	StepRejected = "rejected" // mail the confirmation of a rejection
	StepExpired  = "expired"  // mail that nobody answered in time
)

// RejectedError is the error a rejection fails the task with; the state
// machine catches it.
const RejectedError = "Rejected"

// rejectedCause is what the confirmation says of a rejection; the reject
// action sends no cause of its own (each character would be in every
// reject link, which a plain-text mail line must hold), only the
// approver's comment (see rejection).
const rejectedCause = "The approver rejected the request"

// Limits of the mail's title and description (the pages' limits); longer
// input is shortened.
const (
	maxTitle       = 200
	maxDescription = 1000
	maxComment     = 1000
)

// maxPageDescription bounds the description the mail and the links carry:
// every character is in every link, and links over about 2,000 characters
// break in some mail clients.
const maxPageDescription = 300

// defaultLifetime is how long the links work when the event does not say.
const defaultLifetime = 72 * time.Hour

// Event is what the state machine sends the function.
type Event struct {
	Step string `json:"step"`
	// Token is the task token (StepAsk only).
	Token string `json:"token,omitempty"`
	// Execution is the execution's name, shown in the mail.
	Execution string `json:"execution"`
	// ExpiresInSeconds is how long the links work: the task's
	// TimeoutSeconds (StepAsk only; absent for three days, at most a year:
	// see links.Lifetime).
	ExpiresInSeconds *int64 `json:"expires_in_seconds,omitempty"`
	// Request is the state's input: the execution's input, plus the
	// decision once there is one.
	Request Request `json:"request"`
}

// Request is the execution's input, and what the states add to it.
type Request struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Decision is the approve action's output (after an approval).
	Decision json.RawMessage `json:"decision,omitempty"`
	// Failure is what the Catch caught (after a rejection or a timeout).
	Failure *StatesError `json:"failure,omitempty"`
}

// StatesError is the error output of a Catch.
type StatesError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Result is the function's answer (logged by Step Functions; the state
// machine does not use it).
type Result struct {
	TransactionID string `json:"transaction_id,omitempty"`
	Subject       string `json:"subject"`
}

// URLCreator creates callback URLs: a *client.Client.
type URLCreator interface {
	CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error)
}

// Handler is the function.
type Handler struct {
	URLs   URLCreator
	Mail   mail.Sender
	Logger *slog.Logger
	Now    func() time.Time
}

// Handle serves one invocation.
func (h *Handler) Handle(ctx context.Context, ev Event) (*Result, error) {
	title := mail.Clip(strings.TrimSpace(ev.Request.Title), maxTitle)
	if title == "" {
		title = "Approval request"
	}
	var (
		msg *mail.Message
		res = &Result{}
	)
	switch ev.Step {
	case StepAsk:
		ready, tid, err := h.ask(ctx, &ev, title)
		if err != nil {
			return nil, err
		}
		if err := h.Mail.SendReady(ctx, ready); err != nil {
			return nil, err
		}
		res.TransactionID, res.Subject = tid, ready.Subject
		h.Logger.InfoContext(ctx, "mail sent", "step", ev.Step, "execution", ev.Execution, "transaction_id", res.TransactionID)
		return res, nil
	case StepApproved:
		msg = &mail.Message{
			Subject:    "Approved: " + title,
			Paragraphs: mail.Paragraphs(fmt.Sprintf("The request %q was approved.", title), ev.Request.Description),
			Footer:     []string{"Execution " + ev.Execution + "."},
		}
	case StepRejected:
		cause, comment := rejection(ev.Request.Failure)
		msg = &mail.Message{
			Subject:    "Rejected: " + title,
			Paragraphs: mail.Paragraphs(fmt.Sprintf("The request %q was rejected: %s.", title, strings.TrimSuffix(cause, ".")), quoteComment(comment)),
			Footer:     []string{"Execution " + ev.Execution + "."},
		}
	case StepExpired:
		msg = &mail.Message{
			Subject:    "No answer: " + title,
			Paragraphs: []string{fmt.Sprintf("Nobody answered the request %q in time; its links have expired.", title)},
			Footer:     []string{"Execution " + ev.Execution + "."},
		}
	default:
		return nil, fmt.Errorf("unknown step %q: want %s, %s, %s or %s", ev.Step, StepAsk, StepApproved, StepRejected, StepExpired)
	}
	if err := h.Mail.Send(ctx, msg); err != nil {
		return nil, err
	}
	res.Subject = msg.Subject
	h.Logger.InfoContext(ctx, "mail sent", "step", ev.Step, "execution", ev.Execution, "transaction_id", res.TransactionID)
	return res, nil
}

// ask creates the URLs and the mail that carries them: sfn-callback-urls'
// ready-made email ("messages"), which says what the pages say and keeps
// each link of its plain text within a mail line.
func (h *Handler) ask(ctx context.Context, ev *Event, title string) (*mail.Ready, string, error) {
	if ev.Token == "" {
		return nil, "", errors.New(`step "ask" needs the task token in "token"`)
	}
	lifetime, err := links.Lifetime(ev.ExpiresInSeconds, defaultLifetime)
	if err != nil {
		return nil, "", err
	}
	// Every character of the title and description is in every link; the
	// plain text's links leave them out when they would not fit a line.
	description := mail.Clip(strings.TrimSpace(ev.Request.Description), maxPageDescription)
	req := client.Request{
		Token: ev.Token, Expiration: h.Now().Add(lifetime), Title: title, Description: description,
		Actions: []client.Action{
			client.Success("approve", map[string]any{"approved": true}).WithLabel("Approve"),
			client.Failure("reject", RejectedError, "").WithLabel("Reject").WithInput(commentForm),
		},
		Messages: []string{client.MessageEmail},
	}
	urls, err := h.URLs.CreateURLs(ctx, req)
	if err != nil {
		return nil, "", err
	}
	// The mail's only links are these two, from CreateUrls, alive; the
	// service made the requester's text inert.
	if err := links.Check(urls, h.Now(), "approve", "reject"); err != nil {
		return nil, "", err
	}
	if urls.Messages == nil || urls.Messages.Email == nil {
		return nil, "", errors.New("CreateUrls answered no email message: is the sfn-callback-urls stack older than ready-made messages?")
	}
	e := urls.Messages.Email
	return &mail.Ready{Subject: e.Subject, Text: e.Text, HTML: e.HTML}, urls.TransactionID, nil
}

// commentForm is the reject page's form: a comment, delivered in the
// failure's cause.
var (
	commentForm = map[string]any{
		"type": "object",
		"properties": map[string]any{
			"comment": map[string]any{
				"type": "string", "format": "multiline", "title": "Comment",
				"description": "Why? The requester will read this.",
			},
		},
	}
)

// rejection reads a caught rejection: sfn-callback-urls sends a failure
// whose action has a form with the cause as the JSON text
// {"cause": "...", "input": {"comment": "..."}} ("cause" only if the
// action has one); a cause that is not that JSON is taken as it is.
func rejection(f *StatesError) (cause, comment string) {
	if f == nil || f.Cause == "" {
		return rejectedCause, ""
	}
	var withInput struct {
		Cause *string `json:"cause"`
		Input *struct {
			Comment string `json:"comment"`
		} `json:"input"`
	}
	if json.Unmarshal([]byte(f.Cause), &withInput) != nil || withInput.Input == nil {
		return mail.Clip(f.Cause, maxComment), ""
	}
	cause = rejectedCause
	if withInput.Cause != nil && *withInput.Cause != "" {
		cause = *withInput.Cause
	}
	return mail.Clip(cause, maxComment), mail.Clip(strings.TrimSpace(withInput.Input.Comment), maxComment)
}

func quoteComment(comment string) string {
	if comment == "" {
		return "The approver left no comment."
	}
	return "The approver's comment:\n" + comment
}
