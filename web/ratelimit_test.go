package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"tally/accounts"
	"tally/ratelimit"
	"tally/web"
)

// TestExpensiveActionsRateLimited: a session that spends its budget of
// expensive actions gets a 429 page with Retry-After, and another session
// from the same address is held by the address's budget.
func TestExpensiveActionsRateLimited(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	// A scope of its own: Redis outlives test runs.
	limits := ratelimit.New(rdb, ratelimit.Config{Expensive: 1, IPFactor: 2, Scope: "web-test-" + uuid.NewString()})
	a := start(t, func(d *web.Deps) { d.RateLimits = limits })
	ctx := context.Background()
	if _, err := a.store.Create(ctx, "acme", "member@example.com", "Max", accounts.RoleMember, "member password 1"); err != nil {
		t.Fatal(err)
	}
	first, second := a.browser(), a.browser()
	first.login("member@example.com", "member password 1")
	second.login("member@example.com", "member password 1")

	if code, _, _ := first.do("GET", "/documents/export?format=csv", nil); code != 200 {
		t.Fatalf("first export = %d", code)
	}
	// Pages are not counted: only uploads and expensive actions are.
	for range 3 {
		if code, _, _ := first.do("GET", "/documents", nil); code != 200 {
			t.Fatalf("the documents page = %d", code)
		}
	}
	code, body, h := first.do("GET", "/documents/export?format=csv", nil)
	wait, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != http.StatusTooManyRequests || wait < 1 || wait > 60 {
		t.Fatalf("second export in a minute = %d, Retry-After %q; want 429 with a wait", code, h.Get("Retry-After"))
	}
	if !strings.Contains(body, "<html") || !strings.Contains(body, "at most 1 a minute") || !strings.Contains(body, "Try again in") {
		t.Fatalf("the 429 is not a page saying when to retry: %.400s", body)
	}
	// The session's own budget is whole, the address's (2) is spent.
	if code, _, h := second.do("GET", "/documents/export?format=csv", nil); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("another session from the same address = %d, want 429 by the address's budget", code)
	}
}
