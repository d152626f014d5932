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

// rejectedCause is the rejection's cause; the approver's comment comes with
// it (see rejection).
const rejectedCause = "The approver rejected the request"

// Limits of the mail's title and description (the pages' limits); longer
// input is shortened.
const (
	maxTitle       = 200
	maxDescription = 1000
	maxComment     = 1000
)

// maxPageDescription bounds the description the links carry for the pages
// (HTML mail only): every character is in every link, and links over about
// 2,000 characters break in some mail clients.
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
		err error
	)
	switch ev.Step {
	case StepAsk:
		msg, res.TransactionID, err = h.ask(ctx, &ev, title)
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
	if err != nil {
		return nil, err
	}
	if err := h.Mail.Send(ctx, msg); err != nil {
		return nil, err
	}
	res.Subject = msg.Subject
	h.Logger.InfoContext(ctx, "mail sent", "step", ev.Step, "execution", ev.Execution, "transaction_id", res.TransactionID)
	return res, nil
}

// ask creates the URLs and the mail that carries them.
func (h *Handler) ask(ctx context.Context, ev *Event, title string) (*mail.Message, string, error) {
	if ev.Token == "" {
		return nil, "", errors.New(`step "ask" needs the task token in "token"`)
	}
	lifetime, err := links.Lifetime(ev.ExpiresInSeconds, defaultLifetime)
	if err != nil {
		return nil, "", err
	}
	description := mail.Clip(strings.TrimSpace(ev.Request.Description), maxDescription)
	req := client.Request{Token: ev.Token, Expiration: h.Now().Add(lifetime)}
	if h.Mail.HTML() {
		// The pages show what is decided, with labelled buttons.
		req.Title, req.Description = title, mail.Clip(description, maxPageDescription)
		req.Actions = []client.Action{
			client.Success("approve", map[string]any{"approved": true}).WithLabel("Approve"),
			client.Failure("reject", RejectedError, rejectedCause).WithLabel("Reject").WithInput(commentForm),
		}
	} else {
		// Plain text: each link must stay within a 998-character line, and
		// whatever the pages show is in each link (a title costs about two
		// characters a letter). The mail says what is decided; the links
		// carry the outcome and the comment box only.
		req.Actions = []client.Action{
			client.Success("approve", map[string]any{"approved": true}),
			client.Failure("reject", RejectedError, "").WithInput(shortCommentForm),
		}
	}
	urls, err := h.URLs.CreateURLs(ctx, req)
	if err != nil {
		return nil, "", err
	}
	// The mail's only links are these two, from CreateUrls, alive; the
	// requester's text is made inert by mail (mail.Inert).
	if err := links.Check(urls, h.Now(), "approve", "reject"); err != nil {
		return nil, "", err
	}
	return &mail.Message{
		Subject:    "Approval needed: " + title,
		Paragraphs: mail.Paragraphs(description),
		Buttons: []mail.Button{
			{Label: "Approve", URL: urls.URLs["approve"], Style: mail.Positive},
			{Label: "Reject", URL: urls.URLs["reject"], Hint: "you can add a comment", Style: mail.Negative},
		},
		Footer: []string{
			"Each link opens a page with one button: nothing is decided until you press it. " +
				"The links work until " + urls.Expiration.UTC().Format("2 January 2006 at 15:04 UTC") + ".",
			"Execution " + ev.Execution + ".",
		},
	}, urls.TransactionID, nil
}

// commentForm is the reject page's form: a comment, delivered in the
// failure's cause; shortCommentForm is the same in fewer characters.
var (
	shortCommentForm = map[string]any{
		"type":       "object",
		"properties": map[string]any{"comment": map[string]any{"type": "string", "format": "multiline"}},
	}
	commentForm = map[string]any{
		"type": "object",
		"properties": map[string]any{
			"comment": map[string]any{
				"type": "string", "format": "multiline", "title": "Comment",
				"description": "Why? The requester will read this.", "maxLength": maxComment,
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
