package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"tally/domain"
	"tally/readmodel"
)

// With RequireConfirmation, an address gets one confirmation e-mail in
// place of its first receipt, nothing until its owner confirms, then its
// e-mails; after an unsubscribe, asking for e-mails again takes a fresh
// confirmation.
func TestEmailsOnlyToConfirmedAddresses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := e.notifier()
	n.RequireConfirmation = true
	notify := func() {
		t.Helper()
		doc := e.extracted("ann@example.com", domain.Fields{Total: "12.50", Currency: "EUR"})
		if err := n.Handle(ctx, e.event(doc, domain.TypeReceiptExtracted)); err != nil {
			t.Fatal(err)
		}
	}
	subjects := func(want int) []string {
		t.Helper()
		time.Sleep(150 * time.Millisecond)
		var out []string
		for _, m := range e.smtp.Messages() {
			out = append(out, decodeHeader(m.Header.Get("Subject")))
		}
		if len(out) != want {
			t.Fatalf("%d e-mails, want %d: %q", len(out), want, out)
		}
		return out
	}
	notify()
	e.smtp.WaitFor(t, 1, 5*time.Second)
	got := subjects(1)
	if !strings.Contains(got[0], "Confirm") || strings.Contains(string(e.smtp.Messages()[0].Data), "12.50") {
		t.Fatalf("first e-mail: %q", got[0])
	}
	link := confirmLink(t, string(e.smtp.Messages()[0].Data))
	tenant, email, err := e.links.VerifyConfirm(ctx, link)
	if err != nil || tenant != "acme" || email != "ann@example.com" {
		t.Fatalf("the link %q: %q %q %v", link, tenant, email, err)
	}
	notify() // not confirmed yet, asked already: nothing
	subjects(1)

	e.queries.ConfirmEmail(ctx, readmodel.ConfirmEmailParams{Tenant: tenant, UserEmail: email})
	notify()
	if got := subjects(2); !strings.Contains(got[1], "12.50") {
		t.Fatalf("after confirming: %q", got)
	}

	// Unsubscribed, then e-mails asked for again: a fresh confirmation.
	e.queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: email})
	notify()
	subjects(2)
	e.queries.RequestEmails(ctx, readmodel.RequestEmailsParams{Tenant: tenant, UserEmail: email})
	notify()
	if got := subjects(3); !strings.Contains(got[2], "Confirm") {
		t.Fatalf("after asking again: %q", got)
	}
}

// confirmLink finds the confirmation token in a raw e-mail.
func confirmLink(t *testing.T, raw string) string {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "=\r\n", ""), "=3D", "=") // quoted-printable
	_, rest, ok := strings.Cut(raw, "/v1/confirm-email?token=")
	if !ok {
		t.Fatalf("no confirmation link in:\n%s", raw)
	}
	end := strings.IndexAny(rest, "\r\n\"<> ")
	return rest[:end]
}
