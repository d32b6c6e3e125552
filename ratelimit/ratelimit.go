package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Class is a kind of route with its own budget.
type Class string

// The classes of route.
const (
	// Uploads store a file and start an extraction.
	Uploads Class = "uploads"
	// Reads are every other call.
	Reads Class = "reads"
	// Expensive calls make Tally do much work or reach out (reprocessing,
	// exports, webhook tests, mailbox scrapes).
	Expensive Class = "expensive"
)

// Config sets the budgets, in requests per minute per API key; 0 means
// no limit for that class.
type Config struct {
	Uploads   int
	Reads     int
	Expensive int
	// IPFactor multiplies each budget for a client address, so several
	// clients behind one address still work while an address that tries
	// many keys is bounded. Default 5.
	IPFactor int
	// Scope keeps these budgets' counts apart from another limiter's in
	// the same Redis: the web app ("web") counts per session, beside the
	// API's counts per key. Empty for the API.
	Scope string
}

func (c Config) budget(class Class) int {
	switch class {
	case Uploads:
		return c.Uploads
	case Expensive:
		return c.Expensive
	}
	return c.Reads
}

// Limiter counts calls in Redis.
type Limiter struct {
	cfg     Config
	limiter *redis_rate.Limiter
}

// New returns a limiter that counts in rdb.
func New(rdb *redis.Client, cfg Config) *Limiter {
	if cfg.IPFactor <= 0 {
		cfg.IPFactor = 5
	}
	return &Limiter{cfg: cfg, limiter: redis_rate.NewLimiter(rdb)}
}

// Decision is what a client is told: its budget, what is left of it, when
// it is whole again and, when refused, when to retry.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Duration
	RetryAfter time.Duration
}

// Seconds rounds a duration up to whole seconds, at least 1, as the
// Retry-After and RateLimit-Reset headers want.
func Seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// Allow counts one call of class by the client at address ip presenting
// credential (an API key, or "" for none) and decides on the tighter of
// the two budgets. ok is false when the class has no limit. An error
// means Redis could not be asked; the caller lets the call through.
func (l *Limiter) Allow(ctx context.Context, class Class, ip, credential string) (d Decision, ok bool, err error) {
	per := l.cfg.budget(class)
	if per <= 0 {
		return Decision{Allowed: true}, false, nil
	}
	type bucket struct {
		key   string
		limit int
	}
	prefix := "tally:rate:"
	if l.cfg.Scope != "" {
		prefix += l.cfg.Scope + ":"
	}
	buckets := []bucket{{prefix + string(class) + ":ip:" + ip, per * l.cfg.IPFactor}}
	if credential != "" {
		sum := sha256.Sum256([]byte(credential))
		buckets = append(buckets, bucket{prefix + string(class) + ":key:" + hex.EncodeToString(sum[:12]), per})
	}
	d = Decision{Allowed: true, Remaining: math.MaxInt}
	for _, b := range buckets {
		res, err := l.limiter.Allow(ctx, b.key, redis_rate.PerMinute(b.limit))
		if err != nil {
			return Decision{Allowed: true}, false, fmt.Errorf("rate limit %s: %w", class, err)
		}
		if res.Allowed == 0 {
			if !d.Allowed && d.RetryAfter >= res.RetryAfter {
				continue
			}
			d = Decision{Allowed: false, Limit: b.limit, Remaining: 0, Reset: res.ResetAfter, RetryAfter: res.RetryAfter}
			continue
		}
		if d.Allowed && res.Remaining < d.Remaining {
			d = Decision{Allowed: true, Limit: b.limit, Remaining: res.Remaining, Reset: res.ResetAfter}
		}
	}
	return d, true, nil
}
