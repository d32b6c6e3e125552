package keywatch

import (
	"testing"
	"time"
)

func listening() *Watch {
	w := New(nil)
	w.next(true)
	return w
}

func TestCacheKeepsCurrentValuesUntilTheirTime(t *testing.T) {
	w := listening()
	c := NewCache[string, int](w, 10)
	now := time.Now()
	stamp, ok := c.Stamp()
	if !ok {
		t.Fatal("a listening watch's cache is not cacheable")
	}
	c.Put("a", stamp, 1, now.Add(time.Minute))
	if v, ok := c.Get("a", now); !ok || v != 1 {
		t.Fatalf("Get = %d, %v", v, ok)
	}
	if _, ok := c.Get("a", now.Add(time.Minute)); ok {
		t.Fatal("a value past its time was served")
	}
	if _, ok := c.Get("b", now); ok {
		t.Fatal("a missing key was served")
	}
}

// A change heard between the stamp and the Put keeps the value out: it
// may have been read before the change.
func TestCacheDropsValuesReadBeforeAChange(t *testing.T) {
	w := listening()
	c := NewCache[string, int](w, 10)
	now := time.Now()
	stamp, _ := c.Stamp()
	c.Put("a", stamp, 1, now.Add(time.Minute))
	w.next(true)
	if _, ok := c.Get("a", now); ok {
		t.Fatal("a value read before a change was served")
	}
	c.Put("b", stamp, 2, now.Add(time.Minute))
	if _, ok := c.Get("b", now); ok {
		t.Fatal("a value stamped before a change was kept")
	}
	w.next(false)
	stamp, ok := c.Stamp()
	if ok {
		t.Fatal("cacheable while not listening")
	}
	c.Put("c", stamp, 3, now.Add(time.Minute))
	if _, ok := c.Get("c", now); ok {
		t.Fatal("a value was kept while not listening")
	}
}

func TestCacheBound(t *testing.T) {
	w := listening()
	c := NewCache[int, int](w, 3)
	stamp, _ := c.Stamp()
	until := time.Now().Add(time.Minute)
	for i := range 10 {
		c.Put(i, stamp, i, until)
		if len(c.m) > 3 {
			t.Fatalf("%d values kept, bound 3", len(c.m))
		}
	}
	if v, ok := c.Get(9, time.Now()); !ok || v != 9 {
		t.Fatal("the latest value is missing")
	}
}

func TestNilCache(t *testing.T) {
	var c *Cache[string, int]
	if _, ok := c.Stamp(); ok {
		t.Fatal("a nil cache is cacheable")
	}
	c.Put("a", 1, 1, time.Now().Add(time.Minute))
	if _, ok := c.Get("a", time.Now()); ok {
		t.Fatal("a nil cache served a value")
	}
}
