package postaction

import (
	"container/list"
	"sync"
)

// lru is a bounded least-recently-used cache of compiled outcome lists,
// keyed by the SHA-256 of their stored form. A cryptographic hash, because
// whoever can create URLs chooses the stored form: a colliding key would
// make one URL run another's outcomes.
type lru struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *entry, most recent first
	items map[[32]byte]*list.Element
}

type entry struct {
	key  [32]byte
	list outcomeList
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: make(map[[32]byte]*list.Element, size)}
}

func (c *lru) get(key [32]byte) (outcomeList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).list, true
}

func (c *lru) put(key [32]byte, l outcomeList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*entry).list = l
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry{key: key, list: l})
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
