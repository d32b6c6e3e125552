package apikeys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/apikeys"
	"tally/keywatch/keywatchtest"
	"tally/migrations/pgtest"
)

func TestCreateAndLookUp(t *testing.T) {
	_, pool := pgtest.New(t)
	keys := apikeys.New(pool)
	ctx := context.Background()
	a, err := keys.Create(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := keys.Create(ctx, "globex")
	if a == b {
		t.Fatal("two keys are equal")
	}
	if tenant, err := keys.Tenant(ctx, a); err != nil || tenant != "acme" {
		t.Fatalf("got %q, %v", tenant, err)
	}
	if tenant, _ := keys.Tenant(ctx, b); tenant != "globex" {
		t.Fatalf("got %q", tenant)
	}
	for _, bad := range []string{"", "tly_nope", a + "x", "Bearer " + a} {
		if _, err := keys.Tenant(ctx, bad); !errors.Is(err, apikeys.ErrUnknownKey) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	var stored int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM api_keys WHERE key_hash = convert_to($1, 'UTF8')", a).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("key stored in clear: %d %v", stored, err)
	}
	if _, err := keys.Create(ctx, "Bad Tenant"); err == nil {
		t.Fatal("invalid tenant accepted")
	}
}

// A key revoked through one process is refused at once by another (each
// has its own pool, as API processes do); an expired key is refused too.
func TestRevokeExpireAndRotate(t *testing.T) {
	pool, other := twoProcesses(t)
	ctx := context.Background()
	admin, api := apikeys.New(pool), apikeys.New(other)

	key, id, err := admin.CreateExpiring(ctx, "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if tenant, err := api.Tenant(ctx, key); err != nil || tenant != "acme" {
		t.Fatalf("before revoking: %q %v", tenant, err)
	}
	if err := admin.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, key); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("revoked key: %v, want ErrUnknownKey", err)
	}
	if err := admin.Revoke(ctx, id); !errors.Is(err, apikeys.ErrNoSuchKey) {
		t.Fatalf("revoking twice: %v", err)
	}

	soon, _, err := admin.CreateExpiring(ctx, "acme", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, soon); err != nil {
		t.Fatalf("key before its expiry: %v", err)
	}
	if _, err := pool.Exec(ctx, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, soon); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("expired key: %v, want ErrUnknownKey", err)
	}

	// Rotation without grace: the old key stops at once, the new works.
	old, oldID, _ := admin.CreateExpiring(ctx, "globex", time.Time{})
	fresh, freshID, err := admin.Rotate(ctx, oldID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, old); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("rotated-out key: %v", err)
	}
	if tenant, err := api.Tenant(ctx, fresh); err != nil || tenant != "globex" {
		t.Fatalf("rotated-in key: %q %v", tenant, err)
	}
	// With grace the old key works until then.
	fresh2, _, err := admin.Rotate(ctx, freshID, time.Time{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, fresh); err != nil {
		t.Fatalf("old key within its grace period: %v", err)
	}
	if _, err := api.Tenant(ctx, fresh2); err != nil {
		t.Fatal(err)
	}
	list, err := admin.List(ctx, "globex")
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, k := range list {
		if strings.Contains(fresh2, k.Prefix) && len(k.Prefix) >= len(fresh2) {
			t.Fatal("list shows a whole key")
		}
	}
}

// last_used_at is written at most once a minute per key.
func TestLastUsedAtToTheMinute(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	keys := apikeys.New(pool)
	key, id, _ := keys.CreateExpiring(ctx, "acme", time.Time{})
	lastUsed := func() time.Time {
		var at pgtype.Timestamptz
		if err := pool.QueryRow(ctx, "SELECT last_used_at FROM api_keys WHERE id = $1", id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at.Time
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key has a last use")
	}
	if _, err := keys.Tenant(ctx, key); err != nil {
		t.Fatal(err)
	}
	first := lastUsed()
	if first.IsZero() {
		t.Fatal("last_used_at not set by a use")
	}
	// Thirty seconds ago: another use within the minute writes nothing.
	if _, err := pool.Exec(ctx, "UPDATE api_keys SET last_used_at = now() - interval '30 seconds' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	before := lastUsed()
	for range 5 {
		if _, err := keys.Tenant(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if !lastUsed().Equal(before) {
		t.Fatal("last_used_at written again within the minute")
	}
	if _, err := pool.Exec(ctx, "UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	stale := lastUsed()
	if _, err := keys.Tenant(ctx, key); err != nil {
		t.Fatal(err)
	}
	if !lastUsed().After(stale) {
		t.Fatal("last_used_at not updated after a minute")
	}
}

// twoProcesses returns two pools on one test database, as two API
// processes have.
func twoProcesses(t *testing.T) (*pgxpool.Pool, *pgxpool.Pool) {
	dsn, pool := pgtest.New(t)
	other, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	return pool, other
}

// An API process keeps the keys it looked up, and still refuses a key
// once another process revoked, rotated out or deleted it, or once it
// expired, without a restart.
func TestCachedKeysFollowTheDatabase(t *testing.T) {
	pool, other := twoProcesses(t)
	ctx := context.Background()
	admin, api := apikeys.New(pool), apikeys.New(other).Cached(keywatchtest.Start(t, other))
	refused := func(key string) func() bool {
		return func() bool {
			_, err := api.Tenant(ctx, key)
			if err != nil && !errors.Is(err, apikeys.ErrUnknownKey) {
				t.Fatal(err)
			}
			return err != nil
		}
	}

	key, id, err := admin.CreateExpiring(ctx, "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if tenant, err := api.Tenant(ctx, key); err != nil || tenant != "acme" {
		t.Fatalf("first use: %q %v", tenant, err)
	}
	// Kept: a revocation the database does not announce (triggers off
	// for this session) is not seen, where an uncached lookup sees it.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE api_keys SET revoked_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = DEFAULT"); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	if _, err := apikeys.New(other).Tenant(ctx, key); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("uncached lookup of the revoked key: %v", err)
	}
	if tenant, err := api.Tenant(ctx, key); err != nil || tenant != "acme" {
		t.Fatalf("the key was not kept: %q %v", tenant, err)
	}

	// Revoked as Tally revokes: refused.
	key, id, _ = admin.CreateExpiring(ctx, "acme", time.Time{})
	if _, err := api.Tenant(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := admin.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	keywatchtest.Eventually(t, "the revoked key refused", refused(key))

	// Rotated out without grace: refused; the new key works.
	old, oldID, _ := admin.CreateExpiring(ctx, "globex", time.Time{})
	if _, err := api.Tenant(ctx, old); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := admin.Rotate(ctx, oldID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	keywatchtest.Eventually(t, "the rotated-out key refused", refused(old))
	if tenant, err := api.Tenant(ctx, fresh); err != nil || tenant != "globex" {
		t.Fatalf("rotated-in key: %q %v", tenant, err)
	}

	// Deleted (a purged tenant): refused.
	if _, err := pool.Exec(ctx, "DELETE FROM api_keys WHERE tenant = 'globex'"); err != nil {
		t.Fatal(err)
	}
	keywatchtest.Eventually(t, "the deleted key refused", refused(fresh))

	// Expiring: refused once its time is up, with no change to announce.
	soon, _, err := admin.CreateExpiring(ctx, "acme", time.Now().Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Tenant(ctx, soon); err != nil {
		t.Fatalf("key before its expiry: %v", err)
	}
	time.Sleep(1600 * time.Millisecond)
	if _, err := api.Tenant(ctx, soon); !errors.Is(err, apikeys.ErrUnknownKey) {
		t.Fatalf("key after its expiry: %v, want ErrUnknownKey", err)
	}
}
