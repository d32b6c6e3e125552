package apikeys_test

import (
	"context"
	"errors"
	"testing"

	"tally/apikeys"
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
