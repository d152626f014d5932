package kmskeys_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

type kmsCounts struct{ GenerateDataKey, Decrypt, GenerateMac, DescribeKey int }

// counts are the KMS calls made, a gate key's derivations apart (see
// gateCalls): the data keys made and opened, and the keys described.
func counts(srv *kmstest.Server) kmsCounts {
	return kmsCounts{srv.Count("GenerateDataKey"), srv.Count("Decrypt"), srv.Count("GenerateMac") - gateCalls(srv), srv.Count("DescribeKey")}
}

// dataKeyCalls counts the calls of op, a gate key's derivations apart.
func dataKeyCalls(srv *kmstest.Server, op string) int {
	if op == "GenerateMac" {
		return srv.Count(op) - gateCalls(srv)
	}
	return srv.Count(op)
}

// dataKeyCallLog is srv.Calls() without a gate key's derivations.
func dataKeyCallLog(srv *kmstest.Server) []kmstest.Call {
	var calls []kmstest.Call
	for _, c := range srv.Calls() {
		if !isGateCall(c) {
			calls = append(calls, c)
		}
	}
	return calls
}

func isGateCall(c kmstest.Call) bool {
	return c.Operation == "GenerateMac" && strings.HasPrefix(string(c.Message), "sfn-callback-urls gate key\x00")
}

// gateCalls counts the GenerateMac calls that derive a gate key.
func gateCalls(srv *kmstest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if isGateCall(c) {
			n++
		}
	}
	return n
}

// TestCallCounts follows one deployment through a day in the life: a
// CreateUrls function and a ProcessCallback function, each with its own
// Source, and counts the KMS calls each step makes, in both modes.
func TestCallCounts(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			clk := newClock()
			creatorKeys := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, Now: clk.Now})
			openerKeys := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, Now: clk.Now})
			if got := srv.Count("DescribeKey"); got != 2 {
				t.Errorf("%d DescribeKey calls for two functions' start, want 2", got)
			}
			if creatorKeys.Kind() != m.kind {
				t.Errorf("mode %s, want %s", creatorKeys.Kind(), m.kind)
			}
			creator := newFn(creatorKeys, clk.Now)
			opener := newFn(openerKeys, clk.Now)

			var first, second, third map[string]string
			steps := []struct {
				name         string
				do           func(t *testing.T)
				create, open int // KMS calls that make and open data keys
			}{
				{"cold create, three actions", func(t *testing.T) { first = creator.mustCreate(t, threeActions(token)) }, 1, 0},
				{"warm create", func(t *testing.T) { second = creator.mustCreate(t, threeActions(token)) }, 0, 0},
				{"cold callback", func(t *testing.T) { opener.mustRespond(t, first["approve"]) }, 0, 1},
				{"warm callback, same URL", func(t *testing.T) { opener.mustRespond(t, first["approve"]) }, 0, 0},
				{"warm callback, another URL of the call", func(t *testing.T) { opener.mustRespond(t, first["ping"]) }, 0, 0},
				{"warm callback, URL of another call with the same data key", func(t *testing.T) { opener.mustRespond(t, second["reject"]) }, 0, 0},
				{"create after the data key's max age", func(t *testing.T) {
					clk.Advance(kmskeys.DefaultDataKeyMaxAge)
					third = creator.mustCreate(t, threeActions(token))
				}, 1, 0},
				{"callback with the new data key", func(t *testing.T) { opener.mustRespond(t, third["ping"]) }, 0, 1},
				{"the creating function opens its own URLs without KMS", func(t *testing.T) { creator.mustRespond(t, third["approve"]) }, 0, 0},
				{"callback with the old data key, still cached", func(t *testing.T) { opener.mustRespond(t, first["ping"]) }, 0, 0},
				{"callback after the cache's max age", func(t *testing.T) {
					clk.Advance(kmskeys.DefaultCacheMaxAge)
					opener.mustRespond(t, first["ping"])
				}, 0, 1},
			}
			for _, step := range steps {
				srv.Reset()
				step.do(t)
				if diff := cmp.Diff(m.calls(step.create, step.open), counts(srv)); diff != "" {
					t.Errorf("%s: KMS calls (-want +got):\n%s", step.name, diff)
				}
			}
		})
	}
}

// TestDataKeyReuse: a data key serves a bounded number of URLs and a
// bounded time, however the URLs are spread over calls.
func TestDataKeyReuse(t *testing.T) {
	tests := []struct {
		name    string
		opts    kmskeys.Options
		calls   []int           // actions per CreateUrls call (1, 2 or 3)
		advance []time.Duration // before each call
		want    []int           // data key calls made by each call
	}{
		{"defaults", kmskeys.Options{}, []int{3, 3, 3}, nil, []int{1, 0, 0}},
		{"max uses spent within a call", kmskeys.Options{DataKeyMaxUses: 2}, []int{3, 1, 2}, nil, []int{2, 0, 1}},
		{"max uses spent exactly", kmskeys.Options{DataKeyMaxUses: 3}, []int{3, 3}, nil, []int{1, 1}},
		{"max age", kmskeys.Options{DataKeyMaxAge: time.Minute}, []int{2, 2, 2, 2},
			[]time.Duration{0, 59 * time.Second, time.Second, 30 * time.Second}, []int{1, 0, 1, 0}},
		{"reuse disabled", kmskeys.Options{DataKeyMaxUses: -1}, []int{3, 2}, nil, []int{3, 2}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				srv := kmstest.New(t)
				clk := newClock()
				opts := tt.opts
				opts.Now, opts.KeyID = clk.Now, m.keyID
				svc := newFn(newSource(t, srv, opts), clk.Now)
				var got []int
				refs := map[string]bool{}
				for i, n := range tt.calls {
					if i < len(tt.advance) {
						clk.Advance(tt.advance[i])
					}
					srv.Reset()
					body := map[int]string{1: oneAction(token), 2: twoActions(token), 3: threeActions(token)}[n]
					for _, u := range svc.mustCreate(t, body) {
						refs[string(keyRefOf(t, u))] = true
					}
					got = append(got, dataKeyCalls(srv, m.createOp))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s calls per CreateUrls call (-want +got):\n%s", m.createOp, diff)
				}
				// Each call made a data key of its own.
				if want := sum(tt.want); len(refs) != want {
					t.Errorf("URLs name %d data keys, want %d", len(refs), want)
				}
			})
		}
	}
}

func sum(n []int) int {
	s := 0
	for _, v := range n {
		s += v
	}
	return s
}

// TestDecryptCacheBounds: the cache of decrypted data keys is an LRU of
// CacheSize entries, each good for CacheMaxAge.
func TestDecryptCacheBounds(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			clk := newClock()
			// One data key per URL, so that every URL needs its own call.
			creator := newFn(newSource(t, srv, kmskeys.Options{KeyID: m.keyID, DataKeyMaxUses: -1, Now: clk.Now}), clk.Now)
			src := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, CacheSize: 2, CacheMaxAge: 10 * time.Minute, Now: clk.Now})
			opener := newFn(src, clk.Now)
			var urls []string
			for range 3 {
				urls = append(urls, creator.mustCreate(t, oneAction(token))["ping"])
			}

			steps := []struct {
				name    string
				open    int
				advance time.Duration
				want    int // KMS calls
			}{
				{"first URL, cold", 0, 0, 1},
				{"second URL, cold", 1, 0, 1},
				{"first URL, cached", 0, 0, 0},
				{"third URL evicts the least recently used (second)", 2, 0, 1},
				{"first URL still cached", 0, 0, 0},
				{"second URL was evicted", 1, 0, 1},
				{"third URL expired", 2, 10 * time.Minute, 1},
			}
			for _, step := range steps {
				clk.Advance(step.advance)
				srv.Reset()
				opener.mustRespond(t, urls[step.open])
				if got := dataKeyCalls(srv, m.openOp); got != step.want {
					t.Errorf("%s: %d %s calls, want %d", step.name, got, m.openOp, step.want)
				}
				if n := src.Stats().CachedKeys; n > 2 {
					t.Errorf("%s: %d cached keys, over the cache size 2", step.name, n)
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	srv := kmstest.New(t)
	if _, err := kmskeys.New(context.Background(), srv.Client(context.Background()), kmskeys.Options{}); err == nil {
		t.Error("New without a key id: no error")
	}
	if _, err := kmskeys.New(context.Background(), nil, kmskeys.Options{KeyID: kmstest.Alias}); err == nil {
		t.Error("New without a client: no error")
	}
}
