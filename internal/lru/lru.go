// Package lru is a size-bounded least-recently-used cache, with an
// optional age limit checked on lookup. It serves kmskeys (decrypted data
// keys) and postaction (compiled outcome lists).
package lru

import (
	"container/list"
	"time"
)

// Cache maps keys to values, keeping at most its size of the most recently
// used. It is not safe for concurrent use: callers lock.
type Cache[K comparable, V any] struct {
	size   int
	maxAge time.Duration
	now    func() time.Time // nil: no age limit
	order  *list.List       // of *entry[K, V], most recently used first
	items  map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key   K
	value V
	added time.Time
}

// Option configures a Cache.
type Option func(*options)

type options struct {
	maxAge time.Duration
	now    func() time.Time
}

// MaxAge makes an entry maxAge or more old, by the clock now, count as
// absent: Get drops it. A maxAge of zero or less makes every entry absent.
func MaxAge(maxAge time.Duration, now func() time.Time) Option {
	return func(o *options) { o.maxAge, o.now = maxAge, now }
}

// New returns an empty cache of at most size entries. A size of zero or
// less keeps nothing.
func New[K comparable, V any](size int, opts ...Option) *Cache[K, V] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Cache[K, V]{
		size:   max(size, 0),
		maxAge: o.maxAge,
		now:    o.now,
		order:  list.New(),
		items:  make(map[K]*list.Element),
	}
}

// Get returns the value for key and marks it the most recently used. An
// entry past the maximum age is dropped and reported absent, so that
// whatever made it stale (a KMS key disabled since) shows within that age.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	el := c.items[key]
	if el == nil {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if c.now != nil && c.now().Sub(e.added) >= c.maxAge {
		c.remove(el)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// Add sets the value for key, as the most recently used and, with a
// maximum age, as new; the least recently used entries beyond the size go.
func (c *Cache[K, V]) Add(key K, value V) {
	if c.size == 0 {
		return
	}
	var added time.Time
	if c.now != nil {
		added = c.now()
	}
	if el := c.items[key]; el != nil {
		e := el.Value.(*entry[K, V])
		e.value, e.added = value, added
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key: key, value: value, added: added})
	for c.order.Len() > c.size {
		c.remove(c.order.Back())
	}
}

// Remove drops key's entry and reports whether there was one.
func (c *Cache[K, V]) Remove(key K) bool {
	el := c.items[key]
	if el == nil {
		return false
	}
	c.remove(el)
	return true
}

// Len is the number of entries held, stale ones included until looked up.
func (c *Cache[K, V]) Len() int { return c.order.Len() }

func (c *Cache[K, V]) remove(el *list.Element) {
	e := c.order.Remove(el).(*entry[K, V])
	delete(c.items, e.key)
	// The cache keeps no reference to what it dropped (kmskeys' key
	// schedules become garbage once their last user is done).
	var zero V
	e.value = zero
}
