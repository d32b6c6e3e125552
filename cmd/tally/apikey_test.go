package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"tally/apikeys"
	"tally/migrations/pgtest"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestAPIKeyCommands: create with an expiry, list (never the key), rotate
// (the old key stops), revoke (the key stops at once).
func TestAPIKeyCommands(t *testing.T) {
	dsn, pool := pgtest.New(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "warn")
	ctx := context.Background()
	keys := apikeys.New(pool)
	cmd := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"apikey"}, args...), &out, io.Discard); err != nil {
			t.Fatalf("apikey %v: %v", args, err)
		}
		return out.String()
	}
	key := strings.TrimSpace(cmd("create", "--tenant", "acme", "--expires", "90d"))
	if tenant, err := keys.Tenant(ctx, key); err != nil || tenant != "acme" {
		t.Fatalf("created key: %q %v", tenant, err)
	}
	listed := cmd("list", "--tenant", "acme")
	if strings.Contains(listed, key) {
		t.Fatal("list shows the key")
	}
	var info apikeys.Info
	if err := json.Unmarshal([]byte(strings.SplitN(listed, "\n", 2)[0]), &info); err != nil {
		t.Fatalf("list: %q: %v", listed, err)
	}
	if info.ExpiresAt == nil || info.LastUsedAt == nil || info.Tenant != "acme" {
		t.Fatalf("listed key: %+v", info)
	}
	rotated := strings.TrimSpace(cmd("rotate", info.ID.String()))
	if _, err := keys.Tenant(ctx, key); err == nil {
		t.Fatal("the rotated-out key still works")
	}
	if tenant, err := keys.Tenant(ctx, rotated); err != nil || tenant != "acme" {
		t.Fatalf("rotated-in key: %q %v", tenant, err)
	}
	all, _ := keys.List(ctx, "acme")
	for _, k := range all {
		if k.RevokedAt == nil {
			cmd("revoke", k.ID.String())
		}
	}
	if _, err := keys.Tenant(ctx, rotated); err == nil {
		t.Fatal("the revoked key still works")
	}
	for _, bad := range [][]string{{"revoke"}, {"revoke", "nope"}, {"create", "--expires", "soon"}, {"frobnicate"}} {
		if err := run(ctx, append([]string{"apikey"}, bad...), io.Discard, io.Discard); err == nil {
			t.Errorf("apikey %v succeeded", bad)
		}
	}
}
