package lambdarie

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring/awskeyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// slackDeployment is both functions under the emulator with the Slack
// app's signing secret and bot token in Secrets Manager, Slack's stand-in
// as its Web API and response_urls, and Step Functions' stand-in.
type slackDeployment struct {
	create, callback *Emulator
	sl               *slacktest.Server
	sfn              *sfntest.Server
	tokens           int
}

func newSlackDeployment(t testing.TB) *slackDeployment {
	bins := bootstraps(t, "create-urls", "process-callback")
	d := &slackDeployment{sl: slacktest.New(t), sfn: sfntest.New(t)}
	d.sfn.AddCredentials(Credentials())
	secrets := awskeyringtest.NewSecretsManager(t)
	secrets.AddCredentials(Credentials())
	secrets.Put("slack-signing", slacktest.SigningSecret)
	secrets.Put("slack-bot", slacktest.BotToken)
	ring, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ring.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env := append(stage.Env(), "AWS_ENDPOINT_URL_SFN="+d.sfn.URL(), "AWS_ENDPOINT_URL_SECRETS_MANAGER="+secrets.URL(), "KEYRING="+string(doc),
		"SLACK_SIGNING_SECRET_ARN="+secrets.ARN("slack-signing"), "SLACK_BOT_TOKEN_ARN="+secrets.ARN("slack-bot"), "SLACK_API_URL="+d.sl.URL)
	d.create = Start(t, Config{Bootstrap: bins[0], FunctionName: "create-urls", Env: env})
	d.callback = Start(t, Config{Bootstrap: bins[1], FunctionName: "process-callback", Env: env})
	return d
}

// ask opens a task and has CreateUrls (a direct invoke) post its ask to
// the channel; it returns the token and the posted message's buttons'
// values by action.
func (d *slackDeployment) ask(t testing.TB, approvers ...string) (string, map[string]string) {
	t.Helper()
	d.tokens++
	base := corpus.Tokens()[d.tokens%len(corpus.Tokens())]
	token := base[:len(base)-6] + fmt.Sprintf("%06d", d.tokens)
	d.sfn.AddTask(token)
	req := map[string]any{"token": token, "title": "Release 2.4", "approvers": approvers,
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"release": "2.4"}},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected"},
			map[string]any{"name": "ping", "type": "heartbeat"},
		},
		"message_actions": []string{"approve", "reject", "ping"},
		"deliver":         map[string]any{"slack": map[string]any{"channel": slacktest.Channel}},
	}
	b, _ := json.Marshal(req)
	before := len(d.sl.Posts())
	out := invokeDirect(t, d.create, string(b))
	if !strings.Contains(string(out), `"delivered":{"slack"`) {
		t.Fatalf("CreateUrls answered %s\n%s", out, d.create.Tail())
	}
	posts := d.sl.Posts()
	if len(posts) != before+1 {
		t.Fatalf("%d posts", len(posts))
	}
	var m struct {
		Blocks []struct {
			Type     string `json:"type"`
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(posts[len(posts)-1].Message, &m); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, b := range m.Blocks {
		for _, el := range b.Elements {
			if b.Type == "actions" {
				values[el.ActionID] = el.Value
			}
		}
	}
	return token, values
}

// post sends a signed (or, with header set, otherwise headed) body to POST
// /slack/interactions through API Gateway's event.
func (d *slackDeployment) post(t testing.TB, body []byte, header http.Header) ProxyResponse {
	t.Helper()
	if header == nil {
		header = http.Header{}
		slacktest.Sign(header, slacktest.SigningSecret, time.Now(), body)
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
	for k := range header {
		h[k] = header.Get(k)
	}
	return invokeProxy(t, d.callback, request(t, http.MethodPost, stage.URL()+"/slack/interactions", h, string(body)))
}

// click is a user's click, signed now; it returns the answer and the
// follow-ups posted to its response_url.
func (d *slackDeployment) click(t *testing.T, user, action, value string) (ProxyResponse, []string) {
	t.Helper()
	c := &slacktest.Click{User: user, Name: user, ActionID: action, Value: value}
	r := d.post(t, d.sl.BlockActions(c), nil)
	var out []string
	for _, m := range d.sl.Responses(c.ResponseURL) {
		out = append(out, string(m))
	}
	return r, out
}

// TestSlackThroughTheFunctions runs issue 19's flow on both bootstraps
// under AWS's emulator with API Gateway's events: CreateUrls posts the ask
// to a channel (its bot token from Secrets Manager), and ProcessCallback
// (its signing secret from Secrets Manager) takes the clicks.
func TestSlackThroughTheFunctions(t *testing.T) {
	d := newSlackDeployment(t)
	const ana, eve = "U0ANA00001", "U0EVE00001"
	token, values := d.ask(t, "slack:"+ana)
	if len(values) != 3 || values["approve"] == "" {
		t.Fatalf("buttons %v", values)
	}

	t.Run("unsigned, altered, replayed", func(t *testing.T) {
		c := &slacktest.Click{User: ana, ActionID: "approve", Value: values["approve"]}
		body := d.sl.BlockActions(c)
		old := http.Header{}
		slacktest.Sign(old, slacktest.SigningSecret, time.Now().Add(-6*time.Minute), body)
		now := http.Header{}
		slacktest.Sign(now, slacktest.SigningSecret, time.Now(), body)
		for name, r := range map[string]ProxyResponse{
			"unsigned":              d.post(t, body, http.Header{"X-None": {"1"}}),
			"replayed 6 min later":  d.post(t, body, old),
			"altered after signing": d.post(t, []byte(strings.Replace(string(body), ana, eve, 1)), now),
		} {
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, `"error":"InvalidSignature"`) {
				t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
			}
		}
		if st, _ := d.sfn.Task(token); st.Status != sfntest.StatusOpen || len(d.sl.Responses(c.ResponseURL)) != 0 {
			t.Errorf("something was done: %+v", st)
		}
	})
	t.Run("outside the list", func(t *testing.T) {
		r, ups := d.click(t, eve, "approve", values["approve"])
		if r.StatusCode != http.StatusOK || len(ups) != 1 || !strings.Contains(ups[0], "This decision is for someone else") {
			t.Errorf("%d %v", r.StatusCode, ups)
		}
	})
	t.Run("not our payload", func(t *testing.T) {
		_, ups := d.click(t, ana, "approve", "3-"+strings.Repeat("B", 300))
		if len(ups) != 1 || !strings.Contains(ups[0], "InvalidPayload") || !strings.Contains(ups[0], `"ephemeral"`) {
			t.Errorf("%v", ups)
		}
	})
	t.Run("heartbeat", func(t *testing.T) {
		_, ups := d.click(t, eve, "ping", values["ping"])
		if st, _ := d.sfn.Task(token); st.Heartbeats != 1 || len(ups) != 1 || !strings.Contains(ups[0], "still being worked on") {
			t.Errorf("%+v %v", st, ups)
		}
	})
	t.Run("approve, then a second click", func(t *testing.T) {
		_, ups := d.click(t, ana, "approve", values["approve"])
		st, _ := d.sfn.Task(token)
		if st.Status != sfntest.StatusSucceeded || !strings.Contains(st.Output, `"via":"slack"`) || !strings.Contains(st.Output, `"sub":"`+ana+`"`) ||
			!strings.Contains(st.Output, `"receipt":"`) {
			t.Fatalf("task %+v\n%s", st, d.callback.Tail())
		}
		if len(ups) != 1 || !strings.Contains(ups[0], `"replace_original":true`) || strings.Contains(ups[0], `"actions"`) {
			t.Errorf("%v", ups)
		}
		_, ups = d.click(t, ana, "reject", values["reject"])
		if len(ups) != 1 || !strings.Contains(ups[0], "Already answered") {
			t.Errorf("%v", ups)
		}
	})
	t.Run("reject", func(t *testing.T) {
		token, values := d.ask(t, "slack:"+ana)
		d.click(t, ana, "reject", values["reject"])
		if st, _ := d.sfn.Task(token); st.Status != sfntest.StatusFailed || !strings.Contains(st.Cause, `"via":"slack"`) {
			t.Errorf("task %+v", st)
		}
	})
	t.Run("50 concurrent clicks", func(t *testing.T) {
		var approvers []string
		for i := range 50 {
			approvers = append(approvers, fmt.Sprintf("slack:U0PEOPLE%02d", i))
		}
		token, values := d.ask(t, approvers...)
		var mu sync.Mutex
		var all []string
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				action := []string{"approve", "reject"}[i%2]
				_, ups := d.click(t, fmt.Sprintf("U0PEOPLE%02d", i), action, values[action])
				mu.Lock()
				all = append(all, ups...)
				mu.Unlock()
			})
		}
		wg.Wait()
		replaced, told := 0, 0
		for _, u := range all {
			switch {
			case strings.Contains(u, `"replace_original":true`):
				replaced++
			case strings.Contains(u, "Already answered"):
				told++
			}
		}
		st, _ := d.sfn.Task(token)
		if replaced != 1 || told != 49 || st.Status == sfntest.StatusOpen {
			t.Errorf("%d replaced, %d told, task %+v", replaced, told, st)
		}
	})
}

// BenchmarkSlackClick times a click through ProcessCallback's bootstrap
// under the emulator, from the signed API Gateway event to the function's
// answer: the signing secret (read once from Secrets Manager), the
// decision sent to Step Functions' stand-in with its receipt, and the
// message replaced through the response_url. The emulator's own invoke
// path is included; Slack wants the answer within 3 s.
func BenchmarkSlackClick(b *testing.B) {
	d := newSlackDeployment(b)
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		_, values := d.ask(b, "slack:U0ANA00001")
		c := &slacktest.Click{User: "U0ANA00001", ActionID: "approve", Value: values["approve"]}
		body := d.sl.BlockActions(c)
		h := http.Header{}
		slacktest.Sign(h, slacktest.SigningSecret, time.Now(), body)
		ev := request(b, http.MethodPost, stage.URL()+"/slack/interactions", map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"X-Slack-Signature": h.Get("X-Slack-Signature"), "X-Slack-Request-Timestamp": h.Get("X-Slack-Request-Timestamp")}, string(body))
		b.StartTimer()
		t0 := time.Now()
		r := invokeProxy(b, d.callback, ev)
		ds = append(ds, time.Since(t0))
		if r.StatusCode != http.StatusOK || len(d.sl.Responses(c.ResponseURL)) != 1 {
			b.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := min(max(int(p/100*float64(len(ds))+0.5)-1, 0), len(ds)-1)
		return float64(ds[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(50), "click-p50-ms")
	b.ReportMetric(at(99), "click-p99-ms")
}
