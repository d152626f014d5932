package client

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
)

// typicalResponse is an answer for an approve and a reject URL of a real
// token with a title and a comment form.
func typicalResponse(b testing.TB) []byte {
	req := typicalRequest()
	body := `{"transaction_id":"4f6e1c0b8d0a4c3e9a3b6d2f1e0c9b8a","urls":{` +
		`"approve":"https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/respond?action=approve&type=success&data=3-` + strings.Repeat("A", 1100) + `",` +
		`"reject":"https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/respond?action=reject&type=failure&data=3-` + strings.Repeat("B", 1300) + `"},` +
		`"expiration":"` + req.Expiration.Format(time.RFC3339) + `"}`
	return []byte(body)
}

func typicalRequest() *Request {
	return &Request{
		Token:       corpus.Tokens()[0],
		Title:       "Expense report #4821",
		Description: "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.",
		Expiration:  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Actions: []Action{
			Success("approve", map[string]any{"approved": true, "report": 4821}).WithLabel("Approve expense"),
			Failure("reject", "Rejected", "Rejected by the approver").WithLabel("Reject").WithInput(map[string]any{
				"type": "object",
				"properties": map[string]any{
					"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment", "maxLength": 1000},
				},
			}),
		},
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		want      *URLs
		code      string // an *Error's
		malformed bool
	}{
		{name: "urls", body: `{"transaction_id":"t","urls":{"a":"u"},"expiration":"2030-01-02T03:04:05+02:00"}`,
			want: &URLs{TransactionID: "t", URLs: map[string]string{"a": "u"}, Expiration: time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC)}},
		{name: "no expiration", body: `{"transaction_id":"t","urls":{"a":"u"}}`, want: &URLs{TransactionID: "t", URLs: map[string]string{"a": "u"}}},
		{name: "error", body: `{"error":"InvalidJSON","message":"m"}`, code: "InvalidJSON"},
		{name: "error beside urls", body: `{"error":"ServiceError","urls":{}}`, code: "ServiceError"},
		{name: "null", body: `null`, malformed: true},
		{name: "empty object", body: `{}`, malformed: true},
		{name: "array", body: `[]`, malformed: true},
		{name: "not JSON", body: `<html>`, malformed: true},
		{name: "urls not strings", body: `{"urls":{"a":1}}`, malformed: true},
		{name: "bad expiration", body: `{"urls":{"a":"u"},"expiration":"tomorrow"}`, malformed: true},
		{name: "trailing garbage", body: `{"urls":{"a":"u"}} x`, malformed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeResponse([]byte(tc.body))
			var e *Error
			switch {
			case tc.want != nil:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			case tc.code != "":
				if !errors.As(err, &e) || e.Code != tc.code {
					t.Errorf("%v, want an *Error %s", err, tc.code)
				}
			case tc.malformed:
				if !errors.Is(err, ErrMalformedResponse) || errors.As(err, &e) || got != nil {
					t.Errorf("%v, %v: want ErrMalformedResponse", got, err)
				}
				if strings.Contains(err.Error(), tc.body) && len(tc.body) > 8 {
					t.Errorf("%q quotes the body", err)
				}
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		url, signing, cfg string
		endpoint, region  string
	}{
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/Prod", "", "us-east-1", "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/urls", "eu-west-1"},
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/", "", "", "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/urls", "eu-west-1"},
		{"https://abc123-vpce-0123.execute-api.ap-south-2.vpce.amazonaws.com/v1", "", "", "https://abc123-vpce-0123.execute-api.ap-south-2.vpce.amazonaws.com/v1/urls", "ap-south-2"},
		{"https://abc123.execute-api.cn-north-1.amazonaws.com.cn/Prod", "", "", "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/Prod/urls", "cn-north-1"},
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/Prod", "eu-central-1", "", "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/urls", "eu-central-1"},
		{"https://callbacks.example.com", "", "eu-north-1", "https://callbacks.example.com/urls", "eu-north-1"},
		{"http://127.0.0.1:8080", "", "", "http://127.0.0.1:8080/urls", ""},
	}
	for _, tc := range tests {
		endpoint, region, err := resolveEndpoint(tc.url, tc.signing, tc.cfg)
		if err != nil || endpoint != tc.endpoint || region != tc.region {
			t.Errorf("resolveEndpoint(%q, %q, %q) = %q, %q, %v; want %q, %q", tc.url, tc.signing, tc.cfg, endpoint, region, err, tc.endpoint, tc.region)
		}
	}
}

// FuzzDecode: whatever the body, each decoder gives URLs or one kind of
// error, never both, with bounded, valid UTF-8 messages.
func FuzzDecode(f *testing.F) {
	f.Add(500, typicalResponse(f))
	for _, s := range []string{
		`{"transaction_id":"t","urls":{"a":"u"},"expiration":"2030-01-02T03:04:05Z"}`,
		`{"error":"StepFunctionsError","message":"TaskTimedOut: closed","transaction_id":"t","step_functions_error":"TaskTimedOut"}`,
		`{"Message":"User: x is not authorized"}`,
		`{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: 1 Error: Task timed out after 3.00 seconds"}`,
		`{"errorMessage":"boom"}`,
		"<html>\xff\xfe</html>", `null`, `{"urls":null}`, `{"error":1}`, "",
	} {
		f.Add(200, []byte(s))
		f.Add(403, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		check := func(what string, u *URLs, err error) {
			if (u == nil) == (err == nil) {
				t.Fatalf("%s: %v and %v", what, u, err)
			}
			if err == nil {
				if u.URLs == nil {
					t.Fatalf("%s: URLs without a map", what)
				}
				return
			}
			var e *Error
			if errors.As(err, &e) == errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("%s: %v is both or neither an *Error and malformed", what, err)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > len(data)+1024 {
				t.Fatalf("%s: message of %d bytes (body %d), valid UTF-8 %v", what, len(msg), len(data), utf8.ValidString(msg))
			}
		}
		u, err := decodeResponse(data)
		check("decodeResponse", u, err)

		status = 100 + abs(status)%500
		u, err = decodeHTTP(status, http.Header{"X-Amzn-Errortype": {"AccessDeniedException:x"}}, data)
		check("decodeHTTP", u, err)
		var e *Error
		if status != http.StatusOK && (!errors.As(err, &e) || e.StatusCode != status) {
			t.Fatalf("decodeHTTP(%d): %v, want an *Error with the status", status, err)
		}

		fe := functionError("Unhandled", data)
		if fe.FunctionError != "Unhandled" || fe.Code == "" || len(fe.Code) > maxFieldBytes+3 || len(fe.Message) > maxMessageBytes+3 || !utf8.ValidString(fe.Error()) {
			t.Fatalf("functionError: %+v", fe)
		}
	})
}

// TestDeliveryFunctionError: a request with deliver fails as a function
// error carrying the contract's error body, read back as that error.
func TestDeliveryFunctionError(t *testing.T) {
	data := []byte(`{"errorType":"DeliveryFailed","errorMessage":"{\"error\":\"DeliveryFailed\",\"message\":\"delivery by email failed: MessageRejected\",\"transaction_id\":\"abc\"}"}`)
	e := functionError("Unhandled", data)
	if e.Code != string(ErrDeliveryFailed) || e.Message != "delivery by email failed: MessageRejected" || e.TransactionID != "abc" || e.FunctionError != "Unhandled" {
		t.Errorf("%+v", e)
	}
	other := functionError("Unhandled", []byte(`{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`))
	if other.Code != string(ErrServiceError) {
		t.Errorf("%+v", other)
	}
}

func abs(n int) int {
	if n < 0 {
		if n = -n; n < 0 {
			return 0
		}
	}
	return n
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := typicalRequest()
	for _, tc := range []struct {
		name  string
		check bool
	}{{"checked", true}, {"unchecked", false}} {
		b.Run(tc.name, func(b *testing.B) {
			body, err := encodeRequest(req, tc.check)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeRequest(req, tc.check); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	data := typicalResponse(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeResponse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPrintable: whatever a server sends, what reaches a message is valid
// UTF-8 without control characters, bounded, and left alone when clean.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "plain text", "a\x1b[2Jb\r\nc\x00d", "\u202eevil\u2066", "\xff\xfe", "é€𝄞", "\u0085\u2028x\u2029"} {
		f.Add(s, 16)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = 1 + abs(n)%4096
		got := printable(s, n)
		if !utf8.ValidString(got) || len(got) > n+len("...") {
			t.Fatalf("printable(%q, %d) = %q", s, n, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("printable(%q, %d) = %q keeps %U", s, n, got, r)
			}
		}
		if printable(got, n+len("...")) != got {
			t.Fatalf("printable is not idempotent on %q", got)
		}
		clean := strings.TrimSpace(s) == s && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
		})
		if clean && len(s) <= n && got != s {
			t.Fatalf("printable(%q, %d) = %q: a clean string changed", s, n, got)
		}
	})
}
