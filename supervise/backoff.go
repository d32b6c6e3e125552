package supervise

import (
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with jitter: the wait after the nth
// failed attempt is First doubled n-1 times, capped at Max, then spread
// over half to one and a half of that, so many waiters spread out.
type Backoff struct {
	// First is the wait after the first failure.
	First time.Duration
	// Max caps the doubling; zero means no cap.
	Max time.Duration
}

// Next is the wait after the given failed attempt, counted from 1.
func (b Backoff) Next(attempt int) time.Duration {
	d := b.base(attempt)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}

// base is the wait before jitter.
func (b Backoff) base(attempt int) time.Duration {
	d := b.First
	for i := 1; i < attempt; i++ {
		if b.Max > 0 && d >= b.Max {
			break
		}
		if d > time.Duration(1<<62)/2 {
			break // doubling again would overflow
		}
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}
