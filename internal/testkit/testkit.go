// Package testkit holds the small helpers tests across the module share: a
// settable clock, a log sink goroutines may write to, and an environment
// from a map. Doubles of the core's ports are in callbackurlstest; the AWS
// protocol stand-ins in their back ends' packages.
package testkit

import (
	"bytes"
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use; Now is what
// callbackurls.Config.Now and the key back ends take.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Buffer is a bytes.Buffer that a server's goroutines and the test may
// share (a log sink, a command's output).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset forgets what was written.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// Env is a getenv over m, for code that reads its settings through one.
func Env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
