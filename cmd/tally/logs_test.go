package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"tally/mail/mailtest"
)

// TestLogsNameNoUser runs a user's whole journey through every role at
// debug level (uploads, a notification, a notification the mail server
// refuses while quoting the address, an e-receipt, preferences, a report,
// a mistyped route, an erasure) and finds neither user's address in any
// log line, nor in the refused notification's stored reason.
func TestLogsNameNoUser(t *testing.T) {
	smtp := mailtest.Start(t)
	logs := &syncBuffer{}
	in := startAllLogging(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "Tally <tally@example.com>",
		"LOG_LEVEL": "debug"}, logs)
	const ann, bob = "annabel.logaudit@example.com", "bob.logaudit@example.org"
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}

	first := in.upload("invoice.pdf", example, ann)
	if doc := in.waitStatus(first, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("ann's upload: %v", doc)
	}
	smtp.WaitFor(t, 1, 20*time.Second)

	smtp.FailNext(1, 550, "5.1.1 <"+bob+">: Recipient address rejected")
	second := in.upload("invoice.pdf", append(example, '\n'), bob)
	if doc := in.waitStatus(second, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("bob's upload: %v", doc)
	}
	var history map[string]any
	waitFor(t, "the refused notification recorded", func() bool {
		_, history = in.call("GET", "/v1/documents/"+second+"/events", nil, "")
		return strings.Contains(fmt.Sprint(history), "NotificationFailed")
	})
	if h := fmt.Sprint(history); strings.Contains(h, "bob.logaudit") || !strings.Contains(h, "Recipient address rejected") {
		t.Fatalf("the stored failure: %s", h)
	}

	receipt := "From: Shop <orders@shop.example>\r\nTo: Ann <" + ann + ">\r\nSubject: Your receipt\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nCoffee Corner\r\nDate: 2026-11-05\r\nTotal: USD 12.00\r\n"
	if code, out := in.call("POST", "/v1/receipts/email", strings.NewReader(receipt), "message/rfc822"); code != 202 {
		t.Fatalf("e-receipt: %d %v", code, out)
	}
	for _, c := range []struct {
		method, path, body string
	}{
		{"GET", "/v1/users/" + ann + "/notifications", ""},
		{"PUT", "/v1/users/" + url.PathEscape(ann) + "/notifications", `{"enabled": false}`},
		{"GET", "/v1/monthly-totals?email=" + url.QueryEscape(ann), ""},
		{"GET", "/v1/users/" + ann + "/reports/2026-11", ""},
		{"GET", "/v1/users/" + ann + "/no-such-route", ""},
		{"GET", "/v1/documents?email=" + ann, ""},
		{"DELETE", "/v1/users/" + bob, ""},
	} {
		var body *strings.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		if body != nil {
			in.call(c.method, c.path, body, "application/json")
		} else {
			in.call(c.method, c.path, nil, "")
		}
	}
	time.Sleep(500 * time.Millisecond) // the last lines of the roles

	out := strings.ToLower(logs.String())
	if !strings.Contains(out, `"msg":"http request"`) {
		t.Fatal("no access log lines were collected")
	}
	for _, who := range []string{ann, bob, "annabel.logaudit", "bob.logaudit", url.QueryEscape(ann)} {
		if i := strings.Index(out, strings.ToLower(who)); i >= 0 {
			t.Errorf("the logs name %s: ...%s...", who, out[max(0, i-300):min(len(out), i+100)])
		}
	}
}
