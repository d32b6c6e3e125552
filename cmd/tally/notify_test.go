package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"strings"
	"testing"
	"time"

	"tally/mail/mailtest"
)

// TestEmailsEndToEnd: with an SMTP server, an upload leads to exactly one
// e-mail with the right total, and `tally report monthly` sends the
// month's report once, with sums in two currencies.
func TestEmailsEndToEnd(t *testing.T) {
	smtp := mailtest.Start(t)
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "Tally <tally@example.com>",
		"NATS_EMBEDDED_LISTEN": natsAddr})
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	if doc := in.waitStatus(id, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("upload: %v", doc)
	}
	first := smtp.WaitFor(t, 1, 20*time.Second)
	subject, _ := new(mime.WordDecoder).DecodeHeader(first[0].Header.Get("Subject"))
	if first[0].To[0] != "ann@example.com" || !strings.Contains(subject, "78.60 EUR") {
		t.Fatalf("notification to %v: %q", first[0].To, subject)
	}

	receipt := "From: Shop <orders@shop.example>\r\nTo: Ann <ann@example.com>\r\nSubject: Your receipt\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nCoffee Corner\r\nDate: 2026-11-05\r\nTotal: USD 12.00\r\n"
	code, out := in.call("POST", "/v1/receipts/email", strings.NewReader(receipt), "message/rfc822")
	if code != 202 {
		t.Fatalf("e-receipt: %d %v", code, out)
	}
	if doc := in.waitStatus(out["id"].(string), 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("e-receipt: %v", doc)
	}
	smtp.WaitFor(t, 2, 20*time.Second)
	waitFor(t, "monthly totals in two currencies", func() bool {
		_, mt := in.call("GET", "/v1/monthly-totals?email=ann@example.com&month=2026-11", nil, "")
		items, _ := mt["items"].([]any)
		return len(items) == 2
	})

	// The command joins the running server, as an operator's would.
	t.Setenv("NATS_URL", "nats://"+natsAddr)
	report := func() string {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"report", "monthly", "--month", "2026-11"}, &stdout, io.Discard); err != nil {
			t.Fatalf("tally report monthly: %v", err)
		}
		return stdout.String()
	}
	if out := report(); !strings.Contains(out, `"sent": 1`) {
		t.Fatalf("first report run: %s", out)
	}
	msgs := smtp.WaitFor(t, 3, 20*time.Second)
	subject, _ = new(mime.WordDecoder).DecodeHeader(msgs[2].Header.Get("Subject"))
	if !strings.Contains(subject, "78.60 EUR") || !strings.Contains(subject, "12.00 USD") {
		t.Fatalf("report subject %q", subject)
	}
	if !strings.Contains(string(msgs[2].Data), "text/csv") {
		t.Fatal("the report has no CSV attachment")
	}
	if out := report(); !strings.Contains(out, `"sent": 0`) || !strings.Contains(out, `"already_sent": 1`) {
		t.Fatalf("second report run: %s", out)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(smtp.Messages()); n != 3 {
		t.Fatalf("%d e-mails in all, want 3 (two notifications, one report)", n)
	}
}
