package callbackurls_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// sdkCallbackID is a callback id as the durable execution SDK's local
// runner makes them (base64 of JSON, 180 characters).
const sdkCallbackID = "eyJleGVjdXRpb25JZCI6IjBhYmYxMzg2LWY5YzgtNGNhNy1hMDQyLTljZDliN2JkOWI1MyIsIm9wZXJhdGlvbklkIjoiZWE2NmMwNmMxZTFjMDVmYSIsInRva2VuIjoiNWViOGQ3NWMtMDY2MC00MDIwLWEzOTgtN2FlYTU5NmM3M2Q5In0="

// BenchmarkTargets compares a create and a callback for a callback id
// with the same for a task token (the benchmarks' three-action request).
func BenchmarkTargets(b *testing.B) {
	ctx := context.Background()
	svc := callbackurls.New(callbackurls.Config{BaseURL: testBase}, &payload.Codec{Keys: testKeyring(b)}, callbackurls.Targets{
		callbackurls.TaskToken:       &callbackurlstest.Target{Discard: true},
		callbackurls.DurableCallback: &callbackurlstest.Target{Discard: true},
	})
	for _, ref := range []struct{ name, member, id string }{
		{"token", "token", corpus.Tokens()[0]},
		{"callback_id", "callback_id", sdkCallbackID},
		{"callback_id_1024", "callback_id", strings.Repeat("Zm9v", 256)[:1020] + "YQ=="},
	} {
		body := strings.Replace(benchRequest, `{"token":`+jsonString(corpus.Tokens()[0]), `{"`+ref.member+`":`+jsonString(ref.id), 1)
		req, err := callbackurls.ParseCreateRequest([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("create/"+ref.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		resp, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{})
		if err != nil {
			b.Fatal(err)
		}
		u, err := url.Parse(resp.URLs["approve"])
		if err != nil {
			b.Fatal(err)
		}
		b.Run("callback/"+ref.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q, err := url.ParseQuery(u.RawQuery)
				if err != nil {
					b.Fatal(err)
				}
				cb, err := svc.Open(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				res, err := svc.Act(ctx, cb, callbackurls.Submission{})
				if err != nil || !res.Sent || cb.Payload.Target.ID != ref.id {
					b.Fatal(res, err)
				}
			}
		})
	}
}
