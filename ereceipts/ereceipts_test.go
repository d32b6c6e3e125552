package ereceipts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/ereceipts"
	"tally/eventstore/eventstoretest"
	"tally/mailauth"
	"tally/mailauth/mailauthtest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/readmodel"
)

func eml(subject, messageID string) []byte {
	return []byte(strings.ReplaceAll("From: Shop <orders@shop.example>\nTo: Ann <ann@example.com>\nSubject: "+subject+
		"\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <"+messageID+">\n\nOrder A-77\n", "\n", "\r\n"))
}

// An order's confirmation, shipping and delivery e-mails become one
// receipt: the first document holds the order and shows each part, the
// later ones are marked as its parts, counted once in the totals, and the
// results endpoint gets the order's receipt, not three.
func TestOrderAggregation(t *testing.T) {
	ctx := context.Background()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dns := mailauthtest.Start(t)
	dns.AddKey(t, "shop.example")
	verifier := &mailauth.Verifier{Resolver: dns.Resolver(), Timeout: 2 * time.Second}
	log := slog.New(slog.DiscardHandler)
	cmds := commands.New(events, blobs, log, commands.WithPeople(personal.New(pool)), commands.WithEmailVerifier(verifier.Judge))
	settings := ereceipts.NewStore(pool)
	if err := settings.Put(ctx, "acme", ereceipts.Config{ResultsEndpoint: "https://hooks.example/r",
		Cutoff: ereceipts.Cutoff{Days: 30}, UseAggregation: true, ReturnEML: true}); err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Tenant: "acme"}

	parts := []struct {
		subject string
		fields  domain.Fields
	}{
		{"Thank you for your order A-77", domain.Fields{Vendor: "Shop", InvoiceNumber: "A-77", Date: "2026-11-02", Currency: "EUR", Subtotal: "20.00", Tax: "4.00", Total: "24.00"}},
		{"Your order A-77 has shipped", domain.Fields{Vendor: "Shop", InvoiceNumber: "A-77"}},
		{"Delivered: your order A-77", domain.Fields{Vendor: "Shop", InvoiceNumber: "A-77", Total: "24.00"}},
	}
	var ids []string
	for i, p := range parts {
		raw := dns.Sign(t, "shop.example", eml(p.subject, "m"+string(rune('1'+i))+"@shop.example"))
		res, err := cmds.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: meta, Raw: raw,
			Job: &domain.EReceiptJob{Provider: "gmail", Aggregate: true}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.DocumentID)
		if _, err := cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1, Fields: p.fields}); err != nil {
			t.Fatal(err)
		}
	}
	// A retried result of a part joins nothing twice.
	if _, err := cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: ids[2], Attempt: 1, Fields: parts[2].fields}); err != nil {
		t.Fatal(err)
	}

	order, err := cmds.Documents().Load(ctx, "acme", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(order.Parts) != 2 || order.Parts[0].DocumentID != ids[1] || order.Parts[0].Part != domain.PartShipping ||
		order.Parts[1].DocumentID != ids[2] || order.Parts[1].Part != domain.PartDelivery {
		t.Fatalf("order parts: %+v", order.Parts)
	}
	for _, id := range ids[1:] {
		d, err := cmds.Documents().Load(ctx, "acme", id)
		if err != nil || d.DuplicateOf != ids[0] || d.DuplicateReason != domain.DuplicateSameOrder {
			t.Fatalf("part %s: duplicate of %q (%s), %v", id, d.DuplicateOf, d.DuplicateReason, err)
		}
	}

	// What the results endpoint gets, event by event.
	renderer := &ereceipts.Renderer{Docs: cmds.Documents(), Blobs: blobs, Settings: settings}
	var delivered [][]ereceipts.EReceipt
	reader, err := events.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := events.LastSequence(ctx)
	defer reader.Close()
	for seq := uint64(0); seq < last; {
		batch, err := reader.Next(ctx, 100, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			seq = e.Sequence
			body, ok, err := renderer.Render(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				var recs []ereceipts.EReceipt
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.UseNumber() // amounts stay the decimal strings they were sent as
				if err := dec.Decode(&recs); err != nil {
					t.Fatal(err)
				}
				delivered = append(delivered, recs)
			}
		}
	}
	// The first e-mail's result, then the order with one and two more parts.
	if len(delivered) != 3 {
		t.Fatalf("%d deliveries, want 3: %+v", len(delivered), delivered)
	}
	final := delivered[2][0]
	if final.BlinkReceiptID != ids[0] || len(final.Parts) != 3 || final.Total == nil || string(final.Total.Value.(json.Number)) != "24.00" ||
		!final.EReceiptAuthenticated || !strings.Contains(final.EML, "Thank you for your order") {
		t.Fatalf("order receipt: %+v", final)
	}

	// Counted once in the monthly totals.
	r := projections.NewRunner(pool, events, projections.MonthlyTotals{}, log)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for r.Position() < last && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	totals, err := readmodel.New(pool).ListMonthlyTotals(ctx, readmodel.ListMonthlyTotalsParams{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != 1 || totals[0].Documents != 1 || totals[0].Total != "24.00" {
		t.Fatalf("monthly totals: %+v", totals)
	}
}
