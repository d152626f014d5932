package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
)

type proxyFunc func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// hookLambda is the callback function as deployed: the HTTP handler behind
// the API Gateway proxy adapter, with both switches on and the local store
// standing in for Step Functions.
func hookLambda(t *testing.T) (proxyFunc, *localstore.Store) {
	t.Helper()
	keys, err := keyring.New(keyring.Key{ID: "k1", Secret: bytes.Repeat([]byte{9}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	store, err := localstore.Open(t.TempDir() + "/t.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := callbackurls.New(callbackurls.Config{
		Region:                 "eu-west-1",
		EnablePostActions:      true,
		EnableOutputParameters: true,
		PostActions:            postaction.New(),
	}, &payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: store})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Both endpoints on one router: the tests create their URLs through
	// POST /urls of the same adapter.
	h := httpapi.NewRouter(logger, false)
	h.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(svc, httpapi.CreateOptions{Logger: logger, Via: lambdaapi.Gateway}))
	h.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: logger}))
	return lambdaapi.ProxyHandler(h, logger), store
}

func proxyEvent(method, resource string, query url.Values, header map[string]string, body string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource:          resource,
		Path:              resource,
		HTTPMethod:        method,
		Headers:           map[string]string{},
		MultiValueHeaders: map[string][]string{},
		Body:              body,
		RequestContext: events.APIGatewayProxyRequestContext{
			APIID: "a1b2c3d4e5", Stage: "prod", DomainName: "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		},
	}
	for k, v := range header {
		ev.Headers[k] = v
		ev.MultiValueHeaders[k] = []string{v}
	}
	if len(query) > 0 {
		// API Gateway hands the function decoded values.
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, vs := range query {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	return ev
}

// lambdaURLs creates URLs for a new task through a POST /urls proxy event.
func lambdaURLs(t *testing.T, proxy proxyFunc, store *localstore.Store, req map[string]any) (string, map[string]string) {
	t.Helper()
	task, err := store.CreateTask(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	req["token"] = task.Token
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := proxy(context.Background(), proxyEvent("POST", "/urls", nil, map[string]string{"Content-Type": "application/json"}, string(b)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /urls: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var created callbackurls.CreateResponse
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	return task.Token, created.URLs
}

// callbackEvent is the proxy event API Gateway makes for a request to u.
func callbackEvent(t *testing.T, method, u string, extra url.Values, header map[string]string, body string) events.APIGatewayProxyRequest {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/respond?") {
		t.Fatalf("URL %s is not under the stage the request came through", u)
	}
	q := parsed.Query()
	for k, vs := range extra {
		q[k] = vs
	}
	return proxyEvent(method, "/respond", q, header, body)
}

type lambdaTask struct {
	Status     localstore.Status
	Output     string
	Error      string
	Cause      string
	Heartbeats int
}

func lambdaTaskState(t *testing.T, store *localstore.Store, token string) lambdaTask {
	t.Helper()
	task, err := store.Get(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaTask{Status: task.Status, Output: string(task.Output), Error: task.Error, Cause: task.Cause, Heartbeats: task.Heartbeats}
}

func lambdaErrorCode(t *testing.T, resp events.APIGatewayProxyResponse) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("error body %q: %v", resp.Body, err)
		}
	}
	return body.Error
}

var lambdaOutcomes = []any{
	map[string]any{"name": "done", "type": "success",
		"schema":      map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "done"}}},
		"output_path": "$.result"},
	map[string]any{"name": "failed", "type": "failure",
		"schema":     map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": "failed"}}},
		"error_path": "$.code", "cause_path": "$.message"},
}

func TestLambdaPostAction(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		base64      bool
		wantStatus  int
		wantCode    string
		wantAllow   string
		wantTask    lambdaTask
	}{
		{
			name: "success", method: "POST", contentType: "application/json",
			body:       `{"status": "done", "result": {"id": "r-1", "ok": true}}`,
			wantStatus: 200, wantTask: lambdaTask{Status: localstore.StatusSucceeded, Output: `[{"id":"r-1","ok":true}]`},
		},
		{
			name: "failure, base64 body, charset", method: "POST", contentType: "application/json; charset=utf-8",
			body: `{"status": "failed", "code": "E7", "message": "quota exceeded ✗"}`, base64: true,
			wantStatus: 200, wantTask: lambdaTask{Status: localstore.StatusFailed, Error: "E7", Cause: "quota exceeded ✗"},
		},
		{
			name: "no match", method: "POST", contentType: "application/json", body: `{"status": "unknown"}`,
			wantStatus: 400, wantCode: callbackurls.CodeInvalidPostActionBody, wantTask: lambdaTask{Status: localstore.StatusOpen},
		},
		{
			name: "bad JSON", method: "POST", contentType: "application/json", body: `{"status":`,
			wantStatus: 400, wantCode: callbackurls.CodeInvalidPostActionBody, wantTask: lambdaTask{Status: localstore.StatusOpen},
		},
		{
			name: "not JSON", method: "POST", contentType: "text/plain", body: `{"status": "done"}`,
			wantStatus: 415, wantCode: callbackurls.CodeUnsupportedMedia, wantTask: lambdaTask{Status: localstore.StatusOpen},
		},
		{
			name: "too large", method: "POST", contentType: "application/json",
			body:       `"` + strings.Repeat("x", callbackurls.MaxPostBodyBytes) + `"`,
			wantStatus: 413, wantCode: callbackurls.CodeBodyTooLarge, wantTask: lambdaTask{Status: localstore.StatusOpen},
		},
		{
			name: "GET", method: "GET",
			wantStatus: 405, wantCode: callbackurls.CodeMethodNotAllowed, wantAllow: "POST", wantTask: lambdaTask{Status: localstore.StatusOpen},
		},
	}
	proxy, store := hookLambda(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := lambdaURLs(t, proxy, store, map[string]any{"actions": []any{
				map[string]any{"name": "hook", "type": "post", "outcomes": lambdaOutcomes},
			}})
			header := map[string]string{}
			if tt.contentType != "" {
				header["Content-Type"] = tt.contentType
			}
			ev := callbackEvent(t, tt.method, urls["hook"], nil, header, tt.body)
			if tt.base64 {
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(tt.body)), true
			}
			resp, err := proxy(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || lambdaErrorCode(t, resp) != tt.wantCode {
				t.Fatalf("%s: %d %.300s, want %d %s", tt.method, resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if got := resp.MultiValueHeaders["Allow"]; tt.wantAllow != "" && !cmp.Equal(got, []string{tt.wantAllow}) {
				t.Errorf("Allow: %q, want %q", got, tt.wantAllow)
			}
			if diff := cmp.Diff(tt.wantTask, lambdaTaskState(t, store, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLambdaOutputParameters(t *testing.T) {
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantCode   string
		wantTask   lambdaTask
		wantLoc    string
	}{
		{
			name:       "filled",
			query:      url.Values{"who": {"Zoë"}, "ref": {"#17 — more"}},
			wantStatus: 303,
			wantTask:   lambdaTask{Status: localstore.StatusSucceeded, Output: `{"approver":"Zoë","note":"$ref: #17 — more"}`},
			wantLoc:    "https://example.com/done?by=Zo%C3%AB",
		},
		{
			name:       "missing",
			query:      url.Values{"who": {"Zoë"}},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   lambdaTask{Status: localstore.StatusOpen},
		},
	}
	proxy, store := hookLambda(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := lambdaURLs(t, proxy, store, map[string]any{"enable_output_parameters": true, "actions": []any{
				map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approver": "$who", "note": "$$ref: ${ref}"},
					"response": map[string]any{"redirect": "https://example.com/done?by=$who"}},
			}})
			resp, err := proxy(context.Background(), callbackEvent(t, "GET", urls["approve"], tt.query, nil, ""))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || lambdaErrorCode(t, resp) != tt.wantCode {
				t.Fatalf("GET: %d %s, want %d %s", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if got := resp.Headers["Location"]; got != tt.wantLoc {
				t.Errorf("Location %q, want %q", got, tt.wantLoc)
			}
			if diff := cmp.Diff(tt.wantTask, lambdaTaskState(t, store, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}
