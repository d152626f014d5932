package respond_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// TestOutputParameters fills actions' placeholders from their URLs' query
// parameters.
func TestOutputParameters(t *testing.T) {
	done := succeeded(`"done"`)
	spec := func(response map[string]any) map[string]any {
		return map[string]any{"type": "success", "output": "done", "response": response}
	}
	tests := []struct {
		name         string
		action       map[string]any
		notRequested bool   // the request does not enable parameters
		method       string // GET when empty
		query        url.Values
		accept       string
		status       int
		code         string
		task         servicetest.Task  // open when empty
		header       map[string]string // of the answer
		answer       string            // the answer's exact body
	}{
		{name: "$name and ${name} in output values, $$ in keys",
			action: map[string]any{"type": "success", "output": map[string]any{"who": "$who", "$$id": "id-${id}x", "n": 5}},
			query:  url.Values{"who": {"alice"}, "id": {"42"}}, status: 200, task: succeeded(`{"$id":"id-42x","n":5,"who":"alice"}`)},
		{name: "values are strings, even numbers",
			action: map[string]any{"type": "success", "output": map[string]any{"amount": "$amount", "ok": "$ok"}},
			query:  url.Values{"amount": {"12.50"}, "ok": {"true"}}, status: 200, task: succeeded(`{"amount":"12.50","ok":"true"}`)},
		{name: "a string output",
			action: map[string]any{"type": "success", "output": "approved by $who"},
			query:  url.Values{"who": {"bob"}}, status: 200, task: succeeded(`"approved by bob"`)},
		{name: "$$ is a literal $",
			action: map[string]any{"type": "success", "output": map[string]any{"price": "$$${amount} ($$amount)"}},
			query:  url.Values{"amount": {"5"}}, status: 200, task: succeeded(`{"price":"$5 ($amount)"}`)},
		{name: "non-ASCII values, percent-encoded in the URL",
			action: map[string]any{"type": "success", "output": map[string]any{"who": "$who", "note": "${note}"}},
			query:  url.Values{"who": {"Zoë Ångström"}, "note": {"承認 ✅ \"quoted\" & <tagged>"}}, status: 200, task: succeeded(`{"note":"承認 ✅ \"quoted\" & <tagged>","who":"Zoë Ångström"}`)},
		{name: "JSON in a value stays a string",
			action: map[string]any{"type": "success", "output": map[string]any{"v": "$v"}},
			query:  url.Values{"v": {`{"injected": true}`}}, status: 200, task: succeeded(`{"v":"{\"injected\": true}"}`)},
		{name: "an empty value",
			action: map[string]any{"type": "success", "output": "[$v]"},
			query:  url.Values{"v": {""}}, status: 200, task: succeeded(`"[]"`)},
		{name: "extra parameters are ignored",
			action: map[string]any{"type": "success", "output": "$who"},
			query:  url.Values{"who": {"carol"}, "utm_source": {"mail"}, "other": {"x"}}, status: 200, task: succeeded(`"carol"`)},
		{name: "action and type are parameters too, as in the reference",
			action: map[string]any{"type": "success", "output": "$action/$type"},
			status: 200, task: succeeded(`"act/success"`)},
		{name: "error and cause",
			action: map[string]any{"type": "failure", "error": "Rejected.$reason", "cause": "${who} said no: $$ ${why}"},
			query:  url.Values{"reason": {"Budget"}, "who": {"Dana"}, "why": {"trop cher €"}}, status: 200, task: servicetest.Task{Status: "failed", Error: "Rejected.Budget", Cause: "Dana said no: $ trop cher €"}},
		{name: "heartbeat has nothing to fill",
			action: map[string]any{"type": "heartbeat"},
			status: 200, task: servicetest.Task{Status: "open", Heartbeats: 1}},
		{name: "missing parameter",
			action: map[string]any{"type": "success", "output": map[string]any{"who": "$who", "id": "$id"}},
			query:  url.Values{"who": {"erin"}}, status: 400, code: callbackurls.CodeOutputFormatting},
		{name: "missing parameter in the cause",
			action: map[string]any{"type": "failure", "error": "E", "cause": "${why}"},
			status: 400, code: callbackurls.CodeOutputFormatting},
		{name: "names are case-sensitive",
			action: map[string]any{"type": "success", "output": "$Who"},
			query:  url.Values{"who": {"frank"}}, status: 400, code: callbackurls.CodeOutputFormatting},
		{name: "a filled error longer than Step Functions allows",
			action: map[string]any{"type": "failure", "error": "$e"},
			query:  url.Values{"e": {strings.Repeat("é", 257)}}, status: 400, code: callbackurls.CodeOutputFormatting},
		// A response spec's placeholders.
		{name: "redirect", action: spec(map[string]any{"redirect": "https://example.com/thanks?order=$order&lang=${lang}"}),
			query: url.Values{"order": {"A-17"}, "lang": {"fr"}}, status: 303, task: done,
			header: map[string]string{"Location": "https://example.com/thanks?order=A-17&lang=fr"}},
		{name: "values are query-escaped", action: spec(map[string]any{"redirect": "https://example.com/thanks/$who"}),
			query: url.Values{"who": {"Zoë"}}, status: 303, task: done,
			header: map[string]string{"Location": "https://example.com/thanks/Zo%C3%AB"}},
		{name: "so a value cannot add query parameters", action: spec(map[string]any{"redirect": "https://example.com/thanks?order=$order"}),
			query: url.Values{"order": {"1&admin=true"}}, status: 303, task: done,
			header: map[string]string{"Location": "https://example.com/thanks?order=1%26admin%3Dtrue"}},
		{name: "nor headers", action: spec(map[string]any{"redirect": "https://example.com/thanks?order=$order"}),
			query: url.Values{"order": {"1\r\nSet-Cookie: a=b"}}, status: 303, task: done,
			header: map[string]string{"Location": "https://example.com/thanks?order=1%0D%0ASet-Cookie%3A+a%3Db", "Set-Cookie": ""}},
		{name: "json", action: spec(map[string]any{"json": map[string]any{"message": "thanks, $who"}}),
			query: url.Values{"who": {"Grace"}}, status: 200, task: done, answer: `{"message":"thanks, Grace"}`},
		{name: "text", action: spec(map[string]any{"text": "thanks, ${who}: $$1"}), accept: "text/plain",
			query: url.Values{"who": {"Heidi"}}, status: 200, task: done, answer: "thanks, Heidi: $1"},
		// Nothing is sent when the response cannot be filled.
		{name: "missing parameter in the response", action: spec(map[string]any{"redirect": "https://example.com/$page"}),
			status: 400, code: callbackurls.CodeOutputFormatting},
		// Placeholders are plain text unless the request enabled parameters.
		{name: "not requested", action: map[string]any{"type": "success", "output": "$who costs $", "response": map[string]any{"text": "$who"}},
			notRequested: true, query: url.Values{"who": {"ivan"}}, accept: "text/plain", status: 200,
			task: succeeded(`"$who costs $"`), answer: "$who"},
		// A HEAD checks the URL, parameters included, without sending anything.
		{name: "HEAD, missing", action: map[string]any{"type": "success", "output": "$who"}, method: http.MethodHead, status: 400},
		{name: "HEAD", action: map[string]any{"type": "success", "output": "$who"}, method: http.MethodHead,
			query: url.Values{"who": {"kim"}}, status: 200},
	}
	e := withSwitchesOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action := map[string]any{"name": "act"}
			for k, v := range tt.action {
				action[k] = v
			}
			token, urls := e.NewURLs(t, map[string]any{"enable_output_parameters": !tt.notRequested, "actions": []any{action}})
			u, method := urls["act"], tt.method
			if len(tt.query) > 0 {
				u += "&" + tt.query.Encode()
			}
			if method == "" {
				method = http.MethodGet
			}
			resp := e.Do(t, method, u, map[string]string{"Accept": tt.accept}, "")
			if resp.Status != tt.status || method != http.MethodHead && resp.ErrorCode(t) != tt.code {
				t.Fatalf("%s: %d %s, want %d %s", method, resp.Status, resp.Body, tt.status, tt.code)
			}
			checkOutcome(t, e, token, resp, tt.header, tt.answer, tt.task)
		})
	}
}

// TestSwitches: a deployment with a switch off refuses to create the URLs
// that need it, and refuses them at the callback without sending anything;
// the deployment that made them still takes them, and URLs that do not
// need the switch work on either.
func TestSwitches(t *testing.T) {
	tests := []struct {
		name, code string
		on         config.Config
		req        func() map[string]any // without its token
		method     string                // of the callbacks
		query      string
		body       string
		want       servicetest.Task // once the deployment with the switch on took the first action's URL
	}{
		{name: "post actions", code: callbackurls.CodePostActionsDisabled, on: config.Config{EnablePostActions: true},
			req: func() map[string]any {
				return map[string]any{"actions": []any{map[string]any{"name": "hook", "type": "post", "outcomes": hookOutcomes}}}
			},
			method: http.MethodPost, body: `{"echo": 1}`, want: succeeded(`{"echo":1}`)},
		{name: "output parameters", code: callbackurls.CodeParametersDisabled, on: config.Config{EnableOutputParameters: true},
			req: func() map[string]any {
				return map[string]any{"enable_output_parameters": true, "actions": []any{
					map[string]any{"name": "ok", "type": "success", "output": "$who"}, map[string]any{"name": "beat", "type": "heartbeat"}}}
			},
			method: http.MethodGet, query: "&who=judy", want: succeeded(`"judy"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on := servicetest.Start(t, servicetest.Options{Settings: tt.on})
			off := on.Redeploy(t, servicetest.Options{})
			req := tt.req()
			req["token"] = off.NewTask(t)
			if resp := off.PostURLs(t, req); resp.Status != 400 || resp.ErrorCode(t) != tt.code {
				t.Fatalf("create with the switch off: %d %s, want 400 %s", resp.Status, resp.Body, tt.code)
			}
			req = tt.req()
			token, urls := on.NewURLs(t, req)
			header := map[string]string{"Content-Type": "application/json"}
			for name, u := range urls {
				// The same URL, served by the deployment with the switch off.
				resp := off.Do(t, tt.method, strings.Replace(u, on.URL, off.URL, 1)+tt.query, header, tt.body)
				if resp.Status != 400 || resp.ErrorCode(t) != tt.code {
					t.Fatalf("%s %s with the switch off: %d %s, want 400 %s", tt.method, name, resp.Status, resp.Body, tt.code)
				}
			}
			if diff := cmp.Diff(openTask, plainTask(t, off, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
			first := req["actions"].([]any)[0].(map[string]any)["name"].(string)
			if resp := on.Do(t, tt.method, urls[first]+tt.query, header, tt.body); resp.Status != 200 {
				t.Fatalf("%s with the switch on: %d %s", tt.method, resp.Status, resp.Body)
			}
			if diff := cmp.Diff(tt.want, plainTask(t, on, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("URLs without parameters work either way", func(t *testing.T) {
		on := servicetest.Start(t, servicetest.Options{Settings: config.Config{EnableOutputParameters: true}})
		off := on.Redeploy(t, servicetest.Options{})
		token, urls := on.NewURLs(t, map[string]any{"actions": []any{map[string]any{"name": "ok", "type": "success", "output": "$who"}}})
		if resp := off.Do(t, http.MethodGet, strings.Replace(urls["ok"], on.URL, off.URL, 1), nil, ""); resp.Status != 200 {
			t.Fatalf("GET: %d %s", resp.Status, resp.Body)
		}
		if diff := cmp.Diff(succeeded(`"$who"`), plainTask(t, off, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
	})
}

// TestOutputParametersCheckedAtCreation: placeholders no callback could
// fill are refused by POST /urls, before any link is handed out.
func TestOutputParametersCheckedAtCreation(t *testing.T) {
	e := withSwitchesOn(t)
	for name, action := range map[string]map[string]any{
		"a lone $":            {"type": "success", "output": "costs 5$"},
		"an unclosed ${":      {"type": "failure", "cause": "${why"},
		"a redirect's host":   {"type": "heartbeat", "response": map[string]any{"redirect": "https://$host/thanks"}},
		"html with a lone $":  {"type": "heartbeat", "response": map[string]any{"html": "<p>5$</p>"}},
		"a key with a lone $": {"type": "success", "output": map[string]any{"$": 1}},
	} {
		t.Run(name, func(t *testing.T) {
			action["name"] = "act"
			resp := e.PostURLs(t, map[string]any{"token": e.NewTask(t), "enable_output_parameters": true, "actions": []any{action}})
			if resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != callbackurls.CodeOutputFormatting {
				t.Fatalf("create: %d %s, want 400 OutputFormatting", resp.Status, resp.Body)
			}
		})
	}
}
