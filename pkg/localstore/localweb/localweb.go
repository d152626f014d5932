package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// LocalTasks is the local task store as the /local/ endpoints use it.
type LocalTasks interface {
	CreateTask(ctx context.Context, name string) (localstore.Task, error)
	Get(ctx context.Context, token string) (localstore.Task, error)
	List(ctx context.Context) ([]localstore.Task, error)
}

const maxLocalBody = 4096

func (h *Handler) localTasks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.createLocalTask(w, r)
	case http.MethodGet, http.MethodHead:
		if token := r.URL.Query().Get("token"); token != "" {
			task, err := h.opts.Local.Get(r.Context(), token)
			if errors.Is(err, localstore.ErrNotFound) {
				fail(w, r, &callbackurls.Error{Code: callbackurls.CodeNotFound, Status: http.StatusNotFound,
					Message: "no local task has this token"}, "")
				return
			}
			if err != nil {
				fail(w, r, err, "")
				return
			}
			writeJSON(w, http.StatusOK, task)
			return
		}
		tasks, err := h.opts.Local.List(r.Context())
		if err != nil {
			fail(w, r, err, "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
	default:
		methodNotAllowed(w, r, "GET, HEAD, POST")
	}
}

func (h *Handler) createLocalTask(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	body, err := readBody(w, r, maxLocalBody)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if !isJSON(r.Header.Get("Content-Type")) {
			fail(w, r, &callbackurls.Error{Code: callbackurls.CodeUnsupportedMedia, Status: http.StatusUnsupportedMediaType,
				Message: "send the request as Content-Type: application/json"}, "")
			return
		}
		if err := json.Unmarshal(body, &req); err != nil {
			fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, `the body must be {"name": "..."} or empty`), "")
			return
		}
	}
	task, err := h.opts.Local.CreateTask(r.Context(), req.Name)
	if errors.Is(err, localstore.ErrNameTooLong) {
		fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "name is too long"), "")
		return
	}
	if err != nil {
		fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": task.Token})
}

func (h *Handler) localDashboard(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/local/" {
		fail(w, r, &callbackurls.Error{Code: callbackurls.CodeNotFound, Status: http.StatusNotFound, Message: "no such page"}, "")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	tasks, err := h.opts.Local.List(r.Context())
	if err != nil {
		fail(w, r, err, "")
		return
	}
	writePage(w, r, http.StatusOK, page{template: "dashboard", Kind: "dashboard", DocTitle: "Local tasks", Heading: "Local tasks",
		Tone: "plain", Wide: true, Tasks: tasks})
}
