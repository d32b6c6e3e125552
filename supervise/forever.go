package supervise

import (
	"context"
	"time"
)

// Forever runs a piece of work again each time it returns, until its
// context ends: the reconnect loop of a consumer, a projector or a broker
// session.
type Forever struct {
	// Backoff spaces the restarts; a run that fails again soon waits
	// longer each time.
	Backoff Backoff
	// ResetAfter: a run that lasted at least this long was healthy, and the
	// next restart waits Backoff.First again. Zero never resets.
	ResetAfter time.Duration
	// Stopped is told why a run ended and how long until the next one;
	// the place to log it. Nil says nothing.
	Stopped func(err error, wait time.Duration)
}

// Run calls work until ctx ends. Whatever work returns, nil included, it
// is called again after the backoff: work that is meant to stop returns
// only when ctx ends.
func (f Forever) Run(ctx context.Context, work func(ctx context.Context) error) {
	attempt := 0
	for ctx.Err() == nil {
		started := time.Now()
		err := work(ctx)
		if ctx.Err() != nil {
			return
		}
		if f.ResetAfter > 0 && time.Since(started) >= f.ResetAfter {
			attempt = 0
		}
		attempt++
		wait := f.Backoff.Next(attempt)
		if f.Stopped != nil {
			f.Stopped(err, wait)
		}
		if !Sleep(ctx, wait) {
			return
		}
	}
}

// Sleep waits d or until ctx ends, and reports whether the whole wait
// passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
