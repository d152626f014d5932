package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestHealthAndNotFound covers the endpoints outside the API.
func TestHealthAndNotFound(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		body         map[string]any // nil: an error body with code
		code         string
	}{
		{"GET", "/healthz", 200, map[string]any{"status": "ok"}, ""},
		{"POST", "/healthz", 405, nil, "MethodNotAllowed"},
		{"GET", "/", 404, nil, "NotFound"},
		{"GET", "/nope", 404, nil, "NotFound"},
		{"POST", "/urls/", 404, nil, "NotFound"},
		{"GET", "/respond/x", 404, nil, "NotFound"},
	}
	for _, backend := range backends {
		e := newEnv(t, backend)
		for _, tt := range tests {
			t.Run(backend+"/"+tt.method+tt.path, func(t *testing.T) {
				resp := e.do(t, tt.method, tt.path, map[string]string{"Accept": acceptChrome}, nil)
				if resp.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json (even for a browser)", ct)
				}
				got := resp.JSON(t)
				want := tt.body
				if want == nil {
					want = map[string]any{"error": tt.code, "message": got["message"]}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// localTask is the JSON of GET /local/tasks?token=.
type localTask struct {
	Token      string          `json:"token"`
	Name       string          `json:"name"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output"`
	Error      string          `json:"error"`
	Cause      string          `json:"cause"`
	Heartbeats int             `json:"heartbeats"`
	Created    time.Time       `json:"created"`
	Closed     time.Time       `json:"closed"`
}

// TestLocalTasks drives the /local/ endpoints of the local store.
func TestLocalTasks(t *testing.T) {
	e := newEnv(t, backendLocal)
	newLocalTask := func(t *testing.T, contentType, body string) string {
		t.Helper()
		var header map[string]string
		if contentType != "" {
			header = map[string]string{"Content-Type": contentType}
		}
		resp := e.do(t, http.MethodPost, "/local/tasks", header, strings.NewReader(body))
		if resp.Status != http.StatusCreated {
			t.Fatalf("POST /local/tasks %q: %d %s", body, resp.Status, resp.Body)
		}
		m := resp.JSON(t)
		token, _ := m["token"].(string)
		if len(m) != 1 || len(token) < 100 {
			t.Fatalf("POST /local/tasks answered %s, want {\"token\": ...}", resp.Body)
		}
		return token
	}
	getTask := func(t *testing.T, token string) localTask {
		t.Helper()
		resp := e.do(t, http.MethodGet, "/local/tasks?token="+url.QueryEscape(token), nil, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("GET /local/tasks?token=: %d %s", resp.Status, resp.Body)
		}
		var task localTask
		if err := json.Unmarshal([]byte(resp.Body), &task); err != nil {
			t.Fatal(err)
		}
		if task.Created.IsZero() {
			t.Errorf("task without created: %s", resp.Body)
		}
		if task.Status == "open" != task.Closed.IsZero() {
			t.Errorf("status %s with closed %v", task.Status, task.Closed)
		}
		task.Created, task.Closed = time.Time{}, time.Time{}
		return task
	}

	unnamed := newLocalTask(t, "", "")
	named := newLocalTask(t, "application/json", `{"name":"x"}`)
	xss := newLocalTask(t, "application/json; charset=utf-8", `{"name":"<script>alert(1)</script>"}`)
	failed := newLocalTask(t, "application/json", `{"name":"to reject"}`)

	urls := e.createURLs(t, named, approveAction, pingAction)
	for _, u := range []string{urls["ping"], urls["approve"]} {
		if resp := e.do(t, http.MethodPost, u, nil, nil); resp.Status != 200 {
			t.Fatalf("callback: %d %s", resp.Status, resp.Body)
		}
	}
	if resp := e.do(t, http.MethodGet, e.createURLs(t, failed, rejectAction)["reject"], nil, nil); resp.Status != 200 {
		t.Fatalf("callback: %d %s", resp.Status, resp.Body)
	}

	tests := []struct {
		token string
		want  localTask
	}{
		{unnamed, localTask{Token: unnamed, Status: "open"}},
		{named, localTask{Token: named, Name: "x", Status: "succeeded", Output: json.RawMessage(`{"approved":true}`), Heartbeats: 1}},
		{xss, localTask{Token: xss, Name: "<script>alert(1)</script>", Status: "open"}},
		{failed, localTask{Token: failed, Name: "to reject", Status: "failed", Error: "Rejected", Cause: "Rejected by a test"}},
	}
	for _, tt := range tests {
		t.Run("get "+tt.want.Name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, getTask(t, tt.token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("list", func(t *testing.T) {
		resp := e.do(t, http.MethodGet, "/local/tasks", nil, nil)
		var list struct{ Tasks []localTask }
		if err := json.Unmarshal([]byte(resp.Body), &list); err != nil || resp.Status != 200 {
			t.Fatalf("GET /local/tasks: %d %s %v", resp.Status, resp.Body, err)
		}
		var got []string
		for _, task := range list.Tasks {
			got = append(got, task.Token)
		}
		if diff := cmp.Diff([]string{failed, xss, named, unnamed}, got); diff != "" {
			t.Errorf("listed tokens, newest first (-want +got):\n%s", diff)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		resp := e.do(t, http.MethodGet, "/local/", nil, nil)
		if resp.Status != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET /local/: %d %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		checkPageHeaders(t, resp.Header, true)
		if strings.Contains(resp.Body, "<script>") {
			t.Errorf("the dashboard has an unescaped <script>:\n%s", resp.Body)
		}
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "succeeded", "failed", "open", "to reject", `{&#34;approved&#34;:true}`} {
			if !strings.Contains(resp.Body, want) {
				t.Errorf("the dashboard lacks %q", want)
			}
		}
	})

	errorsTests := []struct {
		name, method, target, contentType, body string
		status                                  int
		code                                    string
	}{
		{"unknown token", "GET", "/local/tasks?token=nope", "", "", 404, "NotFound"},
		{"not JSON", "POST", "/local/tasks", "application/json", "name=x", 400, "InvalidJSON"},
		{"name not a string", "POST", "/local/tasks", "application/json", `{"name":1}`, 400, "InvalidJSON"},
		{"name too long", "POST", "/local/tasks", "application/json", `{"name":"` + strings.Repeat("n", 257) + `"}`, 400, "InvalidJSON"},
		{"body not JSON typed", "POST", "/local/tasks", "text/plain", `{"name":"x"}`, 415, "UnsupportedMediaType"},
		{"body too large", "POST", "/local/tasks", "application/json", `{"name":"` + strings.Repeat("n", 5000) + `"}`, 413, "RequestTooLarge"},
		{"PUT", "PUT", "/local/tasks", "", "", 405, "MethodNotAllowed"},
		{"POST dashboard", "POST", "/local/", "", "", 405, "MethodNotAllowed"},
		{"unknown page", "GET", "/local/x", "", "", 404, "NotFound"},
	}
	for _, tt := range errorsTests {
		t.Run(tt.name, func(t *testing.T) {
			var header map[string]string
			if tt.contentType != "" {
				header = map[string]string{"Content-Type": tt.contentType}
			}
			resp := e.do(t, tt.method, tt.target, header, strings.NewReader(tt.body))
			if resp.Status != tt.status || resp.JSON(t)["error"] != tt.code {
				t.Errorf("%d %s, want %d %s", resp.Status, resp.Body, tt.status, tt.code)
			}
		})
	}
}

// TestLocalDisabled checks that /local/ does not exist without a store.
func TestLocalDisabled(t *testing.T) {
	e := newEnv(t, backendSFN)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/local"},
		{"GET", "/local/"},
		{"GET", "/local/tasks"},
		{"GET", "/local/tasks?token=abc"},
		{"POST", "/local/tasks"},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp := e.do(t, tt.method, tt.path, nil, nil)
			if resp.Status != 404 || resp.JSON(t)["error"] != "NotFound" {
				t.Errorf("%d %s, want 404 NotFound", resp.Status, resp.Body)
			}
		})
	}
	if n := e.calls(); n != 0 {
		t.Errorf("%d Step Functions calls", n)
	}
}
