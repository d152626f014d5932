package localweb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
)

// sameOrigin is a browser's form POST from the dashboard itself.
func sameOrigin(s *servicetest.Service) map[string]string {
	return map[string]string{"Origin": s.URL, "Sec-Fetch-Site": "same-origin",
		"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
}

// TestHostGuard: every endpoint answers only to loopback names and the
// base URL's host (DNS rebinding), whatever mounts it.
func TestHostGuard(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{Settings: config.Config{BaseURL: "http://devbox.example:8080"}})
	s.NewTask(t)
	tests := []struct {
		host, method, path string
		want               int
	}{
		{"127.0.0.1:8080", "GET", "/local/tasks", http.StatusOK},
		{"localhost:8080", "GET", "/local/", http.StatusOK},
		{"LOCALHOST", "GET", "/local/", http.StatusOK},
		{"[::1]:8080", "GET", "/local/tasks", http.StatusOK},
		{"127.0.0.2", "GET", "/local/tasks", http.StatusOK},
		{"devbox.example:8080", "GET", "/local/tasks", http.StatusOK},
		{"localhost:8080", "POST", "/local/demo", http.StatusSeeOther},
		{"attacker.example:8080", "GET", "/local/tasks", http.StatusForbidden},
		{"attacker.example", "GET", "/local/", http.StatusForbidden},
		{"attacker.example", "GET", "/local/nothing", http.StatusForbidden},
		{"attacker.example", "POST", "/local/demo", http.StatusForbidden},
		{"attacker.example", "POST", "/local/tasks", http.StatusForbidden},
		{"localhost.attacker.example", "GET", "/local/tasks", http.StatusForbidden},
		{"127.0.0.1.nip.io", "GET", "/local/tasks", http.StatusForbidden},
		{"", "GET", "/local/tasks", http.StatusForbidden},
		{"127.0.0.1:8080", "GET", "/local/nothing", http.StatusNotFound},
	}
	for _, tt := range tests {
		r := s.NewRequest(tt.method, tt.path, nil, "")
		r.Host = tt.host
		if resp := s.Record(r); resp.Status != tt.want {
			t.Errorf("Host %q %s %s: %d, want %d: %s", tt.host, tt.method, tt.path, resp.Status, tt.want, resp.Body)
		}
	}
}

// TestCrossSiteRequests: any web page can make a browser POST to
// localhost; such requests change nothing. Programs (no Origin, no
// Sec-Fetch-Site) and the dashboard's own form are served.
func TestCrossSiteRequests(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	sameOrigin := sameOrigin(s)
	tests := []struct {
		name, path string
		header     map[string]string
		want       int
	}{
		{"dashboard form", "/local/demo", sameOrigin, http.StatusSeeOther},
		{"program", "/local/demo", nil, http.StatusSeeOther},
		{"program, JSON task", "/local/tasks", map[string]string{"Content-Type": "application/json"}, http.StatusCreated},
		{"browser without Sec-Fetch-Site, same origin", "/local/demo", map[string]string{"Origin": s.URL}, http.StatusSeeOther},
		{"cross-site form", "/local/demo", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site, Origin only", "/local/demo", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same site, another port", "/local/demo", map[string]string{"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"opaque origin", "/local/demo", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site task", "/local/tasks", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	want := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.Do(t, http.MethodPost, tt.path, tt.header, "")
			if resp.Status != tt.want {
				t.Fatalf("%d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			if tt.want != http.StatusForbidden {
				want++
			}
			list, err := s.Store.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != want {
				t.Errorf("%d tasks, want %d", len(list), want)
			}
		})
	}
	// Reading is not a cross-site risk the browser allows (no CORS), and
	// a link from elsewhere to the dashboard must work.
	if resp := s.Do(t, http.MethodGet, "/local/", map[string]string{"Sec-Fetch-Site": "cross-site"}, ""); resp.Status != http.StatusOK {
		t.Errorf("a link to the dashboard from another site: %d", resp.Status)
	}
}

// TestDemo: the button makes a demo task and sends the browser to the
// dashboard, which shows the task and its three links; the links act on
// the task.
func TestDemo(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	ctx := context.Background()

	resp := s.Do(t, http.MethodPost, "/local/demo", sameOrigin(s), "")
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("POST /local/demo: %d %s", resp.Status, resp.Body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Path != "/local/" || loc.Fragment != "demo" {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	token := loc.Query().Get("demo")
	task, err := s.Store.Get(ctx, token)
	if err != nil || task.Name != "demo" || task.Status != localstore.StatusOpen {
		t.Fatalf("demo task %+v, %v", task, err)
	}

	page := s.Do(t, http.MethodGet, loc.RequestURI(), nil, "")
	if page.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", page.Status)
	}
	body := page.Body
	links := map[string]string{}
	for _, m := range regexp.MustCompile(`<a class="button (\w+)" href="([^"]+)">(\w+)</a>`).FindAllStringSubmatch(body, -1) {
		links[m[3]] = html.UnescapeString(m[2])
	}
	if len(links) != 3 {
		t.Fatalf("links %v, want Approve, Reject and Heartbeat:\n%s", links, body)
	}
	for label, action := range map[string]string{"Approve": "approve", "Reject": "reject", "Heartbeat": "heartbeat"} {
		u, err := url.Parse(links[label])
		if err != nil || !strings.HasPrefix(links[label], s.URL+"/respond?") || u.Query().Get("action") != action {
			t.Errorf("%s link %q", label, links[label])
		}
		if !strings.Contains(body, "<dd><code class=\"copy\">"+html.EscapeString(links[label])+"</code></dd>") {
			t.Errorf("the %s URL is not shown to copy", label)
		}
	}
	if !strings.Contains(body, `<section class="demo" id="demo"`) || !strings.Contains(body, `<h3 class="task-name">demo</h3>`) {
		t.Errorf("no demo section with its task:\n%s", body)
	}

	// The links are the service's: acting on them reaches the store.
	for _, label := range []string{"Heartbeat", "Approve"} {
		if resp := s.Click(t, links[label], nil); resp.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", label, resp.Status, resp.Body)
		}
	}
	task, _ = s.Store.Get(ctx, token)
	if diff := cmp.Diff(`{"approved":true}`, string(task.Output)); diff != "" || task.Status != localstore.StatusSucceeded || task.Heartbeats != 1 {
		t.Errorf("after the links: %+v", task)
	}
	page = s.Do(t, http.MethodGet, loc.RequestURI(), nil, "")
	if !strings.Contains(page.Body, `<span class="badge status-succeeded">`) {
		t.Errorf("the dashboard does not show the demo task succeeded")
	}

	gone := s.Do(t, http.MethodGet, "/local/?demo=no-such-task", nil, "")
	if gone.Status != http.StatusOK || !strings.Contains(gone.Body, "That demo task is not in the local store any more.") {
		t.Errorf("unknown demo task: %d %s", gone.Status, gone.Body)
	}
	if resp := s.Do(t, http.MethodGet, "/local/demo", nil, ""); resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /local/demo: %d, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
}

// TestNoDemoWithoutService: without the core there is no button and no
// demo endpoint.
func TestNoDemoWithoutService(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	h := localweb.New(localweb.Options{Store: s.Store, BaseURL: s.URL})
	dashboard, demo := httptest.NewRecorder(), httptest.NewRecorder()
	h.ServeHTTP(dashboard, s.NewRequest(http.MethodGet, "/local/", nil, ""))
	h.ServeHTTP(demo, s.NewRequest(http.MethodPost, "/local/demo", nil, ""))
	if strings.Contains(dashboard.Body.String(), "New demo task") {
		t.Error("the dashboard has a demo button")
	}
	if demo.Code != http.StatusNotFound {
		t.Errorf("POST /local/demo: %d", demo.Code)
	}
}

// TestDashboard checks what the dashboard shows of each kind of task.
func TestDashboard(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	store, ctx := s.Store, context.Background()
	mk := func(name string) localstore.Task {
		task, err := store.CreateTask(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	open, done, failed, unnamed := mk("<script>alert(1)</script>"), mk("deploy"), mk("review"), mk("")
	if err := store.SendTaskHeartbeat(ctx, open.Token); err != nil {
		t.Fatal(err)
	}
	bigOutput, _ := json.Marshal(map[string]string{"report": strings.Repeat("x", 5000)})
	if err := store.SendTaskSuccess(ctx, done.Token, string(bigOutput)); err != nil {
		t.Fatal(err)
	}
	if err := store.SendTaskFailure(ctx, failed.Token, "Rejected", "Too expensive\nfor Q3"); err != nil {
		t.Fatal(err)
	}
	resp := s.Do(t, http.MethodGet, "/local/", nil, "")
	body := resp.Body
	if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(body, `<body class="page-dashboard">`) {
		t.Fatalf("%d %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	servicetest.CheckPageHeaders(t, resp.Header, true)
	if strings.Contains(body, "<script>") {
		t.Errorf("the dashboard has an unescaped <script>:\n%s", body)
	}
	cards := regexp.MustCompile(`(?s)<article class="task status-(\w+)">.*?</article>`).FindAllStringSubmatch(body, -1)
	var statuses []string
	for _, c := range cards {
		statuses = append(statuses, c[1])
	}
	if diff := cmp.Diff([]string{"open", "failed", "succeeded", "open"}, statuses); diff != "" {
		t.Fatalf("cards, newest first (-want +got):\n%s", diff)
	}
	card := func(i int) string { return cards[i][0] }
	short := func(token string) string { return token[:12] + "…" + token[len(token)-8:] }

	tokenRE := regexp.MustCompile(`<dt>Token</dt><dd><code class="token" title="([^"]+)">([^<]+)</code><details class="full-token"><summary>Full token</summary><code class="copy">([^<]+)</code></details></dd>`)
	for i, task := range []localstore.Task{unnamed, failed, done, open} {
		c := card(i)
		m := tokenRE.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("card %d has no token:\n%s", i, c)
		}
		if diff := cmp.Diff([]string{task.Token, short(task.Token), task.Token},
			[]string{html.UnescapeString(m[1]), html.UnescapeString(m[2]), html.UnescapeString(m[3])}); diff != "" {
			t.Errorf("card %d: token as title, short and full (-want +got):\n%s", i, diff)
		}
		if !strings.Contains(c, `<dt>Created</dt><dd><time datetime="`) {
			t.Errorf("card %d has no Created time", i)
		}
		if closed := strings.Contains(c, "<dt>Closed</dt>"); closed != (task.Token != open.Token && task.Token != unnamed.Token) {
			t.Errorf("card %d: Closed shown %t", i, closed)
		}
	}
	for i, want := range []string{
		`<h3 class="task-name"><span class="muted">(no name)</span></h3>`,
		`<span class="badge status-failed"><span aria-hidden="true">✕ </span>Failed</span>`,
		`<span class="badge status-succeeded"><span aria-hidden="true">✓ </span>Succeeded</span>`,
		`<span class="badge status-open"><span aria-hidden="true">● </span>Open</span>`,
	} {
		if !strings.Contains(card(i), want) {
			t.Errorf("card %d lacks %s", i, want)
		}
	}
	if c := card(1); !strings.Contains(c, "<dt>Error</dt><dd><code>Rejected</code></dd>") || !strings.Contains(c, "<dd class=\"cause\">Too expensive\nfor Q3</dd>") {
		t.Errorf("failed card:\n%s", c)
	}
	if c := card(3); !strings.Contains(c, "<h3 class=\"task-name\">&lt;script&gt;alert(1)&lt;/script&gt;</h3>") || !strings.Contains(c, "<dt>Heartbeats</dt><dd>1</dd>") {
		t.Errorf("open card:\n%s", c)
	}
	// A 5 KB output is cut on the dashboard (the whole is in the JSON).
	out := regexp.MustCompile(`<dt>Output</dt><dd><code>([^<]*)</code></dd>`).FindStringSubmatch(card(2))
	if out == nil || len(html.UnescapeString(out[1])) > 410 || !strings.HasSuffix(out[1], "...") || !strings.HasPrefix(out[1], "{&#34;report&#34;:") {
		t.Errorf("output shown as %q", out)
	}
	if !strings.Contains(body, `<form method="post" action="/local/demo" class="dash-new"><button type="submit" class="button neutral">New demo task</button></form>`) {
		t.Error("no New demo task button")
	}
}

// BenchmarkDashboard renders the dashboard of a full store (the 1,000
// tasks it lists), and reports the page's size.
func BenchmarkDashboard(b *testing.B) {
	s := servicetest.Start(b, servicetest.Options{NoLogs: true})
	store, ctx := s.Store, context.Background()
	var wg sync.WaitGroup
	for i := range localstore.MaxListedTasks {
		wg.Go(func() {
			task, err := store.CreateTask(ctx, fmt.Sprint("task-", i))
			if err == nil && i%2 == 0 {
				err = store.SendTaskSuccess(ctx, task.Token, `{"approved":true,"input":{"comment":"Looks good"}}`)
			}
			if err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	h := localweb.New(localweb.Options{Store: store, BaseURL: s.URL})
	var size int
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, s.URL+"/local/", nil))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

// TestDashboardShowsTheNewest: a full store shows its 200 newest tasks
// and says that there are more.
func TestDashboardShowsTheNewest(t *testing.T) {
	s := servicetest.Start(t, servicetest.Options{})
	store, ctx := s.Store, context.Background()
	var wg sync.WaitGroup
	for i := range 201 {
		wg.Go(func() {
			if _, err := store.CreateTask(ctx, fmt.Sprint("t", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	body := s.Do(t, http.MethodGet, "/local/", nil, "").Body
	if n := strings.Count(body, `<article class="task`); n != 200 {
		t.Errorf("%d cards, want 200", n)
	}
	if !strings.Contains(body, "Older tasks are not shown here") {
		t.Error("the dashboard does not say that older tasks are not shown")
	}
	var list struct{ Tasks []localstore.Task }
	if err := json.Unmarshal([]byte(s.Do(t, http.MethodGet, "/local/tasks", nil, "").Body), &list); err != nil || len(list.Tasks) != 201 {
		t.Errorf("GET /local/tasks: %d tasks, %v", len(list.Tasks), err)
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
	e := servicetest.Start(t, servicetest.Options{})
	newLocalTask := func(t *testing.T, contentType, body string) string {
		t.Helper()
		var header map[string]string
		if contentType != "" {
			header = map[string]string{"Content-Type": contentType}
		}
		resp := e.Do(t, http.MethodPost, "/local/tasks", header, body)
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
		resp := e.Do(t, http.MethodGet, "/local/tasks?token="+url.QueryEscape(token), nil, "")
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

	urls := e.CreateURLs(t, named, servicetest.Approve, servicetest.Ping)
	for _, u := range []string{urls["ping"], urls["approve"]} {
		if resp := e.Click(t, u, nil); resp.Status != 200 {
			t.Fatalf("callback: %d %s", resp.Status, resp.Body)
		}
	}
	if resp := e.Do(t, http.MethodGet, e.CreateURLs(t, failed, servicetest.Reject)["reject"], nil, ""); resp.Status != 200 {
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
		resp := e.Do(t, http.MethodGet, "/local/tasks", nil, "")
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
			resp := e.Do(t, tt.method, tt.target, header, tt.body)
			if resp.Status != tt.status || resp.JSON(t)["error"] != tt.code {
				t.Errorf("%d %s, want %d %s", resp.Status, resp.Body, tt.status, tt.code)
			}
		})
	}
}

// TestLocalDisabled checks that /local/ does not exist without a store.
func TestLocalDisabled(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{Backend: servicetest.SFN})
	for _, tt := range []struct{ method, path string }{
		{"GET", "/local"},
		{"GET", "/local/"},
		{"GET", "/local/tasks"},
		{"GET", "/local/tasks?token=abc"},
		{"POST", "/local/tasks"},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp := e.Do(t, tt.method, tt.path, nil, "")
			if resp.Status != 404 || resp.JSON(t)["error"] != "NotFound" {
				t.Errorf("%d %s, want 404 NotFound", resp.Status, resp.Body)
			}
		})
	}
	if n := e.Calls(); n != 0 {
		t.Errorf("%d Step Functions calls", n)
	}
}
