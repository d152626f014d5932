package lambdaapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// hookLambda is the callback function as deployed, with both switches on
// and the local store standing in for Step Functions.
func hookLambda(t *testing.T) *servicetest.Service {
	t.Helper()
	return servicetest.Start(t, servicetest.Options{Lambda: true, NoBaseURL: true,
		Settings: config.Config{Region: region, EnablePostActions: true, EnableOutputParameters: true}})
}

// lambdaURLs creates URLs for a new task through a POST /urls proxy event.
func lambdaURLs(t *testing.T, s *servicetest.Service, req map[string]any) (string, map[string]string) {
	t.Helper()
	req["token"] = s.NewTask(t)
	ev := loadEvent(t, "post-urls.json")
	ev.Body = mustJSON(t, req)
	resp, err := s.ProxyFunction()(t.Context(), ev)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /urls: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var created callbackurls.CreateResponse
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	return req["token"].(string), created.URLs
}

// callbackEvent is the proxy event API Gateway makes for a request to u
// with the query parameters extra added.
func callbackEvent(t *testing.T, method, u string, extra url.Values, header map[string]string, body string) events.APIGatewayProxyRequest {
	t.Helper()
	ev := respondEvent(t, u)
	q := url.Values(ev.MultiValueQueryStringParameters)
	for k, vs := range extra {
		q[k] = vs
	}
	setQuery(&ev, q)
	ev.HTTPMethod, ev.Body = method, body
	for k, v := range header {
		setHeader(&ev, k, v)
	}
	return ev
}

func lambdaErrorCode(t *testing.T, resp events.APIGatewayProxyResponse) string {
	t.Helper()
	return (&servicetest.Response{Status: resp.StatusCode, Body: resp.Body}).ErrorCode(t)
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
		wantTask    servicetest.Task
	}{
		{
			name: "success", method: "POST", contentType: "application/json",
			body:       `{"status": "done", "result": {"id": "r-1", "ok": true}}`,
			wantStatus: 200, wantTask: servicetest.Task{Status: "succeeded", Output: `[{"id":"r-1","ok":true}]`},
		},
		{
			name: "failure, base64 body, charset", method: "POST", contentType: "application/json; charset=utf-8",
			body: `{"status": "failed", "code": "E7", "message": "quota exceeded ✗"}`, base64: true,
			wantStatus: 200, wantTask: servicetest.Task{Status: "failed", Error: "E7", Cause: "quota exceeded ✗"},
		},
		{
			name: "no match", method: "POST", contentType: "application/json", body: `{"status": "unknown"}`,
			wantStatus: 400, wantCode: callbackurls.CodeInvalidPostActionBody, wantTask: servicetest.Task{Status: "open"},
		},
		{
			name: "bad JSON", method: "POST", contentType: "application/json", body: `{"status":`,
			wantStatus: 400, wantCode: callbackurls.CodeInvalidPostActionBody, wantTask: servicetest.Task{Status: "open"},
		},
		{
			name: "not JSON", method: "POST", contentType: "text/plain", body: `{"status": "done"}`,
			wantStatus: 415, wantCode: callbackurls.CodeUnsupportedMedia, wantTask: servicetest.Task{Status: "open"},
		},
		{
			name: "too large", method: "POST", contentType: "application/json",
			body:       `"` + strings.Repeat("x", callbackurls.MaxPostBodyBytes) + `"`,
			wantStatus: 413, wantCode: callbackurls.CodeBodyTooLarge, wantTask: servicetest.Task{Status: "open"},
		},
		{
			name: "GET", method: "GET",
			wantStatus: 405, wantCode: callbackurls.CodeMethodNotAllowed, wantAllow: "POST", wantTask: servicetest.Task{Status: "open"},
		},
	}
	s := hookLambda(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := lambdaURLs(t, s, map[string]any{"actions": []any{
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
			resp, err := s.ProxyFunction()(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || lambdaErrorCode(t, resp) != tt.wantCode {
				t.Fatalf("%s: %d %.300s, want %d %s", tt.method, resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if got := resp.MultiValueHeaders["Allow"]; tt.wantAllow != "" && !cmp.Equal(got, []string{tt.wantAllow}) {
				t.Errorf("Allow: %q, want %q", got, tt.wantAllow)
			}
			if diff := cmp.Diff(tt.wantTask, s.Task(t, token)); diff != "" {
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
		wantTask   servicetest.Task
		wantLoc    string
	}{
		{
			name:       "filled",
			query:      url.Values{"who": {"Zoë"}, "ref": {"#17 — more"}},
			wantStatus: 303,
			wantTask:   servicetest.Task{Status: "succeeded", Output: `{"approver":"Zoë","note":"$ref: #17 — more"}`},
			wantLoc:    "https://example.com/done?by=Zo%C3%AB",
		},
		{
			name:       "missing",
			query:      url.Values{"who": {"Zoë"}},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   servicetest.Task{Status: "open"},
		},
	}
	s := hookLambda(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := lambdaURLs(t, s, map[string]any{"enable_output_parameters": true, "actions": []any{
				map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approver": "$who", "note": "$$ref: ${ref}"},
					"response": map[string]any{"redirect": "https://example.com/done?by=$who"}},
			}})
			resp, err := s.ProxyFunction()(t.Context(), callbackEvent(t, "GET", urls["approve"], tt.query, nil, ""))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || lambdaErrorCode(t, resp) != tt.wantCode {
				t.Fatalf("GET: %d %s, want %d %s", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if got := resp.Headers["Location"]; got != tt.wantLoc {
				t.Errorf("Location %q, want %q", got, tt.wantLoc)
			}
			if diff := cmp.Diff(tt.wantTask, s.Task(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}
