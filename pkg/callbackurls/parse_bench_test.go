package callbackurls_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// BenchmarkParseCreateRequest is the decoding and validation of a
// CreateUrls body, the top-level field check included.
func BenchmarkParseCreateRequest(b *testing.B) {
	body := []byte(benchRequest)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := callbackurls.ParseCreateRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInputValues reads a form's values from JSON and from a form
// post.
func BenchmarkInputValues(b *testing.B) {
	s, err := callbackurls.ParseInputSchema(json.RawMessage(`{"type":"object","required":["decision"],"properties":{
		"decision":{"type":"string","enum":["ship","hold"]},"comment":{"type":"string","format":"multiline"},
		"urgent":{"type":"boolean"},"count":{"type":"integer","minimum":1}}}`))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"decision":"hold","comment":"Please split the hotel nights","urgent":true,"count":3}`)
	form := url.Values{"decision": {"hold"}, "comment": {"Please split the hotel nights"}, "urgent": {"on"}, "count": {"3"}}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, errs := s.FromJSON(body); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	b.Run("form", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, errs := s.FromForm(form); errs != nil {
				b.Fatal(errs)
			}
		}
	})
}
