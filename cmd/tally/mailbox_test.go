package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tally/mailbox/mailboxtest"
)

// TestLinkedMailboxEndToEnd runs `tally all` with the real broker, links
// an in-process IMAP mailbox through the API, asks for a scrape twice and
// finds each of its receipts once among the documents, extracted.
func TestLinkedMailboxEndToEnd(t *testing.T) {
	imap := mailboxtest.Start(t)
	imap.AddUser("ann@mail.test", "app-password-1")
	now := time.Now()
	for i, age := range []time.Duration{time.Hour, 48 * time.Hour, 200 * 24 * time.Hour} {
		at := now.Add(-age)
		raw := fmt.Sprintf("From: Shop <orders@shop.test>\r\nTo: ann@example.com\r\nSubject: Receipt %d\r\n"+
			"Date: %s\r\nMessage-ID: <r%d@shop.test>\r\n\r\nShop receipt %d\r\nTotal: 1%d.50 EUR\r\n", i, at.Format(time.RFC1123Z), i, i, i)
		imap.Append("ann@mail.test", "INBOX", []byte(raw), at)
	}
	// Recent, but not from a configured retailer.
	imap.Append("ann@mail.test", "INBOX", []byte(fmt.Sprintf("From: News <news@other.test>\r\nTo: ann@example.com\r\n"+
		"Subject: Offers\r\nDate: %s\r\nMessage-ID: <n1@other.test>\r\n\r\nTotal: 9.99 EUR\r\n", now.Format(time.RFC1123Z))), now)

	in := startAll(t, map[string]string{"OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"})
	call := func(method, path, body string) (int, map[string]any) {
		return in.call(method, path, strings.NewReader(body), "application/json")
	}

	// The e-receipt settings name the retailers and how far back to look.
	if code, reply := in.ereceipt("POST", "/ereceipts/config",
		`{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30, "retailers": [{"email": "orders@shop.test"}]}`, "application/json"); code != 200 {
		t.Fatalf("e-receipt settings: %d %v", code, reply)
	}
	code, link := call("POST", "/v1/mailboxes", fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"tls":"plain",
		"username":"ann@mail.test","password":"app-password-1","user":{"email":"ann@example.com","name":"Ann"}}`, imap.Port))
	if code != 201 {
		t.Fatalf("link: %d %v", code, link)
	}
	id := link["id"].(string)
	for range 2 {
		if code, body := call("POST", "/v1/mailboxes/"+id+"/scrape", ""); code != 202 {
			t.Fatalf("scrape: %d %v", code, body)
		}
	}
	// The retailer's two receipts inside the cutoff, extracted, once, as
	// e-receipt jobs; not the other sender's mail, not the old receipt.
	waitFor(t, "two extracted documents", func() bool {
		_, list := call("GET", "/v1/documents?email=ann@example.com", "")
		items, _ := list["items"].([]any)
		completed := 0
		for _, it := range items {
			if it.(map[string]any)["status"] == "COMPLETED" {
				completed++
			}
		}
		for _, it := range items {
			if it.(map[string]any)["source"] != "ereceipt" {
				return false
			}
		}
		return len(items) == 2 && completed == 2
	})
	waitFor(t, "the scrape recorded", func() bool {
		_, got := call("GET", "/v1/mailboxes/"+id, "")
		return got["messages_found"] == 2.0 && got["last_scrape_result"] == "ok"
	})
	// Another scrape later finds nothing new.
	if code, _ := call("POST", "/v1/mailboxes/"+id+"/scrape", ""); code != 202 {
		t.Fatal(code)
	}
	time.Sleep(2 * time.Second)
	_, list := call("GET", "/v1/documents?email=ann@example.com", "")
	if items, _ := list["items"].([]any); len(items) != 2 {
		t.Fatalf("%d documents after a third scrape, want 2", len(items))
	}
	_, got := call("GET", "/v1/mailboxes/"+id, "")
	if got["messages_found"] != 2.0 {
		t.Fatalf("mailbox after a third scrape: %v", got)
	}
}
