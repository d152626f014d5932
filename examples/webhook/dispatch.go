package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/links"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// outcomesJSON is the post action's outcomes: what each body the CI job
// POSTs does (README).
//
//go:embed outcomes.json
var outcomesJSON []byte

// Outcomes are the post action's outcomes, read from outcomes.json.
func Outcomes() ([]client.Outcome, error) {
	var o []client.Outcome
	if err := json.Unmarshal(outcomesJSON, &o); err != nil {
		return nil, fmt.Errorf("outcomes.json: %w", err)
	}
	return o, nil
}

// Event is what the state machine sends the function (its Payload).
type Event struct {
	Token     string `json:"token"`
	Execution string `json:"execution"`
	// ExpiresInSeconds is how long the URL works: the task's
	// TimeoutSeconds (absent for an hour, at most a year: see
	// links.Lifetime).
	ExpiresInSeconds *int64 `json:"expires_in_seconds"`
	// Request is the execution's input, passed on to the CI job.
	Request json.RawMessage `json:"request"`
}

// Dispatch is the body POSTed to the trigger: GitHub's repository_dispatch
// shape, which any other receiver can read as well.
type Dispatch struct {
	EventType     string        `json:"event_type"`
	ClientPayload ClientPayload `json:"client_payload"`
}

// ClientPayload is what the CI job gets.
type ClientPayload struct {
	// CallbackURL is the post action's URL: a secret, good for one result.
	CallbackURL string          `json:"callback_url"`
	Execution   string          `json:"execution"`
	Expires     string          `json:"expires"`
	Request     json.RawMessage `json:"request,omitempty"`
}

// Result is the function's answer (Step Functions logs it).
type Result struct {
	TransactionID string `json:"transaction_id"`
	TriggerStatus int    `json:"trigger_status"`
}

// URLCreator creates callback URLs: a *client.Client.
type URLCreator interface {
	CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error)
}

// Handler is the function.
type Handler struct {
	URLs     URLCreator
	Outcomes []client.Outcome
	// TriggerURL is POSTed the Dispatch; Token, if set, goes in its
	// Authorization header as a bearer token.
	TriggerURL string
	Token      string
	EventType  string
	HTTP       *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

const (
	defaultLifetime = time.Hour
	// maxRequestBytes bounds the input passed on (GitHub takes 64 KiB of
	// client_payload).
	maxRequestBytes = 48 << 10
)

// Handle creates the post URL and hands it to the CI system. An error
// fails the Lambda task, and so the execution: nothing would ever POST.
func (h *Handler) Handle(ctx context.Context, ev Event) (*Result, error) {
	if ev.Token == "" {
		return nil, errors.New(`no task token in "token"`)
	}
	if len(ev.Request) > maxRequestBytes {
		return nil, fmt.Errorf("the execution's input is %d bytes; at most %d are passed to the CI job", len(ev.Request), maxRequestBytes)
	}
	lifetime, err := links.Lifetime(ev.ExpiresInSeconds, defaultLifetime)
	if err != nil {
		return nil, err
	}
	urls, err := h.URLs.CreateURLs(ctx, client.Request{
		Token:      ev.Token,
		Expiration: h.Now().Add(lifetime),
		Actions:    []client.Action{client.Post("ci", h.Outcomes...)},
	})
	if err != nil {
		return nil, err
	}
	if err := links.Check(urls, h.Now(), "ci"); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Dispatch{EventType: h.EventType, ClientPayload: ClientPayload{
		CallbackURL: urls.URLs["ci"],
		Execution:   ev.Execution,
		Expires:     urls.Expiration.UTC().Format(time.RFC3339),
		Request:     ev.Request,
	}})
	if err != nil {
		return nil, err
	}
	status, err := h.trigger(ctx, body)
	if err != nil {
		return nil, err
	}
	h.Logger.InfoContext(ctx, "triggered", "execution", ev.Execution, "transaction_id", urls.TransactionID, "status", status)
	return &Result{TransactionID: urls.TransactionID, TriggerStatus: status}, nil
}

// trigger POSTs the dispatch; any 2xx is accepted (GitHub answers 204).
// A redirect is not followed and is a failure: following it would carry
// the callback URL (a secret) and the trigger's token to wherever the
// Location says, and a dispatch that landed elsewhere is not one the CI
// system received.
func (h *Handler) trigger(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.TriggerURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("TRIGGER_URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "sfn-callback-urls-example-webhook")
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	hc := http.Client{}
	if h.HTTP != nil {
		hc = *h.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return 0, fmt.Errorf("trigger %s: %w", uerr.URL, uerr.Err)
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		where := "no Location"
		if u, err := resp.Location(); err == nil {
			where = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		}
		return resp.StatusCode, fmt.Errorf("trigger %s answered %s, a redirect to %.200q: not followed (it would carry the callback URL and the token there); set TRIGGER_URL to the URL that answers 2xx",
			h.TriggerURL, resp.Status, where)
	}
	if resp.StatusCode/100 != 2 {
		// The answer's start says why (GitHub: bad credentials, not
		// found), quoted: it is the trigger's text.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("trigger %s answered %s: %q", h.TriggerURL, resp.Status, bytes.TrimSpace(msg))
	}
	return resp.StatusCode, nil
}
