package supervise_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"tally/migrations/pgtest"
	"tally/supervise"
)

func TestBackoffNext(t *testing.T) {
	b := supervise.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	cases := []struct {
		attempt int
		base    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{60, time.Second},
		{1 << 30, time.Second},
	}
	for _, c := range cases {
		for range 200 {
			got := b.Next(c.attempt)
			if got < c.base/2 || got >= c.base*3/2 {
				t.Fatalf("attempt %d: wait %s outside [%s, %s)", c.attempt, got, c.base/2, c.base*3/2)
			}
		}
	}
	if got := (supervise.Backoff{}).Next(3); got != 0 {
		t.Fatalf("zero backoff waits %s", got)
	}
	// Without a cap the doubling stops short of overflowing.
	if got := (supervise.Backoff{First: time.Second}).Next(1000); got <= 0 {
		t.Fatalf("uncapped backoff at attempt 1000 waits %s", got)
	}
}

// Forever calls the work again after each return, with a growing wait,
// passes every error on, and stops when the context ends.
func TestForeverRestarts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs atomic.Int32
	var waits []time.Duration
	boom := errors.New("boom")
	f := supervise.Forever{
		Backoff: supervise.Backoff{First: time.Millisecond, Max: 8 * time.Millisecond},
		Stopped: func(err error, wait time.Duration) {
			if !errors.Is(err, boom) {
				t.Errorf("stopped with %v, want boom", err)
			}
			waits = append(waits, wait)
		},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx, func(context.Context) error {
			if runs.Add(1) == 6 {
				cancel()
			}
			return boom
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Forever did not stop after its context ended")
	}
	if runs.Load() != 6 || len(waits) != 5 {
		t.Fatalf("%d runs, %d waits; want 6 and 5", runs.Load(), len(waits))
	}
	for i, w := range waits {
		base := min(time.Millisecond<<i, 8*time.Millisecond)
		if w < base/2 || w >= base*3/2 {
			t.Errorf("wait %d is %s, want about %s", i+1, w, base)
		}
	}
}

// A run that lasted ResetAfter starts the backoff anew.
func TestForeverResetsAfterAHealthyRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	f := supervise.Forever{
		Backoff:    supervise.Backoff{First: time.Millisecond, Max: time.Second},
		ResetAfter: 20 * time.Millisecond,
		Stopped:    func(_ error, wait time.Duration) { waits = append(waits, wait) },
	}
	runs := 0
	f.Run(ctx, func(context.Context) error {
		runs++
		switch runs {
		case 4:
			time.Sleep(25 * time.Millisecond) // healthy
		case 5:
			cancel()
		}
		return nil
	})
	// Waits after runs 1-3 grow (1, 2, 4 ms); after the healthy run 4 it
	// is back to the first.
	if len(waits) != 4 {
		t.Fatalf("%d waits, want 4", len(waits))
	}
	if waits[2] < 2*time.Millisecond || waits[3] >= 3*time.Millisecond/2 {
		t.Fatalf("waits %v: the third should be about 4ms, the fourth about 1ms", waits)
	}
}

func TestEveryRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs, failures int
	supervise.Every(ctx, time.Millisecond, func(context.Context) error {
		runs++
		if runs == 3 {
			cancel()
		}
		return errors.New("down")
	}, func(error) { failures++ })
	// The third run's error comes after cancel: not a failure to report.
	if runs != 3 || failures != 2 {
		t.Fatalf("%d runs, %d failures; want 3 and 2", runs, failures)
	}
}

func TestAtRunsAtEachScheduledTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var scheduled, ran []time.Time
	supervise.At(ctx, func(after time.Time) time.Time { return after.Add(time.Millisecond) },
		func(at time.Time) { scheduled = append(scheduled, at) },
		func(_ context.Context, at time.Time) {
			if time.Now().Before(at) {
				t.Errorf("ran before %s", at)
			}
			ran = append(ran, at)
			if len(ran) == 2 {
				cancel()
			}
		})
	if len(ran) != 2 || len(scheduled) != 3 || !ran[0].Equal(scheduled[0]) || !ran[1].Equal(scheduled[1]) {
		t.Fatalf("scheduled %v, ran %v", scheduled, ran)
	}
}

// Locked runs the work in one process at a time: a second caller skips
// while the first holds the lock, and gets it once the first is done.
func TestLockedSkipsWhileHeld(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.New(t)
	l := supervise.Locker{Pool: pool}
	var inner bool
	err := l.Locked(ctx, "test-lock", func() error {
		return l.Locked(ctx, "test-lock", func() error {
			inner = true
			return nil
		})
	})
	if err != nil || inner {
		t.Fatalf("nested run under a held lock: err %v, ran %v", err, inner)
	}
	want := errors.New("work failed")
	if err := l.Locked(ctx, "test-lock", func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("lock free again: err %v, want the work's", err)
	}
	// The failed run released it too.
	var ran bool
	if err := l.Locked(ctx, "test-lock", func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after a failed run: err %v, ran %v", err, ran)
	}
}

func TestLockerEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, pool := pgtest.New(t)
	l := supervise.Locker{Pool: pool}
	var runs int
	l.Every(ctx, "every-lock", time.Millisecond, func(context.Context) error {
		runs++
		if runs == 2 {
			cancel()
		}
		return nil
	}, func(err error) { t.Errorf("failed: %v", err) })
	if runs != 2 {
		t.Fatalf("%d runs, want 2", runs)
	}
}
