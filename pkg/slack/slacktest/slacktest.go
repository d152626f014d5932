// Package slacktest is a stand-in for Slack in tests: a Web API
// (chat.postMessage, users.info, auth.test, views.open) and response_url
// endpoints on an httptest server bound to 127.0.0.1, speaking Slack's
// protocol (bearer tokens, {"ok": false, "error": ...} answers, 429 with
// Retry-After), and a signer that signs requests exactly as Slack signs
// what it sends to an app's interactivity URL.
//
//	sl := slacktest.New(t)
//	sl.AddUser(slacktest.User{ID: "U0ANA", Name: "Ana", Email: "ana@example.com"})
//	body := sl.BlockActions("U0ANA", "approve", value)      // a click
//	req := slacktest.Sign(req, slacktest.SigningSecret, now, body)
//
// Only tests import it.
package slacktest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The stand-in's workspace and app.
const (
	// Team is the workspace every user belongs to unless they say.
	Team = "T0TEAM0001"
	// BotToken is the token the Web API accepts.
	BotToken = "xoxb-0000000000-test-bot-token"
	// SigningSecret is the app's signing secret Sign uses by default.
	SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	// AppID is the app's id.
	AppID = "A0APP00001"
)

// User is a person of the workspace.
type User struct {
	ID, Name, Email string
	// TeamID is their workspace (Team when empty).
	TeamID string
	// Unconfirmed: Slack has not confirmed their email.
	Unconfirmed bool
}

// Server is the stand-in.
type Server struct {
	URL string // the Web API's base: {URL}/chat.postMessage, ...

	srv *httptest.Server

	mu       sync.Mutex
	users    map[string]User
	channels map[string]bool // channel id -> the bot is a member
	posts    []Post
	views    []json.RawMessage
	triggers map[string]bool
	hooks    map[string]*hook
	fail     map[string]Failure
	calls    map[string]int
	// Delay, if set, is waited before each answer (a slow Slack).
	delay time.Duration
}

// Post is a message chat.postMessage took.
type Post struct {
	Channel string
	TS      string
	Message json.RawMessage
}

// Failure is an injected refusal of a Web API method: Slack's error code,
// and for "ratelimited" a 429 with Retry-After.
type Failure struct {
	Code       string
	RetryAfter int
}

type hook struct {
	uses     int
	messages []json.RawMessage
}

// New starts the stand-in until the test ends. Channel "C0CHANNEL1" has
// the bot in it, "C0NOTIN001" does not.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{users: map[string]User{}, channels: map[string]bool{"C0CHANNEL1": true, "C0NOTIN001": false},
		triggers: map[string]bool{}, hooks: map[string]*hook{}, fail: map[string]Failure{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /hooks/{id}", s.respond)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/api"
	return s
}

// Channel is the channel the bot is a member of.
const Channel = "C0CHANNEL1"

// NotInChannel is a channel the bot is not in.
const NotInChannel = "C0NOTIN001"

// AddUser adds a person.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.TeamID == "" {
		u.TeamID = Team
	}
	s.users[u.ID] = u
}

// Fail makes method refuse every call with f until Fail(method, Failure{}).
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Code == "" {
		delete(s.fail, method)
		return
	}
	s.fail[method] = f
}

// Delay makes every answer wait d.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Calls is how many times method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Posts are the messages posted so far.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Views are the views opened so far.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.views...)
}

// ResponseURL is a new response_url, as Slack gives each interaction.
func (s *Server) ResponseURL() string {
	id := randomID(12)
	s.mu.Lock()
	s.hooks[id] = &hook{}
	s.mu.Unlock()
	return s.srv.URL + "/hooks/" + id
}

// Responses are the messages posted to a response_url, in order.
func (s *Server) Responses(responseURL string) []json.RawMessage {
	id := responseURL[strings.LastIndexByte(responseURL, '/')+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.hooks[id]; h != nil {
		return append([]json.RawMessage(nil), h.messages...)
	}
	return nil
}

// TriggerID is a new trigger id, which views.open takes once.
func (s *Server) TriggerID() string {
	id := "13345224609." + randomID(8)
	s.mu.Lock()
	s.triggers[id] = true
	s.mu.Unlock()
	return id
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) wait() {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, code string) {
	answer(w, map[string]any{"ok": false, "error": code})
}

// api serves the Web API methods as Slack does: a bearer token, arguments
// as JSON or a form, 200 with {"ok": ...} (429 when rate limited).
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	s.wait()
	method := r.PathValue("method")
	s.mu.Lock()
	s.calls[method]++
	f, failing := s.fail[method]
	s.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		refuse(w, "invalid_form_data")
		return
	}
	// The token: a bearer header, or (a form's) its "token" field.
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	args := map[string]json.RawMessage{}
	ctype := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ctype, "application/json"):
		if json.Unmarshal(body, &args) != nil {
			refuse(w, "invalid_json")
			return
		}
	case strings.HasPrefix(ctype, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			refuse(w, "invalid_form_data")
			return
		}
		for k := range form {
			v, _ := json.Marshal(form.Get(k))
			args[k] = v
		}
		if token == "" {
			token = form.Get("token")
		}
	default:
		refuse(w, "invalid_form_data")
		return
	}
	if token != BotToken {
		if token == "" {
			refuse(w, "not_authed")
		} else {
			refuse(w, "invalid_auth")
		}
		return
	}
	if failing {
		if f.Code == "ratelimited" {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
		}
		refuse(w, f.Code)
		return
	}
	str := func(name string) string {
		var v string
		_ = json.Unmarshal(args[name], &v)
		return v
	}
	switch method {
	case "auth.test":
		answer(w, map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "Example", "user": "approvals",
			"team_id": Team, "user_id": "U0BOT00001", "bot_id": "B0BOT00001"})
	case "chat.postMessage":
		if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") && len(args["blocks"]) > 0 {
			// A form carries the blocks as JSON text.
			args["blocks"] = json.RawMessage(str("blocks"))
		}
		ch := str("channel")
		member, known := s.channels[ch]
		switch {
		case ch == "":
			refuse(w, "channel_not_found")
			return
		case !known:
			refuse(w, "channel_not_found")
			return
		case !member:
			refuse(w, "not_in_channel")
			return
		case str("text") == "" && len(args["blocks"]) == 0:
			refuse(w, "no_text")
			return
		}
		var blocks []json.RawMessage
		if len(args["blocks"]) > 0 && json.Unmarshal(args["blocks"], &blocks) != nil {
			refuse(w, "invalid_blocks")
			return
		}
		if len(blocks) > 50 {
			refuse(w, "invalid_blocks")
			return
		}
		ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), len(s.posts)+1)
		s.mu.Lock()
		s.posts = append(s.posts, Post{Channel: ch, TS: ts, Message: body})
		s.mu.Unlock()
		answer(w, map[string]any{"ok": true, "channel": ch, "ts": ts, "message": map[string]any{"ts": ts}})
	case "users.info":
		s.mu.Lock()
		u, ok := s.users[str("user")]
		s.mu.Unlock()
		if !ok {
			refuse(w, "user_not_found")
			return
		}
		answer(w, map[string]any{"ok": true, "user": map[string]any{
			"id": u.ID, "team_id": u.TeamID, "name": strings.ToLower(u.Name), "deleted": false, "is_bot": false,
			"is_email_confirmed": !u.Unconfirmed,
			"profile":            map[string]any{"email": u.Email, "real_name": u.Name, "display_name": u.Name},
		}})
	case "views.open":
		if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
			args["view"] = json.RawMessage(str("view"))
		}
		trigger := str("trigger_id")
		s.mu.Lock()
		valid := s.triggers[trigger]
		delete(s.triggers, trigger)
		s.mu.Unlock()
		if !valid {
			refuse(w, "expired_trigger_id")
			return
		}
		var view struct {
			Type            string            `json:"type"`
			Blocks          []json.RawMessage `json:"blocks"`
			PrivateMetadata string            `json:"private_metadata"`
		}
		if json.Unmarshal(args["view"], &view) != nil || view.Type != "modal" || len(view.Blocks) == 0 || len(view.Blocks) > 100 ||
			len(view.PrivateMetadata) > 3000 {
			refuse(w, "invalid_arguments")
			return
		}
		s.mu.Lock()
		s.views = append(s.views, args["view"])
		s.mu.Unlock()
		answer(w, map[string]any{"ok": true, "view": map[string]any{"id": "V" + strings.ToUpper(randomID(5))}})
	default:
		refuse(w, "unknown_method")
	}
}

// respond serves response_urls: JSON messages, at most 5 per URL, as
// Slack takes them ("ok" as text).
func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	s.wait()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[r.PathValue("id")]
	switch {
	case h == nil:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no_service"))
		return
	case h.uses >= 5:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("used_url"))
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || !json.Valid(body):
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("invalid_payload"))
		return
	}
	h.uses++
	h.messages = append(h.messages, body)
	_, _ = w.Write([]byte("ok"))
}

// Signature is Slack's signature of a request: "v0=" and the hex
// HMAC-SHA256, keyed with the signing secret, of "v0:{timestamp}:{body}".
func Signature(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", timestamp, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Sign sets the two headers Slack signs a request with, at time at.
func Sign(h http.Header, secret string, at time.Time, body []byte) {
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("X-Slack-Signature", Signature(secret, at.Unix(), body))
}

// Click is one person's click on a button of a message.
type Click struct {
	User     string // U...
	Name     string // display name ("" : the user's name)
	TeamID   string // the user's team ("" : Team)
	ActionID string
	Value    string
	// ResponseURL and TriggerID: the stand-in's own when empty.
	ResponseURL, TriggerID string
}

// BlockActions is the body Slack sends for a click: a form whose payload
// is the block_actions JSON.
func (s *Server) BlockActions(c *Click) []byte {
	if c.ResponseURL == "" {
		c.ResponseURL = s.ResponseURL()
	}
	if c.TriggerID == "" {
		c.TriggerID = s.TriggerID()
	}
	if c.TeamID == "" {
		c.TeamID = Team
	}
	if c.Name == "" {
		s.mu.Lock()
		c.Name = s.users[c.User].Name
		s.mu.Unlock()
	}
	p := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": c.User, "username": strings.ToLower(c.Name), "name": c.Name, "team_id": c.TeamID},
		"api_app_id": AppID, "token": "verification-token-unused",
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": Channel, "is_ephemeral": false},
		"trigger_id":   c.TriggerID,
		"team":         map[string]any{"id": Team, "domain": "example"},
		"channel":      map[string]any{"id": Channel, "name": "approvals"},
		"response_url": c.ResponseURL,
		"message":      map[string]any{"type": "message", "ts": "1700000000.000100", "text": "A decision is waiting"},
		"actions": []map[string]any{{"type": "button", "action_id": c.ActionID, "block_id": "actions",
			"text": map[string]any{"type": "plain_text", "text": c.ActionID}, "value": c.Value, "action_ts": "1700000001.000200"}},
	}
	return form(p)
}

// Submission is a modal's submission: its inputs by block then action id.
type Submission struct {
	User, Name      string
	CallbackID      string
	PrivateMetadata string
	Values          map[string]map[string]any
}

// ViewSubmission is the body Slack sends when a person submits a modal.
func (s *Server) ViewSubmission(sub *Submission) []byte {
	if sub.Name == "" {
		s.mu.Lock()
		sub.Name = s.users[sub.User].Name
		s.mu.Unlock()
	}
	p := map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": sub.User, "username": strings.ToLower(sub.Name), "name": sub.Name, "team_id": Team},
		"team": map[string]any{"id": Team, "domain": "example"}, "api_app_id": AppID, "trigger_id": s.TriggerID(),
		"view": map[string]any{"id": "V0VIEW0001", "type": "modal", "callback_id": sub.CallbackID,
			"private_metadata": sub.PrivateMetadata, "state": map[string]any{"values": sub.Values}},
	}
	return form(p)
}

func form(payload any) []byte {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}
