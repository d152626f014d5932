// Package localweb serves the local task store over HTTP, for a person
// trying the service on a laptop: POST /local/tasks makes a task (a stand-in
// for a Step Functions task waiting on .waitForTaskToken, or with
// {"kind": "durable_callback"} for a Lambda durable function waiting on a
// callback), GET /local/tasks lists them or shows one, /local/ is a dashboard, and POST /local/demo
// (the dashboard's "New demo task" button) makes a task with approve,
// reject and heartbeat URLs and shows them on the dashboard.
//
// Every task token is readable here, so the endpoints answer only to
// loopback host names and the server's own base URL host: a web page that
// rebinds its DNS name to 127.0.0.1 (DNS rebinding) must not read them.
// And since any web page can make a browser POST to localhost, requests
// that change something are refused when the browser says they come from
// another site (net/http's CrossOriginProtection: Sec-Fetch-Site, else
// Origin against Host). Both guards are part of the handler, so no wiring
// can serve the endpoints without them.
package localweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// Tasks is the local task store as the endpoints use it.
type Tasks interface {
	CreateTask(ctx context.Context, name string) (localstore.Task, error)
	// CreateCallback makes a durable function's callback.
	CreateCallback(ctx context.Context, name string) (localstore.Task, error)
	// Get finds a task by its token or callback id.
	Get(ctx context.Context, ref string) (localstore.Task, error)
	// Newest is the n most recent tasks (at most
	// localstore.MaxListedTasks), newest first.
	Newest(ctx context.Context, n int) ([]localstore.Task, error)
}

var _ Tasks = (*localstore.Store)(nil)

// Outbox is the local store's outbox as the endpoints read it: what the
// local server would have sent.
type Outbox interface {
	Outbox(ctx context.Context, n int) ([]localstore.Letter, error)
	Letter(ctx context.Context, id string) (localstore.Letter, error)
}

var _ Outbox = (*localstore.Store)(nil)

// Prefix is the path the handler serves under; mount it there.
const Prefix = "/local/"

// The handler's paths under Prefix.
const (
	tasksPath = Prefix + "tasks"
	demoPath  = Prefix + "demo"
	// outboxPath lists the outbox as JSON; outboxPath/<id> is a letter's
	// HTML as a mail client would show it.
	outboxPath = Prefix + "outbox"
	// demoParam names the demo task the dashboard shows the links of.
	demoParam = "demo"
)

const maxBody = 4096

// The dashboard shows the newest maxShownTasks tasks (a page of 1,000
// cards is 2 MB, takes 100 ms to make and nobody reads it), and at most
// this many bytes of an output or a cause; the whole is at GET
// /local/tasks.
const (
	maxShownTasks  = 200
	maxShownOutput = 400
	maxShownCause  = 400
)

// Options are what the handler serves.
type Options struct {
	// Store is the task store (required).
	Store Tasks
	// Service makes the demo task's URLs, the same way POST /urls does;
	// nil: no demo button.
	Service *callbackurls.Service
	// BaseURL is the server's base URL: besides loopback names, its host
	// is the only Host the endpoints answer.
	BaseURL string
	// DemoApprovers makes the demo's approve and reject name approvers,
	// to try the development sign-in (serve --dev-signin).
	DemoApprovers bool
	// Outbox, if set, is shown on the dashboard and at /local/outbox.
	Outbox Outbox
}

type handler struct {
	tasks       Tasks
	outbox      Outbox
	svc         *callbackurls.Service
	approvers   bool
	allowed     map[string]bool
	crossOrigin *http.CrossOriginProtection
	zone        *time.Location // of the dashboard's times
}

// New returns the handler for Prefix.
func New(o Options) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if u, err := url.Parse(o.BaseURL); err == nil && u.Hostname() != "" {
		allowed[strings.ToLower(u.Hostname())] = true
	}
	return &handler{tasks: o.Store, outbox: o.Outbox, svc: o.Service, approvers: o.DemoApprovers, allowed: allowed, crossOrigin: http.NewCrossOriginProtection(),
		zone: time.Local}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.hostAllowed(r.Host) {
		http.Error(w, "the /local/ endpoints answer only to localhost", http.StatusForbidden)
		return
	}
	if err := h.crossOrigin.Check(r); err != nil {
		http.Error(w, "the /local/ endpoints refuse requests from other sites", http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case tasksPath:
		h.serveTasks(w, r)
	case demoPath:
		h.serveDemo(w, r)
	case Prefix:
		h.serveDashboard(w, r)
	default:
		if h.outbox != nil && (r.URL.Path == outboxPath || strings.HasPrefix(r.URL.Path, outboxPath+"/")) {
			h.serveOutbox(w, r)
			return
		}
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound, "no such page"), "")
	}
}

// hostAllowed reports whether a Host header names this machine: a
// loopback address or name, or the base URL's host.
func (h *handler) hostAllowed(host string) bool {
	if name, _, err := net.SplitHostPort(host); err == nil {
		host = name
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if h.allowed[host] {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (h *handler) serveTasks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.createTask(w, r)
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		if token, id := q.Get("token"), q.Get("callback_id"); token != "" || id != "" {
			ref, what := token, "token"
			if token == "" {
				ref, what = id, "callback id"
			}
			task, err := h.tasks.Get(r.Context(), ref)
			if errors.Is(err, localstore.ErrNotFound) || (err == nil && (task.Kind == localstore.KindDurableCallback) != (token == "")) {
				httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound,
					"no local task has this %s", what), "")
				return
			}
			if err != nil {
				httpapi.Fail(w, r, err, "")
				return
			}
			httpapi.WriteJSON(w, http.StatusOK, task)
			return
		}
		tasks, err := h.tasks.Newest(r.Context(), localstore.MaxListedTasks)
		if err != nil {
			httpapi.Fail(w, r, err, "")
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
	default:
		httpapi.MethodNotAllowed(w, r, "GET, HEAD, POST")
	}
}

func (h *handler) createTask(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		// Kind is "task" (the default) or "durable_callback".
		Kind string `json:"kind"`
	}
	body, err := httpapi.ReadBody(w, r, maxBody)
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if !httpapi.IsJSON(r.Header.Get("Content-Type")) {
			httpapi.Fail(w, r, httpapi.ErrNotJSON("send the request as Content-Type: application/json"), "")
			return
		}
		if err := json.Unmarshal(body, &req); err != nil {
			httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, `the body must be {"name": "...", "kind": "task" or "durable_callback"} or empty`), "")
			return
		}
	}
	create := h.tasks.CreateTask
	switch req.Kind {
	case "", "task":
	case string(localstore.KindDurableCallback):
		create = h.tasks.CreateCallback
	default:
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, `kind must be "task" or "durable_callback"`), "")
		return
	}
	task, err := create(r.Context(), req.Name)
	if errors.Is(err, localstore.ErrNameTooLong) {
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "name is too long"), "")
		return
	}
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	if task.Kind == localstore.KindDurableCallback {
		httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"callback_id": task.CallbackID})
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"token": task.Token})
}

// serveDemo is the "New demo task" button: it makes the task and sends
// the browser to the dashboard, which shows its links (a redirect, so
// that reloading the dashboard does not make another).
func (h *handler) serveDemo(w http.ResponseWriter, r *http.Request) {
	if h.svc == nil {
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound, "no such page"), "")
		return
	}
	if r.Method != http.MethodPost {
		httpapi.MethodNotAllowed(w, r, "POST")
		return
	}
	demo, err := NewDemo(r.Context(), h.tasks, h.svc, h.approvers)
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	httpapi.Entry(r).Outcome = "demo task created"
	http.Redirect(w, r, Prefix+"?"+demoParam+"="+url.QueryEscape(demo.Task.Token)+"#demo", http.StatusSeeOther)
}

func (h *handler) serveDashboard(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpapi.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	// One more than is shown, to know that there are more.
	tasks, err := h.tasks.Newest(r.Context(), maxShownTasks+1)
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	d := &pages.Dashboard{}
	if len(tasks) > maxShownTasks {
		d.More, tasks = true, tasks[:maxShownTasks]
	}
	d.Tasks = make([]pages.TaskView, len(tasks))
	for i := range tasks {
		d.Tasks[i] = taskView(&tasks[i], h.zone)
	}
	if h.svc != nil {
		d.DemoAction = demoPath
		if token := r.URL.Query().Get(demoParam); token != "" {
			if d.Demo, err = h.demoView(r.Context(), token); errors.Is(err, localstore.ErrNotFound) {
				d.Notice = "That demo task is not in the local store any more."
			} else if err != nil {
				httpapi.Fail(w, r, err, "")
				return
			}
		}
	}
	if h.outbox != nil {
		letters, err := h.outbox.Outbox(r.Context(), maxShownLetters)
		if err != nil {
			httpapi.Fail(w, r, err, "")
			return
		}
		d.Outbox = make([]pages.LetterView, len(letters))
		for i := range letters {
			d.Outbox[i] = letterView(&letters[i], h.zone)
		}
		d.HasOutbox = true
	}
	pages.Render(w, r, http.StatusOK, pages.Page{Template: pages.DashboardTemplate, Kind: "dashboard", DocTitle: "Local tasks",
		Heading: "Local tasks", Tone: "plain", Wide: true, Dashboard: d})
}

// demoView is a demo task with links made afresh: URLs are not stored,
// and any number of them work for the same task.
func (h *handler) demoView(ctx context.Context, token string) (*pages.Demo, error) {
	task, err := h.tasks.Get(ctx, token)
	if err != nil {
		return nil, err
	}
	urls, err := demoURLs(ctx, h.svc, token, h.approvers)
	if err != nil {
		return nil, err
	}
	return &pages.Demo{Task: taskView(&task, h.zone), Links: []pages.Link{
		{Label: "Approve", URL: urls["approve"], Tone: "approve", Note: "SendTaskSuccess with {\"approved\": true}"},
		{Label: "Reject", URL: urls["reject"], Tone: "reject", Note: "SendTaskFailure, with an optional comment"},
		{Label: "Heartbeat", URL: urls["heartbeat"], Tone: "neutral", Note: "SendTaskHeartbeat; the task stays open"},
	}}, nil
}

// Demo is a demo task of the local store and its callback URLs.
type Demo struct {
	Task localstore.Task
	// URLs are the approve, reject and heartbeat URLs, by action name.
	URLs map[string]string
}

// DemoTaskName is the name of the demo tasks.
const DemoTaskName = "demo"

// NewDemo makes a demo task in tasks and its URLs with svc, through the
// same CreateURLs path an API caller uses: approve (success), reject
// (failure, with an optional comment form) and heartbeat. With approvers,
// approve and reject are for anyone at example.com but its requester,
// requester@example.com (DemoApprovers).
func NewDemo(ctx context.Context, tasks Tasks, svc *callbackurls.Service, approvers bool) (Demo, error) {
	task, err := tasks.CreateTask(ctx, DemoTaskName)
	if err != nil {
		return Demo{}, err
	}
	urls, err := demoURLs(ctx, svc, task.Token, approvers)
	if err != nil {
		return Demo{}, err
	}
	return Demo{Task: task, URLs: urls}, nil
}

// The demo's approvers and requester, with the development sign-in.
const (
	DemoApprovers = "@example.com"
	DemoRequester = "requester@example.com"
)

func demoURLs(ctx context.Context, svc *callbackurls.Service, token string, approvers bool) (map[string]string, error) {
	req := map[string]any{
		"token": token,
		// Neutral: the same heading is above the Approve and the Reject
		// button.
		"title": "Demo deployment to the local environment",
		"description": "A task of the local task store, made to try the callback URLs. " +
			"Your answer is recorded there: the dashboard at /local/ shows it.",
		"actions": []map[string]any{
			{"name": "approve", "type": "success", "output": map[string]any{"approved": true}, "label": "Approve"},
			{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected from the demo link", "label": "Reject",
				"input": map[string]any{"type": "object", "properties": map[string]any{
					"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment", "maxLength": 1000}}}},
			{"name": "heartbeat", "type": "heartbeat"},
		},
	}
	if approvers {
		req["approvers"], req["requester"] = []string{DemoApprovers}, DemoRequester
		req["description"] = req["description"].(string) + "\n\nDevelopment sign-in: anyone at example.com may answer " +
			"(type any address there when asked), except " + DemoRequester + ", who asked for it."
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	parsed, err := callbackurls.ParseCreateRequest(body)
	if err != nil {
		return nil, err
	}
	resp, _, err := svc.CreateURLs(ctx, parsed, callbackurls.Gateway{})
	if err != nil {
		return nil, err
	}
	return resp.URLs, nil
}

var statusText = map[localstore.Status]string{
	localstore.StatusOpen:      "Open",
	localstore.StatusSucceeded: "Succeeded",
	localstore.StatusFailed:    "Failed",
}

func taskView(t *localstore.Task, zone *time.Location) pages.TaskView {
	v := pages.TaskView{Name: t.Name, Kind: "Step Functions task", Token: t.Ref(), ShortToken: shortToken(t.Ref()), Status: string(t.Status),
		StatusText: statusText[t.Status], Error: t.Error, Cause: text.Truncate(t.Cause, maxShownCause),
		Heartbeats: t.Heartbeats, Created: timeView(t.Created, zone), Closed: timeView(t.Closed, zone)}
	if t.Kind == localstore.KindDurableCallback {
		v.Kind, v.Durable = "Lambda durable callback", true
	}
	if v.StatusText == "" {
		v.StatusText = string(t.Status)
	}
	if len(t.Output) > 0 {
		v.Output = text.Truncate(string(t.Output), maxShownOutput)
	}
	return v
}

// shortToken is a token's start and end: enough to tell tasks apart.
func shortToken(token string) string {
	if len(token) > 24 {
		return token[:12] + "…" + token[len(token)-8:]
	}
	return token
}

// timeView is t in zone (the server's), which it names: "UTC", or the
// offset from UTC ("UTC+01:00").
func timeView(t time.Time, zone *time.Location) pages.Time {
	if t.IsZero() {
		return pages.Time{}
	}
	t = t.In(zone)
	name := "UTC"
	if _, offset := t.Zone(); offset != 0 {
		name = "UTC" + t.Format("-07:00")
	}
	return pages.Time{Text: t.Format("2006-01-02 15:04:05 ") + name, DateTime: t.Format(time.RFC3339)}
}
