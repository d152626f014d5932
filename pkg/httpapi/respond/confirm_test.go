package respond_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
)

// TestClientsOnApproveURL sends every client's GET to a fresh approve URL:
// people and robots get the confirmation page and the task stays open, API
// clients act at once as in the reference. Scanners' HEADs never act
// either.
func TestClientsOnApproveURL(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	for _, c := range servicetest.Clients {
		t.Run(c.Name, func(t *testing.T) {
			token := e.NewTask(t)
			u := e.CreateURLs(t, token, servicetest.Approve, servicetest.Reject)
			header := c.Header()
			for _, action := range []string{"approve", "reject"} {
				if !c.Page {
					break
				}
				if c.Scanner {
					head := e.Do(t, http.MethodHead, u[action], header, "")
					if head.Status != 200 || head.Body != "" {
						t.Errorf("HEAD %s: %d %q", action, head.Status, head.Body)
					}
				}
				resp := e.Do(t, http.MethodGet, u[action], header, "")
				if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
					!strings.Contains(resp.Body, `<form method="post"`) {
					t.Errorf("GET %s: %d %s, want the confirmation page", action, resp.Status, resp.Header.Get("Content-Type"))
				}
				servicetest.CheckPageHeaders(t, resp.Header, true)
				if got := resp.Header.Get(respond.ConfirmationHeader); got != "required" {
					t.Errorf("%s: %q, want required", respond.ConfirmationHeader, got)
				}
			}
			if c.Page {
				if got := e.Task(t, token); got != (servicetest.Task{Status: "open"}) {
					t.Errorf("task %+v after the confirmation pages, want open", got)
				}
				return
			}
			resp := e.Do(t, http.MethodGet, u["approve"], header, "")
			if resp.Status != 200 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get(respond.ConfirmationHeader) != "" {
				t.Errorf("GET: %d %s %s, want the API's answer", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
			}
			if got := e.Task(t, token); got.Status != "succeeded" {
				t.Errorf("task %+v, want succeeded", got)
			}
		})
	}
}

// TestConfirmationSettings covers the per-action confirm and the
// deployment's one-click default, for a browser's GET.
func TestConfirmationSettings(t *testing.T) {
	tests := []struct {
		name     string
		oneClick bool
		action   map[string]any
		confirm  bool
	}{
		{"success confirms", false, servicetest.Approve, true},
		{"failure confirms", false, servicetest.Reject, true},
		{"heartbeat acts", false, servicetest.Ping, false},
		{"confirm false acts", false, map[string]any{"name": "a", "type": "success", "output": 1, "confirm": false}, false},
		{"heartbeat with confirm true", false, map[string]any{"name": "a", "type": "heartbeat", "confirm": true}, true},
		{"one-click deployment: success acts", true, servicetest.Approve, false},
		{"one-click deployment: confirm true", true, map[string]any{"name": "a", "type": "failure", "confirm": true}, true},
		{"one-click deployment: a form still asks", true, map[string]any{"name": "a", "type": "failure",
			"input": map[string]any{"type": "object", "properties": map[string]any{"why": map[string]any{"type": "string"}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{Settings: config.Config{
				BrowserGET: map[bool]callbackurls.BrowserGET{true: callbackurls.ActOnBrowserGET}[tt.oneClick]}})
			name := tt.action["name"].(string)
			resp := e.Do(t, http.MethodGet, e.CreateURLs(t, e.NewTask(t), tt.action)[name], servicetest.Browser(), "")
			if got := strings.Contains(resp.Body, "Please confirm"); got != tt.confirm || resp.Status != 200 {
				t.Errorf("%d, confirmation page %t, want %t:\n%s", resp.Status, got, tt.confirm, resp.Body)
			}
			if calls := e.Calls(); calls != map[bool]int{false: 1}[tt.confirm] {
				t.Errorf("%d Step Functions calls", calls)
			}
		})
	}
}

// commentForm is a rejection with an optional comment and a required
// reason.
var commentForm = map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "By mail",
	"input": map[string]any{"type": "object", "required": []any{"reason"}, "properties": map[string]any{
		"reason":  map[string]any{"type": "string", "enum": []any{"budget", "scope", "timing"}, "title": "Reason"},
		"comment": map[string]any{"type": "string", "format": "multiline", "maxLength": 50},
	}}}

func TestFormPosts(t *testing.T) {
	browser := servicetest.BrowserForm()
	api := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		header  map[string]string
		method  string
		body    string
		status  int
		bodyHas []string
		task    servicetest.Task
	}{
		{name: "form", header: browser, body: "reason=scope&comment=Too+big%0D%0Afor+Q3", status: 200,
			bodyHas: []string{"Rejected", "<dd>scope</dd>", "Too big\nfor Q3"},
			task:    servicetest.Task{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"comment":"Too big\nfor Q3","reason":"scope"}}`}},
		{name: "form, missing reason", header: browser, body: "comment=%3Cb%3Ehi%3C%2Fb%3E", status: 400,
			bodyHas: []string{`role="alert"`, "Reason: Please fill in this field.", `aria-invalid="true"`, "&lt;b&gt;hi&lt;/b&gt;</textarea>"},
			task:    servicetest.Task{Status: "open"}},
		{name: "form, comment too long", header: browser, body: "reason=budget&comment=" + strings.Repeat("x", 51), status: 400,
			bodyHas: []string{"Use at most 50 characters (this has 51)."}, task: servicetest.Task{Status: "open"}},
		{name: "form, malformed body", header: browser, body: "reason=%zz", status: 400,
			bodyHas: []string{"Please fill in this field."}, task: servicetest.Task{Status: "open"}},
		{name: "JSON", header: api, body: `{"reason":"timing"}`, status: 200,
			task: servicetest.Task{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"reason":"timing"}}`}},
		{name: "JSON, invalid", header: api, body: `{"reason":"other"}`, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`, "reason: Choose one of the options."}, task: servicetest.Task{Status: "open"}},
		{name: "JSON, unknown field", header: api, body: `{"reason":"timing","coment":"x"}`, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`, `the form has no field \"coment\"`}, task: servicetest.Task{Status: "open"}},
		{name: "API GET without values", method: http.MethodGet, status: 400,
			bodyHas: []string{`"error":"InvalidInput"`}, task: servicetest.Task{Status: "open"}},
		{name: "form POSTed by an API client", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "reason=budget", status: 200, task: servicetest.Task{Status: "failed", Error: "Rejected", Cause: `{"cause":"By mail","input":{"reason":"budget"}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{})
			token := e.NewTask(t)
			u := e.CreateURLs(t, token, commentForm)["reject"]
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			resp := e.Do(t, method, u, tt.header, tt.body)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
			for _, s := range tt.bodyHas {
				if !strings.Contains(resp.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, resp.Body)
				}
			}
			if diff := cmp.Diff(tt.task, e.Task(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorPages checks the wording of each kind of error a person meets.
func TestErrorPages(t *testing.T) {
	tests := []struct {
		name    string
		target  func(e *servicetest.Service, u map[string]string) (method, target string)
		before  func(e *servicetest.Service)
		status  int
		heading string
	}{
		{"damaged", func(e *servicetest.Service, u map[string]string) (string, string) {
			return http.MethodGet, servicetest.SetData(func(d string) string { return servicetest.Flip(d, len(d)/2) })(t, servicetest.PathQuery(t, u["approve"]))
		}, nil, 400, "This link is damaged"},
		{"mismatched", func(e *servicetest.Service, u map[string]string) (string, string) {
			return http.MethodGet, servicetest.EditQuery(func(q url.Values) { q.Set("action", "reject") })(t, servicetest.PathQuery(t, u["approve"]))
		}, nil, 400, "This link is damaged"},
		{"already answered", func(e *servicetest.Service, u map[string]string) (string, string) {
			e.Click(t, u["reject"], nil)
			return http.MethodPost, u["approve"]
		}, nil, 400, "This request was already answered"},
		{"unknown task", func(e *servicetest.Service, u map[string]string) (string, string) { return http.MethodPost, u["ghost"] },
			nil, 400, "This request is closed"},
		{"unavailable", func(e *servicetest.Service, u map[string]string) (string, string) { return http.MethodGet, u["ping"] },
			func(e *servicetest.Service) { e.FailNext(503, "ServiceUnavailable") }, 503, "Temporarily unavailable"},
		{"post action in a browser", func(e *servicetest.Service, u map[string]string) (string, string) { return http.MethodGet, u["hook"] },
			nil, 405, "This link is for another system"},
		{"wrong method", func(e *servicetest.Service, u map[string]string) (string, string) {
			return http.MethodPut, u["approve"]
		},
			nil, 405, "This link did not work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{Settings: config.Config{EnablePostActions: true}, PostActions: callbackurlstest.PostActions{}})
			u := e.CreateURLs(t, e.NewTask(t), servicetest.Approve, servicetest.Reject, servicetest.Ping,
				map[string]any{"name": "hook", "type": "post", "outcomes": []any{}})
			u["ghost"] = e.CreateURLs(t, "no-such-task", servicetest.Approve)["approve"]
			if tt.before != nil {
				tt.before(e)
			}
			method, target := tt.target(e, u)
			resp := e.Do(t, method, target, servicetest.Browser(), "")
			if resp.Status != tt.status {
				t.Errorf("status %d, want %d", resp.Status, tt.status)
			}
			if !strings.Contains(resp.Body, "<h1>"+tt.heading+"</h1>") {
				t.Errorf("heading is not %q:\n%s", tt.heading, resp.Body)
			}
			servicetest.CheckPageHeaders(t, resp.Header, true)
		})
	}
}

// TestPageSizes logs the size of each page (a measurement, not a limit
// that matters to a browser; it keeps the pages honest).
func TestPageSizes(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	c := e.Create(t, expenseRequest(e.NewTask(t)))
	browser := servicetest.Browser()
	sizes := []struct {
		name string
		resp *servicetest.Response
	}{
		{"confirmation", e.Do(t, http.MethodGet, c.URLs["approve"], browser, "")},
		{"confirmation with a comment form", e.Do(t, http.MethodGet, c.URLs["reject"], browser, "")},
		{"result", e.Do(t, http.MethodPost, c.URLs["approve"], browser, "")},
		{"already answered", e.Do(t, http.MethodPost, c.URLs["approve"], browser, "")},
	}
	for _, s := range sizes {
		t.Logf("%-33s %5d bytes (%d)", s.name, len(s.resp.Body), s.resp.Status)
		if len(s.resp.Body) > 16<<10 {
			t.Errorf("%s: %d bytes", s.name, len(s.resp.Body))
		}
	}
}

// TestPageLogs checks the log lines of the confirmation step: the GET is
// logged as a confirmation, and a form's values stay out of the log unless
// it is verbose.
func TestPageLogs(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("verbose=%t", verbose), func(t *testing.T) {
			e := servicetest.Start(t, servicetest.Options{Settings: config.Config{Verbose: verbose}})
			token := e.NewTask(t)
			target := servicetest.PathQuery(t, e.CreateURLs(t, token, commentForm)["reject"])

			e.Logs.Reset()
			e.Serve(http.MethodGet, target, servicetest.Browser(), "")
			lines := e.LogLines(t)
			if got := lines[len(lines)-1]; got["outcome"] != "confirmation" || got["status"] != 200.0 {
				t.Errorf("GET log line %v", got)
			}

			e.Logs.Reset()
			secret := "my-private-remark"
			if resp := e.Serve(http.MethodPost, target, servicetest.BrowserForm(), "reason=budget&comment="+secret); resp.Status != 200 {
				t.Fatalf("POST: %d %s", resp.Status, resp.Body)
			}
			raw := e.Logs.String()
			lines = e.LogLines(t)
			if got := lines[len(lines)-1]; got["outcome"] != "sent" {
				t.Errorf("POST log line %v", got)
			}
			if strings.Contains(raw, secret) != verbose {
				t.Errorf("the form's value in the log: %t, verbose: %t\n%s", strings.Contains(raw, secret), verbose, raw)
			}
			if !verbose && strings.Contains(raw, token) {
				t.Errorf("the log holds the token")
			}
		})
	}
}

// FuzzFormPost sends random form bodies to an action with a form, as a
// browser: never a 5xx, never the token, and the task is either untouched
// or failed with the action's error.
func FuzzFormPost(f *testing.F) {
	f.Add("reason=budget&comment=ok")
	f.Add("reason=%zz&comment=%ff%fe")
	f.Add("reason=scope&comment=" + strings.Repeat("x", 60))
	f.Add("comment=a&comment=b&reason=timing&reason=budget")
	e := servicetest.Start(f, servicetest.Options{NoLogs: true})
	browser := servicetest.BrowserForm()
	f.Fuzz(func(t *testing.T, body string) {
		token := e.NewTask(t)
		target := servicetest.PathQuery(t, e.CreateURLs(t, token, commentForm)["reject"])
		resp := e.Serve(http.MethodPost, target, browser, body)
		if resp.Status >= 500 || strings.Contains(resp.Body, token) {
			t.Fatalf("%q: %d %s", body, resp.Status, resp.Body)
		}
		got := e.Task(t, token)
		switch {
		case resp.Status == 200 && got.Status == "failed" && got.Error == "Rejected":
		case resp.Status == 400 && got.Status == "open" && strings.Contains(resp.Body, `role="alert"`):
		default:
			t.Fatalf("%q: %d with task %+v", body, resp.Status, got)
		}
	})
}

// TestConfirmFormControls checks the control each kind of property gets,
// with its constraints, default, label and help.
func TestConfirmFormControls(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	input := map[string]any{"type": "object", "required": []any{"env", "count"}, "properties": map[string]any{
		"note":   map[string]any{"type": "string", "maxLength": 80, "minLength": 2, "description": "A short note."},
		"why":    map[string]any{"type": "string", "format": "multiline", "default": "Because"},
		"env":    map[string]any{"type": "string", "enum": []any{"a", "b", "c", "d", "e", "f"}, "default": "c", "title": "Environment"},
		"size":   map[string]any{"type": "string", "enum": []any{"small", "large"}},
		"notify": map[string]any{"type": "boolean", "default": true},
		"count":  map[string]any{"type": "integer", "minimum": 1, "maximum": 9},
		"ratio":  map[string]any{"type": "number", "default": 0.5},
	}}
	u := e.CreateURLs(t, e.NewTask(t), map[string]any{"name": "go", "type": "success", "output": map[string]any{}, "input": input})["go"]
	resp := e.Do(t, http.MethodGet, u, map[string]string{"Accept": acceptChrome}, "")
	for _, want := range []string{
		`<label for="f-note">Note <span class="opt">(optional)</span></label>`,
		`<p class="help" id="f-note-help">A short note.</p>`,
		`<input type="text" id="f-note" name="note" value="" maxlength="80" minlength="2" aria-describedby="f-note-help">`,
		`<textarea id="f-why" name="why" rows="5" maxlength="4000">Because</textarea>`,
		`<select id="f-env" name="env" required>`,
		`<option value="c" selected>c</option>`,
		`<legend id="f-size-legend">Size <span class="opt">(optional)</span></legend>`,
		`<input type="radio" id="f-size" name="size" value="small">`,
		`<input type="radio" id="f-size-1" name="size" value="large">`,
		`<input type="checkbox" id="f-notify" name="notify" value="true" checked>`,
		`<input type="number" id="f-count" name="count" value="" step="1" inputmode="numeric" min="1" max="9" required>`,
		`<input type="number" id="f-ratio" name="ratio" value="0.5" step="any" inputmode="decimal">`,
		`<button type="submit" class="button approve">Go</button>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(resp.Body)
	}
}

// TestExpiryOffsetOnPages: a link made with "+02:00" says when it expires
// in UTC and in that offset, on the confirmation page and once expired.
func TestExpiryOffsetOnPages(t *testing.T) {
	e := servicetest.Start(t, servicetest.Options{})
	browser := servicetest.Browser()
	c := e.Create(t, map[string]any{"token": e.NewTask(t), "expiration": "2030-01-02T00:00:00+02:00", "actions": []any{servicetest.Approve}})
	want := "1 January 2030 at 22:00 UTC (2 January 2030 at 00:00, UTC+02:00)"
	confirm := e.Do(t, http.MethodGet, c.URLs["approve"], browser, "")
	if !strings.Contains(html.UnescapeString(confirm.Body), "This link works until "+want+".") {
		t.Errorf("the confirmation page does not say %q:\n%s", want, confirm.Body)
	}
	e.Clock.Set(servicetest.Epoch.Add(48 * time.Hour))
	expired := e.Do(t, http.MethodGet, c.URLs["approve"], browser, "")
	if expired.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(expired.Body), "It stopped working on "+want+".") {
		t.Errorf("the expired page (%d) does not say %q:\n%s", expired.Status, want, expired.Body)
	}
}

// TestSettingChangedPage: a link made with output parameters, opened by a
// person after the deployment turned them off, says what to do in the
// person's words; programs still get the contract's code.
func TestSettingChangedPage(t *testing.T) {
	off := servicetest.Start(t, servicetest.Options{})
	on := off.Redeploy(t, servicetest.Options{Settings: config.Config{EnableOutputParameters: true}})
	token := off.NewTask(t)
	c := on.Create(t, map[string]any{"token": token, "enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{"by": "$by"}}}})
	target := servicetest.PathQuery(t, c.URLs["approve"]) + "&by=ann"
	page := off.Do(t, http.MethodGet, target, servicetest.Browser(), "")
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "<h1>This link no longer works</h1>") ||
		!strings.Contains(page.Body, "ask the sender for a new link") || strings.Contains(page.Body, "deployment") {
		t.Errorf("%d:\n%s", page.Status, page.Body)
	}
	api := off.Do(t, http.MethodGet, target, nil, "")
	if api.Status != http.StatusBadRequest || api.JSON(t)["error"] != callbackurls.CodeParametersDisabled {
		t.Errorf("API: %d %s", api.Status, api.Body)
	}
	if got := off.Task(t, token); got.Status != "open" {
		t.Errorf("task %+v", got)
	}
}
