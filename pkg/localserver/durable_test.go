package localserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// TestDurableCallbacks: serve sends a callback id's decisions to the
// local store with --sfn local, and to Lambda with --sfn aws.
func TestDurableCallbacks(t *testing.T) {
	keys, err := keyring.New(keyring.Key{ID: "t", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	lambda := durabletest.New(t)
	for _, sfn := range []string{config.SFNLocal, config.SFNAWS} {
		t.Run(sfn, func(t *testing.T) {
			var srv *localserver.Server
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Handler.ServeHTTP(w, r) }))
			defer ts.Close()
			c := &config.Config{SFN: sfn, BaseURL: ts.URL, StorePath: filepath.Join(t.TempDir(), "tasks.db")}
			opts := localserver.Options{KeySource: keys, AWSConfig: func() (aws.Config, error) { return lambda.Config(), nil }}
			if srv, err = localserver.New(context.Background(), c, opts); err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			id := "ZHVyYWJsZS1jYWxsYmFjaw=="
			if srv.Store != nil {
				cb, err := srv.Store.CreateCallback(context.Background(), "quorum")
				if err != nil {
					t.Fatal(err)
				}
				id = cb.CallbackID
			} else {
				lambda.AddCallback(id)
			}
			body, _ := json.Marshal(map[string]any{"callback_id": id, "actions": []any{
				map[string]any{"name": "approve", "type": "success", "output": map[string]any{"ok": true}},
				map[string]any{"name": "ping", "type": "heartbeat"},
			}})
			resp, err := http.Post(ts.URL+"/urls", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var made struct{ URLs map[string]string }
			_ = json.NewDecoder(resp.Body).Decode(&made)
			resp.Body.Close()
			for _, step := range []struct {
				action string
				status int
			}{{"ping", 200}, {"approve", 200}, {"approve", 400}} {
				req, _ := http.NewRequest(http.MethodPost, made.URLs[step.action], nil)
				req.Header.Set("Accept", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var answer map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&answer)
				resp.Body.Close()
				if resp.StatusCode != step.status {
					t.Fatalf("%s: %d %v, want %d", step.action, resp.StatusCode, answer, step.status)
				}
				if step.status == 400 && (answer["error"] != "DurableCallbackError" || answer["lambda_error"] != "CallbackTimeoutException") {
					t.Errorf("second answer: %v", answer)
				}
			}
			if srv.Store != nil {
				task, err := srv.Store.Get(context.Background(), id)
				if err != nil || task.Status != localstore.StatusSucceeded || task.Heartbeats != 1 || string(task.Output) != `{"ok":true}` {
					t.Errorf("stored callback %+v, %v", task, err)
				}
				return
			}
			cb, _ := lambda.Callback(id)
			if cb.Status != durabletest.StatusSucceeded || cb.Heartbeats != 1 || string(cb.Result) != `{"ok":true}` {
				t.Errorf("Lambda's callback %+v", cb)
			}
		})
	}
}
