package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Throttle slows password guessing: after Limit failed sign-ins on one
// key (an address, a client) within Window, that key is refused until the
// window has passed since its first failure. Counts live in Redis, so
// every API process sees the same ones.
type Throttle struct {
	rdb    *redis.Client
	Limit  int64
	Window time.Duration
	prefix string
}

// NewThrottle returns a throttle named name (keys of different throttles
// never meet).
func NewThrottle(rdb *redis.Client, name string, limit int64, window time.Duration) *Throttle {
	return &Throttle{rdb: rdb, Limit: limit, Window: window, prefix: "tally:throttle:" + name + ":"}
}

// Wait is how long key must wait before trying again; zero when it may
// try now.
func (t *Throttle) Wait(ctx context.Context, key string) (time.Duration, error) {
	k := t.prefix + key
	n, err := t.rdb.Get(ctx, k).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read throttle: %w", err)
	}
	if n < t.Limit {
		return 0, nil
	}
	ttl, err := t.rdb.PTTL(ctx, k).Result()
	if err != nil {
		return 0, fmt.Errorf("read throttle: %w", err)
	}
	return max(ttl, time.Second), nil
}

// Fail counts one failure of key.
func (t *Throttle) Fail(ctx context.Context, key string) error {
	k := t.prefix + key
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, k)
		p.ExpireNX(ctx, k, t.Window)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count failure: %w", err)
	}
	return nil
}

// Clear forgets key's failures (after a successful sign-in).
func (t *Throttle) Clear(ctx context.Context, key string) error {
	return t.rdb.Del(ctx, t.prefix+key).Err()
}
