package postaction

import (
	"sync"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/lru"
)

// cache is a bounded least-recently-used cache of compiled outcome lists,
// keyed by the SHA-256 of their stored form. A cryptographic hash, because
// whoever can create URLs chooses the stored form: a colliding key would
// make one URL run another's outcomes. It is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	lists *lru.Cache[[32]byte, *compiledList]
}

func newCache(size int) *cache {
	return &cache{lists: lru.New[[32]byte, *compiledList](size)}
}

func (c *cache) get(key [32]byte) (*compiledList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists.Get(key)
}

func (c *cache) put(key [32]byte, l *compiledList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists.Add(key, l)
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists.Len()
}
