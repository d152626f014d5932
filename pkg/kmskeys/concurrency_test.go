package kmskeys_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

// waitHeld waits until n requests are held by the stand-in.
func waitHeld(t *testing.T, srv *kmstest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Held() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests held, want %d", srv.Held(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentCreate: callers racing for a cold data key share a single
// KMS call.
func TestConcurrentCreate(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			svc := newFn(newSource(t, srv, m.opts()), nil)
			srv.Reset()
			release := srv.Hold()
			defer release()

			const callers = 64
			var wg sync.WaitGroup
			refs := make([]string, callers)
			errs := make([]error, callers)
			for i := range callers {
				wg.Go(func() {
					urls, err := svc.create(t, threeActions(token))
					errs[i] = err
					if err == nil {
						refs[i] = string(keyRefOf(t, urls["approve"]))
					}
				})
			}
			waitHeld(t, srv, 1)
			release()
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := dataKeyCalls(srv, m.createOp); got != 1 {
				t.Errorf("%d %s calls for %d concurrent cold creates, want 1", got, m.createOp, callers)
			}
			for _, r := range refs {
				if r != refs[0] {
					t.Fatal("URLs of concurrent calls carry different data keys")
				}
			}
		})
	}
}

// TestConcurrentDecrypt: callers racing to open URLs of the same data key
// share a single KMS call per data key.
func TestConcurrentDecrypt(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := kmstest.New(t)
			// Three URLs per data key, four data keys.
			creator := newFn(newSource(t, srv, kmskeys.Options{KeyID: m.keyID, DataKeyMaxUses: 3}), nil)
			var urls []string
			for range 4 {
				for _, u := range creator.mustCreate(t, threeActions(token)) {
					urls = append(urls, u)
				}
			}
			opener := newFn(newSource(t, srv, m.opts()), nil)
			// A gated mode's first callback derives the gate key: done
			// here, with a URL of another data key.
			opener.mustRespond(t, distinctURLs(t, srv, m.opts(), 1)[0])
			srv.Reset()
			release := srv.Hold()
			defer release()

			const callers = 96
			var wg sync.WaitGroup
			errs := make([]error, callers)
			for i := range callers {
				wg.Go(func() {
					errs[i] = opener.respond(t, urls[i%len(urls)])
				})
			}
			waitHeld(t, srv, 4)
			release()
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := dataKeyCalls(srv, m.openOp); got != 4 {
				t.Errorf("%d %s calls for %d concurrent callbacks over 4 data keys, want 4", got, m.openOp, callers)
			}
		})
	}
}

// TestLeaderCanceled: a caller whose context ends while it fetches the
// data key fails alone; those waiting on it go on.
func TestLeaderCanceled(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testLeaderCanceled(t, m) })
	}
}

func testLeaderCanceled(t *testing.T, m keyMode) {
	srv := kmstest.New(t)
	src := newSource(t, srv, m.opts())
	release := srv.Hold()
	defer release()

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, _, _, err := src.EncryptionKey(leaderCtx)
		leaderErr <- err
	}()
	waitHeld(t, srv, 1)
	waiterErr := make(chan error, 1)
	go func() {
		_, _, _, err := src.EncryptionKey(context.Background())
		waiterErr <- err
	}()
	cancel()
	if err := <-leaderErr; !errors.Is(err, callbackurls.ErrUnavailable) {
		t.Errorf("canceled caller: %v, want an error wrapping ErrUnavailable", err)
	}
	waitHeld(t, srv, 1) // the waiter's own request
	release()
	if err := <-waiterErr; err != nil {
		t.Errorf("waiting caller: %v", err)
	}
}

// TestRoundTripTokens: random tokens of 1..2048 characters, with the
// characters URLs and base64 care about and non-ASCII ones, reach Step
// Functions unchanged through a KMS-encrypted URL.
func TestRoundTripTokens(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testRoundTripTokens(t, m) })
	}
}

func testRoundTripTokens(t *testing.T, m keyMode) {
	srv := kmstest.New(t)
	creator := newFn(newSource(t, srv, m.opts()), nil)
	opener := newFn(newSource(t, srv, m.opts()), nil)
	srv.Reset()
	alphabets := []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		"aZ09=+/%& ?#\"\\\t\n",
		"éß日本語🙂\u00a0\u2028=+ ",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := corpus.Tokens() // real ones, base64 with '=' inside
	lengths := []int{1, 2, 3, 4, 5, 63, 64, 65, 700, 2047, 2048}
	for range 150 {
		lengths = append(lengths, 1+rng.IntN(2048))
	}
	for _, n := range lengths {
		// One alphabet, or (len(alphabets)) a mix of all.
		mix := rng.IntN(len(alphabets) + 1)
		var b strings.Builder
		for range n {
			alpha := alphabets[min(mix, len(alphabets)-1)]
			if mix == len(alphabets) {
				alpha = alphabets[rng.IntN(len(alphabets))]
			}
			runes := []rune(alpha)
			b.WriteRune(runes[rng.IntN(len(runes))])
		}
		tokens = append(tokens, b.String())
	}
	for i, tok := range tokens {
		n := utf8.RuneCountInString(tok)
		urls := creator.mustCreate(t, twoActions(tok))
		for _, name := range []string{"approve", "reject"} {
			if err := opener.respond(t, urls[name]); err != nil {
				t.Fatalf("token %d (%d characters): %s: %v", i, n, name, err)
			}
		}
		calls := opener.target.Calls()
		want := []sfnCall{
			{Type: "success", Ref: tok, Output: `{"name_in_output":"Ben"}`},
			{Type: "failure", Ref: tok, Error: "rejected", Cause: "Ben rejected it"},
		}
		if diff := cmp.Diff(want, calls[len(calls)-2:]); diff != "" {
			t.Fatalf("token %d (%d characters) (-want +got):\n%s", i, n, diff)
		}
	}
	if got := srv.Count("GenerateDataKey") + srv.Count("Decrypt") + dataKeyCalls(srv, "GenerateMac"); got != 2 {
		t.Errorf("%d KMS calls for %d tokens, want 2 (one data key, made and opened once)", got, len(tokens))
	}
}
