package localweb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

const base = "http://127.0.0.1:8080"

func openStore(t *testing.T) *localstore.Store {
	t.Helper()
	store, err := localstore.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// newService is the core as the local server builds it, on store.
func newService(t *testing.T, store *localstore.Store) *callbackurls.Service {
	t.Helper()
	keys, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{7}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return callbackurls.New(callbackurls.Config{BaseURL: base}, &payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: store})
}

// request runs one request on h with the Host of base and the headers
// given.
func request(h http.Handler, method, target string, header map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, base+target, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// A browser's form POST from the dashboard itself.
var sameOrigin = map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin",
	"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}

// TestHostGuard: every endpoint answers only to loopback names and the
// base URL's host (DNS rebinding), whatever mounts it.
func TestHostGuard(t *testing.T) {
	store := openStore(t)
	if _, err := store.CreateTask(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	h := localweb.New(localweb.Options{Store: store, Service: newService(t, store), BaseURL: "http://devbox.example:8080"})
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
		r := httptest.NewRequest(tt.method, "http://x"+tt.path, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Host %q %s %s: %d, want %d: %s", tt.host, tt.method, tt.path, w.Code, tt.want, w.Body)
		}
	}
}

// TestCrossSiteRequests: any web page can make a browser POST to
// localhost; such requests change nothing. Programs (no Origin, no
// Sec-Fetch-Site) and the dashboard's own form are served.
func TestCrossSiteRequests(t *testing.T) {
	store := openStore(t)
	h := localweb.New(localweb.Options{Store: store, Service: newService(t, store), BaseURL: base})
	tests := []struct {
		name, path string
		header     map[string]string
		want       int
	}{
		{"dashboard form", "/local/demo", sameOrigin, http.StatusSeeOther},
		{"program", "/local/demo", nil, http.StatusSeeOther},
		{"program, JSON task", "/local/tasks", map[string]string{"Content-Type": "application/json"}, http.StatusCreated},
		{"browser without Sec-Fetch-Site, same origin", "/local/demo", map[string]string{"Origin": base}, http.StatusSeeOther},
		{"cross-site form", "/local/demo", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site, Origin only", "/local/demo", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same site, another port", "/local/demo", map[string]string{"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"opaque origin", "/local/demo", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site task", "/local/tasks", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	want := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := request(h, http.MethodPost, tt.path, tt.header, "")
			if resp.Code != tt.want {
				t.Fatalf("%d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if tt.want != http.StatusForbidden {
				want++
			}
			list, err := store.List(context.Background())
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
	if resp := request(h, http.MethodGet, "/local/", map[string]string{"Sec-Fetch-Site": "cross-site"}, ""); resp.Code != http.StatusOK {
		t.Errorf("a link to the dashboard from another site: %d", resp.Code)
	}
}

// TestDemo: the button makes a demo task and sends the browser to the
// dashboard, which shows the task and its three links; the links act on
// the task.
func TestDemo(t *testing.T) {
	store := openStore(t)
	svc := newService(t, store)
	h := localweb.New(localweb.Options{Store: store, Service: svc, BaseURL: base})
	ctx := context.Background()

	resp := request(h, http.MethodPost, "/local/demo", sameOrigin, "")
	if resp.Code != http.StatusSeeOther {
		t.Fatalf("POST /local/demo: %d %s", resp.Code, resp.Body)
	}
	loc, err := url.Parse(resp.Header().Get("Location"))
	if err != nil || loc.Path != "/local/" || loc.Fragment != "demo" {
		t.Fatalf("Location %q", resp.Header().Get("Location"))
	}
	token := loc.Query().Get("demo")
	task, err := store.Get(ctx, token)
	if err != nil || task.Name != "demo" || task.Status != localstore.StatusOpen {
		t.Fatalf("demo task %+v, %v", task, err)
	}

	page := request(h, http.MethodGet, loc.RequestURI(), nil, "")
	if page.Code != http.StatusOK {
		t.Fatalf("dashboard: %d", page.Code)
	}
	body := page.Body.String()
	links := map[string]string{}
	for _, m := range regexp.MustCompile(`<a class="button (\w+)" href="([^"]+)">(\w+)</a>`).FindAllStringSubmatch(body, -1) {
		links[m[3]] = html.UnescapeString(m[2])
	}
	if len(links) != 3 {
		t.Fatalf("links %v, want Approve, Reject and Heartbeat:\n%s", links, body)
	}
	for label, action := range map[string]string{"Approve": "approve", "Reject": "reject", "Heartbeat": "heartbeat"} {
		u, err := url.Parse(links[label])
		if err != nil || !strings.HasPrefix(links[label], base+"/respond?") || u.Query().Get("action") != action {
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
	open := func(link string) error {
		u, _ := url.Parse(link)
		cb, err := svc.Open(ctx, u.Query())
		if err != nil {
			return err
		}
		_, err = svc.Act(ctx, cb, callbackurls.Submission{Intent: callbackurls.Act})
		return err
	}
	if err := open(links["Heartbeat"]); err != nil {
		t.Fatal(err)
	}
	if err := open(links["Approve"]); err != nil {
		t.Fatal(err)
	}
	task, _ = store.Get(ctx, token)
	if diff := cmp.Diff(`{"approved":true}`, string(task.Output)); diff != "" || task.Status != localstore.StatusSucceeded || task.Heartbeats != 1 {
		t.Errorf("after the links: %+v", task)
	}
	page = request(h, http.MethodGet, loc.RequestURI(), nil, "")
	if !strings.Contains(page.Body.String(), `<span class="badge status-succeeded">`) {
		t.Errorf("the dashboard does not show the demo task succeeded")
	}

	gone := request(h, http.MethodGet, "/local/?demo=no-such-task", nil, "")
	if gone.Code != http.StatusOK || !strings.Contains(gone.Body.String(), "That demo task is not in the local store any more.") {
		t.Errorf("unknown demo task: %d %s", gone.Code, gone.Body)
	}
	if resp := request(h, http.MethodGet, "/local/demo", nil, ""); resp.Code != http.StatusMethodNotAllowed || resp.Header().Get("Allow") != "POST" {
		t.Errorf("GET /local/demo: %d, Allow %q", resp.Code, resp.Header().Get("Allow"))
	}
}

// TestNoDemoWithoutService: without the core there is no button and no
// demo endpoint.
func TestNoDemoWithoutService(t *testing.T) {
	h := localweb.New(localweb.Options{Store: openStore(t), BaseURL: base})
	if body := request(h, http.MethodGet, "/local/", nil, "").Body.String(); strings.Contains(body, "New demo task") {
		t.Error("the dashboard has a demo button")
	}
	if resp := request(h, http.MethodPost, "/local/demo", nil, ""); resp.Code != http.StatusNotFound {
		t.Errorf("POST /local/demo: %d", resp.Code)
	}
}

// TestDashboard checks what the dashboard shows of each kind of task.
func TestDashboard(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	mk := func(name string) localstore.Task {
		task, err := store.CreateTask(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	open, done, failed, unnamed := mk("expense <42>"), mk("deploy"), mk("review"), mk("")
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
	h := localweb.New(localweb.Options{Store: store, Service: newService(t, store), BaseURL: base})
	resp := request(h, http.MethodGet, "/local/", nil, "")
	body := resp.Body.String()
	if resp.Code != http.StatusOK || !strings.Contains(body, `<body class="page-dashboard">`) {
		t.Fatalf("%d %s", resp.Code, body)
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
	if c := card(3); !strings.Contains(c, "<h3 class=\"task-name\">expense &lt;42&gt;</h3>") || !strings.Contains(c, "<dt>Heartbeats</dt><dd>1</dd>") {
		t.Errorf("open card:\n%s", c)
	}
	// A 5 KB output is cut on the dashboard (the whole is in the JSON).
	out := regexp.MustCompile(`<dt>Output</dt><dd><code>([^<]*)</code></dd>`).FindStringSubmatch(card(2))
	if out == nil || len(html.UnescapeString(out[1])) > 410 || !strings.HasSuffix(out[1], "...") {
		t.Errorf("output shown as %q", out)
	}
	if !strings.Contains(body, `<form method="post" action="/local/demo" class="dash-new"><button type="submit" class="button neutral">New demo task</button></form>`) {
		t.Error("no New demo task button")
	}
}

// BenchmarkDashboard renders the dashboard of a full store (the 1,000
// tasks it lists), and reports the page's size.
func BenchmarkDashboard(b *testing.B) {
	store, err := localstore.Open(filepath.Join(b.TempDir(), "tasks.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
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
	h := localweb.New(localweb.Options{Store: store, BaseURL: base})
	var size int
	b.ReportAllocs()
	for b.Loop() {
		w := request(h, http.MethodGet, "/local/", nil, "")
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
	store := openStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 201 {
		wg.Go(func() {
			if _, err := store.CreateTask(ctx, fmt.Sprint("t", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h := localweb.New(localweb.Options{Store: store, BaseURL: base})
	body := request(h, http.MethodGet, "/local/", nil, "").Body.String()
	if n := strings.Count(body, `<article class="task`); n != 200 {
		t.Errorf("%d cards, want 200", n)
	}
	if !strings.Contains(body, "Older tasks are not shown here") {
		t.Error("the dashboard does not say that older tasks are not shown")
	}
	var list struct{ Tasks []localstore.Task }
	if err := json.Unmarshal(request(h, http.MethodGet, "/local/tasks", nil, "").Body.Bytes(), &list); err != nil || len(list.Tasks) != 201 {
		t.Errorf("GET /local/tasks: %d tasks, %v", len(list.Tasks), err)
	}
}
