package duplicates_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/duplicates"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// A copy whose inline check never ran (the process stopped right after its
// upload was appended) is flagged by the consumer, once, even when the
// consumer sees the events again.
func TestConsumerFlagsACopyTheCommandMissed(t *testing.T) {
	ctx := context.Background()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cmds := commands.New(events, blobs, log, commands.WithPeople(personal.New(pool)))
	meta := commands.Meta{Tenant: "acme"}
	first, err := cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Content: []byte(pdf), User: domain.User{Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// The copy's DocumentUploaded as the command appended it, without the
	// check that would have followed.
	history, err := events.Load(ctx, "acme", first.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	var p domain.DocumentUploaded
	if err := history[0].Decode(&p); err != nil {
		t.Fatal(err)
	}
	copyID := uuid.Must(uuid.NewV7()).String()
	e, err := domain.NewEnvelope(uuid.NewString(), "acme", copyID, domain.TypeDocumentUploaded, time.Now(), p)
	if err != nil {
		t.Fatal(err)
	}
	e.CommandID = "upload:" + copyID
	if _, err := events.Append(ctx, e, 0); err != nil {
		t.Fatal(err)
	}
	// Other content whose original and copy both missed their checks: the
	// consumer claims the content for the original, then flags the copy.
	p.SHA256 = strings.Repeat("ab", 32)
	var others []string
	for range 2 {
		id := uuid.Must(uuid.NewV7()).String()
		e, err := domain.NewEnvelope(uuid.NewString(), "acme", id, domain.TypeDocumentUploaded, time.Now(), p)
		if err != nil {
			t.Fatal(err)
		}
		e.CommandID = "upload:" + id
		if _, err := events.Append(ctx, e, 0); err != nil {
			t.Fatal(err)
		}
		others = append(others, id)
	}

	run := func() {
		t.Helper()
		c := &duplicates.Consumer{Events: events, Commands: cmds, Log: log}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx) }()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			d, err := cmds.Documents().Load(ctx, "acme", copyID)
			o, oerr := cmds.Documents().Load(ctx, "acme", others[1])
			if err == nil && d.DuplicateOf != "" && oerr == nil && o.DuplicateOf != "" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // let it reach the end of the stream
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run()
	run() // a restart resumes; nothing is flagged twice
	d, err := cmds.Documents().Load(ctx, "acme", copyID)
	if err != nil || d.DuplicateOf != first.DocumentID || d.DuplicateReason != domain.DuplicateSameContent {
		t.Fatalf("the copy: duplicate of %q (%s), %v; want %s", d.DuplicateOf, d.DuplicateReason, err, first.DocumentID)
	}
	copyHistory, _ := events.Load(ctx, "acme", copyID)
	flags := 0
	for _, e := range copyHistory {
		if e.Type == domain.TypeDuplicateDetected {
			flags++
		}
	}
	original, _ := cmds.Documents().Load(ctx, "acme", first.DocumentID)
	if flags != 1 || original.DuplicateOf != "" {
		t.Fatalf("%d DuplicateDetected on the copy, original flagged %q", flags, original.DuplicateOf)
	}
	o0, _ := cmds.Documents().Load(ctx, "acme", others[0])
	o1, _ := cmds.Documents().Load(ctx, "acme", others[1])
	if o0.DuplicateOf != "" || o1.DuplicateOf != others[0] {
		t.Fatalf("unchecked original flagged %q, its copy %q; want none and %s", o0.DuplicateOf, o1.DuplicateOf, others[0])
	}
}
