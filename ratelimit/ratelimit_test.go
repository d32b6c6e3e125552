package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"tally/ratelimit"
)

func newLimiter(t *testing.T, cfg ratelimit.Config) *ratelimit.Limiter {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	return ratelimit.New(rdb, cfg)
}

func TestBudgetsPerKeyAndAddress(t *testing.T) {
	l := newLimiter(t, ratelimit.Config{Uploads: 3, Reads: 100, IPFactor: 2})
	ctx := context.Background()
	ip, key1, key2 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for i := range 3 {
		d, ok, err := l.Allow(ctx, ratelimit.Uploads, ip, key1)
		if err != nil || !ok || !d.Allowed || d.Limit != 3 || d.Remaining != 2-i {
			t.Fatalf("upload %d: %+v %v %v", i+1, d, ok, err)
		}
	}
	d, _, _ := l.Allow(ctx, ratelimit.Uploads, ip, key1)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second || d.Limit != 3 {
		t.Fatalf("fourth upload: %+v", d)
	}
	// Reads have their own budget.
	if d, _, _ := l.Allow(ctx, ratelimit.Reads, ip, key1); !d.Allowed {
		t.Fatalf("a read after the uploads: %+v", d)
	}
	// Another key from the same address: its own budget, up to the
	// address's (3 x 2, of which key1's four tries took four).
	for i := range 2 {
		if d, _, _ := l.Allow(ctx, ratelimit.Uploads, ip, key2); !d.Allowed {
			t.Fatalf("key2's upload %d: %+v", i+1, d)
		}
	}
	d, _, _ = l.Allow(ctx, ratelimit.Uploads, ip, key2)
	if d.Allowed || d.Limit != 6 {
		t.Fatalf("the address's budget: %+v", d)
	}
	// No budget, no limit.
	if _, ok, _ := l.Allow(ctx, ratelimit.Expensive, ip, key1); ok {
		t.Fatal("a class without a budget was counted")
	}
}

func TestRedisDownLetsCallsThrough(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	d, _, err := ratelimit.New(rdb, ratelimit.Config{Reads: 1}).Allow(context.Background(), ratelimit.Reads, "ip", "key")
	if err == nil || !d.Allowed {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		if got := ratelimit.Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %d, want %d", d, got, want)
		}
	}
}
