package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tally/accounts"
)

var endpointLink = regexp.MustCompile(`href="/settings/webhooks/([0-9a-f-]{36})"`)

// TestSettingsPages: an admin registers a webhook, sees its secret once
// and its delivery log; sets up e-receipts; a member opens none of the
// admin pages but sets their own e-mail preference.
func TestSettingsPages(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	if _, err := a.store.Create(ctx, "acme", "admin@example.com", "Ada", accounts.RoleAdmin, "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Create(ctx, "acme", "member@example.com", "Max", accounts.RoleMember, "member password 1"); err != nil {
		t.Fatal(err)
	}
	admin := a.browser()
	admin.login("admin@example.com", "admin password 1")

	tok := admin.token("/settings/webhooks")
	code, body, _ := admin.do("POST", "/settings/webhooks", url.Values{"csrf": {tok}, "url": {"ftp://hooks.example.com/x"},
		"events": {"document.completed"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "ftp://hooks.example.com/x") || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("a bad URL: %d, want 422 with the form kept and the reason: %.400s", code, body)
	}
	code, body, _ = admin.do("POST", "/settings/webhooks", url.Values{"csrf": {tok}, "url": {"https://hooks.example.com/tally"},
		"events": {"document.completed", "document.failed"}, "description": {"bookkeeping"}})
	if code != 200 || !strings.Contains(body, "whsec_") {
		t.Fatalf("add a webhook: %d %.400s", code, body)
	}
	eps, err := a.hooks.List(ctx, "acme")
	if err != nil || len(eps) != 1 || eps[0].URL != "https://hooks.example.com/tally" || len(eps[0].Events) != 2 {
		t.Fatalf("stored endpoints: %+v %v", eps, err)
	}
	_, body, _ = admin.do("GET", "/settings/webhooks", nil)
	m := endpointLink.FindStringSubmatch(body)
	if m == nil || strings.Contains(body, "whsec_") {
		t.Fatalf("the list shows no link to the endpoint, or its secret again: %.600s", body)
	}
	hook := "/settings/webhooks/" + m[1]
	if code, _, h := admin.do("POST", hook+"/test", url.Values{"csrf": {tok}}); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), hook) {
		t.Fatalf("send a test: %d %s", code, h.Get("Location"))
	}
	code, body, _ = admin.do("GET", hook, nil)
	if code != 200 || !strings.Contains(body, "webhook.test") || !strings.Contains(body, "Delivery log") {
		t.Fatalf("the delivery log: %d %.600s", code, body)
	}
	if code, _, _ := admin.do("GET", "/settings/webhooks/00000000-0000-0000-0000-000000000000", nil); code != http.StatusNotFound {
		t.Errorf("no such webhook: %d, want 404", code)
	}

	code, body, _ = admin.do("GET", "/settings/mailboxes", nil)
	if code != 200 || !strings.Contains(body, "Link a mailbox") || !strings.Contains(body, "no forwarding mailbox") {
		t.Fatalf("mailboxes: %d %.400s", code, body)
	}
	code, body, _ = admin.do("POST", "/settings/mailboxes", url.Values{"csrf": {tok}, "host": {"imap.example.com"}, "port": {"0"},
		"tls": {"imaps"}, "username": {"ann"}, "password": {"secret pass"}, "user_email": {"ann@example.com"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Port must be 1-65535") || strings.Contains(body, "secret pass") {
		t.Fatalf("a bad mailbox: %d, want 400 naming the port and without the password: %.400s", code, body)
	}

	code, body, _ = admin.do("POST", "/settings/ereceipts", url.Values{"csrf": {tok}, "results_endpoint": {"https://results.example.com/in"},
		"day_cutoff": {"30"}, "retailers": {"orders@shop.example\n@store.example 7"}})
	if code != http.StatusSeeOther {
		t.Fatalf("save e-receipt settings: %d %.400s", code, body)
	}
	_, body, _ = admin.do("GET", "/settings/ereceipts", nil)
	if !strings.Contains(body, "https://results.example.com/in") || !strings.Contains(body, "@store.example 7") {
		t.Fatalf("the saved settings are not shown: %.800s", body)
	}
	code, body, _ = admin.do("POST", "/settings/ereceipts", url.Values{"csrf": {tok}, "results_endpoint": {"https://results.example.com/in"},
		"day_cutoff": {"30"}, "date_cutoff": {"2026-01-01"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "both set") {
		t.Fatalf("two cutoffs: %d, want 400 saying so: %.400s", code, body)
	}

	member := a.browser()
	member.login("member@example.com", "member password 1")
	mtok := member.token("/account")
	for _, path := range []string{"/settings/webhooks", hook, "/settings/mailboxes", "/settings/ereceipts"} {
		if code, _, _ := member.do("GET", path, nil); code != http.StatusForbidden {
			t.Errorf("member GET %s = %d, want 403", path, code)
		}
	}
	if code, _, _ := member.do("POST", "/settings/webhooks", url.Values{"csrf": {mtok}, "url": {"https://evil.example/"}}); code != http.StatusForbidden {
		t.Errorf("a member added a webhook: %d", code)
	}
	if code, _, _ := member.do("POST", hook+"/delete", url.Values{"csrf": {mtok}}); code != http.StatusForbidden {
		t.Errorf("a member removed a webhook: %d", code)
	}

	if _, body, _ := member.do("GET", "/account", nil); !strings.Contains(body, `value="on" checked`) {
		t.Fatalf("e-mails are on by default, the page says otherwise: %.600s", body)
	}
	if code, _, _ := member.do("POST", "/account/notifications", url.Values{"csrf": {mtok}, "emails": {"off"}}); code != http.StatusSeeOther {
		t.Fatalf("turn e-mails off: %d", code)
	}
	if _, body, _ := member.do("GET", "/account", nil); !strings.Contains(body, `value="off" checked`) || !strings.Contains(body, "sends you no e-mails") {
		t.Fatalf("e-mails still on: %.600s", body)
	}
	if code, _, _ := member.do("POST", "/account/notifications", url.Values{"csrf": {mtok}, "emails": {"maybe"}}); code != http.StatusBadRequest {
		t.Errorf("a bad choice: %d, want 400", code)
	}
	// The admin's own preference is theirs alone.
	if _, body, _ := admin.do("GET", "/account", nil); !strings.Contains(body, `value="on" checked`) {
		t.Error("the member's choice changed the admin's")
	}
}
