package lambdaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

// Handler is a Lambda handler taking any event.
type Handler func(ctx context.Context, raw json.RawMessage) (any, error)

// CreateURLsHandler returns the CreateUrls function's Lambda handler. An
// API Gateway proxy event (one with "httpMethod" and "requestContext") is
// served by h through ProxyHandler; any other event is a direct invoke
// whose body is the CreateUrls request. A direct invoke returns the
// *callbackurls.CreateResponse, or the contract's error body
// {"error", "message", "transaction_id"?} as the reference does; only a
// request with "deliver" fails as a Lambda function error instead (see
// DeliveryError). Both paths log to logger.
func CreateURLsHandler(svc *callbackurls.Service, h http.Handler, logger *slog.Logger) Handler {
	proxy := ProxyHandler(h, logger)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if ev, ok := proxyEvent(raw); ok {
			return proxy(ctx, *ev)
		}
		return createDirect(ctx, svc, raw, logger)
	}
}

// CallbackHandler returns the ProcessCallback function's Lambda handler:
// API Gateway proxy events are served by h through ProxyHandler; any other
// event gets the contract's error body, since callbacks arrive over HTTP
// only.
func CallbackHandler(h http.Handler, logger *slog.Logger) Handler {
	proxy := ProxyHandler(h, logger)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if ev, ok := proxyEvent(raw); ok {
			return proxy(ctx, *ev)
		}
		e := callbackurls.Errorf(callbackurls.CodeInvalidJSON,
			"ProcessCallback takes API Gateway proxy events (GET, POST or HEAD /respond); to create URLs, invoke CreateUrls")
		logInvoke(ctx, logger, "ProcessCallback", e, "", time.Time{}, nil)
		body := httpapi.NewErrorBody(e, "")
		return &body, nil
	}
}

// proxyEvent decodes raw as an API Gateway proxy event if it is one.
func proxyEvent(raw json.RawMessage) (*events.APIGatewayProxyRequest, bool) {
	// One pass over the event, which may hold a 256 KiB body: the two
	// fields that mark a proxy event shadow the embedded ones, so their
	// presence shows, and the small request context is decoded after.
	var probe struct {
		events.APIGatewayProxyRequest
		HTTPMethod     *string         `json:"httpMethod"`
		RequestContext json.RawMessage `json:"requestContext"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.HTTPMethod == nil || probe.RequestContext == nil {
		return nil, false
	}
	ev := probe.APIGatewayProxyRequest
	ev.HTTPMethod = *probe.HTTPMethod
	if json.Unmarshal(probe.RequestContext, &ev.RequestContext) != nil {
		return nil, false
	}
	return &ev, true
}

// DeliveryError is a direct invoke's failure when its request has
// "deliver": a Lambda function error whose type is the contract's code
// (DeliveryFailed, InvalidDelivery, ...) and whose message is the error
// body's JSON. A state machine that invokes CreateUrls with
// .waitForTaskToken and lets it deliver never reads the answer: only a
// function error fails its Task, where Retry and Catch match the code.
func DeliveryError(body *httpapi.ErrorBody) messages.InvokeResponse_Error {
	b, _ := jsontext.Marshal(body)
	return messages.InvokeResponse_Error{Type: body.Error, Message: string(b)}
}

// createDirect serves a direct invoke and logs one line about it (never
// the request, which holds the task token).
func createDirect(ctx context.Context, svc *callbackurls.Service, raw json.RawMessage, logger *slog.Logger) (any, error) {
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
				e := callbackurls.Errorf(callbackurls.CodeServiceError, "internal error")
				e.Err = fmt.Errorf("panic: %v", p)
				err = e
			}
		}()
		var req *callbackurls.CreateRequest
		if req, err = callbackurls.ParseCreateRequest(raw); err == nil {
			// A direct invoke came through no API stage: the deployment's
			// own is the default (see callbackurls.Service.BaseURL).
			resp, tid, err = svc.CreateURLs(ctx, req, callbackurls.Gateway{})
		}
	}()
	if err != nil {
		e := callbackurls.AsError(err)
		logInvoke(ctx, logger, "CreateUrls", e, tid, start, nil)
		body := httpapi.NewErrorBody(e, tid)
		if delivers(raw) {
			return nil, DeliveryError(&body)
		}
		return &body, nil
	}
	logInvoke(ctx, logger, "CreateUrls", nil, tid, start, resp)
	return resp, nil
}

// delivers reports whether a direct invoke's event has a top-level
// "deliver" member (read again: the request may not have parsed).
func delivers(raw json.RawMessage) bool {
	var probe struct {
		Deliver json.RawMessage `json:"deliver"`
	}
	return json.Unmarshal(raw, &probe) == nil && len(probe.Deliver) > 0 && string(probe.Deliver) != "null"
}

// logInvoke writes a direct invoke's one log line.
func logInvoke(ctx context.Context, logger *slog.Logger, op string, e *callbackurls.Error, tid string, start time.Time, resp *callbackurls.CreateResponse) {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("operation", op), slog.String("source", "invoke"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("aws_request_id", lc.AwsRequestID))
	}
	if tid != "" {
		attrs = append(attrs, slog.String("transaction_id", tid))
	}
	level := slog.LevelInfo
	if e != nil {
		status := httpapi.Status(e)
		attrs = append(attrs, slog.String("outcome", "rejected"), slog.String("error", e.Code), slog.Int("status", status))
		if status >= 500 {
			level = slog.LevelError
			if e.Err != nil {
				// The cause is for the operator, never for the caller.
				attrs = append(attrs, slog.String("cause", e.Err.Error()))
			}
		}
	} else {
		attrs = append(attrs, slog.String("outcome", "created"), slog.Int("urls", len(resp.URLs)))
		if d := httpapi.DeliveredText(resp.Delivered); d != "" {
			attrs = append(attrs, slog.String("delivery", d))
		}
	}
	if !start.IsZero() {
		attrs = append(attrs, slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	}
	logger.LogAttrs(ctx, level, "invoke", attrs...)
}
