// Package keywatch lets an API process keep API keys and users' keys in
// memory without serving one the database has since revoked, expired or
// erased. Triggers on api_keys and user_keys (migration 00019) send a
// notification on channel Channel with every change that can end a key;
// a Watch listens on its own connection and moves to a new generation on
// each. A cached value carries the generation it was read in and is good
// only while that generation is current, so one notification drops every
// value read before it, in every process, within the time the
// notification takes to arrive.
//
// While the listening connection is down nothing can be cached (a change
// meanwhile would go unseen): Stamp says so and lookups go to the
// database, as they would without a cache.
package keywatch

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the notification channel the triggers send on.
const Channel = "tally_keys"

// Watch follows the key tables' changes. The zero Watch is never
// listening, so nothing stamped by it is ever valid.
type Watch struct {
	// state is the generation shifted left by one, with the low bit set
	// while the listening connection is up: one atomic word, read on every
	// request.
	state atomic.Uint64
	log   *slog.Logger
}

// New returns a Watch that is not yet listening; Run starts it.
func New(log *slog.Logger) *Watch {
	if log == nil {
		log = slog.Default()
	}
	return &Watch{log: log}
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

// next moves to a new generation, listening or not.
func (w *Watch) next(listening bool) {
	for {
		old := w.state.Load()
		s := (old>>1 + 1) << 1
		if listening {
			s |= 1
		}
		if w.state.CompareAndSwap(old, s) {
			return
		}
	}
}

// Listening reports whether the watch hears changes now (what it stamps
// can be cached).
func (w *Watch) Listening() bool {
	_, ok := w.Stamp()
	return ok
}

// RunOn is Run on connections of their own made like pool's.
func (w *Watch) RunOn(ctx context.Context, pool *pgxpool.Pool) {
	w.Run(ctx, func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	})
}

// Run listens until ctx ends, reconnecting after a lost connection (one
// to two seconds apart); connect opens a new connection each time.
func (w *Watch) Run(ctx context.Context, connect func(context.Context) (*pgx.Conn, error)) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := w.listen(ctx, connect)
		w.next(false)
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("key change watch: connection lost, keys read from the database until it is back", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// listen holds one connection: LISTEN, then a new generation, then one
// more per notification. It returns when the connection fails.
func (w *Watch) listen(ctx context.Context, connect func(context.Context) (*pgx.Conn, error)) error {
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	// Changes before LISTEN took effect were not heard: what was read
	// before it is dropped.
	w.next(true)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		w.next(true)
	}
}
