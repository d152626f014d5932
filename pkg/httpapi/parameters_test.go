package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// withQuery adds query parameters to a callback URL, percent-encoded.
func withQuery(u string, params url.Values) string {
	if len(params) == 0 {
		return u
	}
	return u + "&" + params.Encode()
}

func TestOutputParameters(t *testing.T) {
	tests := []struct {
		name       string
		action     map[string]any
		query      url.Values
		wantStatus int
		wantCode   string
		wantTask   hookTask
	}{
		{
			name:       "$name and ${name} in output values, $$ in keys",
			action:     map[string]any{"type": "success", "output": map[string]any{"who": "$who", "$$id": "id-${id}x", "n": 5}},
			query:      url.Values{"who": {"alice"}, "id": {"42"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"$id":"id-42x","n":5,"who":"alice"}`},
		},
		{
			name:       "values are strings, even numbers",
			action:     map[string]any{"type": "success", "output": map[string]any{"amount": "$amount", "ok": "$ok"}},
			query:      url.Values{"amount": {"12.50"}, "ok": {"true"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"amount":"12.50","ok":"true"}`},
		},
		{
			name:       "a string output",
			action:     map[string]any{"type": "success", "output": "approved by $who"},
			query:      url.Values{"who": {"bob"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `"approved by bob"`},
		},
		{
			name:       "$$ is a literal $",
			action:     map[string]any{"type": "success", "output": map[string]any{"price": "$$${amount} ($$amount)"}},
			query:      url.Values{"amount": {"5"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"price":"$5 ($amount)"}`},
		},
		{
			name:       "non-ASCII values, percent-encoded in the URL",
			action:     map[string]any{"type": "success", "output": map[string]any{"who": "$who", "note": "${note}"}},
			query:      url.Values{"who": {"Zoë Ångström"}, "note": {"承認 ✅ \"quoted\" & <tagged>"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"note":"承認 ✅ \"quoted\" & <tagged>","who":"Zoë Ångström"}`},
		},
		{
			name:       "JSON in a value stays a string",
			action:     map[string]any{"type": "success", "output": map[string]any{"v": "$v"}},
			query:      url.Values{"v": {`{"injected": true}`}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `{"v":"{\"injected\": true}"}`},
		},
		{
			name:       "an empty value",
			action:     map[string]any{"type": "success", "output": "[$v]"},
			query:      url.Values{"v": {""}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `"[]"`},
		},
		{
			name:       "extra parameters are ignored",
			action:     map[string]any{"type": "success", "output": "$who"},
			query:      url.Values{"who": {"carol"}, "utm_source": {"mail"}, "other": {"x"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `"carol"`},
		},
		{
			name:       "action and type are parameters too, as in the reference",
			action:     map[string]any{"type": "success", "output": "$action/$type"},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusSucceeded, Output: `"act/success"`},
		},
		{
			name:       "error and cause",
			action:     map[string]any{"type": "failure", "error": "Rejected.$reason", "cause": "${who} said no: $$ ${why}"},
			query:      url.Values{"reason": {"Budget"}, "who": {"Dana"}, "why": {"trop cher €"}},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusFailed, Error: "Rejected.Budget", Cause: "Dana said no: $ trop cher €"},
		},
		{
			name:       "heartbeat has nothing to fill",
			action:     map[string]any{"type": "heartbeat"},
			wantStatus: 200,
			wantTask:   hookTask{Status: localstore.StatusOpen, Heartbeats: 1},
		},
		{
			name:       "missing parameter",
			action:     map[string]any{"type": "success", "output": map[string]any{"who": "$who", "id": "$id"}},
			query:      url.Values{"who": {"erin"}},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   openHookTask,
		},
		{
			name:       "missing parameter in the cause",
			action:     map[string]any{"type": "failure", "error": "E", "cause": "${why}"},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   openHookTask,
		},
		{
			name:       "names are case-sensitive",
			action:     map[string]any{"type": "success", "output": "$Who"},
			query:      url.Values{"who": {"frank"}},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   openHookTask,
		},
		{
			name:       "a filled error longer than Step Functions allows",
			action:     map[string]any{"type": "failure", "error": "$e"},
			query:      url.Values{"e": {strings.Repeat("é", 257)}},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
			wantTask:   openHookTask,
		},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action := map[string]any{"name": "act"}
			for k, v := range tt.action {
				action[k] = v
			}
			token, urls := e.urls(t, map[string]any{"enable_output_parameters": true, "actions": []any{action}})
			resp := e.send(t, http.MethodGet, withQuery(urls["act"], tt.query), nil, nil)
			if resp.status != tt.wantStatus || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("GET: %d %s, want %d %s", resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantTask, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputParametersResponseSpec(t *testing.T) {
	tests := []struct {
		name       string
		response   map[string]any
		accept     string
		query      url.Values
		wantStatus int
		wantHeader map[string]string
		wantBody   string
		wantCode   string
	}{
		{
			name:       "redirect",
			response:   map[string]any{"redirect": "https://example.com/thanks?order=$order&lang=${lang}"},
			query:      url.Values{"order": {"A-17"}, "lang": {"fr"}},
			wantStatus: 303,
			wantHeader: map[string]string{"Location": "https://example.com/thanks?order=A-17&lang=fr"},
		},
		{
			name:       "values are query-escaped",
			response:   map[string]any{"redirect": "https://example.com/thanks/$who"},
			query:      url.Values{"who": {"Zoë"}},
			wantStatus: 303,
			wantHeader: map[string]string{"Location": "https://example.com/thanks/Zo%C3%AB"},
		},
		{
			name:       "so a value cannot add query parameters",
			response:   map[string]any{"redirect": "https://example.com/thanks?order=$order"},
			query:      url.Values{"order": {"1&admin=true"}},
			wantStatus: 303,
			wantHeader: map[string]string{"Location": "https://example.com/thanks?order=1%26admin%3Dtrue"},
		},
		{
			name:       "nor headers",
			response:   map[string]any{"redirect": "https://example.com/thanks?order=$order"},
			query:      url.Values{"order": {"1\r\nSet-Cookie: a=b"}},
			wantStatus: 303,
			wantHeader: map[string]string{"Location": "https://example.com/thanks?order=1%0D%0ASet-Cookie%3A+a%3Db", "Set-Cookie": ""},
		},
		{
			name:       "json",
			response:   map[string]any{"json": map[string]any{"message": "thanks, $who"}},
			query:      url.Values{"who": {"Grace"}},
			wantStatus: 200,
			wantBody:   `{"message":"thanks, Grace"}`,
		},
		{
			name:       "text",
			response:   map[string]any{"text": "thanks, ${who}: $$1"},
			accept:     "text/plain",
			query:      url.Values{"who": {"Heidi"}},
			wantStatus: 200,
			wantBody:   "thanks, Heidi: $1",
		},
		{
			name:       "missing parameter in the response",
			response:   map[string]any{"redirect": "https://example.com/$page"},
			wantStatus: 400,
			wantCode:   callbackurls.CodeOutputFormatting,
		},
	}
	e := newHookEnvOn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, urls := e.urls(t, map[string]any{"enable_output_parameters": true, "actions": []any{
				map[string]any{"name": "ok", "type": "success", "output": "done", "response": tt.response},
			}})
			h := map[string]string{}
			if tt.accept != "" {
				h["Accept"] = tt.accept
			}
			resp := e.send(t, http.MethodGet, withQuery(urls["ok"], tt.query), h, nil)
			if resp.status != tt.wantStatus || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("GET: %d %s, want %d %s", resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			for k, v := range tt.wantHeader {
				if got := resp.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.wantBody != "" && string(resp.body) != tt.wantBody {
				t.Errorf("body %q, want %q", resp.body, tt.wantBody)
			}
			want := hookTask{Status: localstore.StatusSucceeded, Output: `"done"`}
			if tt.wantCode != "" {
				want = openHookTask // nothing is sent when the response cannot be filled
			}
			if diff := cmp.Diff(want, e.taskFor(t, token)); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutputParametersNotRequested: placeholders are plain text unless the
// request enabled parameters.
func TestOutputParametersNotRequested(t *testing.T) {
	e := newHookEnvOn(t)
	token, urls := e.urls(t, map[string]any{"actions": []any{
		map[string]any{"name": "ok", "type": "success", "output": "$who costs $", "response": map[string]any{"text": "$who"}},
	}})
	resp := e.send(t, http.MethodGet, urls["ok"]+"&who=ivan", map[string]string{"Accept": "text/plain"}, nil)
	if resp.status != 200 || string(resp.body) != "$who" {
		t.Fatalf("GET: %d %q", resp.status, resp.body)
	}
	if diff := cmp.Diff(hookTask{Status: localstore.StatusSucceeded, Output: `"$who costs $"`}, e.taskFor(t, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestOutputParametersSwitch(t *testing.T) {
	keys, store := hookDeps(t)
	on := newHookEnv(t, keys, store, hookSwitches{params: true})
	off := newHookEnv(t, keys, store, hookSwitches{params: false})
	req := func() map[string]any {
		return map[string]any{"enable_output_parameters": true, "actions": []any{
			map[string]any{"name": "ok", "type": "success", "output": "$who"},
			map[string]any{"name": "beat", "type": "heartbeat"},
		}}
	}

	t.Run("off at creation", func(t *testing.T) {
		r := req()
		r["token"] = off.newTask(t)
		resp := off.create(t, r)
		if resp.status != 400 || resp.errorCode(t) != callbackurls.CodeParametersDisabled {
			t.Fatalf("create: %d %s, want 400 ParametersDisabled", resp.status, resp.body)
		}
	})
	t.Run("off at callback", func(t *testing.T) {
		token, urls := on.urls(t, req())
		for _, name := range []string{"ok", "beat"} {
			u := strings.Replace(urls[name], on.srv.URL, off.srv.URL, 1) + "&who=judy"
			resp := off.send(t, http.MethodGet, u, nil, nil)
			if resp.status != 400 || resp.errorCode(t) != callbackurls.CodeParametersDisabled {
				t.Fatalf("GET %s: %d %s, want 400 ParametersDisabled", name, resp.status, resp.body)
			}
		}
		if diff := cmp.Diff(openHookTask, off.taskFor(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
		// The deployment that made it still takes it.
		if resp := on.send(t, http.MethodGet, urls["ok"]+"&who=judy", nil, nil); resp.status != 200 {
			t.Fatalf("GET with the switch on: %d %s", resp.status, resp.body)
		}
		if diff := cmp.Diff(hookTask{Status: localstore.StatusSucceeded, Output: `"judy"`}, on.taskFor(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
	})
	t.Run("URLs without parameters work either way", func(t *testing.T) {
		r := req()
		delete(r, "enable_output_parameters")
		token, urls := on.urls(t, r)
		u := strings.Replace(urls["ok"], on.srv.URL, off.srv.URL, 1)
		if resp := off.send(t, http.MethodGet, u, nil, nil); resp.status != 200 {
			t.Fatalf("GET: %d %s", resp.status, resp.body)
		}
		if diff := cmp.Diff(hookTask{Status: localstore.StatusSucceeded, Output: `"$who"`}, off.taskFor(t, token)); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
	})
}

// TestOutputParametersHead: a HEAD checks the URL, parameters included,
// without sending anything.
func TestOutputParametersHead(t *testing.T) {
	e := newHookEnvOn(t)
	token, urls := e.urls(t, map[string]any{"enable_output_parameters": true, "actions": []any{
		map[string]any{"name": "ok", "type": "success", "output": "$who"},
	}})
	for _, tt := range []struct {
		query string
		want  int
	}{{"", 400}, {"&who=kim", 200}} {
		if resp := e.send(t, http.MethodHead, urls["ok"]+tt.query, nil, nil); resp.status != tt.want {
			t.Errorf("HEAD%s: %d, want %d", tt.query, resp.status, tt.want)
		}
	}
	if diff := cmp.Diff(openHookTask, e.taskFor(t, token)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

// TestOutputParametersCheckedAtCreation: placeholders no callback could
// fill are refused by POST /urls, before any link is handed out.
func TestOutputParametersCheckedAtCreation(t *testing.T) {
	e := newHookEnvOn(t)
	for name, action := range map[string]map[string]any{
		"a lone $":            {"type": "success", "output": "costs 5$"},
		"an unclosed ${":      {"type": "failure", "cause": "${why"},
		"a redirect's host":   {"type": "heartbeat", "response": map[string]any{"redirect": "https://$host/thanks"}},
		"html with a lone $":  {"type": "heartbeat", "response": map[string]any{"html": "<p>5$</p>"}},
		"a key with a lone $": {"type": "success", "output": map[string]any{"$": 1}},
	} {
		t.Run(name, func(t *testing.T) {
			action["name"] = "act"
			resp := e.create(t, map[string]any{"token": e.newTask(t), "enable_output_parameters": true, "actions": []any{action}})
			if resp.status != http.StatusBadRequest || resp.errorCode(t) != callbackurls.CodeOutputFormatting {
				t.Fatalf("create: %d %s, want 400 OutputFormatting", resp.status, resp.body)
			}
		})
	}
}
