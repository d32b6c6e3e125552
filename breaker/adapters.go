package breaker

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"tally/blob"
)

// Blobs is a blob store whose calls go through a breaker. Reading a body
// Get returned is not guarded: the call that opened it was.
type Blobs struct {
	Store   blob.Store
	Breaker *Breaker
}

// BlobFailure: every error but a missing or invalid key is the store's.
func BlobFailure(err error) bool {
	return !errors.Is(err, blob.ErrNotFound) && !errors.Is(err, blob.ErrInvalidKey)
}

func (b Blobs) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	return b.Breaker.Do(func() error { return b.Store.Put(ctx, key, r, size, contentType) })
}

func (b Blobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := b.Breaker.Do(func() error {
		var err error
		rc, err = b.Store.Get(ctx, key)
		return err
	})
	return rc, err
}

func (b Blobs) Delete(ctx context.Context, key string) error {
	return b.Breaker.Do(func() error { return b.Store.Delete(ctx, key) })
}

func (b Blobs) Ping(ctx context.Context) error {
	return b.Breaker.Do(func() error { return b.Store.Ping(ctx) })
}

// RedisFailure: a missing key or an error reply is Redis answering.
func RedisFailure(err error) bool {
	var reply redis.Error
	return !errors.Is(err, redis.Nil) && !errors.As(err, &reply)
}

// RedisHook puts a Redis client's commands and pipelines through b:
// client.AddHook(breaker.RedisHook(b)).
func RedisHook(b *Breaker) redis.Hook { return redisHook{b} }

type redisHook struct{ b *Breaker }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// guardedKey marks a context whose call already went through the
// breaker: the commands that open a connection (HELLO, AUTH) run inside
// the command that needed it, and must not take a second turn, which a
// half-open breaker would refuse.
type guardedKey struct{}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			return next(ctx, cmd)
		}
		ctx = context.WithValue(ctx, guardedKey{}, true)
		err := h.b.Do(func() error { return next(ctx, cmd) })
		if errors.Is(err, ErrOpen) {
			cmd.SetErr(err)
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			return next(ctx, cmds)
		}
		ctx = context.WithValue(ctx, guardedKey{}, true)
		err := h.b.Do(func() error { return next(ctx, cmds) })
		if errors.Is(err, ErrOpen) {
			for _, c := range cmds {
				c.SetErr(err)
			}
		}
		return err
	}
}

// PostgresFailure: an error the server sent (a constraint, a syntax
// error) or no rows is PostgreSQL answering; the rest (no connection, a
// connection lost, a timeout) is PostgreSQL being away.
func PostgresFailure(err error) bool {
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr) && !errors.Is(err, pgx.ErrNoRows)
}

// Postgres puts a pool's connections and queries through b: dialling a
// connection is a guarded call, and while b is open no connection is
// handed out, so a query fails at once instead of waiting for a dead
// server. Query outcomes are counted through the connections' tracer.
func Postgres(cfg *pgxpool.Config, b *Breaker) {
	dial := cfg.ConnConfig.DialFunc
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		done, err := b.Allow()
		if err != nil {
			return nil, err
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			done(err)
			return nil, err
		}
		// A server that accepts connections but never answers is as down
		// as one that refuses them: the outcome is the first answer.
		return &firstAnswer{Conn: conn, done: done}, nil
	}
	prepare := cfg.PrepareConn
	cfg.PrepareConn = func(ctx context.Context, conn *pgx.Conn) (bool, error) {
		if b.Open() {
			return true, openError{b.name}
		}
		if prepare != nil {
			return prepare(ctx, conn)
		}
		return true, nil
	}
	cfg.ConnConfig.Tracer = queryTracer{b: b, next: cfg.ConnConfig.Tracer}
}

// queryTracer counts each query's outcome on the breaker.
type queryTracer struct {
	b    *Breaker
	next pgx.QueryTracer
}

type doneKey struct{}

func (t queryTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if done, err := t.b.Allow(); err == nil {
		ctx = context.WithValue(ctx, doneKey{}, done)
	}
	if t.next != nil {
		ctx = t.next.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (t queryTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if done, ok := ctx.Value(doneKey{}).(func(error)); ok {
		done(data.Err)
	}
	if t.next != nil {
		t.next.TraceQueryEnd(ctx, conn, data)
	}
}

// errNoAnswer: the connection closed before the server said anything.
var errNoAnswer = errors.New("connection closed before the server answered")

// firstAnswer reports a new connection's outcome to the breaker when the
// server first answers, or fails to.
type firstAnswer struct {
	net.Conn
	once sync.Once
	done func(error)
}

func (c *firstAnswer) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.once.Do(func() {
		outcome := err
		if n > 0 {
			outcome = nil
		}
		c.done(outcome)
	})
	return n, err
}

func (c *firstAnswer) Close() error {
	c.once.Do(func() { c.done(errNoAnswer) })
	return c.Conn.Close()
}
