package keywatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/keywatch"
	"tally/keywatch/keywatchtest"
	"tally/migrations/pgtest"
)

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Every change that can end a key makes what was read before it stale:
// revoking, expiring or deleting an API key, erasing or re-wrapping a
// user's key, emptying either table. Using a key (last_used_at) and making
// keys do not.
func TestChangesThatEndAKeyAreHeard(t *testing.T) {
	_, pool := pgtest.New(t)
	w := keywatchtest.Start(t, pool)
	exec(t, pool, `INSERT INTO api_keys (id, tenant, key_hash, key_prefix) VALUES (gen_random_uuid(), 'acme', '\x01', 'tly_aa')`)
	exec(t, pool, `INSERT INTO user_keys (tenant, user_id, email_hash, key) VALUES ('acme', gen_random_uuid(), '\x02', '\x03')`)
	exec(t, pool, `UPDATE api_keys SET last_used_at = now()`)

	// Nothing above ends a key: wait for a notification that would have
	// come by now, then check the stamp has lived through them.
	stamp, _ := w.Stamp()
	exec(t, pool, `SELECT pg_notify('other_channel', '')`)
	time.Sleep(200 * time.Millisecond)
	if !w.Valid(stamp) {
		t.Fatal("a stamp went stale without a change that ends a key")
	}

	for _, change := range []string{
		`UPDATE api_keys SET revoked_at = now()`,
		`UPDATE api_keys SET expires_at = now() + interval '1 hour'`,
		`DELETE FROM api_keys`,
		`TRUNCATE api_keys`,
		`UPDATE user_keys SET key = NULL, erased_at = now()`,
		`UPDATE user_keys SET key = '\x04', erased_at = NULL`,
		`DELETE FROM user_keys`,
		`TRUNCATE user_keys`,
	} {
		stamp, ok := w.Stamp()
		if !ok {
			t.Fatalf("%s: the watch stopped listening", change)
		}
		exec(t, pool, change)
		keywatchtest.Eventually(t, change+" to be heard", func() bool { return !w.Valid(stamp) })
	}
}

// A change that commits nothing (rolled back) is not heard; one in a
// transaction is heard when it commits.
func TestOnlyCommittedChangesAreHeard(t *testing.T) {
	_, pool := pgtest.New(t)
	w := keywatchtest.Start(t, pool)
	ctx := context.Background()
	exec(t, pool, `INSERT INTO api_keys (id, tenant, key_hash, key_prefix) VALUES (gen_random_uuid(), 'acme', '\x01', 'tly_aa')`)
	stamp, _ := w.Stamp()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = now()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if !w.Valid(stamp) {
		t.Fatal("an uncommitted revocation was heard")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	keywatchtest.Eventually(t, "the committed revocation", func() bool { return !w.Valid(stamp) })
}

// While the listening connection is down nothing is cacheable, and what
// was stamped before it fell is stale for good; the watch comes back by
// itself.
func TestLostConnection(t *testing.T) {
	_, pool := pgtest.New(t)
	w := keywatchtest.Start(t, pool)
	before, _ := w.Stamp()
	exec(t, pool, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`)
	keywatchtest.Eventually(t, "the lost connection to be noticed", func() bool { return !w.Valid(before) })
	keywatchtest.Eventually(t, "the watch listening again", w.Listening)
	if w.Valid(before) {
		t.Fatal("a stamp from before the lost connection is valid again")
	}
}

// The zero Watch never listens: nothing it stamps is ever valid.
func TestZeroWatchCachesNothing(t *testing.T) {
	var w keywatch.Watch
	stamp, ok := w.Stamp()
	if ok || w.Valid(stamp) {
		t.Fatal("an idle watch allows caching")
	}
	c := keywatch.NewCache[string, int](&w, 10)
	c.Put("a", stamp, 1, time.Now().Add(time.Hour))
	if _, ok := c.Get("a", time.Now()); ok {
		t.Fatal("an idle watch's cache kept a value")
	}
}
