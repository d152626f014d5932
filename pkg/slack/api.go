package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client calls Slack's Web API with a bot token. It is safe for
// concurrent use.
type Client struct {
	base  string
	token func(context.Context) (string, error)
	http  *http.Client

	mu     sync.Mutex
	bearer string // the token, once read
	team   string // auth.test's team id, once known
}

// Options configure a Client.
type Options struct {
	// APIURL is the Web API's base (DefaultAPIURL when empty).
	APIURL string
	// HTTP sends the requests (nil: a client with a 10 s timeout).
	HTTP *http.Client
}

// NewClient calls the Web API with the bot token token returns, read at
// the first call and kept.
func NewClient(token func(context.Context) (string, error), opts Options) *Client {
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(opts.APIURL, "/"), token: token, http: opts.HTTP}
}

// APIURL is the Web API's base the client calls.
func (c *Client) APIURL() string { return c.base }

// APIError is the Web API's refusal: its error code ("channel_not_found",
// "not_in_channel", "ratelimited", "invalid_auth", ...), and for
// "ratelimited" how long Slack asks to wait.
type APIError struct {
	Method string
	Code   string
	Wait   time.Duration
	// Status is the HTTP status when it was not 200.
	Status int
	cause  error
}

func (e *APIError) Unwrap() error { return e.cause }

func (e *APIError) Error() string {
	s := "slack " + e.Method + ": " + e.Code
	if e.Wait > 0 {
		s += " (retry after " + e.Wait.String() + ")"
	}
	return s
}

// RetryAfter is the wait Slack asked for (httpapi's Retry-After reads it).
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// Transient reports whether calling again later may work: rate limits and
// Slack's own outages.
func (e *APIError) Transient() bool {
	switch e.Code {
	case "ratelimited", "rate_limited", "service_unavailable", "fatal_error", "internal_error", "request_timeout":
		return true
	}
	return e.Status >= 500
}

// maxResponseBytes bounds what the service reads of a Web API answer.
const maxResponseBytes = 1 << 20

// call posts a method's arguments (JSON, or a form when form is set) and
// decodes its answer into out, which must take "ok" and "error".
func (c *Client) call(ctx context.Context, method string, args any, form url.Values, out any) error {
	tok, err := c.bearerToken(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	ctype := "application/x-www-form-urlencoded"
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		b, err := json.Marshal(args)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json; charset=utf-8"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.http.Do(req)
	if err != nil {
		return &APIError{Method: method, Code: "request_failed", Status: http.StatusServiceUnavailable, cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &APIError{Method: method, Code: "request_failed", Status: http.StatusServiceUnavailable}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &APIError{Method: method, Code: "ratelimited", Wait: retryAfter(resp.Header.Get("Retry-After")), Status: resp.StatusCode}
	}
	var head struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &head) != nil {
		return &APIError{Method: method, Code: "http_" + strconv.Itoa(resp.StatusCode), Status: resp.StatusCode}
	}
	if !head.OK {
		code := head.Error
		if code == "" || len(code) > 100 {
			code = "unknown_error"
		}
		return &APIError{Method: method, Code: code, Wait: retryAfter(resp.Header.Get("Retry-After"))}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return &APIError{Method: method, Code: "invalid_response", Status: http.StatusBadGateway}
		}
	}
	return nil
}

func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

func (c *Client) bearerToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bearer != "" {
		return c.bearer, nil
	}
	t, err := c.token(ctx)
	if err != nil {
		return "", err
	}
	if t = strings.TrimSpace(t); t == "" {
		return "", errors.New("slack: the bot token is empty")
	}
	c.bearer = t
	return t, nil
}

// Posted is where chat.postMessage put a message.
type Posted struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// PostMessage posts a message ({"text", "blocks"}) to a channel and
// returns its channel and timestamp (its id).
func (c *Client) PostMessage(ctx context.Context, channel string, message json.RawMessage) (*Posted, error) {
	args, err := withMembers(message, map[string]any{"channel": channel, "unfurl_links": false, "unfurl_media": false})
	if err != nil {
		return nil, err
	}
	var out struct {
		Posted
	}
	if err := c.call(ctx, "chat.postMessage", args, nil, &out); err != nil {
		return nil, err
	}
	return &out.Posted, nil
}

// UserInfo is what users.info says of a person that the service uses.
type UserInfo struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
	Name   string `json:"name"`
	// Deleted and IsBot people never decide.
	Deleted bool `json:"deleted"`
	IsBot   bool `json:"is_bot"`
	// IsEmailConfirmed: Slack confirmed the address (absent: not).
	IsEmailConfirmed bool `json:"is_email_confirmed"`
	Profile          struct {
		Email       string `json:"email"`
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
	} `json:"profile"`
}

// UsersInfo looks a person up (users:read; the email needs
// users:read.email).
func (c *Client) UsersInfo(ctx context.Context, user string) (*UserInfo, error) {
	var out struct {
		User UserInfo `json:"user"`
	}
	if err := c.call(ctx, "users.info", nil, url.Values{"user": {user}}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// Team is the workspace the bot token belongs to (auth.test), asked once.
func (c *Client) Team(ctx context.Context) (string, error) {
	c.mu.Lock()
	team := c.team
	c.mu.Unlock()
	if team != "" {
		return team, nil
	}
	var out struct {
		TeamID string `json:"team_id"`
	}
	if err := c.call(ctx, "auth.test", nil, url.Values{}, &out); err != nil {
		return "", err
	}
	if !validID(out.TeamID, "TE") {
		return "", &APIError{Method: "auth.test", Code: "invalid_response", Status: http.StatusBadGateway}
	}
	c.mu.Lock()
	c.team = out.TeamID
	c.mu.Unlock()
	return out.TeamID, nil
}

// OpenView opens a modal (views.open) for the trigger of an interaction,
// which Slack accepts for 3 seconds after the click.
func (c *Client) OpenView(ctx context.Context, triggerID string, view json.RawMessage) error {
	return c.call(ctx, "views.open", map[string]any{"trigger_id": triggerID, "view": view}, nil, nil)
}

// withMembers is a JSON object's text with more members (which replace
// any of the same name).
func withMembers(obj json.RawMessage, more map[string]any) (map[string]any, error) {
	m := map[string]any{}
	if len(obj) > 0 {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(obj, &members); err != nil {
			return nil, fmt.Errorf("slack: the message is not a JSON object: %w", err)
		}
		for k, v := range members {
			m[k] = v
		}
	}
	for k, v := range more {
		m[k] = v
	}
	return m, nil
}

// Responder posts follow-ups to an interaction's response_url, which Slack
// accepts for 30 minutes: replacing the message clicked, or a message
// only the person who clicked sees.
type Responder struct {
	apiURL string
	http   *http.Client
}

// NewResponder follows response_urls that CheckResponseURL accepts for the
// Web API base apiURL; h sends the posts (nil: a 10 s timeout).
func NewResponder(apiURL string, h *http.Client) *Responder {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if h == nil {
		h = &http.Client{Timeout: 10 * time.Second}
	}
	// A response_url never redirects; one that does is not followed.
	c := *h
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Responder{apiURL: apiURL, http: &c}
}

// Check is CheckResponseURL for the responder's API base.
func (r *Responder) Check(responseURL string) error { return CheckResponseURL(responseURL, r.apiURL) }

// Respond posts message, a JSON object ({"text", "blocks",
// "replace_original", "response_type"}), to responseURL, after checking
// it.
func (r *Responder) Respond(ctx context.Context, responseURL string, message any) error {
	if err := r.Check(responseURL); err != nil {
		return err
	}
	b, err := json.Marshal(message)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := r.http.Do(req)
	if err != nil {
		// Not the URL: whoever has it can post to the channel.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &APIError{Method: "response_url", Code: "request_failed", Status: http.StatusServiceUnavailable, cause: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return &APIError{Method: "response_url", Code: "http_" + strconv.Itoa(resp.StatusCode), Status: resp.StatusCode,
			Wait: retryAfter(resp.Header.Get("Retry-After"))}
	}
	// Slack answers "ok" as text, or {"ok": false, "error": ...}.
	var head struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &head) == nil && head.OK != nil && !*head.OK {
		return &APIError{Method: "response_url", Code: truncate(head.Error, 100)}
	}
	return nil
}
