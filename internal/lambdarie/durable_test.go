package lambdarie

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
)

// TestDurableCallbacks drives a callback id through both bootstraps under
// AWS's emulator: CreateUrls by direct invoke, the clicks through API
// Gateway's proxy events, and Lambda's durable callback API (the stand-in,
// through AWS_ENDPOINT_URL_LAMBDA).
func TestDurableCallbacks(t *testing.T) {
	for _, mode := range []string{"static", "kms-hmac"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, mode)
			// The longest id Lambda makes: 1,024 characters, with '+' and
			// '=' to escape in its path.
			id := (strings.Repeat("Y2FsbGJhY2s+", 85) + "Zm9vYg==")[4:]
			d.durable.AddCallback(id)
			event := `{"callback_id": "` + id + `", "actions": [` +
				`{"name": "approve", "type": "success", "output": {"ok": true}}, ` +
				`{"name": "reject", "type": "failure", "error": "Rejected", "cause": "no"}, ` +
				`{"name": "ping", "type": "heartbeat"}]}`
			made := checkCreate(t, invokeDirect(t, d.create, event), "approve", "ping", "reject")

			// Both or neither reference: a 400 from CreateUrls, nothing made.
			var refused map[string]any
			_ = json.Unmarshal(invokeDirect(t, d.create, `{"token": "t", "callback_id": "YQ==", "actions": [{"name": "p", "type": "heartbeat"}]}`), &refused)
			if refused["error"] != "InvalidJSON" || !strings.Contains(refused["message"].(string), "give exactly one") {
				t.Errorf("both references: %v", refused)
			}

			click := func(name string, header map[string]string) ProxyResponse {
				return invokeProxy(t, d.callback, request(t, http.MethodGet, made.URLs[name], header, ""))
			}
			for range 2 { // heartbeats repeat
				checkStatus(t, "ping", click("ping", jsonClient), http.StatusOK, "application/json")
			}
			// Throttled beyond the SDK's retries: 503 with Lambda's wait.
			d.durable.Throttle("", 3)
			r := click("approve", jsonClient)
			checkStatus(t, "approve, throttled", r, http.StatusServiceUnavailable, "application/json")
			if got := r.Header("Retry-After"); got != durabletest.RetryAfterSeconds {
				t.Errorf("Retry-After %q, want Lambda's %s", got, durabletest.RetryAfterSeconds)
			}
			checkStatus(t, "approve", click("approve", jsonClient), http.StatusOK, "application/json")

			// The second answer: closed, a 400 naming Lambda's code, and the
			// page a closed task gets.
			r = click("reject", jsonClient)
			checkStatus(t, "reject after approve", r, http.StatusBadRequest, "application/json")
			if body := checkErrorBody(t, []byte(r.Body), "DurableCallbackError"); body["lambda_error"] != "CallbackTimeoutException" ||
				strings.Contains(r.Body, id) {
				t.Errorf("second answer: %s", r.Body)
			}
			r = invokeProxy(t, d.callback, request(t, http.MethodPost, made.URLs["reject"],
				map[string]string{"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded", "User-Agent": browserAgent}, "confirm=1"))
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "This request was already answered") {
				t.Errorf("second answer's page: %d %.300s", r.StatusCode, r.Body)
			}

			cb, _ := d.durable.Callback(id)
			if diff := cmp.Diff(durabletest.CallbackState{Status: durabletest.StatusSucceeded, Result: []byte(`{"ok":true}`), Heartbeats: 2}, cb); diff != "" {
				t.Errorf("callback (-want +got):\n%s", diff)
			}
			if n := len(d.sfn.Calls()); n != 0 {
				t.Errorf("%d calls reached Step Functions", n)
			}
		})
	}
}
