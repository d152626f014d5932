package slackapp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slackapp"
)

// The workspace's people.
var (
	ana = slacktest.User{ID: "U0ANA00001", Name: "Ana Lima", Email: "ana@example.com"}
	bo  = slacktest.User{ID: "U0BO000001", Name: "Bo", Email: "bo@example.com"}
	eve = slacktest.User{ID: "U0EVE00001", Name: "Eve", Email: "eve@example.com"}
)

// env is the service on the local server with Slack's stand-in.
type env struct {
	*servicetest.Service
	sl *slacktest.Server
	// made are the buttons of each request made, by token.
	made map[string]map[string]button
}

type envOptions struct {
	backend servicetest.Backend
	double  *callbackurlstest.Target // with backend Double
	bot     bool
}

func start(t testing.TB, o envOptions) *env {
	t.Helper()
	sl := slacktest.New(t)
	for _, u := range []slacktest.User{ana, bo, eve} {
		sl.AddUser(u)
	}
	st := config.Config{Slack: config.Slack{SlackSigningSecret: slacktest.SigningSecret, SlackAPIURL: sl.URL}}
	if o.bot {
		st.SlackBotToken = slacktest.BotToken
	}
	// A keyring with a signing key: decisions get receipts.
	ring, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &env{Service: servicetest.Start(t, servicetest.Options{Backend: o.backend, Double: o.double, Settings: st, Keys: ring}), sl: sl, made: map[string]map[string]button{}}
}

// ask creates URLs with a Slack message and returns the token and each
// action's button as the message has it.
func (e *env) ask(t testing.TB, req map[string]any) (string, map[string]button) {
	t.Helper()
	token := e.NewTask(t)
	req["token"] = token
	if req["messages"] == nil {
		req["messages"] = []string{"slack"}
	}
	resp := e.PostURLs(t, req)
	if resp.Status != http.StatusOK {
		t.Fatalf("POST /urls: %d %s", resp.Status, resp.Body)
	}
	var out struct {
		Messages struct {
			Slack json.RawMessage `json:"slack"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatal(err)
	}
	e.made[token] = buttons(t, out.Messages.Slack)
	return token, e.made[token]
}

type button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	URL      string `json:"url"`
	Style    string `json:"style"`
}

// buttons are a Block Kit message's buttons by action_id.
func buttons(t testing.TB, msg json.RawMessage) map[string]button {
	t.Helper()
	var m struct {
		Blocks []struct {
			Type     string          `json:"type"`
			Elements json.RawMessage `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	out := map[string]button{}
	for _, b := range m.Blocks {
		if b.Type != "actions" {
			continue
		}
		var els []button
		if err := json.Unmarshal(b.Elements, &els); err != nil {
			t.Fatal(err)
		}
		for _, el := range els {
			out[el.ActionID] = el
		}
	}
	return out
}

// post sends a body to the endpoint, signed at the service's clock time
// unless header is given.
func (e *env) post(t testing.TB, body []byte, header http.Header) *servicetest.Response {
	t.Helper()
	if header == nil {
		header = http.Header{}
		slacktest.Sign(header, slacktest.SigningSecret, e.Clock.Now(), body)
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k := range header {
		h[k] = header.Get(k)
	}
	return e.Do(t, http.MethodPost, slackapp.Path, h, string(body))
}

// click is a signed click of a button by user; it returns the answer and
// the click's response_url.
func (e *env) click(t testing.TB, user slacktest.User, b button) (*servicetest.Response, string) {
	t.Helper()
	c := &slacktest.Click{User: user.ID, ActionID: b.ActionID, Value: b.Value}
	body := e.sl.BlockActions(c)
	return e.post(t, body, nil), c.ResponseURL
}

// update is a follow-up the service posted to a response_url.
type update struct {
	ReplaceOriginal bool              `json:"replace_original"`
	ResponseType    string            `json:"response_type"`
	Text            string            `json:"text"`
	Blocks          []json.RawMessage `json:"blocks"`
}

// all is the follow-up's text and blocks, as JSON without HTML escapes.
func (u *update) all() string {
	var sb strings.Builder
	sb.WriteString(u.Text)
	for _, b := range u.Blocks {
		sb.Write(b)
	}
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(sb.String())
}

// updates are the follow-ups posted to responseURL.
func (e *env) updates(t testing.TB, responseURL string) []update {
	t.Helper()
	var out []update
	for _, raw := range e.sl.Responses(responseURL) {
		var u update
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// oneUpdate is the one follow-up of a click.
func (e *env) oneUpdate(t testing.TB, responseURL string) update {
	t.Helper()
	us := e.updates(t, responseURL)
	if len(us) != 1 {
		t.Fatalf("%d follow-ups, want 1: %+v", len(us), us)
	}
	return us[0]
}

func approval(t testing.TB, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	a, _ := m["approval"].(map[string]any)
	if a == nil {
		t.Fatalf("no approval in %s", doc)
	}
	return a
}

func twoActions(approvers ...string) map[string]any {
	return map[string]any{
		"title":     "Release 2.4",
		"approvers": approvers,
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"release": "2.4"}},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Not now"},
			map[string]any{"name": "ping", "type": "heartbeat"},
		},
		"message_actions": []string{"approve", "reject", "ping"},
	}
}

// TestDecideInPlace: an approver's click approves or rejects on both task
// token back ends, the target receives who decided, with a receipt, and
// the message is replaced: no buttons, who, what, when.
func TestDecideInPlace(t *testing.T) {
	for _, backend := range servicetest.Backends {
		for _, action := range []string{"approve", "reject"} {
			t.Run(string(backend)+"/"+action, func(t *testing.T) {
				e := start(t, envOptions{backend: backend})
				token, btns := e.ask(t, twoActions("slack:"+ana.ID))
				for name, b := range btns {
					if b.Value == "" || b.URL != "" {
						t.Fatalf("%s: not a button that acts in place: %+v", name, b)
					}
				}
				resp, rurl := e.click(t, ana, btns[action])
				if resp.Status != http.StatusOK || resp.Body != "" {
					t.Fatalf("answer %d %q", resp.Status, resp.Body)
				}
				task := e.Task(t, token)
				var a map[string]any
				if action == "approve" {
					if task.Status != "succeeded" {
						t.Fatalf("task %+v", task)
					}
					a = approval(t, task.Output)
				} else {
					if task.Status != "failed" || task.Error != "Rejected" {
						t.Fatalf("task %+v", task)
					}
					a = approval(t, task.Cause)
				}
				by := a["by"].(map[string]any)
				want := map[string]any{"iss": slacktest.Team, "sub": ana.ID, "name": ana.Name}
				if diff := cmp.Diff(want, by); diff != "" || a["via"] != "slack" || a["receipt"] == nil {
					t.Errorf("approval %v (by -want +got)\n%s", a, diff)
				}
				// The receipt covers the Slack identity, and verifies
				// against the deployment's published keys.
				jwks := e.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, "")
				set, err := receipts.ParseJWKS([]byte(jwks.Body))
				if err != nil {
					t.Fatal(err)
				}
				claims, _, err := receipts.Verify(a["receipt"].(string), set)
				if err != nil || claims.Via != "slack" || claims.By == nil || claims.By.Subject != ana.ID || claims.By.Issuer != slacktest.Team ||
					claims.Action != action {
					t.Errorf("receipt %+v, %v", claims, err)
				}
				u := e.oneUpdate(t, rurl)
				all := u.all()
				if !strings.Contains(all, receipts.Fingerprint(a["receipt"].(string))) {
					t.Errorf("the message does not show the receipt's short form: %s", all)
				}
				heading := map[string]string{"approve": "Approved", "reject": "Rejected"}[action]
				if !u.ReplaceOriginal || u.ResponseType == "ephemeral" || strings.Contains(all, `"actions"`) ||
					!strings.Contains(all, "<@"+ana.ID+">") || !strings.Contains(all, heading) ||
					!strings.Contains(all, "1 January 2030") || !strings.Contains(all, "Receipt: sha256:") {
					t.Errorf("the message became %s", all)
				}
			})
		}
	}
}

// TestHeartbeatInPlace: a heartbeat's button tells the task and leaves the
// message as it is; the person alone is told.
func TestHeartbeatInPlace(t *testing.T) {
	e := start(t, envOptions{})
	token, btns := e.ask(t, twoActions("slack:"+ana.ID))
	for i := 1; i <= 2; i++ {
		_, rurl := e.click(t, bo, btns["ping"]) // heartbeats are open to whoever holds them
		if task := e.Task(t, token); task.Status != "open" || task.Heartbeats != i {
			t.Fatalf("task %+v", task)
		}
		if u := e.oneUpdate(t, rurl); u.ReplaceOriginal || u.ResponseType != "ephemeral" || !strings.Contains(u.Text, "still being worked on") {
			t.Errorf("follow-up %+v", u)
		}
	}
}

// TestRefusedInPlace: every refusal leaves the task open and tells the
// person alone why, naming a code for errors and never the approvers.
func TestRefusedInPlace(t *testing.T) {
	e := start(t, envOptions{})
	token, btns := e.ask(t, twoActions("slack:"+ana.ID))
	other, _ := e.ask(t, twoActions("slack:"+ana.ID))

	cases := []struct {
		name  string
		user  slacktest.User
		b     button
		wants string
	}{
		{"not an approver", eve, btns["approve"], "This decision is for someone else"},
		{"not our payload", ana, button{ActionID: "approve", Value: "3-" + strings.Repeat("A", 200)}, "InvalidPayload"},
		{"no payload at all", ana, button{ActionID: "approve", Value: "yes"}, "InvalidPayload"},
		{"another action's value", ana, button{ActionID: "reject", Value: btns["approve"].Value}, "ActionMismatched"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, rurl := e.click(t, c.user, c.b)
			if resp.Status != http.StatusOK {
				t.Fatalf("answer %d %s", resp.Status, resp.Body)
			}
			u := e.oneUpdate(t, rurl)
			if u.ReplaceOriginal || u.ResponseType != "ephemeral" || !strings.Contains(u.Text, c.wants) || strings.Contains(u.all(), ana.ID) {
				t.Errorf("follow-up %+v, want an ephemeral note with %q", u, c.wants)
			}
			if task := e.Task(t, token); task.Status != "open" {
				t.Errorf("task %+v", task)
			}
		})
	}
	// The other request's buttons still work, and its second click is
	// told it is already answered.
	_, first := e.click(t, ana, e.made[other]["approve"])
	if u := e.oneUpdate(t, first); !u.ReplaceOriginal {
		t.Fatalf("first click: %+v", u)
	}
	_, second := e.click(t, ana, e.made[other]["reject"])
	if u := e.oneUpdate(t, second); u.ReplaceOriginal || !strings.Contains(u.Text, "Already answered") {
		t.Errorf("second click: %+v", u)
	}
	if task := e.Task(t, other); task.Status != "succeeded" {
		t.Errorf("task %+v", task)
	}
}

// TestUnsignedAndReplayed: anything not signed as Slack signs, signed with
// another secret, altered after signing, or signed more than 5 minutes
// from now is 401 InvalidSignature, and nothing is done: no decision, no
// follow-up.
func TestUnsignedAndReplayed(t *testing.T) {
	e := start(t, envOptions{})
	token, btns := e.ask(t, twoActions("slack:"+ana.ID))
	c := &slacktest.Click{User: ana.ID, ActionID: "approve", Value: btns["approve"].Value}
	body := e.sl.BlockActions(c)
	signedNow := http.Header{}
	slacktest.Sign(signedNow, slacktest.SigningSecret, e.Clock.Now(), body)

	altered := strings.Replace(string(body), ana.ID, eve.ID, 1)
	wrongSecret := http.Header{}
	slacktest.Sign(wrongSecret, "another-apps-secret", e.Clock.Now(), body)
	future := http.Header{}
	slacktest.Sign(future, slacktest.SigningSecret, e.Clock.Now().Add(6*time.Minute), body)
	bad := func(f func(h http.Header)) http.Header {
		h := signedNow.Clone()
		f(h)
		return h
	}
	cases := []struct {
		name   string
		body   string
		header http.Header
	}{
		{"unsigned", string(body), http.Header{"X-Other": {"1"}}},
		{"no timestamp", string(body), bad(func(h http.Header) { h.Del("X-Slack-Request-Timestamp") })},
		{"no v0", string(body), bad(func(h http.Header) { h.Set("X-Slack-Signature", strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0=")) })},
		{"altered after signing", altered, signedNow},
		{"another app's secret", string(body), wrongSecret},
		{"from the future", string(body), future},
		{"timestamp changed", string(body), bad(func(h http.Header) { h.Set("X-Slack-Request-Timestamp", fmt.Sprint(e.Clock.Now().Unix()-1)) })},
	}
	check := func(t *testing.T, resp *servicetest.Response) {
		t.Helper()
		if resp.Status != http.StatusUnauthorized || resp.ErrorCode(t) != "InvalidSignature" {
			t.Errorf("answer %d %s", resp.Status, resp.Body)
		}
		if task := e.Task(t, token); task.Status != "open" || len(e.sl.Responses(c.ResponseURL)) != 0 {
			t.Errorf("something was done: %+v", task)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, e.post(t, []byte(tc.body), tc.header)) })
	}
	// The same request, as signed, 6 minutes later: a replay.
	t.Run("replayed 6 minutes later", func(t *testing.T) {
		e.Clock.Advance(6 * time.Minute)
		check(t, e.post(t, body, signedNow))
	})
}

// TestConcurrentClicks: 50 people click one message's buttons at once:
// exactly one decision reaches the task, one follow-up replaces the
// message, and the 49 others are told it is already answered.
func TestConcurrentClicks(t *testing.T) {
	for _, backend := range servicetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			e := start(t, envOptions{backend: backend})
			var approvers []string
			var users []slacktest.User
			for i := range 50 {
				u := slacktest.User{ID: fmt.Sprintf("U0PEOPLE%02d", i), Name: fmt.Sprintf("Person %d", i)}
				e.sl.AddUser(u)
				users = append(users, u)
				approvers = append(approvers, "slack:"+u.ID)
			}
			token, btns := e.ask(t, twoActions(approvers...))
			urls := make([]string, len(users))
			var wg sync.WaitGroup
			for i, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := btns["approve"]
					if i%2 == 1 {
						b = btns["reject"]
					}
					c := &slacktest.Click{User: u.ID, ActionID: b.ActionID, Value: b.Value}
					body := e.sl.BlockActions(c)
					h := http.Header{}
					slacktest.Sign(h, slacktest.SigningSecret, e.Clock.Now(), body)
					req := e.NewRequest(http.MethodPost, slackapp.Path, map[string]string{"Content-Type": "application/x-www-form-urlencoded",
						"X-Slack-Signature": h.Get("X-Slack-Signature"), "X-Slack-Request-Timestamp": h.Get("X-Slack-Request-Timestamp")}, string(body))
					if resp := e.Record(req); resp.Status != http.StatusOK {
						t.Errorf("answer %d %s", resp.Status, resp.Body)
					}
					urls[i] = c.ResponseURL
				}()
			}
			wg.Wait()
			replaced, answered := 0, 0
			for _, u := range urls {
				up := e.oneUpdate(t, u)
				switch {
				case up.ReplaceOriginal:
					replaced++
				case strings.Contains(up.Text, "Already answered"):
					answered++
				default:
					t.Errorf("follow-up %+v", up)
				}
			}
			task := e.Task(t, token)
			if replaced != 1 || answered != 49 || task.Status == "open" {
				t.Errorf("%d replaced, %d told; task %+v", replaced, answered, task)
			}
		})
	}
}

// TestEmailApprovers: with a bot token, an address approver decides in
// Slack by their verified email (users.info), once per click that needs
// it; a person of another workspace with the same address does not.
func TestEmailApprovers(t *testing.T) {
	e := start(t, envOptions{bot: true})
	guest := slacktest.User{ID: "U0GUEST001", Name: "Ana elsewhere", Email: "ana@example.com", TeamID: "T0OTHER001"}
	e.sl.AddUser(guest)
	unconfirmed := slacktest.User{ID: "U0UNCONF01", Name: "Unconfirmed", Email: "ana@example.com", Unconfirmed: true}
	e.sl.AddUser(unconfirmed)
	token, btns := e.ask(t, twoActions("ana@example.com"))

	for _, u := range []slacktest.User{guest, unconfirmed, bo} {
		c := &slacktest.Click{User: u.ID, TeamID: u.TeamID, ActionID: "approve", Value: btns["approve"].Value}
		if resp := e.post(t, e.sl.BlockActions(c), nil); resp.Status != http.StatusOK {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		if up := e.oneUpdate(t, c.ResponseURL); !strings.Contains(up.Text, "someone else") {
			t.Errorf("%s: %+v", u.Name, up)
		}
	}
	calls := e.sl.Calls("users.info")
	_, rurl := e.click(t, ana, btns["approve"])
	if up := e.oneUpdate(t, rurl); !up.ReplaceOriginal {
		t.Fatalf("ana: %+v", up)
	}
	task := e.Task(t, token)
	by := approval(t, task.Output)["by"].(map[string]any)
	if by["email"] != "ana@example.com" || by["sub"] != ana.ID {
		t.Errorf("by %v", by)
	}
	// The guest was refused without a lookup: not the deployment's workspace.
	if got := e.sl.Calls("users.info") - calls; got != 1 {
		t.Errorf("users.info called %d times for ana, want 1", got)
	}

	// A lookup Slack refuses names its code and what to fix; a rate limit
	// asks to try again; neither decides.
	token, btns = e.ask(t, twoActions("ana@example.com"))
	for _, c := range []struct {
		fail slacktest.Failure
		want string
	}{
		{slacktest.Failure{Code: "missing_scope"}, "Nothing was sent: ServiceError: Slack did not say who you are (missing_scope): the deployment's Slack app needs the users:read and users:read.email scopes."},
		{slacktest.Failure{Code: "ratelimited", RetryAfter: 3}, "Nothing was sent: ServiceError: Slack did not say who you are in time (ratelimited). Please try again in a minute."},
	} {
		e.sl.Fail("users.info", c.fail)
		_, rurl := e.click(t, ana, btns["approve"])
		if up := e.oneUpdate(t, rurl); up.Text != c.want {
			t.Errorf("%s: %q", c.fail.Code, up.Text)
		}
	}
	e.sl.Fail("users.info", slacktest.Failure{})
	if task := e.Task(t, token); task.Status != "open" {
		t.Errorf("task %+v", task)
	}
}

// TestResponseURLRefused: a response_url elsewhere than Slack's hooks (or
// the loopback stand-in) is not followed, and nothing is acted on.
func TestResponseURLRefused(t *testing.T) {
	e := start(t, envOptions{})
	token, btns := e.ask(t, twoActions("slack:"+ana.ID))
	for _, u := range []string{"https://attacker.example/hooks", "http://hooks.slack.com/x", "https://hooks.slack.com.attacker.example/x", "file:///etc/passwd"} {
		c := &slacktest.Click{User: ana.ID, ActionID: "approve", Value: btns["approve"].Value, ResponseURL: u}
		if resp := e.post(t, e.sl.BlockActions(c), nil); resp.Status != http.StatusOK {
			t.Errorf("%s: %d %s", u, resp.Status, resp.Body)
		}
	}
	if task := e.Task(t, token); task.Status != "open" {
		t.Errorf("task %+v", task)
	}
	if !strings.Contains(e.Logs.String(), "slack response_url refused") || strings.Contains(e.Logs.String(), "/etc/passwd") {
		t.Errorf("logs:\n%s", e.Logs.String())
	}
}

// TestModal: with a bot token, an action with a form opens a modal, whose
// submission is checked as the page's form and decides.
func TestModal(t *testing.T) {
	e := start(t, envOptions{bot: true})
	req := twoActions("slack:" + ana.ID)
	req["actions"] = []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{"ok": true}},
		map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "label": "Reject",
			"input": map[string]any{"type": "object", "required": []string{"comment"}, "properties": map[string]any{
				"comment": map[string]any{"type": "string", "format": "multiline", "title": "Why?", "minLength": 3},
				"urgent":  map[string]any{"type": "boolean"},
				"team":    map[string]any{"type": "string", "enum": []string{"ops", "dev"}},
			}}},
	}
	delete(req, "message_actions")
	token, btns := e.ask(t, req)
	if btns["reject"].Value == "" {
		t.Fatalf("the form's button does not act in place: %+v", btns["reject"])
	}
	_, rurl := e.click(t, ana, btns["reject"])
	views := e.sl.Views()
	if len(views) != 1 || len(e.updates(t, rurl)) != 0 {
		t.Fatalf("views %d, follow-ups %+v", len(views), e.updates(t, rurl))
	}
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		Blocks          []struct {
			BlockID string `json:"block_id"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(views[0], &view); err != nil {
		t.Fatal(err)
	}
	submit := func(values map[string]map[string]any) *servicetest.Response {
		t.Helper()
		return e.post(t, e.sl.ViewSubmission(&slacktest.Submission{User: ana.ID, CallbackID: view.CallbackID,
			PrivateMetadata: view.PrivateMetadata, Values: values}), nil)
	}
	// Too short a comment: the modal shows the field's error, nothing is sent.
	resp := submit(map[string]map[string]any{"comment": {"comment": map[string]any{"type": "plain_text_input", "value": "no"}}})
	if resp.Status != http.StatusOK || !strings.Contains(resp.Body, `"response_action":"errors"`) || !strings.Contains(resp.Body, `"comment"`) {
		t.Fatalf("answer %d %s", resp.Status, resp.Body)
	}
	if task := e.Task(t, token); task.Status != "open" {
		t.Fatalf("task %+v", task)
	}
	resp = submit(map[string]map[string]any{
		"comment": {"comment": map[string]any{"type": "plain_text_input", "value": "Not this week"}},
		"urgent":  {"urgent": map[string]any{"type": "checkboxes", "selected_options": []any{map[string]any{"value": "true"}}}},
		"team":    {"team": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "1"}}},
	})
	if resp.Status != http.StatusOK || resp.Body != "" {
		t.Fatalf("answer %d %s", resp.Status, resp.Body)
	}
	task := e.Task(t, token)
	var cause struct {
		Input map[string]any `json:"input"`
	}
	if err := json.Unmarshal([]byte(task.Cause), &cause); err != nil || task.Status != "failed" {
		t.Fatalf("task %+v", task)
	}
	if diff := cmp.Diff(map[string]any{"comment": "Not this week", "urgent": true, "team": "dev"}, cause.Input); diff != "" {
		t.Errorf("input (-want +got)\n%s", diff)
	}
	if u := e.oneUpdate(t, rurl); !u.ReplaceOriginal || !strings.Contains(u.all(), "Not this week") {
		t.Errorf("message %+v", u)
	}
}

// TestLinkButtonsWithoutSlack: a deployment that takes no Slack clicks
// keeps link buttons, and has no endpoint.
func TestLinkButtonsWithoutSlack(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	resp := s.PostURLs(t, map[string]any{"token": s.NewTask(t), "messages": []string{"slack"},
		"actions": []any{servicetest.Approve, servicetest.Reject}})
	var out struct {
		Messages struct {
			Slack json.RawMessage `json:"slack"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatal(err)
	}
	for name, b := range buttons(t, out.Messages.Slack) {
		if b.Value != "" || b.URL == "" {
			t.Errorf("%s: %+v", name, b)
		}
	}
	if r := s.Do(t, http.MethodPost, slackapp.Path, nil, "payload=x"); r.Status != http.StatusNotFound {
		t.Errorf("the endpoint: %d %s", r.Status, r.Body)
	}
}

// TestDeliverToSlack: deliver.slack posts the ask with chat.postMessage;
// its buttons decide in place; Slack's refusals are DeliveryFailed naming
// Slack's code, a rate limit 503 with Slack's wait.
func TestDeliverToSlack(t *testing.T) {
	e := start(t, envOptions{bot: true})
	deliver := func(channel string) *servicetest.Response {
		req := twoActions("slack:" + ana.ID)
		req["token"] = e.NewTask(t)
		req["deliver"] = map[string]any{"slack": map[string]any{"channel": channel}, "confirm": true}
		return e.PostURLs(t, req)
	}
	resp := deliver(slacktest.Channel)
	if resp.Status != http.StatusOK {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	var out struct {
		Delivered map[string]map[string]string `json:"delivered"`
		Messages  any                          `json:"messages"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatal(err)
	}
	posts := e.sl.Posts()
	if len(posts) != 1 || out.Messages != nil {
		t.Fatalf("%d posts; messages %v", len(posts), out.Messages)
	}
	if diff := cmp.Diff(map[string]string{"message_id": posts[0].TS, "channel": slacktest.Channel}, out.Delivered["slack"]); diff != "" {
		t.Errorf("delivered (-want +got)\n%s", diff)
	}
	btns := buttons(t, posts[0].Message)
	_, rurl := e.click(t, ana, btns["approve"])
	if u := e.oneUpdate(t, rurl); !u.ReplaceOriginal {
		t.Errorf("follow-up %+v", u)
	}

	for _, c := range []struct {
		name, channel string
		fail          slacktest.Failure
		status        int
		in            string
	}{
		{"not in the channel", slacktest.NotInChannel, slacktest.Failure{}, 502, "not_in_channel: the app is not in the channel"},
		{"no such channel", "C0UNKNOWN1", slacktest.Failure{}, 502, "channel_not_found"},
		{"rate limited", slacktest.Channel, slacktest.Failure{Code: "ratelimited", RetryAfter: 7}, 503, "ratelimited: Slack asks to wait 7 s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.sl.Fail("chat.postMessage", c.fail)
			defer e.sl.Fail("chat.postMessage", slacktest.Failure{})
			resp := deliver(c.channel)
			if resp.Status != c.status || resp.ErrorCode(t) != "DeliveryFailed" || !strings.Contains(resp.Body, "delivery by slack failed: "+c.in) {
				t.Errorf("%d %s", resp.Status, resp.Body)
			}
			if c.status == 503 && resp.Header.Get("Retry-After") != "7" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}
	// Without a bot token, deliver.slack is refused before anything is made.
	plain := start(t, envOptions{})
	req := twoActions("slack:" + ana.ID)
	req["token"] = plain.NewTask(t)
	req["deliver"] = map[string]any{"slack": map[string]any{"channel": slacktest.Channel}}
	if resp := plain.PostURLs(t, req); resp.Status != 400 || !strings.Contains(resp.Body, "no SLACK_BOT_TOKEN") {
		t.Errorf("without a bot token: %d %s", resp.Status, resp.Body)
	}
}

// TestStuckTarget: a target that does not answer in time costs the click
// its decision, not its answer: the handler stops waiting within its
// budget, keeps time to tell the person that nothing was sent, and
// answers Slack.
func TestStuckTarget(t *testing.T) {
	e := start(t, envOptions{backend: servicetest.Double, double: &callbackurlstest.Target{Stuck: true}})
	_, btns := e.ask(t, twoActions("slack:"+ana.ID))
	resp, rurl := e.click(t, ana, btns["approve"])
	if resp.Status != http.StatusOK {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if u := e.oneUpdate(t, rurl); u.ReplaceOriginal || !strings.Contains(u.Text, "Nothing was sent") || !strings.Contains(u.Text, "try again") {
		t.Errorf("follow-up %+v", u)
	}
}
