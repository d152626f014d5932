package slack_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
)

func payload(json string) string { return url.Values{"payload": {json}}.Encode() }

func TestParseInteraction(t *testing.T) {
	sl := slacktest.New(t)
	click := string(sl.BlockActions(&slacktest.Click{User: "U0ANA00001", ActionID: "approve", Value: "3-abc"}))
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		{"a click", click, true},
		{"a submission", string(sl.ViewSubmission(&slacktest.Submission{User: "U0ANA00001", CallbackID: "x", PrivateMetadata: "{}"})), true},
		{"another kind, read and ignored", payload(`{"type":"shortcut","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"}}`), true},
		{"no payload", "token=x", false},
		{"two payloads", click + "&" + click, false},
		{"not JSON", payload("{"), false},
		{"no user", payload(`{"type":"block_actions","team":{"id":"T0TEAM0001"},"actions":[{"value":"x"}]}`), false},
		{"a user id of another alphabet", payload(`{"type":"block_actions","user":{"id":"u0ana"},"team":{"id":"T0TEAM0001"},"actions":[{"value":"x"}]}`), false},
		{"a team that is no team", payload(`{"type":"block_actions","user":{"id":"U0ANA00001"},"team":{"id":"X1"},"actions":[{"value":"x"}]}`), false},
		{"no action", payload(`{"type":"block_actions","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"},"actions":[]}`), false},
		{"two actions", payload(`{"type":"block_actions","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"},"actions":[{},{}]}`), false},
		{"a value over 2,000", payload(`{"type":"block_actions","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"},"actions":[{"value":"` + strings.Repeat("a", 2001) + `"}]}`), false},
		{"a submission without its view", payload(`{"type":"view_submission","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"}}`), false},
		{"metadata over 3,000", payload(`{"type":"view_submission","user":{"id":"U0ANA00001"},"team":{"id":"T0TEAM0001"},"view":{"private_metadata":"` + strings.Repeat("a", 3001) + `"}}`), false},
		{"too large", payload(`{"type":"block_actions","x":"` + strings.Repeat("a", slack.MaxInteractionBytes) + `"}`), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := slack.ParseInteraction([]byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("ParseInteraction = %+v, %v; want ok %v", in, err, c.ok)
			}
		})
	}
	in, err := slack.ParseInteraction([]byte(click))
	if err != nil || in.Actions[0].Value != "3-abc" || in.User.ID != "U0ANA00001" || in.User.TeamID != slacktest.Team || in.TriggerID == "" {
		t.Errorf("%+v %v", in, err)
	}
}

// FuzzParseInteraction: any body is read within the bounds or refused,
// never a panic; what is read keeps Slack's limits.
func FuzzParseInteraction(f *testing.F) {
	sl := slacktest.New(f)
	f.Add(sl.BlockActions(&slacktest.Click{User: "U0ANA00001", ActionID: "approve", Value: "3-abc"}))
	f.Add(sl.ViewSubmission(&slacktest.Submission{User: "U0ANA00001", CallbackID: "sfn-callback-urls", PrivateMetadata: `{"d":"3-x","r":"https://hooks.slack.com/a"}`,
		Values: map[string]map[string]any{"c": {"c": map[string]any{"type": "plain_text_input", "value": "ok"}}}}))
	f.Add([]byte(payload(`{"type":"block_actions","user":{"id":"U0A"},"team":{"id":"T0A"},"actions":[{"value":"x"}]}`)))
	f.Add([]byte("payload=%7B%7D"))
	f.Add([]byte("payload=%ZZ"))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := slack.ParseInteraction(body)
		if err != nil {
			return
		}
		if len(body) > slack.MaxInteractionBytes || len(in.User.ID) > 24 || len(in.Team.ID) > 24 || len(in.ResponseURL) > 2048 {
			t.Fatalf("out of bounds: %+v", in)
		}
		switch in.Type {
		case slack.BlockActions:
			if len(in.Actions) != 1 || len(in.Actions[0].Value) > slack.MaxValueLength {
				t.Fatalf("actions %+v", in.Actions)
			}
		case slack.ViewSubmission, slack.ViewClosed:
			if in.View == nil || len(in.View.PrivateMetadata) > slack.MaxPrivateMetadata {
				t.Fatalf("view %+v", in.View)
			}
		}
		_ = in.User.DisplayName()
	})
}

func TestCheckResponseURL(t *testing.T) {
	cases := []struct {
		url, api string
		ok       bool
	}{
		{"https://hooks.slack.com/actions/T0/1/abc", slack.DefaultAPIURL, true},
		{"https://HOOKS.SLACK.COM/actions/T0/1/abc", slack.DefaultAPIURL, true},
		{"http://hooks.slack.com/actions/T0/1/abc", slack.DefaultAPIURL, false},
		{"https://hooks.slack.com.evil.example/a", slack.DefaultAPIURL, false},
		{"https://evil.example/hooks.slack.com/a", slack.DefaultAPIURL, false},
		{"https://user@hooks.slack.com/a", slack.DefaultAPIURL, false},
		{"https://hooks.slack.com:8443/a", slack.DefaultAPIURL, false},
		{"http://127.0.0.1:9/hooks/1", slack.DefaultAPIURL, false},
		{"http://127.0.0.1:9/hooks/1", "http://127.0.0.1:8/api", true},
		{"http://localhost:9/hooks/1", "http://[::1]:8/api", true},
		{"http://10.0.0.1/hooks/1", "http://127.0.0.1:8/api", false},
		{"http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8/api", false},
		{"file:///etc/passwd", "http://127.0.0.1:8/api", false},
		{"", slack.DefaultAPIURL, false},
	}
	for _, c := range cases {
		if err := slack.CheckResponseURL(c.url, c.api); (err == nil) != c.ok {
			t.Errorf("CheckResponseURL(%q, %q) = %v, want ok %v", c.url, c.api, err, c.ok)
		}
	}
}
