package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slackgo "github.com/slack-go/slack"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
)

// The checks against github.com/slack-go/slack, the field's Go library (a
// test-only dependency): what slacktest signs, its verifier accepts; what
// its types encode, ParseInteraction reads; its client and ours get the
// same answers from the stand-in.

func TestSlackGoVerifierAcceptsTheSigner(t *testing.T) {
	body := []byte("payload=" + url.QueryEscape(`{"type":"block_actions"}`))
	h := http.Header{}
	slacktest.Sign(h, slacktest.SigningSecret, time.Now(), body)
	sv, err := slackgo.NewSecretsVerifier(h, slacktest.SigningSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := sv.Ensure(); err != nil {
		t.Errorf("slack-go refuses the signer's signature: %v", err)
	}
	// And ours accepts what slack-go would: the same rules.
	v := slack.NewVerifier(slack.StaticSecret(slacktest.SigningSecret), nil)
	if err := v.Verify(context.Background(), h, body); err != nil {
		t.Error(err)
	}
}

func TestParseSlackGoInteraction(t *testing.T) {
	ic := slackgo.InteractionCallback{
		Type:        slackgo.InteractionTypeBlockActions,
		ResponseURL: "https://hooks.slack.com/actions/T0TEAM0001/1/abc",
		TriggerID:   "1.2.abc",
		APIAppID:    slacktest.AppID,
		Team:        slackgo.Team{ID: slacktest.Team, Domain: "example"},
		User:        slackgo.User{ID: "U0ANA00001", Name: "ana", TeamID: slacktest.Team},
		Container:   slackgo.Container{Type: "message", MessageTs: "1.2", ChannelID: slacktest.Channel},
		ActionCallback: slackgo.ActionCallbacks{BlockActions: []*slackgo.BlockAction{
			{ActionID: "approve", BlockID: "actions", Value: "3-abc", Type: "button", ActionTs: "1.3"},
		}},
	}
	b, err := json.Marshal(ic)
	if err != nil {
		t.Fatal(err)
	}
	in, err := slack.ParseInteraction([]byte(url.Values{"payload": {string(b)}}.Encode()))
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := slack.Action{Type: "button", ActionID: "approve", BlockID: "actions", Value: "3-abc", ActionTS: "1.3"}
	if diff := cmp.Diff([]slack.Action{want}, in.Actions); diff != "" || in.User.ID != "U0ANA00001" || in.User.TeamID != slacktest.Team ||
		in.Team.ID != slacktest.Team || in.ResponseURL != ic.ResponseURL || in.TriggerID != ic.TriggerID || in.Container.ChannelID != slacktest.Channel {
		t.Errorf("read %+v (actions -want +got)\n%s", in, diff)
	}

	// A view submission, as slack-go encodes it.
	vs := slackgo.InteractionCallback{Type: slackgo.InteractionTypeViewSubmission,
		Team: slackgo.Team{ID: slacktest.Team}, User: slackgo.User{ID: "U0ANA00001", TeamID: slacktest.Team},
		View: slackgo.View{ID: "V1", Type: slackgo.VTModal, CallbackID: "sfn-callback-urls", PrivateMetadata: `{"d":"3-abc"}`,
			State: &slackgo.ViewState{Values: map[string]map[string]slackgo.BlockAction{
				"comment": {"comment": {Type: "plain_text_input", Value: "ok"}},
				"team":    {"team": {Type: "static_select", SelectedOption: slackgo.OptionBlockObject{Value: "1"}}},
			}}}}
	b, err = json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	in, err = slack.ParseInteraction([]byte(url.Values{"payload": {string(b)}}.Encode()))
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	st := in.View.State.Values
	if in.View.PrivateMetadata != `{"d":"3-abc"}` || st["comment"]["comment"].Value == nil || *st["comment"]["comment"].Value != "ok" ||
		st["team"]["team"].SelectedOption == nil || st["team"]["team"].SelectedOption.Value != "1" {
		t.Errorf("read %+v", in.View)
	}
}

// TestSlackGoClientOnTheStandIn: slack-go's client, pointed at the
// stand-in, posts, looks people up and opens views as it would on Slack,
// and gets Slack's errors; so the stand-in speaks Slack's protocol, and
// our client is checked against the same server.
func TestSlackGoClientOnTheStandIn(t *testing.T) {
	sl := slacktest.New(t)
	sl.AddUser(slacktest.User{ID: "U0ANA00001", Name: "Ana Lima", Email: "ana@example.com"})
	api := slackgo.New(slacktest.BotToken, slackgo.OptionAPIURL(sl.URL+"/"))

	ch, ts, err := api.PostMessage(slacktest.Channel, slackgo.MsgOptionText("hello", false),
		slackgo.MsgOptionBlocks(slackgo.NewActionBlock("actions", slackgo.NewButtonBlockElement("approve", "3-abc",
			slackgo.NewTextBlockObject("plain_text", "Approve", false, false)))))
	if err != nil || ch != slacktest.Channel || ts == "" {
		t.Fatalf("PostMessage = %q %q %v", ch, ts, err)
	}
	if _, _, err := api.PostMessage(slacktest.NotInChannel, slackgo.MsgOptionText("hello", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("not in channel: %v", err)
	}
	u, err := api.GetUserInfo("U0ANA00001")
	if err != nil || u.Profile.Email != "ana@example.com" || u.TeamID != slacktest.Team {
		t.Errorf("GetUserInfo = %+v, %v", u, err)
	}
	at, err := api.AuthTest()
	if err != nil || at.TeamID != slacktest.Team {
		t.Errorf("AuthTest = %+v, %v", at, err)
	}
	view := slackgo.ModalViewRequest{Type: slackgo.VTModal, Title: slackgo.NewTextBlockObject("plain_text", "Reject", false, false),
		Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{slackgo.NewInputBlock("comment", slackgo.NewTextBlockObject("plain_text", "Why?", false, false), nil,
			slackgo.NewPlainTextInputBlockElement(nil, "comment"))}}}
	if _, err := api.OpenView(sl.TriggerID(), view); err != nil {
		t.Errorf("OpenView: %v", err)
	}
	if _, err := api.OpenView("expired", view); err == nil || !strings.Contains(err.Error(), "expired_trigger_id") {
		t.Errorf("OpenView with an unknown trigger: %v", err)
	}
	sl.Fail("chat.postMessage", slacktest.Failure{Code: "ratelimited", RetryAfter: 3})
	_, _, err = api.PostMessage(slacktest.Channel, slackgo.MsgOptionText("hello", false))
	var rle *slackgo.RateLimitedError
	if !asRateLimited(err, &rle) || rle.RetryAfter != 3*time.Second {
		t.Errorf("rate limited: %v", err)
	}

	// Our client, same server, same answers.
	c := slack.NewClient(slack.StaticSecret(slacktest.BotToken), slack.Options{APIURL: sl.URL})
	if _, err := c.PostMessage(context.Background(), slacktest.Channel, json.RawMessage(`{"text":"hello"}`)); err == nil || !strings.Contains(err.Error(), "ratelimited (retry after 3s)") {
		t.Errorf("ours, rate limited: %v", err)
	}
	sl.Fail("chat.postMessage", slacktest.Failure{})
	p, err := c.PostMessage(context.Background(), slacktest.Channel, json.RawMessage(`{"text":"hello"}`))
	if err != nil || p.Channel != slacktest.Channel || p.TS == "" {
		t.Errorf("ours: %+v %v", p, err)
	}
	info, err := c.UsersInfo(context.Background(), "U0ANA00001")
	if err != nil || info.Profile.Email != "ana@example.com" || !info.IsEmailConfirmed {
		t.Errorf("ours: %+v %v", info, err)
	}
	team, err := c.Team(context.Background())
	if err != nil || team != slacktest.Team {
		t.Errorf("ours: %q %v", team, err)
	}
	bad := slack.NewClient(slack.StaticSecret("xoxb-wrong"), slack.Options{APIURL: sl.URL})
	if _, err := bad.UsersInfo(context.Background(), "U0ANA00001"); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("a wrong token: %v", err)
	}
}

func asRateLimited(err error, target **slackgo.RateLimitedError) bool {
	e, ok := err.(*slackgo.RateLimitedError)
	if ok {
		*target = e
	}
	return ok
}
