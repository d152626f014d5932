package httpapi_test

import (
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
)

const (
	jsonType = httpapi.TypeJSON
	htmlType = httpapi.TypeHTML
	textType = httpapi.TypeText
)

var negotiateTests = []struct {
	name, accept, want string
}{
	// Real clients.
	{"Chrome", servicetest.AcceptChrome, htmlType},
	{"Firefox", servicetest.AcceptFirefox, htmlType},
	{"Safari", servicetest.AcceptSafari, htmlType},
	{"Edge", "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8", htmlType},
	{"Outlook Safe Links style", "text/html, application/xhtml+xml, image/jxr, */*", htmlType},
	{"curl", "*/*", jsonType},
	{"Python requests", "*/*", jsonType},
	{"Go http client", "", jsonType},
	{"fetch default", "*/*", jsonType},
	{"HTTPie", "application/json, */*;q=0.5", jsonType},
	{"xhtml only", "application/xhtml+xml", htmlType},

	// Qualities.
	{"html preferred by q", "application/json;q=0.5, text/html;q=0.9", htmlType},
	{"json preferred by q", "application/json;q=0.9, text/html;q=0.5", jsonType},
	{"text preferred by q", "text/html;q=0.1, text/plain;q=0.2, application/json;q=0.15", textType},
	{"tie: first listed", "text/plain, text/html", textType},
	{"tie: first listed, json", "application/json, text/html", jsonType},
	{"specific beats wildcard of the same q", "*/*, text/plain", textType},
	{"q with spaces", "application/json ; q = 0.4 , text/plain ; q = 0.6", textType},
	{"upper case", "TEXT/HTML", htmlType},
	{"Q upper case", "text/html;Q=0.1, text/plain;Q=0.2", textType},
	{"other params", "text/html; charset=utf-8; level=1", htmlType},
	{"bad q ignored", "text/plain;q=abc", textType},
	{"q above 1 ignored", "text/plain;q=2, text/html;q=0.9", textType},

	// Wildcards.
	{"text/*", "text/*", htmlType},
	{"application/*", "application/*", jsonType},
	{"text/* and json", "text/*;q=0.5, application/json", jsonType},
	{"text/* over json", "text/*, application/json;q=0.5", htmlType},

	// Exclusions with q=0.
	{"json excluded", "application/json;q=0, text/html", htmlType},
	{"html excluded", "text/html;q=0, text/plain", textType},
	{"only json excluded", "application/json;q=0", jsonType},
	{"all excluded", "application/json;q=0, text/html;q=0, text/plain;q=0", jsonType},
	{"q=0.0 excludes", "text/html;q=0.0, text/plain;q=0.5", textType},
	{"json excluded, anything else", "application/json;q=0, */*", htmlType},
	{"json and html excluded, anything else", "application/json;q=0, text/html;q=0, */*", textType},
	{"html excluded, any text", "text/html;q=0, text/*", textType},
	{"everything excluded by wildcard", "*/*;q=0", jsonType},
	{"xhtml excluded does not exclude html", "application/xhtml+xml;q=0, text/html", htmlType},

	// Nothing we serve.
	{"images only", "image/png, image/*", jsonType},
	{"xml", "application/xml", jsonType},
	{"garbage", ";;;,,,=", jsonType},
}

func TestNegotiate(t *testing.T) {
	for _, tt := range negotiateTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpapi.Negotiate(tt.accept); got != tt.want {
				t.Errorf("Negotiate(%q) = %q, want %q", tt.accept, got, tt.want)
			}
		})
	}
}

func TestWantsPage(t *testing.T) {
	for _, c := range servicetest.Clients {
		t.Run(c.Name, func(t *testing.T) {
			if got := httpapi.WantsPage(c.Accept, c.UserAgent); got != c.Page {
				t.Errorf("WantsPage(%q, %q) = %t, want %t", c.Accept, c.UserAgent, got, c.Page)
			}
		})
	}
}

// asciiUpper upper-cases ASCII letters only (strings.ToUpper maps some
// non-ASCII letters to ASCII ones, which changes the header's meaning).
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func FuzzNegotiate(f *testing.F) {
	for _, tt := range negotiateTests {
		f.Add(tt.accept)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := httpapi.Negotiate(accept)
		switch got {
		case jsonType, htmlType, textType:
		default:
			t.Fatalf("Negotiate(%q) = %q", accept, got)
		}
		if up := httpapi.Negotiate(asciiUpper(accept)); up != got {
			t.Errorf("Negotiate(%q) = %q but upper-cased %q", accept, got, up)
		}
		// A type excluded with q=0 is never picked while another one is
		// acceptable (unless the header names it again).
		lower := strings.ToLower(accept)
		for _, typ := range []string{jsonType, htmlType, textType} {
			if strings.Contains(lower, typ) {
				continue
			}
			excluded := typ + ";q=0, " + accept
			if other := httpapi.Negotiate(excluded + ", " + otherType(typ)); other == typ {
				t.Errorf("Negotiate(%q) picked the excluded %s", excluded+", "+otherType(typ), typ)
			}
		}
	})
}

func otherType(typ string) string {
	if typ == textType {
		return htmlType
	}
	return textType
}
