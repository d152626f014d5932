package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/links"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// Task is an activity task's input: the state's Parameters
// (statemachine.asl.json).
type Task struct {
	Execution string `json:"execution"`
	// ExpiresInSeconds is how long the links work: the state's
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

// Errors the worker fails tasks with.
const (
	RejectedError     = "Rejected"     // the approver's reject link
	UndeliveredError  = "MailNotSent"  // the worker's own: the mail could not be sent
	defaultLifetime   = 24 * time.Hour // links' lifetime when the task does not say
	maxTitle          = 200
	maxDescription    = 1000
	maxTaskInputBytes = 256 << 10 // Step Functions' own limit
)

// URLCreator creates callback URLs: a *client.Client.
type URLCreator interface {
	CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error)
}

// GetActivityTask is the SDK's operation (sfn.Client.GetActivityTask).
type GetActivityTask func(context.Context, *sfn.GetActivityTaskInput, ...func(*sfn.Options)) (*sfn.GetActivityTaskOutput, error)

// Worker takes the activity's tasks and mails their links.
type Worker struct {
	ActivityARN string
	Name        string // the worker name Step Functions records
	Poll        GetActivityTask
	URLs        URLCreator
	Mail        mail.Sender
	// HTTP POSTs the worker's own failure link when a mail cannot be sent
	// (nil: http.DefaultClient).
	HTTP   *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// Pollers is how many tasks are taken and handled at once (0: 1).
	Pollers int
	// TaskTimeout bounds the handling of one task (0: a minute).
	TaskTimeout time.Duration
	// Backoff is the first wait after a failed poll, doubled up to a
	// minute (0: a second).
	Backoff time.Duration
}

// Run takes and handles tasks until stop is done. Then it stops polling,
// cutting a long poll short, lets each task in hand finish, and returns
// nil. An activity that does not exist ends it at once with an error.
func (w *Worker) Run(stop context.Context) error {
	n := max(w.Pollers, 1)
	errs := make([]error, n)
	fatal, cancel := context.WithCancel(stop)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if errs[i] = w.poll(fatal); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// poll is one poller's loop.
func (w *Worker) poll(stop context.Context) error {
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	wait := backoff
	for stop.Err() == nil {
		out, err := w.Poll(stop, &sfn.GetActivityTaskInput{ActivityArn: &w.ActivityARN, WorkerName: &w.Name})
		if stop.Err() != nil {
			// Stopping. A task Step Functions handed out as the poll was
			// cut short is lost to this worker and times out; the state's
			// TimeoutSeconds bounds that.
			if out != nil && out.TaskToken != nil {
				w.handle(context.WithoutCancel(stop), *out.TaskToken, out.Input)
			}
			return nil
		}
		if err != nil {
			var missing *types.ActivityDoesNotExist
			var invalid *types.InvalidArn
			if errors.As(err, &missing) || errors.As(err, &invalid) {
				return fmt.Errorf("activity %s: %w", w.ActivityARN, err)
			}
			w.Logger.Warn("poll failed", "error", err.Error(), "retry_in", wait.String())
			select {
			case <-stop.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Minute)
			continue
		}
		wait = backoff
		if out.TaskToken == nil || *out.TaskToken == "" {
			continue // the long poll ended without a task
		}
		// The task in hand is finished even if a stop comes meanwhile.
		w.handle(context.WithoutCancel(stop), *out.TaskToken, out.Input)
	}
	return nil
}

// handle mails one task's links. When the mail cannot be sent, the task is
// failed through its own failure link, so the execution does not wait for
// a mail that never came (the worker needs no states:SendTask*
// permission: the service sends the outcome).
func (w *Worker) handle(ctx context.Context, token string, input *string) {
	timeout := w.TaskTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	task, err := parseTask(input)
	lifetime := defaultLifetime
	if err == nil {
		lifetime, err = links.Lifetime(task.ExpiresInSeconds, defaultLifetime)
	}
	if err != nil {
		// Nothing to mail: fail the task at once, saying why.
		w.Logger.Error("bad task input: failing the task", "execution", task.Execution, "error", err.Error())
		if ferr := w.failNow(ctx, token, err.Error()); ferr != nil {
			w.Logger.Error("could not fail the task", "execution", task.Execution, "error", ferr.Error())
		}
		return
	}
	title := mail.Clip(strings.TrimSpace(task.Request.Title), maxTitle)
	if title == "" {
		title = "Approval request"
	}
	urls, err := w.URLs.CreateURLs(ctx, client.Request{
		Token:      token,
		Expiration: w.Now().Add(lifetime),
		Actions: []client.Action{
			client.Success("approve", map[string]any{"approved": true}),
			client.Failure("reject", RejectedError, "Rejected by email"),
			// Never mailed: the worker's own way to fail the task.
			client.Failure("undelivered", UndeliveredError, "The approval mail could not be sent").WithConfirm(false),
		},
	})
	if err != nil {
		// Nothing to fail the task with: it waits for its timeout.
		w.Logger.Error("no URLs", "execution", task.Execution, "error", err.Error())
		return
	}
	if err := links.Check(urls, w.Now(), "approve", "reject", "undelivered"); err != nil {
		w.Logger.Error("not mailed: failing the task", "execution", task.Execution, "transaction_id", urls.TransactionID, "error", err.Error())
		if ferr := w.failNow(ctx, token, err.Error()); ferr != nil {
			w.Logger.Error("could not fail the task", "execution", task.Execution, "error", ferr.Error())
		}
		return
	}
	msg := &mail.Message{
		Subject:    "Approval needed: " + title,
		Paragraphs: mail.Paragraphs(mail.Clip(strings.TrimSpace(task.Request.Description), maxDescription)),
		Buttons: []mail.Button{
			{Label: "Approve", URL: urls.URLs["approve"], Style: mail.Positive},
			{Label: "Reject", URL: urls.URLs["reject"], Style: mail.Negative},
		},
		Footer: []string{
			"Each link opens a page with one button: nothing is decided until you press it. " +
				"The links work until " + urls.Expiration.UTC().Format("2 January 2006 at 15:04 UTC") + ".",
			"Execution " + task.Execution + ".",
		},
	}
	if err := w.Mail.Send(ctx, msg); err != nil {
		w.Logger.Error("mail not sent: failing the task", "execution", task.Execution, "transaction_id", urls.TransactionID, "error", err.Error())
		if ferr := w.fail(ctx, urls.URLs["undelivered"]); ferr != nil {
			w.Logger.Error("could not fail the task", "execution", task.Execution, "transaction_id", urls.TransactionID, "error", ferr.Error())
		}
		return
	}
	w.Logger.Info("mailed", "execution", task.Execution, "transaction_id", urls.TransactionID, "duration_ms", time.Since(start).Milliseconds())
}

// failNow fails the task with UndeliveredError and cause through a link of
// its own, made for that alone (the worker has no states:SendTask*
// permission).
func (w *Worker) failNow(ctx context.Context, token, cause string) error {
	urls, err := w.URLs.CreateURLs(ctx, client.Request{
		Token:      token,
		Expiration: w.Now().Add(defaultLifetime),
		Actions:    []client.Action{client.Failure("undelivered", UndeliveredError, "Not mailed: "+cause).WithConfirm(false)},
	})
	if err != nil {
		return err
	}
	if err := links.Check(urls, w.Now(), "undelivered"); err != nil {
		return err
	}
	return w.fail(ctx, urls.URLs["undelivered"])
}

// fail POSTs a failure link as an API client.
func (w *Worker) fail(ctx context.Context, link string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, nil)
	if err != nil {
		return errors.New("bad failure link")
	}
	req.Header.Set("Accept", "application/json")
	hc := w.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) { // it quotes the link: keep only the cause
			return uerr.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the service answered %s", resp.Status)
	}
	return nil
}

// parseTask reads a task's input; what it cannot read is left empty (the
// mail then has a generic title), except an expires_in_seconds that is not
// a whole number of seconds, which is an error rather than the default.
func parseTask(input *string) (Task, error) {
	var t Task
	if input != nil && len(*input) <= maxTaskInputBytes {
		var typ *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(*input), &t); errors.As(err, &typ) && typ.Field == "expires_in_seconds" {
			return t, errors.New("expires_in_seconds is not a whole number of seconds (at most a year)")
		}
	}
	return t, nil
}
