// Package slack speaks Slack's protocols for the service, with the
// standard library only: it checks the signature of the requests Slack
// sends to the app's interactivity URL, reads their payloads
// (block_actions, view_submission), calls the few Web API methods the
// service needs (chat.postMessage, users.info, views.open, auth.test), and
// posts follow-ups to a response_url it has checked.
//
// It decides nothing: package slackapp serves the interactivity endpoint
// with it, and package delivery posts asks through it. A deployment
// without Slack settings builds none of it (its package has no init
// work).
//
// Why not github.com/slack-go/slack, the field's usual Go library: its
// SecretsVerifier reads the wall clock (the service's clock is settable),
// its InteractionCallback decodes every member of every kind of
// interaction without bounds, and it adds 0.6 MB to a binary for the four
// methods used here. The tests check this package against it: its
// verifier accepts what slacktest signs, its types encode what
// ParseInteraction reads, and its client calls the stand-in.
package slack

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
)

// DefaultAPIURL is the Web API's base (SLACK_API_URL changes it for tests).
const DefaultAPIURL = "https://slack.com/api"

// Slack's limits and rules (api.slack.com).
const (
	// MaxValueLength is the most characters a button's value may have.
	MaxValueLength = 2000
	// MaxPrivateMetadata is the most characters of a view's
	// private_metadata.
	MaxPrivateMetadata = 3000
	// MaxSkew is how far a request's timestamp may be from the clock:
	// older (a replay) or newer requests are refused.
	MaxSkew = 5 * time.Minute
	// AnswerWithin is how soon Slack wants the HTTP answer to an
	// interaction; later, the person sees an error.
	AnswerWithin = 3 * time.Second
)

// Request headers of Slack's signature.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// responseHost is the only host a response_url may name in production.
const responseHost = "hooks.slack.com"

// ErrResponseURL is the error of a response_url the service does not
// follow.
var ErrResponseURL = errors.New("slack: response_url is not https://hooks.slack.com/")

// CheckResponseURL accepts the response_url of an interaction: an https
// URL of hooks.slack.com, or, only when the Web API base apiURL is itself
// a loopback URL (tests and the stand-in), any loopback URL. Nothing else
// is followed: a response_url comes in a request, and a request that
// passed the signature check could still carry one an attacker chose if
// the signing secret leaked; the service must not post where it is told.
func CheckResponseURL(raw, apiURL string) error {
	if len(raw) > 2048 {
		return ErrResponseURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" {
		return ErrResponseURL
	}
	if u.Scheme == "https" && strings.EqualFold(u.Host, responseHost) && strings.HasPrefix(u.Path, "/") {
		return nil
	}
	if api, err := url.Parse(apiURL); err == nil && isLoopback(api.Hostname()) &&
		(u.Scheme == "http" || u.Scheme == "https") && isLoopback(u.Hostname()) {
		return nil
	}
	return ErrResponseURL
}

// isLoopback reports whether host is this machine: localhost, 127.0.0.0/8
// or ::1.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || host == "::1" {
		return true
	}
	parts := strings.Split(host, ".")
	if len(parts) != 4 || parts[0] != "127" {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Secret is a secret given directly (value) or, when value is empty, read
// at its first use from Secrets Manager by arn with read; nil when
// neither is set.
func Secret(value, arn string, read func(ctx context.Context, arn string) (string, error)) func(context.Context) (string, error) {
	switch {
	case value != "":
		return func(context.Context) (string, error) { return value, nil }
	case arn != "":
		return func(ctx context.Context) (string, error) { return read(ctx, arn) }
	}
	return nil
}
