package callbackurls_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// sfnCall is one decision the target double received.
type sfnCall = callbackurlstest.Call

// t0 has a fractional second on purpose: payload times are whole seconds.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

const testBase = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

func testKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	secret := make([]byte, keyring.KeySize)
	for i := range secret {
		secret[i] = byte(i * 7)
	}
	r, err := keyring.New(keyring.Key{ID: "k1", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func codecFor(t testing.TB, encrypted bool) *payload.Codec {
	if encrypted {
		return &payload.Codec{Keys: testKeyring(t)}
	}
	return &payload.Codec{}
}

type env struct {
	svc   *callbackurls.Service
	sfn   *callbackurlstest.Target
	clock *testkit.Clock
	codec *payload.Codec
}

func newEnv(t testing.TB, cfg callbackurls.Config, encrypted bool) *env {
	t.Helper()
	e := &env{sfn: &callbackurlstest.Target{}, clock: testkit.NewClock(t0), codec: codecFor(t, encrypted)}
	if cfg.BaseURL == "" {
		cfg.BaseURL = testBase
	}
	cfg.Now = e.clock.Now
	e.svc = callbackurls.New(cfg, e.codec, callbackurls.Targets{callbackurls.TaskToken: e.sfn})
	return e
}

// with returns a service on the same codec, clock and Step Functions with
// another configuration (a deployment whose settings changed).
func (e *env) with(cfg callbackurls.Config) *callbackurls.Service {
	if cfg.BaseURL == "" {
		cfg.BaseURL = testBase
	}
	cfg.Now = e.clock.Now
	return callbackurls.New(cfg, e.codec, callbackurls.Targets{callbackurls.TaskToken: e.sfn})
}

func (e *env) create(t testing.TB, body string) *callbackurls.CreateResponse {
	t.Helper()
	r, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		t.Fatalf("ParseCreateRequest: %v", err)
	}
	resp, tid, err := e.svc.CreateURLs(context.Background(), r, callbackurls.Gateway{})
	if err != nil {
		t.Fatalf("CreateURLs: %v", err)
	}
	if tid != resp.TransactionID {
		t.Fatalf("transaction ids %q and %q", tid, resp.TransactionID)
	}
	return resp
}

func (e *env) assertNoCalls(t testing.TB) {
	t.Helper()
	if calls := e.sfn.Calls(); len(calls) != 0 {
		t.Errorf("Step Functions received %d calls for bad input: %+v", len(calls), calls)
	}
}

// query parses a URL's query, failing on a malformed URL.
func query(t testing.TB, u string) url.Values {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %q: %v", u, err)
	}
	q, err := url.ParseQuery(parsed.RawQuery)
	if err != nil {
		t.Fatalf("parse query of %q: %v", u, err)
	}
	return q
}

var token = corpus.Tokens()[0]

var approveReject = `{"token":` + jsonString(token) + `,"actions":[
	{"name":"approve","type":"success","output":{ "name_in_output" : "Ben" }},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"},
	{"name":"ping","type":"heartbeat"}]}`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestCreateURLs(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypted=%t", encrypted), func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{}, encrypted)
			resp := e.create(t, approveReject)
			if !hexID.MatchString(resp.TransactionID) {
				t.Errorf("transaction id %q is not 32 hex digits", resp.TransactionID)
			}
			if resp.Expiration != "" {
				t.Errorf("expiration %q without one in the request", resp.Expiration)
			}
			prefix := payload.PrefixUnencrypted
			if encrypted {
				prefix = payload.PrefixEncrypted
			}
			want := map[string]*callbackurls.Payload{
				"approve": {Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`)},
				"reject":  {Action: "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "Ben rejected it"},
				"ping":    {Action: "ping", Type: callbackurls.Heartbeat},
			}
			if len(resp.URLs) != len(want) {
				t.Fatalf("got %d URLs, want %d: %v", len(resp.URLs), len(want), resp.URLs)
			}
			for name, w := range want {
				u := resp.URLs[name]
				shape := testBase + "/respond?action=" + name + "&type=" + string(w.Type) + "&data=" + prefix
				if !strings.HasPrefix(u, shape) {
					t.Errorf("URL %q does not start with %q", u, shape)
				}
				q := query(t, u)
				if len(q) != 3 || len(q["data"]) != 1 {
					t.Errorf("URL query %v: want exactly action, type and one data", q)
				}
				if strings.ContainsAny(q.Get("data"), " +/%") || strings.ContainsAny(u[len(shape):], "%&?#") {
					t.Errorf("data parameter of %q needs escaping", u)
				}
				got, err := e.codec.Decode(context.Background(), q.Get("data"))
				if err != nil {
					t.Fatalf("decode the %s URL: %v", name, err)
				}
				w.Target.ID = token
				w.TransactionID = resp.TransactionID
				w.IssuedAt = t0.Truncate(time.Second)
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("%s payload (-want +got):\n%s", name, diff)
				}
			}
			e.assertNoCalls(t)
		})
	}
}

func TestCreateURLsPayloadOptions(t *testing.T) {
	s := func(v string) *string { return &v }
	e := newEnv(t, callbackurls.Config{EnableOutputParameters: true, EnablePostActions: true, PostActions: callbackurlstest.PostActions{}}, true)
	resp := e.create(t, `{"token":"tok","enable_output_parameters":true,"actions":[
		{"name":"ñandú_1","type":"success","output":[1, "$x"],"response":{"redirect":"https://example.com/ok"}},
		{"name":"empty_response","type":"heartbeat","response":{}},
		{"name":"body","type":"failure","response":{"json":{ "a" : 1 },"html":"<b>hi</b>","text":""}},
		{"name":"hook","type":"post","outcomes":[ {"name":"ok", "type":"success", "output":{}, "match":"x"} ]}]}`)
	decode := func(name string) *callbackurls.Payload {
		t.Helper()
		q := query(t, resp.URLs[name])
		if q.Get("action") != name {
			t.Errorf("action query %q, want %q", q.Get("action"), name)
		}
		p, err := e.codec.Decode(context.Background(), q.Get("data"))
		if err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		return p
	}
	if u := resp.URLs["ñandú_1"]; !strings.Contains(u, "?action=%C3%B1and%C3%BA_1&type=success&data=") {
		t.Errorf("unicode action name not escaped: %s", u)
	}
	p := decode("ñandú_1")
	if !p.Parameters || string(p.Output) != `[1,"$x"]` || string(p.Response) != `{"redirect":"https://example.com/ok"}` {
		t.Errorf("payload %+v", p)
	}
	if p := decode("empty_response"); p.Response != nil || !p.Parameters {
		t.Errorf("an empty response spec is kept: %s", p.Response)
	}
	p = decode("body")
	var spec callbackurls.ResponseSpec
	if err := json.Unmarshal(p.Response, &spec); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(callbackurls.ResponseSpec{JSON: json.RawMessage(`{"a":1}`), HTML: s("<b>hi</b>"), Text: s("")}, spec); diff != "" {
		t.Errorf("response spec (-want +got):\n%s", diff)
	}
	p = decode("hook")
	if p.Parameters {
		t.Error("a post action has output parameters enabled")
	}
	if string(p.Outcomes) != `[{"name":"ok","type":"success","output":{},"match":"x"}]` {
		t.Errorf("outcomes %s", p.Outcomes)
	}
}

func TestCreateURLsExpiration(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	tests := []struct {
		in       string
		wantResp string
		want     time.Time
	}{
		{"2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		// The payload holds whole seconds: a fraction rounds up, so that a
		// URL never expires before the time asked for, and the response
		// says the instant enforced, in the request's offset.
		{"2030-01-02T03:04:05.999999+02:00", "2030-01-02T03:04:06+02:00", time.Date(2030, 1, 2, 1, 4, 6, 0, time.UTC)},
		{"2030-01-02T03:04:05.000000001-05:30", "2030-01-02T03:04:06-05:30", time.Date(2030, 1, 2, 8, 34, 6, 0, time.UTC)},
		{"2030-01-02T03:04:05.000+02:00", "2030-01-02T03:04:05+02:00", time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC)},
		{"2030-01-02 03:04:05-07:00", "2030-01-02T03:04:05-07:00", time.Date(2030, 1, 2, 10, 4, 5, 0, time.UTC)},
		{"2030-01-02T03:04:05+00:00", "2030-01-02T03:04:05Z", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		{t0.Add(2 * time.Second).Format(time.RFC3339Nano), t0.Add(3 * time.Second).Truncate(time.Second).Format(time.RFC3339), t0.Add(3 * time.Second).Truncate(time.Second)},
		// Within the current second, yet after now: it rounds up to the
		// next second, still in the future.
		{t0.Add(50 * time.Millisecond).Format(time.RFC3339Nano), t0.Add(time.Second).Truncate(time.Second).Format(time.RFC3339), t0.Add(time.Second).Truncate(time.Second)},
	}
	for _, tt := range tests {
		resp := e.create(t, `{"token":"tok","expiration":"`+tt.in+`","actions":[{"name":"ping","type":"heartbeat"}]}`)
		if resp.Expiration != tt.wantResp {
			t.Errorf("expiration %q: response says %q, want %q", tt.in, resp.Expiration, tt.wantResp)
		}
		p, err := e.codec.Decode(context.Background(), query(t, resp.URLs["ping"]).Get("data"))
		if err != nil {
			t.Fatal(err)
		}
		if !p.Expiration.Equal(tt.want) {
			t.Errorf("expiration %q: payload has %v, want %v", tt.in, p.Expiration, tt.want)
		}
	}
}

func TestCreateURLsBaseURL(t *testing.T) {
	via := callbackurls.Gateway{APIID: "via123", Stage: "prod"}
	own := callbackurls.Gateway{APIID: "own456", Stage: "v1"}
	tests := []struct {
		name     string
		cfg      callbackurls.Config
		reqBase  string // JSON, or empty for none
		via      callbackurls.Gateway
		want     string
		wantCode string
		wantKind callbackurls.Kind
	}{
		{name: "request string wins", cfg: callbackurls.Config{BaseURL: "https://config.example", Region: "us-east-1"}, reqBase: `"https://req.example/p/"`, via: via, want: "https://req.example/p"},
		{name: "request API object wins", cfg: callbackurls.Config{BaseURL: "https://config.example", Region: "eu-west-1"}, reqBase: `{"api_id":"abc","stage":"v2"}`, via: via, want: "https://abc.execute-api.eu-west-1.amazonaws.com/v2"},
		{name: "config before the stage of the request", cfg: callbackurls.Config{BaseURL: "https://config.example", Region: "us-east-1"}, via: via, want: "https://config.example"},
		{name: "the stage of the request", cfg: callbackurls.Config{Region: "us-east-1", API: own}, via: via, want: "https://via123.execute-api.us-east-1.amazonaws.com/prod"},
		{name: "the deployment's own stage last", cfg: callbackurls.Config{Region: "us-east-1", API: own}, want: "https://own456.execute-api.us-east-1.amazonaws.com/v1"},
		{name: "a stage needs a region", via: via, wantCode: callbackurls.CodeServiceError, wantKind: callbackurls.Internal},
		{name: "no base at all", wantCode: callbackurls.CodeServiceError, wantKind: callbackurls.Internal},
		{name: "relative", reqBase: `"/prod"`, via: via, wantCode: callbackurls.CodeInvalidBaseURL, wantKind: callbackurls.BadInput},
		{name: "ftp", reqBase: `"ftp://example.com"`, via: via, wantCode: callbackurls.CodeInvalidBaseURL, wantKind: callbackurls.BadInput},
		{name: "with query", reqBase: `"https://example.com/?a=b"`, via: via, wantCode: callbackurls.CodeInvalidBaseURL, wantKind: callbackurls.BadInput},
		{name: "API object without a region anywhere", reqBase: `{"api_id":"abc","stage":"v2"}`, via: via, wantCode: callbackurls.CodeInvalidBaseURL, wantKind: callbackurls.BadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testkit.NewClock(t0)
			tt.cfg.Now = clock.Now
			sfn := &callbackurlstest.Target{}
			svc := callbackurls.New(tt.cfg, codecFor(t, true), callbackurls.Targets{callbackurls.TaskToken: sfn})
			b := `{"token":"tok","actions":[{"name":"ping","type":"heartbeat"}]`
			if tt.reqBase != "" {
				b += `,"base_url":` + tt.reqBase
			}
			r, err := callbackurls.ParseCreateRequest([]byte(b + "}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, tid, err := svc.CreateURLs(context.Background(), r, tt.via)
			if !hexID.MatchString(tid) {
				t.Errorf("no transaction id: %q", tid)
			}
			if tt.wantCode != "" {
				apiError(t, err, tt.wantCode, tt.wantKind)
				if resp != nil {
					t.Errorf("response with an error: %+v", resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want + "/respond?action=ping&type=heartbeat&data=3-"; !strings.HasPrefix(resp.URLs["ping"], want) {
				t.Errorf("URL %s, want prefix %s", resp.URLs["ping"], want)
			}
			if len(sfn.Calls()) != 0 {
				t.Error("CreateURLs called Step Functions")
			}
		})
	}
}

func TestCreateURLsErrors(t *testing.T) {
	long := incompressible(3000)
	tests := []struct {
		name string
		cfg  callbackurls.Config
		body string
		code string
		kind callbackurls.Kind
	}{
		{name: "expiration in the past", body: `{"token":"t","expiration":"2020-01-01T00:00:00Z","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "expiration now", body: `{"token":"t","expiration":"` + t0.Format(time.RFC3339Nano) + `","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "expiration just before now", body: `{"token":"t","expiration":"` + t0.Add(-time.Nanosecond).Format(time.RFC3339Nano) + `","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "expiration offset +24:00", body: `{"token":"t","expiration":"2030-01-01T00:00:00+24:00","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "base_url port 99999", body: `{"token":"t","base_url":"https://example.com:99999","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidBaseURL, kind: callbackurls.BadInput},
		{name: "expiration without offset", body: `{"token":"t","expiration":"2030-01-01T00:00:00","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "expiration garbage", body: `{"token":"t","expiration":"soon","actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeInvalidDate, kind: callbackurls.BadInput},
		{name: "output parameters with the switch off", body: `{"token":"t","enable_output_parameters":true,"actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeParametersDisabled, kind: callbackurls.BadInput},
		{name: "post action with the switch off", body: `{"token":"t","actions":[{"name":"a","type":"heartbeat"},{"name":"hook","type":"post","outcomes":[]}]}`, code: callbackurls.CodePostActionsDisabled, kind: callbackurls.BadInput},
		{name: "post action switched on without an evaluator", cfg: callbackurls.Config{EnablePostActions: true}, body: `{"token":"t","actions":[{"name":"hook","type":"post","outcomes":[]}]}`, code: callbackurls.CodePostActionsDisabled, kind: callbackurls.BadInput},
		{name: "post action the evaluator refuses", cfg: callbackurls.Config{EnablePostActions: true, PostActions: callbackurlstest.PostActions{}}, body: `{"token":"t","actions":[{"name":"hook","type":"post","outcomes":{}}]}`, code: callbackurls.CodeInvalidPostActionOutcome, kind: callbackurls.BadInput},
		{name: "URL too long", cfg: callbackurls.Config{MaxURLLength: 2000},
			body: `{"token":"t","actions":[{"name":"a","type":"success","output":{"x":"` + long + `"}}]}`, code: callbackurls.CodeURLTooLong, kind: callbackurls.BadInput},
		{name: "data longer than a callback accepts", cfg: callbackurls.Config{MaxURLLength: 1 << 20},
			body: `{"token":"t","actions":[{"name":"a","type":"success","output":{"x":"` + incompressible(20000) + `"}}]}`, code: callbackurls.CodeURLTooLong, kind: callbackurls.BadInput},
		{name: "URL too long for the real token", cfg: callbackurls.Config{MaxURLLength: 500},
			body: `{"token":` + jsonString(token) + `,"actions":[{"name":"a","type":"heartbeat"}]}`, code: callbackurls.CodeURLTooLong, kind: callbackurls.BadInput},
	}
	for _, tt := range tests {
		for _, encrypted := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/encrypted=%t", tt.name, encrypted), func(t *testing.T) {
				e := newEnv(t, tt.cfg, encrypted)
				r, err := callbackurls.ParseCreateRequest([]byte(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				resp, tid, err := e.svc.CreateURLs(context.Background(), r, callbackurls.Gateway{})
				apiError(t, err, tt.code, tt.kind)
				if resp != nil {
					t.Errorf("response with an error: %+v", resp)
				}
				if tid == "" {
					t.Error("no transaction id for the failed attempt")
				}
				e.assertNoCalls(t)
			})
		}
	}

	// The default limit allows a long output when the URL fits.
	e := newEnv(t, callbackurls.Config{}, true)
	e.create(t, `{"token":"t","actions":[{"name":"a","type":"success","output":{"x":"`+long+`"}}]}`)
	// A repetitive output is compressed to fit a short limit, and works.
	e = newEnv(t, callbackurls.Config{MaxURLLength: 500}, true)
	resp := e.create(t, `{"token":"t","actions":[{"name":"a","type":"success","output":{"x":"`+strings.Repeat("x", 10000)+`"}}]}`)
	if _, err := e.respond(t, nil, resp.URLs["a"], false, nil); err != nil {
		t.Errorf("compressed URL: %v", err)
	}
	// A payload too large to be opened again is refused when created, even
	// when it compresses into a short URL (it would never work).
	for _, encrypted := range []bool{true, false} {
		e = newEnv(t, callbackurls.Config{}, encrypted)
		r, err := callbackurls.ParseCreateRequest([]byte(`{"token":"t","actions":[{"name":"a","type":"success","output":{"x":"` + strings.Repeat("x", callbackurls.MaxDataLength) + `"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.CreateURLs(context.Background(), r, callbackurls.Gateway{})
		apiError(t, err, callbackurls.CodeURLTooLong, callbackurls.BadInput)
	}
}

// respond calls Respond with the query of u, changed by edit.
func (e *env) respond(t testing.TB, svc *callbackurls.Service, u string, dryRun bool, edit func(q url.Values)) (*callbackurls.CallbackResult, error) {
	t.Helper()
	q := query(t, u)
	if edit != nil {
		edit(q)
	}
	if svc == nil {
		svc = e.svc
	}
	res, err := svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: q, Submission: callbackurls.Submission{Preview: dryRun}})
	if res == nil {
		t.Fatal("Respond returned a nil result")
	}
	return res, err
}

func TestRespond(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypted=%t", encrypted), func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{}, encrypted)
			resp := e.create(t, `{"token":`+jsonString(token)+`,"actions":[
				{"name":"approve","type":"success","output":{ "name_in_output" : "Ben", "n": 1.50 }},
				{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"},
				{"name":"bare_reject","type":"failure"},
				{"name":"literal","type":"success","output":"$who ${x} $"},
				{"name":"ping","type":"heartbeat"}]}`)

			// A dry run checks everything and sends nothing.
			for name := range resp.URLs {
				res, err := e.respond(t, nil, resp.URLs[name], true, nil)
				if err != nil {
					t.Fatalf("dry run of %s: %v", name, err)
				}
				if res.Sent || res.Action != name || res.TransactionID != resp.TransactionID || res.Payload == nil {
					t.Errorf("dry run of %s: %+v", name, res)
				}
			}
			e.assertNoCalls(t)

			for _, name := range []string{"approve", "reject", "bare_reject", "literal", "ping", "ping"} {
				res, err := e.respond(t, nil, resp.URLs[name], false, nil)
				if err != nil {
					t.Fatalf("respond %s: %v", name, err)
				}
				if !res.Sent || res.Action != name || res.TransactionID != resp.TransactionID || res.Response != nil {
					t.Errorf("respond %s: %+v", name, res)
				}
			}
			want := []sfnCall{
				{Type: "success", Ref: token, Output: `{"name_in_output":"Ben","n":1.50}`},
				{Type: "failure", Ref: token, Error: "rejected", Cause: "Ben rejected it"},
				{Type: "failure", Ref: token},
				{Type: "success", Ref: token, Output: `"$who ${x} $"`},
				{Type: "heartbeat", Ref: token},
				{Type: "heartbeat", Ref: token},
			}
			if diff := cmp.Diff(want, e.sfn.Calls()); diff != "" {
				t.Errorf("Step Functions calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRespondResponseSpec(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	resp := e.create(t, `{"token":"tok","actions":[
		{"name":"go","type":"heartbeat","response":{"redirect":"https://example.com/$who"}},
		{"name":"show","type":"heartbeat","response":{"json":{"a":"$b"},"text":"t $x"}}]}`)
	res, err := e.respond(t, nil, resp.URLs["go"], false, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without output parameters the spec is used verbatim.
	if diff := cmp.Diff(&callbackurls.ResponseSpec{Redirect: "https://example.com/$who"}, res.Response); diff != "" {
		t.Errorf("response spec (-want +got):\n%s", diff)
	}
	res, err = e.respond(t, nil, resp.URLs["show"], false, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "t $x"
	if diff := cmp.Diff(&callbackurls.ResponseSpec{JSON: json.RawMessage(`{"a":"$b"}`), Text: &text}, res.Response); diff != "" {
		t.Errorf("response spec (-want +got):\n%s", diff)
	}
}

// flip replaces the character at i with another one of the base64url
// alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestRespondErrors(t *testing.T) {
	ctx := context.Background()
	// A 2- payload shaped like the reference's (an AWS Encryption SDK
	// message in base64url).
	ref2 := "2-AYADeHB2aXhS9A5a2K1Zq3a6V5sAbwACABVhd3MtY3J5cHRvLXB1YmxpYy1rZXkAREF4SHF4"
	unencrypted := newEnv(t, callbackurls.Config{}, false)
	oneURL := unencrypted.create(t, approveReject).URLs["approve"]
	encrypted := newEnv(t, callbackurls.Config{}, true)
	threeURL := encrypted.create(t, approveReject).URLs["approve"]
	// A 3- payload sealed with another key.
	otherKey := &payload.Codec{Keys: mustKeyring(t, "k1", 9)}
	foreign, err := otherKey.Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "approve", Type: callbackurls.Success, Output: json.RawMessage("{}")})
	if err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name      string
		encrypted bool
		cfg       *callbackurls.Config // deployment at callback time (nil: as created)
		create    string               // request body (default approveReject)
		action    string               // URL used (default approve)
		advance   time.Duration
		edit      func(q url.Values)
		code      string
		kind      callbackurls.Kind
	}
	data := func(f func(string) string) func(q url.Values) {
		return func(q url.Values) { q.Set("data", f(q.Get("data"))) }
	}
	expiring := `{"token":"tok","expiration":"` + t0.Add(time.Hour).Format(time.RFC3339) + `","actions":[{"name":"approve","type":"success","output":{}}]}`
	var tests []tc
	for _, enc := range []bool{true, false} {
		tests = append(tests,
			tc{name: "expired", encrypted: enc, create: expiring, advance: 2 * time.Hour, code: callbackurls.CodeExpiredPayload, kind: callbackurls.BadInput},
			tc{name: "expired at the instant", encrypted: enc, create: expiring, advance: time.Hour, code: callbackurls.CodeExpiredPayload, kind: callbackurls.BadInput},
			tc{name: "action query mismatch", encrypted: enc, edit: func(q url.Values) { q.Set("action", "reject") }, code: callbackurls.CodeActionMismatched, kind: callbackurls.BadInput},
			tc{name: "type query mismatch", encrypted: enc, edit: func(q url.Values) { q.Set("type", "failure") }, code: callbackurls.CodeActionMismatched, kind: callbackurls.BadInput},
			tc{name: "type query mismatch on reject", encrypted: enc, action: "reject", edit: func(q url.Values) { q.Set("type", "success") }, code: callbackurls.CodeActionMismatched, kind: callbackurls.BadInput},
			tc{name: "missing data", encrypted: enc, edit: func(q url.Values) { q.Del("data") }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "empty data", encrypted: enc, edit: func(q url.Values) { q.Set("data", "") }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "two data parameters", encrypted: enc, edit: func(q url.Values) { q.Add("data", q.Get("data")) }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "truncated data", encrypted: enc, edit: data(func(s string) string { return s[:len(s)/2] }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "data prefix only", encrypted: enc, edit: data(func(s string) string { return s[:2] }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "unknown format", encrypted: enc, edit: data(func(s string) string { return "9-" + s[2:] }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "no format", encrypted: enc, edit: data(func(s string) string { return s[2:] }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "not base64", encrypted: enc, edit: data(func(s string) string { return s[:10] + "!*" + s[10:] }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
			tc{name: "data too long", encrypted: enc, edit: data(func(s string) string { return s + strings.Repeat("A", callbackurls.MaxDataLength) }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		)
	}
	tests = append(tests,
		tc{name: "altered in the middle", encrypted: true, edit: data(func(s string) string { return flip(s, len(s)/2) }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "altered at the end", encrypted: true, edit: data(func(s string) string { return flip(s, len(s)-1) }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "altered after the prefix", encrypted: true, edit: data(func(s string) string { return flip(s, 2) }), code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "sealed with a foreign key", encrypted: true, edit: func(q url.Values) { q.Set("data", foreign) }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "1- payload on an encrypted deployment", encrypted: true, edit: func(q url.Values) { q.Set("data", query(t, oneURL).Get("data")) }, code: callbackurls.CodeEncryptionRequired, kind: callbackurls.BadInput},
		tc{name: "3- payload on an unencrypted deployment", encrypted: false, edit: func(q url.Values) { q.Set("data", query(t, threeURL).Get("data")) }, code: callbackurls.CodeDecryptionUnsupported, kind: callbackurls.BadInput},
		tc{name: "2- payload on an encrypted deployment", encrypted: true, edit: func(q url.Values) { q.Set("data", ref2) }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "2- payload on an unencrypted deployment", encrypted: false, edit: func(q url.Values) { q.Set("data", ref2) }, code: callbackurls.CodeDecryptionUnsupported, kind: callbackurls.BadInput},
		tc{name: "1- payload that is not JSON", encrypted: false, edit: func(q url.Values) { q.Set("data", "1-bm90IGpzb24") }, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "1- payload without a token", encrypted: false, edit: func(q url.Values) {
			q.Set("data", "1-eyJuYW1lIjoiYXBwcm92ZSIsImFjdCI6InN1Y2Nlc3MiLCJkYXRhIjp7Im91dHB1dCI6e319fQ==")
		}, code: callbackurls.CodeInvalidPayload, kind: callbackurls.BadInput},
		tc{name: "post URL with post actions switched off", encrypted: true, create: `{"token":"t","actions":[{"name":"hook","type":"post","outcomes":[]}]}`, action: "hook",
			cfg: &callbackurls.Config{}, code: callbackurls.CodePostActionsDisabled, kind: callbackurls.BadInput},
	)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/encrypted=%t", tt.name, tt.encrypted), func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{EnablePostActions: true, PostActions: callbackurlstest.PostActions{}}, tt.encrypted)
			body := approveReject
			if tt.create != "" {
				body = tt.create
			}
			resp := e.create(t, body)
			action := "approve"
			if tt.action != "" {
				action = tt.action
			}
			e.clock.Advance(tt.advance)
			svc := e.svc
			if tt.cfg != nil {
				svc = e.with(*tt.cfg)
			}
			for _, dry := range []bool{false, true} {
				res, err := e.respond(t, svc, resp.URLs[action], dry, tt.edit)
				apiError(t, err, tt.code, tt.kind)
				if res.Sent {
					t.Error("Sent with an error")
				}
			}
			e.assertNoCalls(t)
		})
	}
}

// incompressible returns n characters that deflate does not shrink much.
func incompressible(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = alphabet[x%64]
	}
	return string(b)
}

func mustKeyring(t testing.TB, id string, seed byte) *keyring.Keyring {
	t.Helper()
	secret := make([]byte, keyring.KeySize)
	for i := range secret {
		secret[i] = seed + byte(i)
	}
	r, err := keyring.New(keyring.Key{ID: id, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const paramsRequest = `{"token":"tok","enable_output_parameters":true,"actions":[
	{"name":"approve","type":"success",
	 "output":{"who":"${greeting}, $who!","nested":{"list":["$who",1.50,true,null,{"price":"$$5","$$k2":"$action/$type/${key}"}]},"plain":"none"},
	 "response":{"json":{"msg":"thanks $who"},"text":"bye ${who}","html":"<p>$who</p>"}},
	{"name":"go","type":"heartbeat","response":{"redirect":"https://example.com/done?u=$who"}},
	{"name":"reject","type":"failure","error":"E_$code","cause":"$who said ${why} ($$)"}]}`

// TestCreateRefusesBadPlaceholders: a placeholder no callback could fill
// is refused when the URLs are made, not at every click.
func TestCreateRefusesBadPlaceholders(t *testing.T) {
	e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, true)
	for _, action := range []string{
		`{"name":"bad","type":"success","output":{"x":"${who"}}`,
		`{"name":"dollar","type":"success","output":{"x":"cost: $"}}`,
		`{"name":"key","type":"success","output":{"$":"x"}}`,
		// A placeholder in a key would let the URL's holder choose the
		// member: k=decision&v=approve turning a reject into an approve.
		`{"name":"member","type":"success","output":{"decision":"reject","$k":"$v"}}`,
		`{"name":"deep","type":"success","output":{"a":[{"${k}":1}]}}`,
		`{"name":"jsonkey","type":"heartbeat","response":{"json":{"x$k":1}}}`,
		`{"name":"digit","type":"failure","error":"$1"}`,
		`{"name":"cause","type":"failure","cause":"${}"}`,
		`{"name":"html","type":"heartbeat","response":{"html":"<p>$</p>"}}`,
		`{"name":"host","type":"heartbeat","response":{"redirect":"https://$host/done"}}`,
	} {
		req, err := callbackurls.ParseCreateRequest([]byte(`{"token":"tok","enable_output_parameters":true,"actions":[` + action + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
		apiError(t, err, callbackurls.CodeOutputFormatting, callbackurls.BadInput)
		// Without parameters the same text is plain text.
		req.EnableOutputParameters = false
		if _, _, err := e.svc.CreateURLs(context.Background(), req, callbackurls.Gateway{}); err != nil {
			t.Errorf("%s without parameters: %v", action, err)
		}
	}
}

func TestRespondOutputParameters(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypted=%t", encrypted), func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, encrypted)
			resp := e.create(t, paramsRequest)
			params := func(q url.Values) {
				q.Set("who", `Ben "Q" <b>`)
				q.Set("greeting", "Hello")
				q.Set("key", "k")
				q.Set("code", "NO")
				q.Set("why", "no & never")
				q.Add("who", "ignored second value")
			}
			res, err := e.respond(t, nil, resp.URLs["approve"], false, params)
			if err != nil {
				t.Fatal(err)
			}
			msg := `{"msg":"thanks Ben \"Q\" <b>"}`
			// HTML gets escaped values; text and JSON get them as they are.
			text, html := `bye Ben "Q" <b>`, `<p>Ben &#34;Q&#34; &lt;b&gt;</p>`
			if res.Response == nil || !jsonEqual(t, string(res.Response.JSON), msg) || *res.Response.Text != text || *res.Response.HTML != html {
				t.Errorf("response spec %+v", res.Response)
			}
			res, err = e.respond(t, nil, resp.URLs["go"], false, params)
			if err != nil {
				t.Fatal(err)
			}
			// Redirects get query-escaped values so a parameter cannot change the host.
			if res.Response.Redirect != `https://example.com/done?u=Ben+%22Q%22+%3Cb%3E` {
				t.Errorf("redirect %q", res.Response.Redirect)
			}
			if _, err := e.respond(t, nil, resp.URLs["reject"], false, params); err != nil {
				t.Fatal(err)
			}
			calls := e.sfn.Calls()
			if len(calls) != 3 {
				t.Fatalf("calls %+v", calls)
			}
			wantOutput := `{"who":"Hello, Ben \"Q\" <b>!","nested":{"list":["Ben \"Q\" <b>",1.50,true,null,{"price":"$5","$k2":"approve/success/k"}]},"plain":"none"}`
			if !jsonEqual(t, calls[0].Output, wantOutput) {
				t.Errorf("output\n got %s\nwant %s", calls[0].Output, wantOutput)
			}
			if !strings.Contains(calls[0].Output, "1.50") {
				t.Errorf("number reformatted: %s", calls[0].Output)
			}
			if diff := cmp.Diff(sfnCall{Type: "failure", Ref: "tok", Error: "E_NO", Cause: `Ben "Q" <b> said no & never ($)`}, calls[2]); diff != "" {
				t.Errorf("failure (-want +got):\n%s", diff)
			}

			// Errors: nothing is sent.
			e.sfn = &callbackurlstest.Target{}
			e.svc = e.with(callbackurls.Config{EnableOutputParameters: true})
			missing := func(name string) func(q url.Values) {
				return func(q url.Values) { params(q); q.Del(name) }
			}
			for _, c := range []struct {
				action string
				edit   func(q url.Values)
			}{
				{"approve", nil},
				{"approve", missing("who")},
				{"approve", missing("greeting")},
				{"approve", missing("key")},
				{"go", missing("who")},
				{"reject", missing("why")},
				{"reject", missing("code")},
			} {
				for _, dry := range []bool{false, true} {
					_, err := e.respond(t, nil, resp.URLs[c.action], dry, c.edit)
					apiError(t, err, callbackurls.CodeOutputFormatting, callbackurls.BadInput)
				}
			}
			e.assertNoCalls(t)

			// The deployment switched the feature off after the URLs were made.
			off := e.with(callbackurls.Config{})
			for _, action := range []string{"approve", "reject", "go"} {
				_, err := e.respond(t, off, resp.URLs[action], false, params)
				apiError(t, err, callbackurls.CodeParametersDisabled, callbackurls.BadInput)
			}
			e.assertNoCalls(t)
		})
	}
}

func jsonEqual(t testing.TB, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("not JSON: %s", a)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return cmp.Equal(x, y)
}

func TestRespondWithoutParametersKeepsPlaceholders(t *testing.T) {
	// The deployment allows parameters but the request did not ask.
	e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, true)
	resp := e.create(t, `{"token":"tok","actions":[{"name":"a","type":"success","output":{"$k":"$who ${x}"}},{"name":"r","type":"failure","error":"$e","cause":"${c}"}]}`)
	for _, a := range []string{"a", "r"} {
		if _, err := e.respond(t, nil, resp.URLs[a], false, func(q url.Values) { q.Set("who", "Ben") }); err != nil {
			t.Fatal(err)
		}
	}
	want := []sfnCall{{Type: "success", Ref: "tok", Output: `{"$k":"$who ${x}"}`}, {Type: "failure", Ref: "tok", Error: "$e", Cause: "${c}"}}
	if diff := cmp.Diff(want, e.sfn.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRespondStepFunctionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     func(token string) error
		code    string
		kind    callbackurls.Kind
		sfnCode string
	}{
		{"task timed out", func(tok string) error {
			return &callbackurls.TargetError{Code: callbackurls.TaskTimedOut, Refusal: callbackurls.Closed, Message: "Task Timed Out: 'Provided task does not exist anymore' " + tok}
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, callbackurls.TaskTimedOut},
		{"task does not exist", func(tok string) error {
			return fmt.Errorf("sfn: %w", &callbackurls.TargetError{Code: callbackurls.TaskDoesNotExist, Refusal: callbackurls.Unknown, Message: tok})
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, callbackurls.TaskDoesNotExist},
		{"invalid token", func(tok string) error {
			return &callbackurls.TargetError{Code: callbackurls.InvalidToken, Refusal: callbackurls.InvalidRef, Message: "Invalid token " + tok}
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, callbackurls.InvalidToken},
		{"invalid output", func(tok string) error {
			return &callbackurls.TargetError{Code: callbackurls.InvalidOutput, Refusal: callbackurls.InvalidDecision, Message: tok}
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, callbackurls.InvalidOutput},
		{"unknown refusal", func(tok string) error {
			return &callbackurls.TargetError{Code: "KmsAccessDeniedException", Message: tok}
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, "KmsAccessDeniedException"},
		{"validation detail is kept", func(string) error {
			return &callbackurls.TargetError{Code: "ValidationException", Message: "cause: Member must have length less than or equal to 32768"}
		}, callbackurls.CodeStepFunctionsError, callbackurls.BadInput, "ValidationException"},
		{"unavailable", func(tok string) error {
			return fmt.Errorf("ThrottlingException for %s: %w", tok, callbackurls.ErrUnavailable)
		}, callbackurls.CodeServiceError, callbackurls.Unavailable, ""},
		{"unexpected", func(tok string) error { return errors.New("boom " + tok) }, callbackurls.CodeServiceError, callbackurls.Internal, ""},
	}
	for _, tt := range tests {
		for _, action := range []string{"approve", "reject", "ping"} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				e := newEnv(t, callbackurls.Config{}, true)
				resp := e.create(t, approveReject)
				e.sfn.Err = tt.err(token)
				res, err := e.respond(t, nil, resp.URLs[action], false, nil)
				ae := apiError(t, err, tt.code, tt.kind)
				if ae.TargetCode != tt.sfnCode {
					t.Errorf("TargetCode %q, want %q", ae.TargetCode, tt.sfnCode)
				}
				var te *callbackurls.TargetError
				if errors.As(tt.err(token), &te) && ae.Refusal != te.Refusal {
					t.Errorf("Refusal %d, want the target's %d", ae.Refusal, te.Refusal)
				}
				if tt.sfnCode != "" && !strings.Contains(ae.Message, tt.sfnCode) {
					t.Errorf("message %q does not name %s", ae.Message, tt.sfnCode)
				}
				if tt.sfnCode == "ValidationException" && !strings.Contains(ae.Message, "Member must have length") {
					t.Errorf("message %q lost the adapter's detail", ae.Message)
				}
				if strings.Contains(ae.Message, token[:40]) || strings.Contains(ae.Message, token[len(token)-40:]) {
					t.Errorf("message holds the token: %s", ae.Message)
				}
				if res.Sent || res.TransactionID != resp.TransactionID || res.Action != action {
					t.Errorf("result %+v", res)
				}
				if n := len(e.sfn.Calls()); n != 1 {
					t.Errorf("%d calls, want 1", n)
				}
			})
		}
	}
}

func TestRespondSecondCompletion(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	e.sfn.CloseTasks = true
	resp := e.create(t, approveReject)
	if _, err := e.respond(t, nil, resp.URLs["ping"], false, nil); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if _, err := e.respond(t, nil, resp.URLs["approve"], false, nil); err != nil {
		t.Fatalf("first completion: %v", err)
	}
	for _, action := range []string{"approve", "reject", "ping"} {
		_, err := e.respond(t, nil, resp.URLs[action], false, nil)
		ae := apiError(t, err, callbackurls.CodeStepFunctionsError, callbackurls.BadInput)
		if ae.TargetCode != callbackurls.TaskTimedOut {
			t.Errorf("%s after completion: TargetCode %q", action, ae.TargetCode)
		}
	}
	// A dry run does not reach Step Functions, so it cannot know.
	if _, err := e.respond(t, nil, resp.URLs["approve"], true, nil); err != nil {
		t.Errorf("dry run after completion: %v", err)
	}
	if n := len(e.sfn.Calls()); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
}

func TestAsError(t *testing.T) {
	own := callbackurls.Errorf(callbackurls.CodeInvalidPayload, "x")
	if got := callbackurls.AsError(fmt.Errorf("wrapped: %w", own)); got != own {
		t.Errorf("AsError did not unwrap an *Error: %v", got)
	}
	got := callbackurls.AsError(errors.New("secret detail"))
	if got.Code != callbackurls.CodeServiceError || got.Kind != callbackurls.Internal || strings.Contains(got.Message, "secret") {
		t.Errorf("AsError(plain) = %+v", got)
	}
	if got := callbackurls.AsError(fmt.Errorf("x: %w", callbackurls.ErrUnavailable)); got.Code != callbackurls.CodeServiceError || got.Kind != callbackurls.Unavailable {
		t.Errorf("AsError(unavailable) = %+v", got)
	}
	if !errors.Is(callbackurls.AsError(fmt.Errorf("x: %w", callbackurls.ErrUnavailable)), callbackurls.ErrUnavailable) {
		t.Error("the 503 error does not wrap its cause")
	}
}

func TestCallbackURL(t *testing.T) {
	got := callbackurls.CallbackURL("https://h.example/v1", "a b&c", callbackurls.Failure, "3-abc_-")
	if want := "https://h.example/v1/respond?action=a+b%26c&type=failure&data=3-abc_-"; got != want {
		t.Errorf("CallbackURL = %q, want %q", got, want)
	}
}

func TestRespondExpirationBoundary(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, true)
	exp := t0.Truncate(time.Second).Add(time.Hour)
	resp := e.create(t, `{"token":"tok","expiration":"`+exp.Format(time.RFC3339)+`","actions":[{"name":"ping","type":"heartbeat"}]}`)
	e.clock.Set(exp.Add(-time.Nanosecond))
	if _, err := e.respond(t, nil, resp.URLs["ping"], false, nil); err != nil {
		t.Fatalf("just before the expiration: %v", err)
	}
	e.clock.Set(exp)
	_, err := e.respond(t, nil, resp.URLs["ping"], false, nil)
	apiError(t, err, callbackurls.CodeExpiredPayload, callbackurls.BadInput)
	if n := len(e.sfn.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// TestForgedUnencryptedPayloadsAreChecked: with encryption off anyone can
// write a 1- payload; one beyond CreateUrls' limits never reaches Step
// Functions.
func TestForgedUnencryptedPayloadsAreChecked(t *testing.T) {
	e := newEnv(t, callbackurls.Config{}, false)
	valid := callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "approve", Type: callbackurls.Failure}
	for name, edit := range map[string]func(p *callbackurls.Payload){
		"token too long":  func(p *callbackurls.Payload) { p.Target.ID = strings.Repeat("a", 2049) },
		"bad action name": func(p *callbackurls.Payload) { p.Action = "a b<>" },
		"error too long":  func(p *callbackurls.Payload) { p.Error = strings.Repeat("e", 257) },
		"cause too long":  func(p *callbackurls.Payload) { p.Cause = strings.Repeat("c", 32769) },
		"output too large": func(p *callbackurls.Payload) {
			p.Type, p.Output = callbackurls.Success, []byte(`"`+strings.Repeat("o", 262144)+`"`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := valid
			edit(&p)
			data, err := e.codec.Encode(context.Background(), &p)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"data": {data}}
			_, err = e.svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: q})
			apiError(t, err, callbackurls.CodeInvalidPayload, callbackurls.BadInput)
		})
	}
	e.assertNoCalls(t)
}
