package localserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// TestOutbox: with the local store, delivery fills its outbox, which the
// dashboard shows and /local/outbox serves, and a decision's confirmation
// lands there too.
func TestOutbox(t *testing.T) {
	keys, err := keyring.New(keyring.Key{ID: "t", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	var srv *localserver.Server
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Handler.ServeHTTP(w, r) }))
	defer ts.Close()
	c := &config.Config{SFN: config.SFNLocal, BaseURL: ts.URL, StorePath: filepath.Join(t.TempDir(), "tasks.db"),
		AllowedTopicARNs: []string{"arn:aws:sns:eu-west-1:123456789012:approvals"}}
	if srv, err = localserver.New(context.Background(), c, localserver.Options{KeySource: keys}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	task, err := srv.Store.CreateTask(context.Background(), "deploy")
	if err != nil {
		t.Fatal(err)
	}

	body, _ := json.Marshal(map[string]any{
		"token": task.Token, "title": "Deploy <release> 1.4",
		"actions": []any{
			map[string]any{"name": "approve", "type": "success", "output": map[string]any{"ok": true}},
			map[string]any{"name": "reject", "type": "failure", "error": "Rejected"},
		},
		"deliver": map[string]any{"email": map[string]any{"to": []string{"alice@example.com"}},
			"sns": map[string]any{"topic_arn": "arn:aws:sns:eu-west-1:123456789012:approvals"}, "confirm": true},
	})
	var created struct {
		URLs      map[string]string
		Delivered map[string]struct {
			MessageID string `json:"message_id"`
		}
	}
	get(t, http.MethodPost, ts.URL+"/urls", string(body), &created)
	if !strings.HasPrefix(created.Delivered["email"].MessageID, "outbox-") || !strings.HasPrefix(created.Delivered["sns"].MessageID, "outbox-") {
		t.Fatalf("delivered %+v", created.Delivered)
	}
	var box struct{ Letters []localstore.Letter }
	get(t, http.MethodGet, ts.URL+"/local/outbox", "", &box)
	channels := []string{}
	for _, l := range box.Letters {
		channels = append(channels, l.Kind+"/"+l.Channel)
	}
	if strings.Join(channels, " ") != "ask/sns ask/email ask/chat" {
		t.Fatalf("letters %v", channels)
	}
	email, chat := box.Letters[1], box.Letters[2]
	if email.From != localserver.LocalSender || email.To[0] != "alice@example.com" || !strings.Contains(email.HTML, strings.ReplaceAll(created.URLs["approve"], "&", "&amp;")) {
		t.Errorf("email letter %+v", email)
	}
	if len(chat.Teams) == 0 || len(chat.Slack) == 0 {
		t.Errorf("the chat letter has no Teams or Slack message")
	}

	// The dashboard shows them; the email opens as a mail client would
	// show it, in a sandbox.
	dash := get(t, http.MethodGet, ts.URL+"/local/", "", nil)
	for _, want := range []string{"Outbox", "Deploy &lt;release&gt; 1.4", "/local/outbox/" + email.ID, "Teams Adaptive Card"} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	resp, err := http.Get(ts.URL + "/local/outbox/" + email.ID)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") ||
		string(html) != email.HTML {
		t.Errorf("letter page: CSP %q, body matches %v", csp, string(html) == email.HTML)
	}
	if resp, _ := http.Get(ts.URL + "/local/outbox/99999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown letter: %s", resp.Status)
	}

	// The decision, and its confirmation.
	form := url.Values{}
	get(t, http.MethodPost, created.URLs["reject"], form.Encode(), nil)
	get(t, http.MethodGet, ts.URL+"/local/outbox", "", &box)
	if box.Letters[0].Kind != "confirmation" || box.Letters[1].Kind != "confirmation" ||
		!strings.HasPrefix(box.Letters[1].Subject, "Rejected: Deploy <release> 1.4") {
		t.Errorf("after the decision: %+v", box.Letters[:2])
	}
}

func get(t *testing.T, method, u, body string, out any) string {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		if !strings.HasSuffix(u, "/urls") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	req.Header.Set("Accept", "application/json")
	if strings.HasSuffix(u, "/local/") {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, u, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}
