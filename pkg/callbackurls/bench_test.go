package callbackurls_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// accepting is a target that accepts every decision and keeps none.
func accepting() callbackurls.Targets {
	return callbackurls.Targets{callbackurls.TaskToken: &callbackurlstest.Target{Discard: true}}
}

// benchRequest is the benchmarks' CreateUrls body: approve, reject and a
// heartbeat, with a real task token.
var benchRequest = `{"token":` + jsonString(corpus.Tokens()[0]) + `,"actions":[
	{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"},
	{"name":"ping","type":"heartbeat"}]}`

func benchService(b *testing.B) *callbackurls.Service {
	return callbackurls.New(callbackurls.Config{BaseURL: testBase},
		&payload.Codec{Keys: testKeyring(b)}, accepting())
}

func BenchmarkCreateURLs(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b)
	body := []byte(benchRequest)
	b.Run("create", func(b *testing.B) {
		req, err := callbackurls.ParseCreateRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := callbackurls.ParseCreateRequest(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCallback(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b)
	req, err := callbackurls.ParseCreateRequest([]byte(benchRequest))
	if err != nil {
		b.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{})
	if err != nil {
		b.Fatal(err)
	}
	for _, action := range []string{"approve", "reject"} {
		u, err := url.Parse(resp.URLs[action])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(action, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q, err := url.ParseQuery(u.RawQuery)
				if err != nil {
					b.Fatal(err)
				}
				// As the edges call it: open the URL, then act.
				cb, err := svc.Open(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				res, err := svc.Act(ctx, cb, callbackurls.Submission{})
				if err != nil || !res.Sent {
					b.Fatal(res, err)
				}
			}
		})
	}
}

// TestURLLengths logs the approve URL's length for each corpus token with
// the reference's example request, and holds the product goal for the
// static-key mode's mean.
func TestURLLengths(t *testing.T) {
	const goal = 920
	ctx := context.Background()
	modes := []struct {
		name  string
		codec *payload.Codec
	}{
		{"static-key", &payload.Codec{Keys: testKeyring(t)}},
		{"unencrypted", &payload.Codec{}},
	}
	means := map[string]float64{}
	for _, m := range modes {
		svc := callbackurls.New(callbackurls.Config{BaseURL: testBase}, m.codec, accepting())
		total := 0
		tokens := corpus.Tokens()
		for i, tok := range tokens {
			req, err := callbackurls.ParseCreateRequest([]byte(`{"token":` + jsonString(tok) + `,"actions":[
				{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
				{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{})
			if err != nil {
				t.Fatal(err)
			}
			n := len(resp.URLs["approve"])
			total += n
			t.Logf("%-11s token %d (%d chars): approve URL %d chars, reject URL %d chars", m.name, i, len(tok), n, len(resp.URLs["reject"]))
		}
		means[m.name] = float64(total) / float64(len(tokens))
		t.Logf("%-11s mean approve URL length: %.1f", m.name, means[m.name])
	}
	if got := means["static-key"]; got > goal {
		t.Errorf("static-key mean approve URL length %.1f is over the goal of %d", got, goal)
	}
}
