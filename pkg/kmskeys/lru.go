package kmskeys

import (
	"container/list"
	"crypto/cipher"
	"time"
)

// lru is a size-bounded cache of data keys by encrypted form, with an age
// limit checked on lookup. It is not safe for concurrent use: Source locks.
type lru struct {
	size  int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type lruEntry struct {
	key     string
	aead    cipher.AEAD
	created time.Time
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the entry for key if it is younger than maxAge; an older one
// is dropped, so a key KMS no longer honours (disabled, deleted) stops
// working here too within maxAge.
func (c *lru) get(key string, now time.Time, maxAge time.Duration) cipher.AEAD {
	el := c.items[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*lruEntry)
	if now.Sub(e.created) >= maxAge {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return e.aead
}

func (c *lru) add(key string, aead cipher.AEAD, now time.Time) {
	if c.size <= 0 {
		return
	}
	if el := c.items[key]; el != nil {
		el.Value.(*lruEntry).aead = aead
		el.Value.(*lruEntry).created = now
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, aead: aead, created: now})
	for c.order.Len() > c.size {
		c.remove(c.order.Back())
	}
}

func (c *lru) remove(el *list.Element) {
	e := c.order.Remove(el).(*lruEntry)
	delete(c.items, e.key)
	e.aead = nil // the key schedule becomes garbage with the entry
}

func (c *lru) len() int { return c.order.Len() }
