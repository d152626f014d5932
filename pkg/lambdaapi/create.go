package lambdaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// CreateURLsHandler returns the CreateUrls function's Lambda handler. An
// API Gateway proxy event (one with "httpMethod" and "requestContext") is
// served by h through ProxyHandler; any other event is a direct invoke
// whose body is the CreateUrls request. A direct invoke returns the
// *callbackurls.CreateResponse, or the contract's error body
// {"error", "message", "transaction_id"?} as the reference does; it never
// returns a Lambda error. defaultBase is the base URL of created URLs when
// neither the request nor the deployment names one.
func CreateURLsHandler(svc *callbackurls.Service, h http.Handler, region, defaultBase string) func(ctx context.Context, raw json.RawMessage) (any, error) {
	return createURLsHandler(svc, h, region, defaultBase, nil)
}

// createURLsHandler is CreateURLsHandler logging to logger (slog.Default()
// at each invoke when nil).
func createURLsHandler(svc *callbackurls.Service, h http.Handler, region, defaultBase string, logger *slog.Logger) func(ctx context.Context, raw json.RawMessage) (any, error) {
	proxy := ProxyHandler(h, region)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if ev, ok := proxyEvent(raw); ok {
			return proxy(ctx, *ev)
		}
		l := logger
		if l == nil {
			l = slog.Default()
		}
		return createDirect(ctx, svc, defaultBase, raw, l), nil
	}
}

// proxyEvent decodes raw as an API Gateway proxy event if it is one.
func proxyEvent(raw json.RawMessage) (*events.APIGatewayProxyRequest, bool) {
	var probe struct {
		HTTPMethod     *string          `json:"httpMethod"`
		RequestContext *json.RawMessage `json:"requestContext"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.HTTPMethod == nil || probe.RequestContext == nil {
		return nil, false
	}
	var ev events.APIGatewayProxyRequest
	if json.Unmarshal(raw, &ev) != nil {
		return nil, false
	}
	return &ev, true
}

// errorBody is the contract's error body, as the reference's direct
// invoke returns it.
type errorBody struct {
	Error         string `json:"error"`
	Message       string `json:"message"`
	TransactionID string `json:"transaction_id,omitempty"`
}

// createDirect serves a direct invoke and logs one line about it (never
// the request, which holds the task token).
func createDirect(ctx context.Context, svc *callbackurls.Service, defaultBase string, raw json.RawMessage, logger *slog.Logger) any {
	start := time.Now()
	var (
		resp *callbackurls.CreateResponse
		tid  string
		err  error
	)
	// A panic answers with the contract's ServiceError body, as the proxy
	// path does, rather than a raw Lambda error carrying the panic text.
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &callbackurls.Error{Code: callbackurls.CodeServiceError, Status: 500,
					Message: "internal error", Err: fmt.Errorf("panic: %v", p)}
			}
		}()
		var req *callbackurls.CreateRequest
		if req, err = callbackurls.ParseCreateRequest(raw); err == nil {
			resp, tid, err = svc.CreateURLs(ctx, req, defaultBase)
		}
	}()

	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("operation", "CreateUrls"), slog.String("source", "invoke"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("aws_request_id", lc.AwsRequestID))
	}
	if tid != "" {
		attrs = append(attrs, slog.String("transaction_id", tid))
	}
	level := slog.LevelInfo
	var result any
	if err != nil {
		e := callbackurls.AsError(err)
		attrs = append(attrs, slog.String("outcome", "rejected"), slog.String("error", e.Code), slog.Int("status", e.Status))
		if e.Status >= 500 {
			level = slog.LevelError
			if e.Err != nil {
				// The cause is for the operator, never for the caller.
				attrs = append(attrs, slog.String("cause", e.Err.Error()))
			}
		}
		result = &errorBody{Error: e.Code, Message: e.Message, TransactionID: tid}
	} else {
		attrs = append(attrs, slog.String("outcome", "created"), slog.Int("urls", len(resp.URLs)))
		result = resp
	}
	attrs = append(attrs, slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	logger.LogAttrs(ctx, level, "invoke", attrs...)
	return result
}
