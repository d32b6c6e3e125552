package http_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/apikeys"
)

// A key revoked (or expired) by another process answers 401 on the next
// request: the API keeps no cache of keys.
func TestRevokedKeyIsRefusedAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	// Another process's connections, as `tally apikey revoke` has.
	admin, err := pgxpool.New(ctx, h.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	keys := apikeys.New(admin)
	if code, _ := h.do("GET", "/v1/documents", "a", nil, ""); code != 200 {
		t.Fatalf("before revoking: %d", code)
	}
	list, err := keys.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range list {
		if strings.HasPrefix(h.keys["a"], k.Prefix) {
			if err := keys.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code, _ := h.do("GET", "/v1/documents", "a", nil, ""); code != 401 {
		t.Fatalf("a revoked key: %d, want 401", code)
	}
	if code, _ := h.do("GET", "/v1/documents", "b", nil, ""); code != 200 {
		t.Fatalf("another tenant's key after the revocation: %d", code)
	}
	if _, err := admin.Exec(ctx, "UPDATE api_keys SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.do("GET", "/v1/documents", "b", nil, ""); code != 401 {
		t.Fatalf("an expired key: %d, want 401", code)
	}
}
