package callbackurls_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// decodePresentation is the presentation a URL's payload carries.
func (e *env) decodePresentation(t testing.TB, u string) (json.RawMessage, *callbackurls.Presentation) {
	t.Helper()
	p, err := e.codec.Decode(context.Background(), query(t, u).Get("data"))
	if err != nil {
		t.Fatal(err)
	}
	pres, err := callbackurls.ParsePresentation(p.Presentation)
	if err != nil {
		t.Fatal(err)
	}
	return p.Presentation, pres
}

func TestCreateURLsPresentation(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	resp := e.create(t, `{"token":`+jsonString(token)+`,"title":"Deploy <b>v2</b>?","description":"Line 1\nLine 2",
		"actions":[
			{"name":"approve","type":"success","output":{"ok":true},"label":"Ship it"},
			{"name":"reject","type":"failure","input":{"type":"object","properties":{"why":{"type":"string","format":"multiline"}}}},
			{"name":"ping","type":"heartbeat","confirm":true},
			{"name":"quick","type":"success","output":{},"confirm":false}]}`)
	tests := []struct {
		action string
		raw    string // the compact JSON in the payload
	}{
		{"approve", `{"t":"Deploy <b>v2</b>?","d":"Line 1\nLine 2","l":"Ship it"}`},
		{"reject", `{"t":"Deploy <b>v2</b>?","d":"Line 1\nLine 2","i":[{"n":"why","k":"m"}]}`},
		{"ping", `{"t":"Deploy <b>v2</b>?","d":"Line 1\nLine 2","c":true}`},
		{"quick", `{"t":"Deploy <b>v2</b>?","d":"Line 1\nLine 2","c":false}`},
	}
	for _, tt := range tests {
		raw, _ := e.decodePresentation(t, resp.URLs[tt.action])
		if !jsonEqual(t, string(raw), tt.raw) {
			t.Errorf("%s: presentation %s, want %s", tt.action, raw, tt.raw)
		}
	}

	// Without presentation fields the payload has none (URLs stay as short
	// as before).
	resp = e.create(t, approveReject)
	for name, u := range resp.URLs {
		if raw, _ := e.decodePresentation(t, u); raw != nil {
			t.Errorf("%s: presentation %s without presentation fields", name, raw)
		}
	}
}

func TestCreateURLsPresentationErrors(t *testing.T) {
	form := `{"type":"object","properties":{"why":{"type":"string"}}}`
	tests := []struct {
		name   string
		body   string
		code   string
		wantIn string
	}{
		{"title too long", `{"title":"` + strings.Repeat("t", 201) + `","actions":[{"name":"a","type":"heartbeat"}]}`, "InvalidJSON", "title is longer than 200"},
		{"title not a string", `{"title":1,"actions":[{"name":"a","type":"heartbeat"}]}`, "InvalidJSON", "title"},
		{"description too long", `{"description":"` + strings.Repeat("d", 1001) + `","actions":[{"name":"a","type":"heartbeat"}]}`, "InvalidJSON", "description is longer than 1000"},
		{"label too long", `{"actions":[{"name":"a","type":"heartbeat","label":"` + strings.Repeat("l", 101) + `"}]}`, "InvalidAction", "label is longer than 100"},
		{"confirm not a boolean", `{"actions":[{"name":"a","type":"heartbeat","confirm":"yes"}]}`, "InvalidJSON", "confirm"},
		{"input on a heartbeat", `{"actions":[{"name":"a","type":"heartbeat","input":` + form + `}]}`, "InvalidAction", "a heartbeat sends no values"},
		{"label on a post action", `{"actions":[{"name":"a","type":"post","outcomes":[],"label":"x"}]}`, "InvalidAction", "post action"},
		{"input with confirm false", `{"actions":[{"name":"a","type":"failure","confirm":false,"input":` + form + `}]}`, "InvalidAction", "confirm: false contradicts input"},
		{"input with an array output", `{"actions":[{"name":"a","type":"success","output":[1],"input":` + form + `}]}`, "InvalidAction", "output must be a JSON object"},
		{"input with a string output", `{"actions":[{"name":"a","type":"success","output":"ok","input":` + form + `}]}`, "InvalidAction", "output must be a JSON object"},
		{"input with output.input", `{"actions":[{"name":"a","type":"success","output":{"input":1},"input":` + form + `}]}`, "InvalidAction", `already has an "input" member`},
		{"unsupported schema", `{"actions":[{"name":"a","type":"failure","input":{"type":"object","properties":{"x":{"type":"string","pattern":"."}}}}]}`,
			"InvalidAction", "action a: input.properties.x.pattern is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(tt.body), &m); err != nil {
				t.Fatal(err)
			}
			m["token"] = "tok"
			_, err := callbackurls.ParseCreateRequest(body(t, m))
			e := apiError(t, err, tt.code, callbackurls.BadInput)
			if !strings.Contains(e.Message, tt.wantIn) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantIn)
			}
		})
	}
}

// respondAs calls Respond as a given kind of request.
func (e *env) respondAs(t testing.TB, u string, req callbackurls.CallbackRequest) (*callbackurls.CallbackResult, error) {
	t.Helper()
	req.Query = query(t, u)
	return e.svc.Respond(context.Background(), &req)
}

func TestRespondConfirmation(t *testing.T) {
	body := `{"token":` + jsonString(token) + `,"actions":[
		{"name":"approve","type":"success","output":{"ok":true}},
		{"name":"reject","type":"failure"},
		{"name":"ping","type":"heartbeat"},
		{"name":"ping_confirm","type":"heartbeat","confirm":true},
		{"name":"one_click","type":"success","output":{},"confirm":false},
		{"name":"always","type":"failure","confirm":true},
		{"name":"form","type":"failure","input":{"type":"object","properties":{"why":{"type":"string"}}}}]}`
	interactiveGET := callbackurls.CallbackRequest{Submission: callbackurls.Submission{Intent: callbackurls.Confirm}}
	interactiveHEAD := callbackurls.CallbackRequest{Submission: callbackurls.Submission{Intent: callbackurls.Confirm, Preview: true}}
	tests := []struct {
		name     string
		oneClick bool
		action   string
		req      callbackurls.CallbackRequest
		confirm  bool // a confirmation page, nothing sent
	}{
		{"browser GET, success", false, "approve", interactiveGET, true},
		{"browser GET, failure", false, "reject", interactiveGET, true},
		{"browser GET, heartbeat acts", false, "ping", interactiveGET, false},
		{"browser GET, heartbeat with confirm", false, "ping_confirm", interactiveGET, true},
		{"browser GET, confirm false", false, "one_click", interactiveGET, false},
		{"browser GET, input form", false, "form", interactiveGET, true},
		{"browser HEAD, success", false, "approve", interactiveHEAD, true},
		{"API GET, success", false, "approve", callbackurls.CallbackRequest{}, false},
		{"POST, success", false, "approve", callbackurls.CallbackRequest{Submission: callbackurls.Submission{Intent: callbackurls.Act}}, false},
		{"one-click deployment, success", true, "approve", interactiveGET, false},
		{"one-click deployment, confirm true", true, "always", interactiveGET, true},
		{"one-click deployment, input form", true, "form", interactiveGET, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{BrowserGET: browserGET(tt.oneClick)}, true)
			resp := e.create(t, body)
			res, err := e.respondAs(t, resp.URLs[tt.action], tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Confirm != tt.confirm {
				t.Errorf("Confirm = %t, want %t", res.Confirm, tt.confirm)
			}
			wantSent := !tt.confirm && !tt.req.Preview
			if res.Sent != wantSent || len(e.sfn.Calls()) != map[bool]int{true: 1}[wantSent] {
				t.Errorf("Sent = %t with %d calls, want %t", res.Sent, len(e.sfn.Calls()), wantSent)
			}
			if res.Presentation == nil {
				t.Error("no presentation")
			}
		})
	}
}

func TestRespondInput(t *testing.T) {
	form := `{"type":"object","required":["why"],"properties":{"why":{"type":"string","format":"multiline","maxLength":4000},"again":{"type":"boolean"}}}`
	// bigForm takes more text than a cause holds.
	var props []string
	bigValues := url.Values{}
	for i := range 9 {
		props = append(props, fmt.Sprintf(`"f%d":{"type":"string","format":"multiline"}`, i))
		bigValues.Set(fmt.Sprintf("f%d", i), strings.Repeat("w", callbackurls.MaxInputString))
	}
	bigForm := `{"type":"object","properties":{` + strings.Join(props, ",") + `}}`
	tests := []struct {
		name   string
		action string // a JSON action; its name is "a"
		params string // extra query parameters
		form   url.Values
		body   string
		want   sfnCall // Token filled in
		code   string  // error code instead
	}{
		{name: "success, form", action: `{"name":"a","type":"success","output":{"approved":true},"input":` + form + `}`,
			form: url.Values{"why": {"Looks <good> & \"fine\""}},
			want: sfnCall{Type: "success", Output: `{"approved":true,"input":{"again":false,"why":"Looks <good> & \"fine\""}}`}},
		{name: "success, empty object output", action: `{"name":"a","type":"success","output":{},"input":` + form + `}`,
			body: `{"why":"ok","again":true}`, want: sfnCall{Type: "success", Output: `{"input":{"again":true,"why":"ok"}}`}},
		{name: "success, values are not placeholders", action: `{"name":"a","type":"success","output":{"by":"$who"},"input":` + form + `}`,
			params: "&who=ann", form: url.Values{"why": {"$who ${who}"}},
			want: sfnCall{Type: "success", Output: `{"by":"ann","input":{"again":false,"why":"$who ${who}"}}`}},
		{name: "failure with a cause", action: `{"name":"a","type":"failure","error":"Rejected","cause":"By mail","input":` + form + `}`,
			form: url.Values{"why": {"No budget"}},
			want: sfnCall{Type: "failure", Error: "Rejected", Cause: `{"cause":"By mail","input":{"again":false,"why":"No budget"}}`}},
		{name: "failure without a cause", action: `{"name":"a","type":"failure","input":` + form + `}`,
			body: `{"why":"x"}`, want: sfnCall{Type: "failure", Cause: `{"input":{"again":false,"why":"x"}}`}},
		{name: "failure, cause too long with the values", action: `{"name":"a","type":"failure","cause":"By mail","input":` + bigForm + `}`,
			form: bigValues, code: "InvalidInput"},
		{name: "missing required value", action: `{"name":"a","type":"failure","input":` + form + `}`, form: url.Values{}, code: "InvalidInput"},
		{name: "API GET without values", action: `{"name":"a","type":"failure","input":` + form + `}`, code: "InvalidInput"},
		{name: "bad JSON body", action: `{"name":"a","type":"failure","input":` + form + `}`, body: `{"why":1}`, code: "InvalidInput"},
		{name: "no input: body ignored", action: `{"name":"a","type":"failure","error":"E"}`, body: `{"why":1}`, want: sfnCall{Type: "failure", Error: "E"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, true)
			resp := e.create(t, `{"token":`+jsonString(token)+`,"enable_output_parameters":true,"actions":[`+tt.action+`]}`)
			res, err := e.respondAs(t, resp.URLs["a"]+tt.params, callbackurls.CallbackRequest{Submission: callbackurls.Submission{Form: tt.form, Body: []byte(tt.body)}})
			if tt.code != "" {
				apiError(t, err, tt.code, callbackurls.BadInput)
				e.assertNoCalls(t)
				if tt.code == callbackurls.CodeInvalidInput && res.Payload == nil {
					t.Error("no payload with the error: the page cannot re-show the form")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Ref = token
			if diff := cmp.Diff([]sfnCall{tt.want}, e.sfn.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPresentationURLLength logs what a typical title, description and
// label add to an approve URL (a measurement, not a pass/fail timing).
func TestPresentationURLLength(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	tok := corpus.Tokens()[1]
	plain := e.create(t, `{"token":`+jsonString(tok)+`,"actions":[{"name":"approve","type":"success","output":{"approved":true}},{"name":"reject","type":"failure","error":"Rejected"}]}`)
	dressed := e.create(t, `{"token":`+jsonString(tok)+`,"title":"Expense report #4821",
		"description":"Alice Martin asks for EUR 1,240.00 for the Berlin team offsite (travel and two hotel nights).",
		"actions":[{"name":"approve","type":"success","output":{"approved":true},"label":"Approve expense"},
		{"name":"reject","type":"failure","error":"Rejected","label":"Reject",
		 "input":{"type":"object","properties":{"comment":{"type":"string","format":"multiline","title":"Comment (optional)","maxLength":1000}}}}]}`)
	for _, name := range []string{"approve", "reject"} {
		a, b := len(plain.URLs[name]), len(dressed.URLs[name])
		t.Logf("%s URL: %d characters plain, %d with title, description and label%s (+%d)", name, a, b,
			map[bool]string{true: " and a comment form"}[name == "reject"], b-a)
		if b-a > 400 {
			t.Errorf("%s: the presentation adds %d characters", name, b-a)
		}
	}
}

func browserGET(oneClick bool) callbackurls.BrowserGET {
	if oneClick {
		return callbackurls.ActOnBrowserGET
	}
	return callbackurls.ConfirmBrowserGET
}
