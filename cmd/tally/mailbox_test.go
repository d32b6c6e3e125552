package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdhttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/mailbox/mailboxtest"
	"tally/migrations/pgtest"
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

	dsn, _ := pgtest.New(t)
	dataDir := t.TempDir()
	port := freePort(t)
	queueName := "test_e2e_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", dataDir)
	t.Setenv("PORT", fmt.Sprint(port))
	t.Setenv("NATS_URL", "")
	t.Setenv("NATS_EMBEDDED_LISTEN", "")
	t.Setenv("DEFAULT_TENANT", "e2e")
	t.Setenv("LOG_LEVEL", "warn")
	t.Setenv("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
	t.Setenv("SCRAPE_QUEUE", queueName)
	t.Cleanup(func() { deleteTestQueues(queueName, queueName+".mailbox") })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"all"}, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tally all stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("tally all did not stop within 30s of cancellation")
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "readiness", func() bool {
		resp, err := stdhttp.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := stdhttp.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := stdhttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// The e-receipt settings name the retailers and how far back to look.
	settings, _ := stdhttp.NewRequest("POST", base+"/ereceipts/config", strings.NewReader(
		`{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30, "retailers": [{"email": "orders@shop.test"}]}`))
	settings.Header.Set("api-key", key)
	settings.Header.Set("Content-Type", "application/json")
	if resp, err := stdhttp.DefaultClient.Do(settings); err != nil || resp.StatusCode != 200 {
		t.Fatalf("e-receipt settings: %v %v", resp, err)
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

func deleteTestQueues(names ...string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, n := range names {
		for _, q := range []string{n, n + ".dead", n + ".delay"} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	}
}
