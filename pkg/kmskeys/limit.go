package kmskeys

import (
	"fmt"
	"sync"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// bucket is a token bucket bounding the KMS calls made to open URLs whose
// data key is not cached: each such call takes a token, tokens come back
// at rate a second up to burst, and no token means no call. Anyone can
// send URLs with made-up key references, and each would otherwise cost a
// KMS call (money, and the account's KMS request quota, shared with every
// other user of KMS in the account and region).
type bucket struct {
	rate  float64 // tokens a second; <= 0: no bound
	burst float64
	now   func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
	// refused counts the calls not made, for Stats.
	refused int
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), now: now, tokens: float64(burst), last: now()}
}

// take spends a token if there is one.
func (b *bucket) take() bool {
	if b.rate <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A clock that steps back refills nothing.
	if now := b.now(); now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		b.refused++
		return false
	}
	b.tokens--
	return true
}

// refusal is the error of a call the bucket did not allow: a passing
// overload, a 503 with Retry-After like KMS's own throttling.
func (b *bucket) refusal() error {
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError,
		"the service is opening too many new URLs at once: try again in a few seconds")
	e.Err = fmt.Errorf("kmskeys: KMS calls for data keys not cached are over this instance's bound (%g a second, burst %g; "+
		"KMS_COLD_CALLS_PER_SECOND, KMS_COLD_CALLS_BURST): %w", b.rate, b.burst, callbackurls.ErrUnavailable)
	return e
}

func (b *bucket) refusedCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused
}
