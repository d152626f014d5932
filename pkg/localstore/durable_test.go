package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestDurableCallbacks: the store keeps durable callbacks with Lambda's
// semantics, and a reference of one kind never reaches a task of the other.
func TestDurableCallbacks(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	task := mustCreate(t, s, "task")
	cb, err := s.CreateCallback(ctx, "approval")
	if err != nil {
		t.Fatal(err)
	}
	if cb.Kind != KindDurableCallback || cb.Token != "" || !callbackurls.DurableCallback.Spec().Valid(cb.CallbackID) || len(cb.CallbackID) != callbackChars {
		t.Fatalf("callback %+v", cb)
	}
	d := s.Durable()
	steps := []struct {
		name   string
		target callbackurls.Target
		ref    string
		d      callbackurls.Decision
		code   string
	}{
		{"heartbeat", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Heartbeat}, ""},
		{"heartbeat again", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Heartbeat}, ""},
		{"a token is no callback id", d, task.Token, callbackurls.Decision{Type: callbackurls.Heartbeat}, callbackurls.ResourceNotFoundException},
		{"a callback id is no token", s, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Heartbeat}, callbackurls.TaskDoesNotExist},
		{"unknown id", d, strings.Repeat("A", callbackChars), callbackurls.Decision{Type: callbackurls.Heartbeat}, callbackurls.ResourceNotFoundException},
		{"malformed id", d, "a-b", callbackurls.Decision{Type: callbackurls.Heartbeat}, callbackurls.InvalidParameterValueException},
		{"result too large", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Success, Output: json.RawMessage(`"` + strings.Repeat("x", maxResultBytes) + `"`)}, callbackurls.InvalidParameterValueException},
		{"success", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Success, Output: json.RawMessage(`{"approved":true}`)}, ""},
		{"second answer", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Failure, Error: "E"}, callbackurls.CallbackTimeoutException},
		{"heartbeat after", d, cb.CallbackID, callbackurls.Decision{Type: callbackurls.Heartbeat}, callbackurls.CallbackTimeoutException},
	}
	for _, st := range steps {
		if got := taskCode(t, st.target.Send(ctx, st.ref, st.d)); got != st.code {
			t.Errorf("%s: %q, want %q", st.name, got, st.code)
		}
	}
	got, err := s.Get(ctx, cb.CallbackID)
	if err != nil || got.Status != StatusSucceeded || got.Heartbeats != 2 || string(got.Output) != `{"approved":true}` || got.Kind != KindDurableCallback {
		t.Errorf("Get(callback id) = %+v, %v", got, err)
	}
	if got, err := s.Get(ctx, task.Token); err != nil || got.Kind != KindTask || got.Status != StatusOpen {
		t.Errorf("Get(token) = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, strings.Repeat("A", callbackChars)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown id) = %v", err)
	}
	list, _ := s.Newest(ctx, 10)
	if len(list) != 2 || list[0].Ref() != cb.CallbackID || list[1].Ref() != task.Token {
		t.Errorf("Newest: %+v", list)
	}
	// The JSON form: a task keeps its old members, a callback says its kind.
	b, _ := json.Marshal(list[0])
	if !strings.Contains(string(b), `"callback_id":"`+cb.CallbackID+`","kind":"durable_callback"`) || strings.Contains(string(b), `"token"`) {
		t.Errorf("callback JSON %s", b)
	}
	b, _ = json.Marshal(list[1])
	if strings.Contains(string(b), `"kind"`) || strings.Contains(string(b), `"callback_id"`) {
		t.Errorf("task JSON %s", b)
	}
}
