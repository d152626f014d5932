// Package localweb serves the local task store over HTTP, for a person
// trying the service on a laptop: POST /local/tasks makes a task (a stand-in
// for a Step Functions task waiting on .waitForTaskToken), GET /local/tasks
// lists them or shows one, and /local/ is a dashboard.
//
// Every task token is readable here, so the endpoints answer only to
// loopback host names and the server's own base URL host: a web page that
// rebinds its DNS name to 127.0.0.1 (DNS rebinding) must not read them.
// The guard is part of the handler, so no wiring can serve the endpoints
// without it.
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

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// Tasks is the local task store as the endpoints use it.
type Tasks interface {
	CreateTask(ctx context.Context, name string) (localstore.Task, error)
	Get(ctx context.Context, token string) (localstore.Task, error)
	List(ctx context.Context) ([]localstore.Task, error)
}

var _ Tasks = (*localstore.Store)(nil)

// Prefix is the path the handler serves under; mount it there.
const Prefix = "/local/"

const maxBody = 4096

type handler struct {
	tasks   Tasks
	allowed map[string]bool
}

// New returns the handler for Prefix. baseURL is the server's base URL:
// besides loopback names, its host is the only Host the endpoints answer.
func New(tasks Tasks, baseURL string) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		allowed[strings.ToLower(u.Hostname())] = true
	}
	return &handler{tasks: tasks, allowed: allowed}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.hostAllowed(r.Host) {
		http.Error(w, "the /local/ endpoints answer only to localhost", http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case Prefix + "tasks":
		h.serveTasks(w, r)
	case Prefix:
		h.serveDashboard(w, r)
	default:
		httpapi.Fail(w, r, callbackurls.NewError(callbackurls.NotFound, callbackurls.CodeNotFound, "no such page"), "")
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
		if token := r.URL.Query().Get("token"); token != "" {
			task, err := h.tasks.Get(r.Context(), token)
			if errors.Is(err, localstore.ErrNotFound) {
				httpapi.Fail(w, r, callbackurls.NewError(callbackurls.NotFound, callbackurls.CodeNotFound,
					"no local task has this token"), "")
				return
			}
			if err != nil {
				httpapi.Fail(w, r, err, "")
				return
			}
			httpapi.WriteJSON(w, http.StatusOK, task)
			return
		}
		tasks, err := h.tasks.List(r.Context())
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
			httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, `the body must be {"name": "..."} or empty`), "")
			return
		}
	}
	task, err := h.tasks.CreateTask(r.Context(), req.Name)
	if errors.Is(err, localstore.ErrNameTooLong) {
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "name is too long"), "")
		return
	}
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"token": task.Token})
}

func (h *handler) serveDashboard(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpapi.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	tasks, err := h.tasks.List(r.Context())
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	pages.Render(w, r, http.StatusOK, pages.Page{Template: "dashboard", Kind: "dashboard", DocTitle: "Local tasks",
		Heading: "Local tasks", Tone: "plain", Wide: true, Tasks: tasks})
}
