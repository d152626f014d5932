package lambdaapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
)

// discard is a logger for tests that read no log.
var discard = slog.New(slog.DiscardHandler)

// The deployment the fixtures in testdata come through.
const (
	region    = "eu-west-1"
	stageBase = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"
)

// start runs the service behind the Lambda handlers as the functions
// mount it, over the Step Functions stand-in; stage says whether the
// deployment knows its own API stage (API_ID and STAGE): its base URL is
// that stage's or none.
func start(t *testing.T, stage bool, settings config.Config) *servicetest.Service {
	t.Helper()
	settings.Region = region
	if stage {
		settings.APIID, settings.Stage = "a1b2c3d4e5", "v1"
	}
	return servicetest.Start(t, servicetest.Options{Backend: servicetest.SFN, Lambda: true, NoBaseURL: true, Settings: settings})
}

// createDirect creates URLs through a direct invoke and fails the test
// unless it succeeds.
func createDirect(t *testing.T, s *servicetest.Service, req any) *callbackurls.CreateResponse {
	t.Helper()
	out, err := s.CreateURLsFunction()(t.Context(), json.RawMessage(mustJSON(t, req)))
	if err != nil {
		t.Fatalf("direct invoke returned a Lambda error: %v", err)
	}
	resp, ok := out.(*callbackurls.CreateResponse)
	if !ok {
		t.Fatalf("direct invoke returned %s, want a CreateResponse", mustJSON(t, out))
	}
	return resp
}

func loadEvent(t *testing.T, name string) events.APIGatewayProxyRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// respondEvent is the GET /respond fixture for the callback URL u.
func respondEvent(t *testing.T, u string) events.APIGatewayProxyRequest {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, stageBase+"/respond?") {
		t.Fatalf("URL %s is not under %s/respond", u, stageBase)
	}
	ev := loadEvent(t, "get-respond.json")
	setQuery(&ev, parsed.Query())
	return ev
}

func setQuery(ev *events.APIGatewayProxyRequest, q url.Values) {
	ev.MultiValueQueryStringParameters = q
	ev.QueryStringParameters = make(map[string]string, len(q))
	for k, vs := range q {
		ev.QueryStringParameters[k] = vs[len(vs)-1] // API Gateway keeps the last
	}
}

func setHeader(ev *events.APIGatewayProxyRequest, name, value string) {
	for k := range ev.Headers {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) {
			delete(ev.Headers, k)
			delete(ev.MultiValueHeaders, k)
		}
	}
	ev.Headers[name] = value
	ev.MultiValueHeaders[name] = []string{value}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decoded is v's JSON read back into generic values.
func decoded(t *testing.T, data string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, data)
	}
	return v
}

// errorShape keeps an error body's code and step_functions_error, and
// replaces a non-empty message and transaction id by markers.
func errorShape(t *testing.T, body string) map[string]any {
	t.Helper()
	m, ok := decoded(t, body).(map[string]any)
	if !ok {
		t.Fatalf("error body is not an object: %s", body)
	}
	if s, _ := m["message"].(string); s != "" {
		m["message"] = "<message>"
	}
	if s, _ := m["transaction_id"].(string); len(s) == 32 {
		m["transaction_id"] = "<tid>"
	}
	return m
}

func approveRequest(token string) map[string]any {
	return map[string]any{"token": token, "actions": []any{servicetest.Approve, servicetest.Reject, servicetest.Ping}}
}

func TestDirectInvokeCreate(t *testing.T) {
	const token = "AAAAKgAAAAIAAAAAAAAAAR6J3LYI50Qzc0ukkCD+d8CKvtNW3hYKR5bNUOk8j5HZOmgrRrjm57HRyb0H8nxhP/71LhZhedu9z4xlq8BRDRbDSZ6H8wOSxMMIBwwFsoLK10lV3uyOOTpZy0n/ur6Nn29R3XaHKN+gWFP+jpmMamyrdKeGd2GHxQI99u2eQ0dSb3cp1M621FnvF6nKYzAbhPHdZRjmkiGP0AdskrCczE+BCwrrXXXsMyE6RVPG2ad5KSIxeoh6pPWewDa1kHGHquii1kyQE5Jx7am3LriamSaPP7tTPs+o8J37QCjEsC1KrRCbK9lKOyPlzG6i++4qDa56RV+d2J8AltYSVbvUGPH/x2wxbKC8N66yzVRnscvFoIbNaF7R6I0LPryAlYGeJPzDAdLVOjmqoqWVweHgq7cNi0Qi3wfhf62MZRQocCwBOlaA22sWz0Csy5UP3uFmvjZG6eUQLecEfAbkpC4ZnojqPahc0thnXffbtTrqh7YKsnXp9n9M7OdKU0JoMAiEEkquTkhzB5PS8f+Za1f90iS9TqXtEFa3Yk/L+CkQUwLM8hYnk4LhOXe1MXdcRlgQYFG9dQypnmYcGlBRSabRc2zvMcPNbvPDTo6gTzh69NaLPpunMn5uT1Ln5WTl18kFn0vLTKqnKtfJwMWVGT1Y3lg="
	valid := mustJSON(t, approveRequest(token))
	invalidJSON := map[string]any{"error": "InvalidJSON", "message": "<message>"}
	tests := []struct {
		name        string
		defaultBase string
		req         string
		// wantURLs maps each action to its URL's prefix; wantErr is the
		// error body's shape otherwise.
		wantURLs map[string]string
		wantErr  map[string]any
	}{
		{
			name: "valid", defaultBase: stageBase, req: valid,
			wantURLs: map[string]string{
				"approve": stageBase + "/respond?action=approve&type=success&data=",
				"reject":  stageBase + "/respond?action=reject&type=failure&data=",
				"ping":    stageBase + "/respond?action=ping&type=heartbeat&data=",
			},
		},
		{
			name: "base_url in the request wins", defaultBase: stageBase,
			req:      `{"token":"t0k3n","base_url":"https://hooks.example.com/cb/","actions":[{"name":"ok","type":"success","output":null}]}`,
			wantURLs: map[string]string{"ok": "https://hooks.example.com/cb/respond?action=ok&type=success&data="},
		},
		{
			// A request, whose unknown top-level field is then refused as
			// the reference's schema refuses it.
			name: "an object naming httpMethod without requestContext is a request", defaultBase: stageBase,
			req:     `{"httpMethod":"POST","token":"t0k3n","actions":[{"name":"ok","type":"heartbeat"}]}`,
			wantErr: invalidJSON,
		},
		{name: "array", defaultBase: stageBase, req: `[{"token":"t0k3n"}]`, wantErr: invalidJSON},
		{name: "string", defaultBase: stageBase, req: `"t0k3n"`, wantErr: invalidJSON},
		{name: "null", defaultBase: stageBase, req: `null`, wantErr: invalidJSON},
		{name: "token is a number", defaultBase: stageBase, req: `{"token":42,"actions":[{"name":"ok","type":"heartbeat"}]}`, wantErr: invalidJSON},
		{
			name: "actions is an object", defaultBase: stageBase,
			req:     `{"token":"t0k3n","actions":{"name":"ok","type":"heartbeat"}}`,
			wantErr: invalidJSON,
		},
		{name: "no actions", defaultBase: stageBase, req: `{"token":"t0k3n","actions":[]}`, wantErr: invalidJSON},
		{
			name: "success without output", defaultBase: stageBase,
			req:     `{"token":"t0k3n","actions":[{"name":"ok","type":"success"}]}`,
			wantErr: invalidJSON,
		},
		{
			name: "no base URL anywhere", defaultBase: "", req: valid,
			wantErr: map[string]any{"error": "ServiceError", "message": "<message>", "transaction_id": "<tid>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.defaultBase == stageBase, config.Config{})
			out, err := s.CreateURLsFunction()(t.Context(), json.RawMessage(tt.req))
			if err != nil {
				t.Fatalf("Lambda error %v; want every outcome as a result", err)
			}
			body := mustJSON(t, out)

			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errorShape(t, body)); diff != "" {
					t.Errorf("error body (-want +got):\n%s\nbody: %s", diff, body)
				}
			} else {
				resp, ok := out.(*callbackurls.CreateResponse)
				if !ok {
					t.Fatalf("got %s, want a CreateResponse", body)
				}
				prefixes := map[string]string{}
				for name, u := range resp.URLs {
					prefix, _, _ := strings.Cut(u, "&data=")
					prefixes[name] = prefix + "&data="
				}
				if diff := cmp.Diff(tt.wantURLs, prefixes); diff != "" {
					t.Errorf("URLs (-want +got):\n%s", diff)
				}
				if len(resp.TransactionID) != 32 {
					t.Errorf("transaction_id = %q", resp.TransactionID)
				}
			}

			// One log line per invoke, with the outcome and never the token.
			logs := strings.TrimSpace(s.Logs.String())
			if strings.Contains(logs, token) || strings.Contains(logs, "t0k3n") {
				t.Errorf("the log holds the task token: %s", logs)
			}
			lines := strings.Split(logs, "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), logs)
			}
			line, _ := decoded(t, lines[0]).(map[string]any)
			got := map[string]any{"msg": line["msg"], "outcome": line["outcome"], "error": line["error"]}
			want := map[string]any{"msg": "invoke", "outcome": "created", "error": nil}
			if tt.wantErr != nil {
				want["outcome"], want["error"] = "rejected", tt.wantErr["error"]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("log line (-want +got):\n%s\nline: %s", diff, lines[0])
			}
			if _, ok := line["duration_ms"].(float64); !ok {
				t.Errorf("log line has no duration_ms: %s", lines[0])
			}
			if tid, _ := line["transaction_id"].(string); tt.wantErr == nil || tt.wantErr["transaction_id"] != nil {
				if len(tid) != 32 {
					t.Errorf("log line transaction_id = %q: %s", tid, lines[0])
				}
			}
		})
	}
}

func TestProxyCreateURLs(t *testing.T) {
	const body = `{"token":"AAAAKgAAAAIAAAAAAAAAAUyIYVx/PV5iARF8jsQ8y7zWn7nc8crKpYzOVRUNzdNG","actions":[{"name":"approve","type":"success","output":{"approved":true}}]}`
	type want struct {
		status  int
		headers map[string]string
		// urlPrefix is the approve URL's start on success; errBody the
		// error body's shape otherwise.
		urlPrefix string
		errBody   map[string]any
	}
	jsonType := map[string]string{"Content-Type": "application/json"}
	invalidJSON := map[string]any{"error": "InvalidJSON", "message": "<message>"}
	tests := []struct {
		name   string
		mutate func(ev *events.APIGatewayProxyRequest)
		want   want
	}{
		{
			name: "POST", mutate: func(*events.APIGatewayProxyRequest) {},
			want: want{status: 200, headers: jsonType, urlPrefix: stageBase + "/respond?action=approve&type=success&data="},
		},
		{
			name: "base URL from another API and stage",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				ev.RequestContext.APIID, ev.RequestContext.Stage = "zz9yy8xx7w", "prod"
			},
			want: want{status: 200, headers: jsonType,
				urlPrefix: "https://zz9yy8xx7w.execute-api.eu-west-1.amazonaws.com/prod/respond?action=approve&type=success&data="},
		},
		{
			name: "base64-encoded body",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
			},
			want: want{status: 200, headers: jsonType, urlPrefix: stageBase + "/respond?action=approve&type=success&data="},
		},
		{
			name:   "single-value headers only",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.MultiValueHeaders = nil },
			want:   want{status: 200, headers: jsonType, urlPrefix: stageBase + "/respond?action=approve&type=success&data="},
		},
		{
			name:   "GET",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.HTTPMethod, ev.Body = "GET", "" },
			want: want{status: 405, headers: map[string]string{"Allow": "POST", "Content-Type": "application/json"},
				errBody: map[string]any{"error": "MethodNotAllowed", "message": "<message>"}},
		},
		{
			name:   "text/plain body",
			mutate: func(ev *events.APIGatewayProxyRequest) { setHeader(ev, "content-type", "text/plain") },
			want: want{status: 415, headers: jsonType,
				errBody: map[string]any{"error": "UnsupportedMediaType", "message": "<message>"}},
		},
		{
			name:   "bad JSON",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.Body = `{"token":` },
			want:   want{status: 400, headers: jsonType, errBody: invalidJSON},
		},
		{
			name:   "wrong shape",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.Body = `{"token":"t","actions":"approve"}` },
			want:   want{status: 400, headers: jsonType, errBody: invalidJSON},
		},
		{
			name:   "body flagged base64 but not base64",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.IsBase64Encoded = true },
			want:   want{status: 400, headers: jsonType, errBody: invalidJSON},
		},
		{
			name:   "no stage in the event and no configured base",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.RequestContext.Stage = "" },
			want: want{status: 500, headers: jsonType,
				errBody: map[string]any{"error": "ServiceError", "message": "<message>", "transaction_id": "<tid>"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The direct-invoke default base must not leak into HTTP calls.
			s := start(t, false, config.Config{})
			ev := loadEvent(t, "post-urls.json")
			ev.Body = body
			tt.mutate(&ev)
			out, err := s.CreateURLsFunction()(t.Context(), json.RawMessage(mustJSON(t, ev)))
			if err != nil {
				t.Fatalf("Lambda error %v; want an HTTP response", err)
			}
			resp, ok := out.(events.APIGatewayProxyResponse)
			if !ok {
				t.Fatalf("got %T %s, want an APIGatewayProxyResponse", out, mustJSON(t, out))
			}
			if resp.StatusCode != tt.want.status {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.want.status, resp.Body)
			}
			checkHeaders(t, resp, tt.want.headers)
			if resp.IsBase64Encoded {
				t.Errorf("a JSON response is base64-encoded")
			}
			if tt.want.errBody != nil {
				if diff := cmp.Diff(tt.want.errBody, errorShape(t, resp.Body)); diff != "" {
					t.Errorf("error body (-want +got):\n%s", diff)
				}
				return
			}
			var created callbackurls.CreateResponse
			if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
				t.Fatal(err)
			}
			if got := created.URLs["approve"]; !strings.HasPrefix(got, tt.want.urlPrefix) || len(got) == len(tt.want.urlPrefix) {
				t.Errorf("approve URL = %s, want %s<data>", got, tt.want.urlPrefix)
			}
		})
	}
}

// checkHeaders checks want against both header maps of resp, and that the
// single-value map is the first of each multi-value list.
func checkHeaders(t *testing.T, resp events.APIGatewayProxyResponse, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, multi := resp.Headers[k], resp.MultiValueHeaders[k]; got != v || v != "" && !cmp.Equal(multi, []string{v}) {
			t.Errorf("header %s = %q (%q), want %q", k, got, multi, v)
		}
	}
	first := map[string]string{}
	for k, vs := range resp.MultiValueHeaders {
		first[k] = vs[0]
	}
	if diff := cmp.Diff(first, resp.Headers); diff != "" {
		t.Errorf("Headers are not the first MultiValueHeaders (-multi +single):\n%s", diff)
	}
}

// hooks is a request for a post action and an action with output
// parameters.
func hooks(token string) map[string]any {
	status := func(s string) map[string]any {
		return map[string]any{"type": "object", "required": []any{"status"}, "properties": map[string]any{"status": map[string]any{"const": s}}}
	}
	return map[string]any{"token": token, "enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "hook", "type": "post", "outcomes": []any{
			map[string]any{"name": "done", "type": "success", "schema": status("done"), "output_path": "$.result"},
			map[string]any{"name": "failed", "type": "failure", "schema": status("failed"), "error_path": "$.code", "cause_path": "$.message"},
		}},
		map[string]any{"name": "param", "type": "success", "output": map[string]any{"approver": "$who", "note": "$$ref: ${ref}"},
			"response": map[string]any{"redirect": "https://example.com/done?by=$who"}},
	}}
}

// send makes the event a request with a body (base64-encoded if b64, as
// API Gateway may send it).
func send(method, contentType, body string, b64 bool) func(ev *events.APIGatewayProxyRequest) {
	return func(ev *events.APIGatewayProxyRequest) {
		ev.HTTPMethod, ev.Body = method, body
		if contentType != "" {
			setHeader(ev, "Content-Type", contentType)
		}
		if b64 {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
		}
	}
}

// query adds parameters to the event's query.
func query(params url.Values) func(ev *events.APIGatewayProxyRequest) {
	return func(ev *events.APIGatewayProxyRequest) {
		q := url.Values(ev.MultiValueQueryStringParameters)
		for k, vs := range params {
			q[k] = vs
		}
		setQuery(ev, q)
	}
}

func TestProxyRespond(t *testing.T) {
	type want struct {
		status      int
		contentType string
		header      map[string]string // more headers
		body        any               // the JSON body, with "<tid>" for the transaction id
		code        string            // or the error body's code
		bodyPrefix  string            // or a non-JSON body's start
		task        *servicetest.Task
		calls       int // requests that reached Step Functions
	}
	open := &servicetest.Task{Status: "open"}
	approved := &servicetest.Task{Status: "succeeded", Output: `{"approved":true}`}
	sent := func(name, typ string) any {
		return map[string]any{"transaction_id": "<tid>", "action": map[string]any{"name": name, "type": typ}}
	}
	tests := []struct {
		name   string
		req    func(token string) map[string]any // approveRequest when nil
		action string
		mutate func(ev *events.APIGatewayProxyRequest)
		before int // clicks before the one checked
		want   want
	}{
		{
			name: "GET success", action: "approve",
			want: want{status: 200, contentType: "application/json", body: sent("approve", "success"),
				task: approved, calls: 1},
		},
		{
			name: "GET failure", action: "reject",
			want: want{status: 200, contentType: "application/json", body: sent("reject", "failure"),
				task: &servicetest.Task{Status: "failed", Error: "Rejected", Cause: "Rejected by a test"}, calls: 1},
		},
		{
			name: "heartbeat twice", action: "ping", before: 1,
			want: want{status: 200, contentType: "application/json", body: sent("ping", "heartbeat"),
				task: &servicetest.Task{Status: "open", Heartbeats: 2}, calls: 2},
		},
		{
			// A browser's GET (or a mail scanner's) gets the confirmation
			// page and leaves the task open.
			name: "Accept text/html", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				setHeader(ev, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
			},
			want: want{status: 200, contentType: "text/html; charset=utf-8", bodyPrefix: "<!doctype html>", task: open, calls: 0},
		},
		{
			// The confirmation page's button, through API Gateway (which
			// may base64-encode a form body).
			name: "browser form POST", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				ev.HTTPMethod = http.MethodPost
				setHeader(ev, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
				setHeader(ev, "Content-Type", "application/x-www-form-urlencoded")
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(nil), true
			},
			want: want{status: 200, contentType: "text/html; charset=utf-8", bodyPrefix: "<!doctype html>",
				task: approved, calls: 1},
		},
		{
			name: "HEAD has no side effect", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.HTTPMethod = http.MethodHead },
			want:   want{status: 200, contentType: "application/json", task: open},
		},
		{
			name: "second click", action: "approve", before: 1,
			want: want{status: 400, contentType: "application/json",
				body: map[string]any{"error": "StepFunctionsError", "message": "<message>", "transaction_id": "<tid>",
					"step_functions_error": "TaskTimedOut"},
				task: approved, calls: 2},
		},
		{
			name: "tampered data", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				q := url.Values(ev.MultiValueQueryStringParameters)
				data := []byte(q.Get("data"))
				i := len(data) / 2
				if data[i] == 'A' {
					data[i] = 'B'
				} else {
					data[i] = 'A'
				}
				q.Set("data", string(data))
				setQuery(ev, q)
			},
			want: want{status: 400, contentType: "application/json",
				body: map[string]any{"error": "InvalidPayload", "message": "<message>"}, task: open},
		},
		{
			name: "multi-value query parameters fill the output", action: "approve",
			req: func(token string) map[string]any {
				return map[string]any{
					"token": token, "enable_output_parameters": true,
					"actions": []any{map[string]any{"name": "approve", "type": "success",
						"output": map[string]any{"approved": true, "by": "${approver}", "note": "$note"}}},
				}
			},
			mutate: func(ev *events.APIGatewayProxyRequest) {
				q := url.Values(ev.MultiValueQueryStringParameters)
				q["approver"] = []string{"alice", "bob"}
				q["note"] = []string{"ok & done"}
				setQuery(ev, q)
			},
			want: want{status: 200, contentType: "application/json",
				body:  sent("approve", "success"),
				task:  &servicetest.Task{Status: "succeeded", Output: `{"approved":true,"by":"alice","note":"ok & done"}`},
				calls: 1},
		},
		{
			name: "two data parameters", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				q := url.Values(ev.MultiValueQueryStringParameters)
				q.Add("data", q.Get("data"))
				setQuery(ev, q)
			},
			want: want{status: 400, contentType: "application/json",
				body: map[string]any{"error": "InvalidPayload", "message": "<message>"}, task: open},
		},
		{
			name: "single-value query parameters only", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.MultiValueQueryStringParameters = nil },
			want: want{status: 200, contentType: "application/json", body: sent("approve", "success"),
				task: approved, calls: 1},
		},
		{
			name: "proxy resource with the stage in the path", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) { ev.Resource, ev.Path = "/{proxy+}", "/v1/respond" },
			want: want{status: 200, contentType: "application/json", body: sent("approve", "success"),
				task: approved, calls: 1},
		},
		// Post actions and output parameters through API Gateway.
		{name: "post action", req: hooks, action: "hook",
			mutate: send("POST", "application/json", `{"status": "done", "result": {"id": "r-1", "ok": true}}`, false),
			want: want{status: 200, contentType: "application/json", body: sent("hook", "post"),
				task: &servicetest.Task{Status: "succeeded", Output: `[{"id":"r-1","ok":true}]`}, calls: 1}},
		{name: "post action, failure, base64 body, charset", req: hooks, action: "hook",
			mutate: send("POST", "application/json; charset=utf-8", `{"status": "failed", "code": "E7", "message": "quota exceeded ✗"}`, true),
			want: want{status: 200, contentType: "application/json", body: sent("hook", "post"),
				task: &servicetest.Task{Status: "failed", Error: "E7", Cause: "quota exceeded ✗"}, calls: 1}},
		{name: "post action, no match", req: hooks, action: "hook", mutate: send("POST", "application/json", `{"status": "unknown"}`, false),
			want: want{status: 400, contentType: "application/json", code: callbackurls.CodeInvalidPostActionBody, task: open}},
		{name: "post action, bad JSON", req: hooks, action: "hook", mutate: send("POST", "application/json", `{"status":`, false),
			want: want{status: 400, contentType: "application/json", code: callbackurls.CodeInvalidPostActionBody, task: open}},
		{name: "post action, not JSON", req: hooks, action: "hook", mutate: send("POST", "text/plain", `{"status": "done"}`, false),
			want: want{status: 415, contentType: "application/json", code: callbackurls.CodeUnsupportedMedia, task: open}},
		{name: "post action, too large", req: hooks, action: "hook",
			mutate: send("POST", "application/json", `"`+strings.Repeat("x", callbackurls.MaxPostBodyBytes)+`"`, false),
			want:   want{status: 413, contentType: "application/json", code: callbackurls.CodeBodyTooLarge, task: open}},
		{name: "post action, GET", req: hooks, action: "hook",
			want: want{status: 405, contentType: "application/json", header: map[string]string{"Allow": "POST"},
				code: callbackurls.CodeMethodNotAllowed, task: open}},
		{name: "output parameters", req: hooks, action: "param", mutate: query(url.Values{"who": {"Zoë"}, "ref": {"#17 — more"}}),
			want: want{status: 303, header: map[string]string{"Location": "https://example.com/done?by=Zo%C3%AB"},
				task: &servicetest.Task{Status: "succeeded", Output: `{"approver":"Zoë","note":"$ref: #17 — more"}`}, calls: 1}},
		{name: "output parameters, one missing", req: hooks, action: "param", mutate: query(url.Values{"who": {"Zoë"}}),
			want: want{status: 400, contentType: "application/json", code: callbackurls.CodeOutputFormatting, task: open}},
		{
			name: "POST with a base64-encoded body", action: "approve",
			mutate: func(ev *events.APIGatewayProxyRequest) {
				ev.HTTPMethod = http.MethodPost
				setHeader(ev, "Content-Type", "application/json")
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(`{"from":"webhook"}`)), true
			},
			want: want{status: 200, contentType: "application/json", body: sent("approve", "success"),
				task: approved, calls: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, true, config.Config{EnableOutputParameters: true, EnablePostActions: true})
			token := s.NewTask(t)
			req := approveRequest(token)
			if tt.req != nil {
				req = tt.req(token)
			}
			created := createDirect(t, s, req)
			ev := respondEvent(t, created.URLs[tt.action])
			if tt.mutate != nil {
				tt.mutate(&ev)
			}

			var resp events.APIGatewayProxyResponse
			for range tt.before + 1 {
				var err error
				if resp, err = s.ProxyFunction()(t.Context(), ev); err != nil {
					t.Fatalf("Lambda error %v; want an HTTP response", err)
				}
			}

			if resp.StatusCode != tt.want.status {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.want.status, resp.Body)
			}
			header := map[string]string{"Content-Type": tt.want.contentType, "Cache-Control": "no-store"}
			for k, v := range tt.want.header {
				header[k] = v
			}
			checkHeaders(t, resp, header)
			if resp.IsBase64Encoded {
				t.Errorf("a text response is base64-encoded")
			}
			switch {
			case ev.HTTPMethod == http.MethodHead:
				if resp.Body != "" {
					t.Errorf("HEAD response has a body: %q", resp.Body)
				}
			case tt.want.body != nil:
				got := decoded(t, resp.Body)
				if m, ok := got.(map[string]any); ok {
					if m["transaction_id"] == created.TransactionID {
						m["transaction_id"] = "<tid>"
					}
					if s, _ := m["message"].(string); s != "" {
						m["message"] = "<message>"
					}
				}
				if diff := cmp.Diff(tt.want.body, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			case tt.want.code != "":
				if got := errorShape(t, resp.Body)["error"]; got != tt.want.code {
					t.Errorf("error %v, want %s: %.300s", got, tt.want.code, resp.Body)
				}
			default:
				if !strings.HasPrefix(strings.ToLower(resp.Body), tt.want.bodyPrefix) {
					t.Errorf("body starts %.60q, want %q", resp.Body, tt.want.bodyPrefix)
				}
			}
			if tt.want.task != nil {
				if diff := cmp.Diff(*tt.want.task, s.Task(t, token)); diff != "" {
					t.Errorf("task (-want +got):\n%s", diff)
				}
			}
			if tt.want.calls >= 0 {
				if got := s.Calls(); got != tt.want.calls {
					t.Errorf("%d calls reached Step Functions, want %d", got, tt.want.calls)
				}
			}
		})
	}
}

// TestProxyAdapter checks the event and response conversions with plain
// handlers: it needs no service and starts nothing.
func TestProxyAdapter(t *testing.T) {
	t.Run("request", func(t *testing.T) {
		type seen struct {
			Method, Path, RawQuery, Host, RemoteAddr, RequestURI string
			Query                                                url.Values
			Accept, XForwardedFor                                []string
			ContentLength                                        int64
			Body                                                 string
		}
		var got seen
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Method, got.Path, got.RawQuery = r.Method, r.URL.Path, r.URL.RawQuery
			got.Host, got.RemoteAddr, got.RequestURI = r.Host, r.RemoteAddr, r.RequestURI
			got.Query = r.URL.Query()
			got.Accept, got.XForwardedFor = r.Header.Values("Accept"), r.Header.Values("X-Forwarded-For")
			got.ContentLength = r.ContentLength
			b, _ := io.ReadAll(r.Body)
			got.Body = string(b)
		})
		ev := loadEvent(t, "get-respond.json")
		ev.HTTPMethod = http.MethodPost
		ev.Resource, ev.Path = "/{proxy+}", "/v1/respond"
		ev.MultiValueHeaders["Accept"] = []string{"text/html", "application/json"}
		setQuery(&ev, url.Values{"a": {"1", "2"}, "b": {"x y&z"}})
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("héllo")), true

		resp, err := lambdaapi.ProxyHandler(h, discard)(t.Context(), ev)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, error %v", resp.StatusCode, err)
		}
		want := seen{
			Method: "POST", Path: "/respond", RawQuery: "a=1&a=2&b=x+y%26z",
			Host: "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", RemoteAddr: "81.2.69.160:0",
			RequestURI: "/respond?a=1&a=2&b=x+y%26z",
			Query:      url.Values{"a": {"1", "2"}, "b": {"x y&z"}},
			Accept:     []string{"text/html", "application/json"}, XForwardedFor: []string{"81.2.69.160, 64.252.110.139"},
			ContentLength: 6, Body: "héllo",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
	})

	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    events.APIGatewayProxyResponse
	}{
		{
			name: "text with multi-value headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2")
				w.WriteHeader(http.StatusCreated)
				w.Header().Set("X-Late", "ignored, as net/http does")
				_, _ = io.WriteString(w, "made")
			},
			want: events.APIGatewayProxyResponse{
				StatusCode: 201,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8", "Set-Cookie": "a=1"},
				MultiValueHeaders: map[string][]string{
					"Content-Type": {"text/plain; charset=utf-8"}, "Set-Cookie": {"a=1", "b=2"},
				},
				Body: "made",
			},
		},
		{
			name: "binary is base64",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0})
			},
			want: events.APIGatewayProxyResponse{
				StatusCode:        200,
				Headers:           map[string]string{"Content-Type": "image/png"},
				MultiValueHeaders: map[string][]string{"Content-Type": {"image/png"}},
				Body:              base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0}),
				IsBase64Encoded:   true,
			},
		},
		{
			name: "problem+json is text",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusTeapot)
				_, _ = io.WriteString(w, `{"title":"short and stout"}`)
			},
			want: events.APIGatewayProxyResponse{
				StatusCode:        418,
				Headers:           map[string]string{"Content-Type": "application/problem+json"},
				MultiValueHeaders: map[string][]string{"Content-Type": {"application/problem+json"}},
				Body:              `{"title":"short and stout"}`,
			},
		},
		{
			name: "no content type is sniffed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "plain words")
			},
			want: events.APIGatewayProxyResponse{
				StatusCode:        200,
				Headers:           map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				MultiValueHeaders: map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}},
				Body:              "plain words",
			},
		},
		{
			name: "nothing written", handler: func(http.ResponseWriter, *http.Request) {},
			want: events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}},
		},
		{
			name: "HEAD drops the body", method: http.MethodHead,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"ok":true}`)
			},
			want: events.APIGatewayProxyResponse{
				StatusCode:        200,
				Headers:           map[string]string{"Content-Type": "application/json"},
				MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
			},
		},
		{
			name:    "panic is a 500, not a Lambda error",
			handler: func(http.ResponseWriter, *http.Request) { panic("boom") },
			want: events.APIGatewayProxyResponse{
				StatusCode: 500,
				Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
				MultiValueHeaders: map[string][]string{
					"Content-Type": {"application/json"}, "Cache-Control": {"no-store"},
				},
				Body: `{"error":"ServiceError","message":"internal error"}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t, "get-respond.json")
			if tt.method != "" {
				ev.HTTPMethod = tt.method
			}
			// The expected panic's stack goes to the logger given, not
			// to the test output.
			got, err := lambdaapi.ProxyHandler(tt.handler, discard)(t.Context(), ev)
			if err != nil {
				t.Fatalf("Lambda error %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProxyHealthz runs the real handler for the one route that needs no
// service state: HEAD and GET /healthz through a {proxy+} resource.
func TestProxyHealthz(t *testing.T) {
	h := httpapi.NewRouter(discard, false)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		ev := loadEvent(t, "get-respond.json")
		ev.HTTPMethod, ev.Resource, ev.Path = method, "/{proxy+}", "/v1/healthz"
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = nil, nil
		resp, err := lambdaapi.ProxyHandler(h, discard)(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		wantBody := `{"status":"ok"}`
		if method == http.MethodHead {
			wantBody = ""
		}
		if resp.StatusCode != 200 || resp.Body != wantBody {
			t.Errorf("%s /healthz = %d %q, want 200 %q", method, resp.StatusCode, resp.Body, wantBody)
		}
	}
}

// TestCallbackHandlerDirectInvoke: ProcessCallback answers an event that is
// not a proxy event with the contract's error body, not a Lambda error,
// and still serves proxy events.
func TestCallbackHandlerDirectInvoke(t *testing.T) {
	var logs bytes.Buffer
	h := lambdaapi.CallbackHandler(httpapi.NewRouter(discard, false), slog.New(slog.NewJSONHandler(&logs, nil)))
	out, err := h(t.Context(), json.RawMessage(`{"hello":"world"}`))
	if err != nil {
		t.Fatalf("Lambda error %v", err)
	}
	body := errorShape(t, mustJSON(t, out))
	if diff := cmp.Diff(map[string]any{"error": "InvalidJSON", "message": "<message>"}, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), `"operation":"ProcessCallback"`) {
		t.Errorf("no log line for the direct invoke: %s", logs.String())
	}

	ev := loadEvent(t, "get-respond.json")
	ev.Resource, ev.Path = "/{proxy+}", "/v1/healthz"
	raw, _ := json.Marshal(ev)
	out, err = h(t.Context(), raw)
	if resp, ok := out.(events.APIGatewayProxyResponse); err != nil || !ok || resp.StatusCode != 200 {
		t.Errorf("proxy event: %#v, %v", out, err)
	}
}

// TestProxyPanicLogs: a panic goes to the logger the adapter was given, so
// that VERBOSE and the log format govern it like every other line.
func TestProxyPanicLogs(t *testing.T) {
	var logs bytes.Buffer
	h := lambdaapi.ProxyHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		slog.New(slog.NewJSONHandler(&logs, nil)))
	resp, err := h(t.Context(), loadEvent(t, "get-respond.json"))
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("status %d, error %v", resp.StatusCode, err)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Errorf("the panic is not in the given logger: %q", logs.String())
	}
}

// TestEventFrom: the handler behind the adapter sees the event, and
// Gateway names its stage.
func TestEventFrom(t *testing.T) {
	var got callbackurls.Gateway
	var id string
	h := lambdaapi.ProxyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = lambdaapi.Gateway(r)
		if ev, ok := lambdaapi.EventFrom(r.Context()); ok {
			id = ev.RequestContext.RequestID
		}
	}), discard)
	ev := loadEvent(t, "get-respond.json")
	if _, err := h(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	want := callbackurls.Gateway{APIID: ev.RequestContext.APIID, Stage: ev.RequestContext.Stage}
	if got != want || want.APIID == "" || id != ev.RequestContext.RequestID {
		t.Errorf("Gateway %+v, want %+v; request id %q", got, want, id)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if g := lambdaapi.Gateway(r); g != (callbackurls.Gateway{}) {
		t.Errorf("outside Lambda: %+v", g)
	}
}
