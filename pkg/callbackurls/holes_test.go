package callbackurls_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestForgedResponseSpecsAreChecked: a payload's response spec gets
// CreateUrls' checks when the URL is opened, whatever the key mode. With
// encryption off anyone can write a 1- payload, and its spec is served on
// this service's origin: a javascript: redirect, or one to a path of this
// origin, must not be followed.
func TestForgedResponseSpecsAreChecked(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		parameters bool
		wantCode   string // "" accepted
	}{
		{"https redirect", `{"redirect":"https://example.com/thanks"}`, false, ""},
		{"http redirect", `{"redirect":"http://example.com/thanks"}`, false, ""},
		{"html, text and json", `{"html":"<p>ok</p>","text":"ok","json":{"ok":true}}`, false, ""},
		{"javascript: redirect", `{"redirect":"javascript:alert(document.domain)"}`, false, callbackurls.CodeInvalidPayload},
		{"JavaScript: with a tab", `{"redirect":"Java\tScript:alert(1)"}`, false, callbackurls.CodeInvalidPayload},
		{"data: redirect", `{"redirect":"data:text/html,<script>alert(1)</script>"}`, false, callbackurls.CodeInvalidPayload},
		{"vbscript: redirect", `{"redirect":"vbscript:msgbox(1)"}`, false, callbackurls.CodeInvalidPayload},
		{"ftp redirect", `{"redirect":"ftp://example.com/x"}`, false, callbackurls.CodeInvalidPayload},
		{"path of this origin", `{"redirect":"/local/tasks"}`, false, callbackurls.CodeInvalidPayload},
		{"scheme-relative", `{"redirect":"//evil.example/x"}`, false, callbackurls.CodeInvalidPayload},
		{"no host", `{"redirect":"https:///x"}`, false, callbackurls.CodeInvalidPayload},
		{"json not an object", `{"json":[1,2]}`, false, callbackurls.CodeInvalidPayload},
		{"html not a string", `{"html":{"a":1}}`, false, callbackurls.CodeInvalidPayload},
		{"not an object", `"https://example.com"`, false, callbackurls.CodeInvalidPayload},
		{"parameters choosing the host", `{"redirect":"https://$host/x"}`, true, callbackurls.CodeOutputFormatting},
		{"parameters choosing the scheme", `{"redirect":"$scheme://example.com/x"}`, true, callbackurls.CodeInvalidPayload},
		{"bad placeholder", `{"text":"${"}`, true, callbackurls.CodeOutputFormatting},
	}
	for _, encrypted := range []bool{false, true} {
		for _, tt := range tests {
			mode := map[bool]string{false: "1-", true: "3-"}[encrypted]
			t.Run(mode+" "+tt.name, func(t *testing.T) {
				e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, encrypted)
				// Sealed straight by the codec, as a forger (or, in
				// encrypted mode, an older release with weaker checks)
				// would: CreateUrls never saw it.
				data, err := e.codec.Encode(context.Background(), &callbackurls.Payload{
					Target: callbackurls.TargetRef{ID: "tok"}, Action: "go", Type: callbackurls.Heartbeat, Parameters: tt.parameters, Response: json.RawMessage(tt.spec),
				})
				if err != nil {
					t.Fatal(err)
				}
				q := url.Values{"data": {data}, "host": {"evil.example"}, "scheme": {"javascript"}}
				res, err := e.svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: q})
				if tt.wantCode == "" {
					if err != nil || res.Response == nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				apiError(t, err, tt.wantCode, callbackurls.BadInput)
				if res.Response != nil {
					t.Errorf("the refused spec reached the edge: %+v", res.Response)
				}
				e.assertNoCalls(t)
			})
		}
	}
}

// TestParameterKeysRefusedAtCallback: a URL whose output has a
// placeholder in an object key (made before CreateUrls refused them, or
// forged with encryption off) is refused when it is used: with
// k=decision&v=approve, {"decision": "reject", "$k": "$v"} delivered
// {"decision": "approve"}.
func TestParameterKeysRefusedAtCallback(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, encrypted)
		data, err := e.codec.Encode(context.Background(), &callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: "tok"}, Action: "reject", Type: callbackurls.Success, Parameters: true,
			Output: json.RawMessage(`{"decision":"reject","$k":"$v"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"data": {data}, "k": {"decision"}, "v": {"approve"}}
		_, err = e.svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: q})
		apiError(t, err, callbackurls.CodeOutputFormatting, callbackurls.BadInput)
		e.assertNoCalls(t)
	}
}

// TestRedirectDotSegments: an output parameter cannot make a dot-segment
// ("." or "..", or a form browsers read as one) in a redirect's path,
// which would move the redirect up its path. What is accepted resolves,
// with net/url's RFC 3986 resolver and with a browser's reading of "%2e"
// and "\", to as deep a path as the template filled with plain values.
func TestRedirectDotSegments(t *testing.T) {
	tests := []struct {
		template, value string
		refused         bool
	}{
		{"https://example.com/app/$v/done", "..", true},
		{"https://example.com/app/$v/done", ".", true},
		{"https://example.com/app/${v}", "..", true},
		{"https://example.com/$v", "..", true},
		{"https://example.com/app/.$v/done", ".", true},
		{"https://example.com/app/$v./done", ".", true},
		{"https://example.com/app/.$v/done", "", true}, // the empty value makes "."
		// "%$v" would let a value make "%2e", but such a template is no URL:
		// CreateUrls refuses it, and so does opening a forged one.
		{"https://example.com/app\\$v\\done", "..", true},    // browsers read "\" as "/"
		{"https://example.com/app/$a$b/done?x=1", ".", true}, // two values, one segment
		{"https://example.com/app/$v/done", "...", false},    // not a dot-segment
		{"https://example.com/app/$v/done", "a..", false},
		{"https://example.com/app/$v/done", ".hidden", false},
		{"https://example.com/app/$v/done", "%2e%2e", false}, // escaped: "%252e%252e"
		{"https://example.com/app/$v/done", "../..", false},  // escaped: "..%2F.."
		{"https://example.com/app/$v/done", "..\\..", false}, // escaped: "..%5C.."
		{"https://example.com/app/$v/done", "", false},       // an empty segment
		{"https://example.com/app/$v/done", "x?y#z", false},
		{"https://example.com/app/done?next=$v", "..", false},            // the query is not the path
		{"https://example.com/app/done#$v", "..", false},                 // nor the fragment
		{"https://example.com/app/../done/$v", "x", false},               // the author's own ".." stays theirs
		{"https://example.com/app/$v/done", "caf\u00e9 \u2215..", false}, // non-ASCII, escaped
	}
	plain := strings.NewReplacer("$v", "x", "${v}", "x", "$a", "x", "$b", "x")
	for _, tt := range tests {
		t.Run(tt.template+" "+tt.value, func(t *testing.T) {
			e := newEnv(t, callbackurls.Config{EnableOutputParameters: true}, true)
			resp := e.create(t, `{"token":"tok","enable_output_parameters":true,"actions":[
				{"name":"go","type":"heartbeat","response":{"redirect":`+jsonString(tt.template)+`}}]}`)
			res, err := e.respond(t, nil, resp.URLs["go"], false, func(q url.Values) {
				q.Set("v", tt.value)
				q.Set("a", tt.value)
				q.Set("b", tt.value)
			})
			want := depths(t, plain.Replace(tt.template))
			if tt.refused {
				apiError(t, err, callbackurls.CodeOutputFormatting, callbackurls.BadInput)
				e.assertNoCalls(t)
				// The check is not idle: filled the naive way, the
				// redirect has a dot-segment a resolver removes.
				naive := strings.NewReplacer("$v", tt.value, "${v}", tt.value, "$a", tt.value, "$b", tt.value).Replace(tt.template)
				if !normalised(t, naive) {
					t.Errorf("the naive fill %s has no dot-segment: a needless refusal", naive)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := depths(t, res.Response.Redirect); got != want {
				t.Errorf("redirect %s resolves %v segments deep (RFC 3986, browser), the template %v", res.Response.Redirect, got, want)
			}
		})
	}
}

var percentDot = regexp.MustCompile(`(?i)%2e`)

// depths is how many segments deep u's path is once resolved, in two
// readings: as RFC 3986 resolves it (net/url, which leaves "%2e" and "\"
// alone), and as browsers do (the WHATWG URL standard: "%2e" is "." and,
// in http(s) URLs, "\" is "/").
func depths(t *testing.T, u string) [2]int {
	t.Helper()
	var d [2]int
	for i, s := range []string{u, browserPath(u)} {
		ref, err := url.Parse(s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		d[i] = strings.Count(ref.ResolveReference(ref).EscapedPath(), "/")
	}
	return d
}

// normalised reports whether resolving u changes its path in either
// reading: it has a dot-segment.
func normalised(t *testing.T, u string) bool {
	t.Helper()
	for _, s := range []string{u, browserPath(u)} {
		ref, err := url.Parse(s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		if ref.ResolveReference(ref).EscapedPath() != ref.EscapedPath() {
			return true
		}
	}
	return false
}

// browserPath reads u's path as a browser does: "\" as "/" and "%2e" as
// "." (only in the path: not in the query or fragment).
func browserPath(u string) string {
	i := strings.Index(u, "://") + 3
	end := strings.IndexAny(u[i:], "?#")
	if end < 0 {
		end = len(u)
	} else {
		end += i
	}
	path := strings.ReplaceAll(u[i:end], "\\", "/")
	return u[:i] + percentDot.ReplaceAllString(path, ".") + u[end:]
}

// FuzzRedirectParameters: for any redirect template CreateUrls accepts
// and any value of its parameter, the callback either refuses or
// redirects to a URL that resolves as deep as the template filled with a
// plain value, on the template's scheme and host.
func FuzzRedirectParameters(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://example.com/app/$v/done", ".."}, {"https://example.com/app/.$v/done", ""},
		{"https://example.com/app\\$v\\done", "."}, {"https://example.com/$v$v", "."},
		{"https://example.com/app/done?next=$v#$v", "../.."}, {"http://example.com:8080/a/${v}x/b", "%2e"},
	} {
		f.Add(seed[0], seed[1])
	}
	e := newEnv(f, callbackurls.Config{EnableOutputParameters: true}, false)
	plain := strings.NewReplacer("$$", "$$", "$v", "x", "${v}", "x")
	f.Fuzz(func(t *testing.T, template, value string) {
		if !utf8.ValidString(template) {
			return // JSON would carry another template
		}
		req, err := callbackurls.ParseCreateRequest([]byte(`{"token":"tok","enable_output_parameters":true,"actions":[
			{"name":"go","type":"heartbeat","response":{"redirect":` + jsonString(template) + `}}]}`))
		if err != nil {
			return
		}
		resp, _, err := e.svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
		if err != nil {
			return
		}
		q := query(t, resp.URLs["go"])
		q.Set("v", value)
		res, err := e.svc.Respond(context.Background(), &callbackurls.CallbackRequest{Query: q, Submission: callbackurls.Submission{Preview: true}})
		if err != nil || res.Response == nil || res.Response.Redirect == "" {
			return
		}
		filled, err := url.Parse(res.Response.Redirect)
		if err != nil || (filled.Scheme != "https" && filled.Scheme != "http") {
			t.Fatalf("redirect %q is not an http(s) URL", res.Response.Redirect)
		}
		tmpl, err := url.Parse(plain.Replace(template))
		if err != nil {
			return // the plain value made it no URL; nothing to compare
		}
		if filled.Host != tmpl.Host {
			t.Fatalf("redirect %q is on host %q, the template's is %q", res.Response.Redirect, filled.Host, tmpl.Host)
		}
		if got, want := depths(t, res.Response.Redirect), depths(t, plain.Replace(template)); got != want {
			t.Fatalf("redirect %q resolves %v deep, the template %v", res.Response.Redirect, got, want)
		}
	})
}
