// Package keywatch lets an API process keep API keys and users' keys in
// memory without serving one the database has since revoked, expired or
// erased. Triggers on api_keys and user_keys (migration 00019) send a
// notification on channel Channel with every change that can end a key;
// a Watch listens on its own connection and moves to a new generation on
// each. A cached value carries the generation it was read in and is good
// only while that generation is current, so one notification drops every
// value read before it, in every process, within the time the
// notification takes to arrive; the caches also let go of their values
// then, so an erased key is not kept reachable.
//
// While the listening connection is down nothing can be cached (a change
// meanwhile would go unseen): Stamp says so and lookups go to the
// database, as they would without a cache. A connection that died without
// saying so (a peer gone, a firewall dropping it, a pooler that does not
// carry LISTEN) is found by a heartbeat: every Heartbeat the watch sends
// a notification to itself on AliveChannel and stops trusting the
// connection when it does not come back within another Heartbeat.
package keywatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the notification channel the triggers send on.
const Channel = "tally_keys"

// AliveChannel carries the watch's heartbeat to itself.
const AliveChannel = "tally_keys_alive"

// Heartbeat is how long the connection may be quiet before the watch
// checks it, and how long the check may take.
const Heartbeat = 5 * time.Second

// Watch follows the key tables' changes. The zero Watch is never
// listening, so nothing stamped by it is ever valid.
type Watch struct {
	// state is the generation shifted left by one, with the low bit set
	// while the listening connection is up: one atomic word, read on every
	// request.
	state atomic.Uint64
	log   *slog.Logger
	// heartbeat is Heartbeat, shorter in tests.
	heartbeat time.Duration

	mu      sync.Mutex
	forgets []func() // the caches' clear, called on every new generation
}

// New returns a Watch that is not yet listening; Run starts it.
func New(log *slog.Logger) *Watch {
	return &Watch{log: log, heartbeat: Heartbeat}
}

// Stamp is the generation a value read from the database from now on
// belongs to, and whether it may be cached at all: take it before the read,
// so that a change committed during the read makes the value stale.
func (w *Watch) Stamp() (uint64, bool) {
	s := w.state.Load()
	return s, s&1 == 1
}

// Valid reports whether a value stamped stamp is still current.
func (w *Watch) Valid(stamp uint64) bool {
	return stamp&1 == 1 && w.state.Load() == stamp
}

// Listening reports whether the watch hears changes now (what it stamps
// can be cached).
func (w *Watch) Listening() bool {
	_, ok := w.Stamp()
	return ok
}

// onNext registers forget to be called after every move to a new
// generation.
func (w *Watch) onNext(forget func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgets = append(w.forgets, forget)
}

// next moves to a new generation, listening or not, and tells the caches
// to let go of what they hold.
func (w *Watch) next(listening bool) {
	for {
		old := w.state.Load()
		s := (old>>1 + 1) << 1
		if listening {
			s |= 1
		}
		if w.state.CompareAndSwap(old, s) {
			break
		}
	}
	w.mu.Lock()
	forgets := w.forgets
	w.mu.Unlock()
	for _, forget := range forgets {
		forget()
	}
}

// RunOn is Run on connections of their own made like pool's.
func (w *Watch) RunOn(ctx context.Context, pool *pgxpool.Pool) {
	w.Run(ctx, func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	})
}

// Run listens until ctx ends, reconnecting after a lost connection (a
// second after the first loss, up to 30 s after repeated ones, back to a
// second once it listened again); connect opens a new connection each
// time.
func (w *Watch) Run(ctx context.Context, connect func(context.Context) (*pgx.Conn, error)) {
	log := w.log
	if log == nil {
		log = slog.Default()
	}
	backoff := time.Second
	for ctx.Err() == nil {
		listened, err := w.listen(ctx, connect)
		w.next(false)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = time.Second
		}
		log.Warn("key change watch: connection lost, keys read from the database until it is back", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// errNoHeartbeat: the heartbeat sent on the connection did not come back.
var errNoHeartbeat = errors.New("the heartbeat notification did not come back")

// listen holds one connection: LISTEN, then a new generation, then one
// more per notification on Channel. It returns when the connection fails
// or its heartbeat does not come back; listened says whether LISTEN
// took effect.
func (w *Watch) listen(ctx context.Context, connect func(context.Context) (*pgx.Conn, error)) (listened bool, err error) {
	conn, err := connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel+"; LISTEN "+AliveChannel); err != nil {
		return false, err
	}
	// Changes before LISTEN took effect were not heard: what was read
	// before it is dropped.
	w.next(true)
	beat := w.heartbeat
	if beat <= 0 {
		beat = Heartbeat
	}
	awaiting := false // a heartbeat was sent and has not come back
	for {
		wctx, cancel := context.WithTimeout(ctx, beat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil && n.Channel == AliveChannel:
			awaiting = false
		case err == nil:
			w.next(true)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed():
			return true, err
		case awaiting:
			return true, errNoHeartbeat
		default:
			// Quiet for a while: make sure the quiet is not a dead
			// connection's.
			hctx, cancel := context.WithTimeout(ctx, beat)
			_, err := conn.Exec(hctx, "SELECT pg_notify('"+AliveChannel+"', '')")
			cancel()
			if err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
			awaiting = true
		}
	}
}
