package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// CreateOptions configure the CreateUrls endpoint.
type CreateOptions struct {
	// Logger receives the verbose lines (the request log line is the
	// Router's).
	Logger *slog.Logger
	// Verbose logs request bodies, which hold task tokens.
	Verbose bool
	// Via names the API Gateway stage a request came through (the Lambda
	// adapter knows it); nil for a server that is not behind API Gateway.
	Via func(*http.Request) callbackurls.Gateway
}

type createHandler struct {
	svc  *callbackurls.Service
	opts CreateOptions
}

// NewCreateHandler returns the CreateUrls endpoint: POST a CreateUrls
// request as JSON, get its URLs.
func NewCreateHandler(svc *callbackurls.Service, opts CreateOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &createHandler{svc: svc, opts: opts}
}

// DeliveredText names the channels an ask went to, for log lines ("email
// sns"; "" for none).
func DeliveredText(d *callbackurls.Delivered) string {
	switch {
	case d == nil:
		return ""
	case d.Email != nil && d.SNS != nil:
		return "email sns"
	case d.Email != nil:
		return "email"
	case d.SNS != nil:
		return "sns"
	}
	return ""
}

func (h *createHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		MethodNotAllowed(w, r, "POST")
		return
	}
	if !IsJSON(r.Header.Get("Content-Type")) {
		Fail(w, r, ErrNotJSON("send the request as Content-Type: application/json"), "")
		return
	}
	body, err := ReadBody(w, r, callbackurls.MaxCreateBodyBytes)
	if err != nil {
		Fail(w, r, err, "")
		return
	}
	req, err := callbackurls.ParseCreateRequest(body)
	if err != nil {
		Fail(w, r, err, "")
		return
	}
	if h.opts.Verbose {
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, "create request", slog.String("body", string(body)))
	}
	var via callbackurls.Gateway
	if h.opts.Via != nil {
		via = h.opts.Via(r)
	}
	resp, tid, err := h.svc.CreateURLs(r.Context(), req, via)
	Entry(r).TransactionID = tid
	if err != nil {
		Fail(w, r, err, tid)
		return
	}
	Entry(r).Outcome = "created"
	Entry(r).Delivery = DeliveredText(resp.Delivered)
	NoStore(w) // the URLs are secrets
	WriteJSON(w, http.StatusOK, resp)
}
