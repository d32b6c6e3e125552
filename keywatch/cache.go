package keywatch

import (
	"sync"
	"time"
)

// Cache keeps values read from the key tables while their generation is
// current and they are younger than their time to live. A nil *Cache
// caches nothing.
type Cache[K comparable, V any] struct {
	watch *Watch
	max   int
	mu    sync.RWMutex
	m     map[K]cached[V]
}

type cached[V any] struct {
	v     V
	stamp uint64
	until time.Time
}

// NewCache returns a cache of at most max values that watch keeps
// current: every change the watch hears empties it.
func NewCache[K comparable, V any](watch *Watch, max int) *Cache[K, V] {
	c := &Cache[K, V]{watch: watch, max: max, m: make(map[K]cached[V])}
	watch.onNext(c.forget)
	return c
}

// forget lets go of every value: they are stale, and an erased user's key
// must not stay reachable until its address comes back.
func (c *Cache[K, V]) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// Get returns k's value if it is current.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !c.watch.Valid(e.stamp) || !now.Before(e.until) {
		return zero, false
	}
	return e.v, true
}

// Stamp is Watch.Stamp, for a nil Cache too (never cacheable).
func (c *Cache[K, V]) Stamp() (uint64, bool) {
	if c == nil {
		return 0, false
	}
	return c.watch.Stamp()
}

// Put keeps v for k until until, as read in generation stamp (taken
// before the read). A stale stamp keeps nothing.
func (c *Cache[K, V]) Put(k K, stamp uint64, v V, until time.Time) {
	if c == nil || !c.watch.Valid(stamp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		// Past its bound the cache starts over: simpler than an eviction
		// order, and a bound this size is only reached by many keys or
		// users at once, each of which costs one read to come back.
		clear(c.m)
	}
	c.m[k] = cached[V]{v: v, stamp: stamp, until: until}
}
