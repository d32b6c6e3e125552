package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"tally/accounts"
)

// The table's column headers sort as GET /v1/documents does: -key first
// (descending), then key (ascending), and say so to screen readers.
func TestColumnHeadersSortBothWays(t *testing.T) {
	a := start(t)
	if _, err := a.store.Create(context.Background(), "acme", "member@example.com", "Max", accounts.RoleMember, "member password 1"); err != nil {
		t.Fatal(err)
	}
	b := a.browser()
	b.login("member@example.com", "member password 1")
	for _, c := range []struct{ query, aria, link string }{
		{"", `aria-sort="descending"><a href="/documents?sort=created"`, `href="/documents?sort=-total"`},
		{"?sort=-total", `aria-sort="descending"><a href="/documents?sort=total"`, `href="/documents?sort=-vendor"`},
		{"?sort=total", `aria-sort="ascending"><a href="/documents?sort=-total"`, `href="/documents?sort=-date"`},
		{"?sort=created_at", `aria-sort="ascending"><a href="/documents?sort=-created"`, `href="/documents?sort=-total"`},
	} {
		code, body, _ := b.do("GET", "/documents"+c.query, nil)
		if code != http.StatusOK || !strings.Contains(body, c.aria) || !strings.Contains(body, c.link) {
			t.Errorf("/documents%s: %d, want %s and %s", c.query, code, c.aria, c.link)
		}
	}
	if code, _, _ := b.do("GET", "/documents?sort=--total", nil); code != http.StatusBadRequest {
		t.Errorf("sort=--total: %d, want 400", code)
	}
}
