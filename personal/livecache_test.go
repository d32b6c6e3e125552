package personal_test

import (
	"context"
	"testing"
	"time"

	"tally/domain"
	"tally/keywatch/keywatchtest"
	"tally/migrations/pgtest"
	"tally/personal"
)

// An API process keeps an address's key for sealing its uploads; once any
// process erases the address, its next upload gets a new user and key,
// never the erased one.
func TestCachedLiveKeysFollowErasure(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	w := keywatchtest.Start(t, pool)
	api, admin := personal.New(pool).Cached(w), personal.New(pool)

	first, err := api.SealUpload(ctx, "acme", ann, domain.Private{})
	if err != nil {
		t.Fatal(err)
	}
	// Kept: with the table's triggers off for one session, the stored key
	// is damaged unannounced; a process without the cache can no longer
	// seal, the cached key still seals.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SET session_replication_role = replica",
		`UPDATE user_keys SET key = '\x00'`,
		"SET session_replication_role = DEFAULT",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	conn.Release()
	stamp, _ := w.Stamp()
	if _, err := admin.SealUpload(ctx, "acme", ann, domain.Private{}); err == nil {
		t.Fatal("an uncached seal used a damaged key")
	}
	kept, err := api.SealUpload(ctx, "acme", ann, domain.Private{})
	if err != nil || kept.ID != first.ID {
		t.Fatalf("second seal: %+v %v", kept, err)
	}
	if !w.Valid(stamp) {
		t.Fatal("an unannounced change was heard")
	}

	if _, err := admin.Erase(ctx, "acme", ann.Email); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := api.SealUpload(ctx, "acme", ann, domain.Private{})
		if err != nil {
			t.Fatal(err)
		}
		if s.ID != first.ID {
			if o, err := admin.Open(ctx, "acme", s); err != nil || o.Erased || o.User != ann {
				t.Fatalf("an upload after the erasure does not open: %+v %v", o, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("uploads after the erasure are still sealed for the erased user")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
