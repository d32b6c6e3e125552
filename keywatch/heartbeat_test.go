package keywatch

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tally/breaker/proxytest"
	"tally/migrations/pgtest"
)

// runThrough runs a watch with a short heartbeat whose connections go
// through a proxy the test controls.
func runThrough(t *testing.T, beat time.Duration) (*Watch, *proxytest.Proxy) {
	t.Helper()
	dsn, _ := pgtest.New(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := proxytest.New(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	host, portText, _ := net.SplitHostPort(proxy.Addr())
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	w := New(nil)
	w.heartbeat = beat
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func(ctx context.Context) (*pgx.Conn, error) {
			c := cfg.Copy()
			c.Host = host
			c.Port = uint16(port)
			c.ConnectTimeout = time.Second
			return pgx.ConnectConfig(ctx, c)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the watch listening", w.Listening)
	return w, proxy
}

// eventually: keywatchtest.Eventually, which this package's own tests
// cannot import.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A quiet connection that answers its heartbeats stays trusted: what was
// stamped on it stays valid.
func TestQuietConnectionStaysTrusted(t *testing.T) {
	w, _ := runThrough(t, 100*time.Millisecond)
	stamp, _ := w.Stamp()
	time.Sleep(time.Second) // ten heartbeats
	if !w.Valid(stamp) {
		t.Fatal("a stamp went stale on a quiet, live connection")
	}
}

// A connection that goes silent without closing (its peer vanished) is
// given up within two heartbeats: nothing is cacheable meanwhile, and the
// watch listens again once the database is back.
func TestSilentConnectionIsGivenUp(t *testing.T) {
	w, proxy := runThrough(t, 200*time.Millisecond)
	stamp, _ := w.Stamp()
	proxy.Freeze()
	eventually(t, "the silent connection given up", func() bool { return !w.Listening() })
	if w.Valid(stamp) {
		t.Fatal("a stamp from the silent connection is still valid")
	}
	proxy.Restore()
	eventually(t, "the watch listening again", w.Listening)
}

// Every new generation empties the caches: a stale value, an erased
// user's key among them, is not kept reachable.
func TestCacheLetsGoOnEveryChange(t *testing.T) {
	w := New(nil)
	w.next(true)
	c := NewCache[string, []byte](w, 10)
	stamp, _ := c.Stamp()
	c.Put("ann", stamp, []byte("key"), time.Now().Add(time.Hour))
	w.next(true)
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d values kept after a change", n)
	}
}
