package kmskeys_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

// TestColdCallBound: KMS calls for data keys not cached are a token
// bucket's (here 2 a second, burst 3); a key in the cache is never held
// back; the clock is the source's, so no test waits.
func TestColdCallBound(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			urls := distinctURLs(t, srv, m.opts(), 12)
			clk := newClock()
			src := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, ColdCallsPerSecond: 2, ColdCallsBurst: 3, Now: clk.Now})
			next := 0
			cold := func() string { next++; return urls[next-1] }
			steps := []struct {
				name    string
				advance time.Duration
				url     func() string
				want    apiResult
				calls   int // KMS calls
			}{
				{"burst 1", 0, cold, succeeded, 1},
				{"burst 2", 0, cold, succeeded, 1},
				{"burst 3", 0, cold, succeeded, 1},
				{"over the burst", 0, cold, overBound, 0},
				{"cached while the bucket is empty", 0, func() string { return urls[0] }, succeeded, 0},
				{"another cached one", 0, func() string { return urls[2] }, succeeded, 0},
				{"half a second later: one token", 500 * time.Millisecond, cold, succeeded, 1},
				{"and no more", 0, cold, overBound, 0},
				{"a quarter second is half a token", 250 * time.Millisecond, cold, overBound, 0},
				{"another quarter makes it whole", 250 * time.Millisecond, cold, succeeded, 1},
				{"a minute refills only the burst: 1", time.Minute, cold, succeeded, 1},
				{"2", 0, cold, succeeded, 1},
				{"3", 0, cold, succeeded, 1},
				{"4 is over", 0, cold, overBound, 0},
			}
			refusals := 0
			for _, step := range steps {
				clk.Advance(step.advance)
				srv.Reset()
				opener := newFn(src, clk.Now)
				err := opener.respond(t, step.url())
				if diff := cmp.Diff(step.want, resultOf(err)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", step.name, diff)
				}
				if got := len(srv.Calls()) - gateCalls(srv); got != step.calls {
					t.Errorf("%s: %d KMS calls, want %d", step.name, got, step.calls)
				}
				if err != nil {
					refusals++
					if len(opener.target.Calls()) != 0 {
						t.Errorf("%s: Step Functions was called", step.name)
					}
				}
			}
			if got := src.Stats().RefusedCalls; got != refusals {
				t.Errorf("Stats().RefusedCalls %d, want %d", got, refusals)
			}
		})
	}
}

// TestColdCallBoundFlight: callers waiting for one KMS call spend one
// token between them.
func TestColdCallBoundFlight(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			urls := distinctURLs(t, srv, m.opts(), 2)
			clk := newClock()
			src := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, ColdCallsPerSecond: 1, ColdCallsBurst: 1, Now: clk.Now})
			svc := newFn(src, clk.Now)
			srv.Reset()
			release := srv.Hold()
			defer release()
			const callers = 32
			var wg sync.WaitGroup
			errs := make([]error, callers)
			for i := range callers {
				wg.Go(func() { errs[i] = svc.respond(t, urls[0]) })
			}
			waitHeld(t, srv, 1)
			release()
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("callers of one flight: %v", err)
			}
			if got := dataKeyCalls(srv, m.openOp); got != 1 {
				t.Errorf("%d %s calls, want 1", got, m.openOp)
			}
			// The one token is spent: a second data key waits for the clock.
			err := svc.respond(t, urls[1])
			if diff := cmp.Diff(overBound, resultOf(err)); diff != "" {
				t.Errorf("second data key (-want +got):\n%s", diff)
			}
			clk.Advance(time.Second)
			svc.mustRespond(t, urls[1])
		})
	}
}

// TestColdCallBoundEnvelopeKeys: each Decrypt of a blob tried on several
// envelope keys spends a token.
func TestColdCallBoundEnvelopeKeys(t *testing.T) {
	srv := kmstest.New(t)
	first, second := srv.NewKey(), srv.NewKey()
	u := distinctURLs(t, srv, kmskeys.Options{KeyID: second}, 1)[0]
	clk := newClock()
	src := newSource(t, srv, kmskeys.Options{KeyID: first, PreviousKeyIDs: []string{second}, ColdCallsPerSecond: 1, ColdCallsBurst: 1, Now: clk.Now})
	svc := newFn(src, clk.Now)
	srv.Reset()
	err := svc.respond(t, u)
	if diff := cmp.Diff(overBound, resultOf(err)); diff != "" {
		t.Errorf("a blob of the second key with one token (-want +got):\n%s", diff)
	}
	if got := srv.Count("Decrypt"); got != 1 {
		t.Errorf("%d Decrypt calls, want 1 (the first key's)", got)
	}
	clk.Advance(2 * time.Second)
	srv.Reset()
	err = svc.respond(t, u)
	if diff := cmp.Diff(overBound, resultOf(err)); diff != "" {
		t.Errorf("burst 1 cannot pay for two keys (-want +got):\n%s", diff)
	}
	src = newSource(t, srv, kmskeys.Options{KeyID: first, PreviousKeyIDs: []string{second}, ColdCallsBurst: 2, Now: clk.Now})
	newFn(src, clk.Now).mustRespond(t, u)
}

// TestColdCallBoundCreate: creating URLs is IAM-authorised and never held
// back by the bound.
func TestColdCallBoundCreate(t *testing.T) {
	for _, m := range modes {
		srv := kmstest.New(t)
		clk := newClock()
		src := newSource(t, srv, kmskeys.Options{KeyID: m.keyID, DataKeyMaxUses: -1, ColdCallsPerSecond: 1, ColdCallsBurst: 1, Now: clk.Now})
		svc := newFn(src, clk.Now)
		for range 5 {
			svc.mustCreate(t, oneAction(token))
		}
		if got := src.Stats().RefusedCalls; got != 0 {
			t.Errorf("%s: %d refused calls while creating", m.name, got)
		}
	}
}
