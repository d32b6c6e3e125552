package notify

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	stdmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/mail"
	"tally/mail/mailtest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/readmodel"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

var quiet = slog.New(slog.DiscardHandler)

type env struct {
	t       *testing.T
	store   *eventstore.Store
	pool    *pgxpool.Pool
	cmds    *commands.Handler
	smtp    *mailtest.Server
	sender  *mail.Sender
	tmpl    *mail.Templates
	links   *Links
	queries *readmodel.Queries
	uploads int
	keys    *personal.Keys
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	sender, err := mail.NewSender(mail.Config{URL: smtp.URL(), From: "Tally <tally@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := mail.LoadTemplates(DefaultTemplates(), "")
	if err != nil {
		t.Fatal(err)
	}
	q := readmodel.New(pool)
	keys := personal.New(pool)
	return &env{t: t, store: store, pool: pool, cmds: commands.New(store, blobs, quiet, commands.WithPeople(keys)), smtp: smtp,
		sender: sender, tmpl: tmpl, links: NewLinks("http://tally.test", q), queries: q, keys: keys}
}

func (e *env) notifier() *Notifier {
	return &Notifier{Events: e.store, Commands: e.cmds, Queries: e.queries, Personal: e.keys, Sender: e.sender,
		Templates: e.tmpl, Links: e.links, Log: quiet, Retries: 3}
}

// extracted uploads a document for email and records its extraction.
func (e *env) extracted(email string, f domain.Fields) string {
	e.t.Helper()
	ctx := context.Background()
	meta := commands.Meta{Tenant: "acme"}
	e.uploads++
	// Each upload is a different file: the same bytes twice would be a
	// duplicate, which totals and reports count once.
	content := fmt.Appendf([]byte(pdf), "%% upload %d\n", e.uploads)
	res, err := e.cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Filename: "inv.pdf", Content: content,
		User: domain.User{Name: "Ann", Email: email}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1, Fields: f}); err != nil {
		e.t.Fatal(err)
	}
	return res.DocumentID
}

func (e *env) history(docID string, eventType string) int {
	e.t.Helper()
	h, err := e.store.Load(context.Background(), "acme", docID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range h {
		if ev.Type == eventType {
			n++
		}
	}
	return n
}

func (e *env) event(docID, eventType string) domain.Envelope {
	e.t.Helper()
	h, _ := e.store.Load(context.Background(), "acme", docID)
	for _, ev := range h {
		if ev.Type == eventType {
			return ev
		}
	}
	e.t.Fatalf("no %s for %s", eventType, docID)
	return domain.Envelope{}
}

func runFor(n *Notifier, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = n.Run(ctx)
}

func TestOneEmailPerExtraction(t *testing.T) {
	e := newEnv(t)
	doc := e.extracted("ann@example.com", domain.Fields{Vendor: "ACME Ltd", Date: "2026-10-03", Currency: "EUR", Total: "78.60"})
	go runFor(e.notifier(), 5*time.Second)
	msgs := e.smtp.WaitFor(t, 1, 10*time.Second)
	m := msgs[0]
	subject := decodeHeader(m.Header.Get("Subject"))
	if !strings.Contains(subject, "78.60 EUR") || !strings.Contains(subject, "ACME Ltd") {
		t.Fatalf("subject %q", subject)
	}
	if m.To[0] != "ann@example.com" || m.Header.Get("List-Unsubscribe") == "" {
		t.Fatalf("to %v, headers %v", m.To, m.Header)
	}
	body := string(m.Data)
	if !strings.Contains(body, doc) {
		t.Fatal("the e-mail does not name the document")
	}
	waitUntil(t, "NotificationSent", func() bool { return e.history(doc, domain.TypeNotificationSent) == 1 })

	// A replay of the same event sends nothing.
	if err := e.notifier().Handle(context.Background(), e.event(doc, domain.TypeReceiptExtracted)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d e-mails after a replay, want 1", n)
	}
}

func TestCrashBetweenSendAndRecord(t *testing.T) {
	e := newEnv(t)
	doc := e.extracted("ann@example.com", domain.Fields{Total: "5.00", Currency: "USD"})
	src := e.event(doc, domain.TypeReceiptExtracted)
	crashing := e.notifier()
	ctx, cancel := context.WithCancel(context.Background())
	crashing.afterSend = cancel // the process dies right after the SMTP server took the e-mail
	if err := crashing.Handle(ctx, src); err == nil {
		t.Fatal("the crashed notifier recorded its e-mail")
	}
	if e.history(doc, domain.TypeNotificationSent) != 0 {
		t.Fatal("recorded despite the crash")
	}
	// The restarted notifier sends again, with the same Message-ID, then records.
	if err := e.notifier().Handle(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	msgs := e.smtp.WaitFor(t, 2, 10*time.Second)
	if msgs[0].MessageID == "" || msgs[0].MessageID != msgs[1].MessageID {
		t.Fatalf("Message-IDs %q and %q: a resend must be recognisable", msgs[0].MessageID, msgs[1].MessageID)
	}
	if n := e.history(doc, domain.TypeNotificationSent); n != 1 {
		t.Fatalf("%d NotificationSent events, want 1", n)
	}
	// And from now on, nothing more.
	if err := e.notifier().Handle(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.Messages()); n != 2 {
		t.Fatalf("%d e-mails, want 2", n)
	}
}

func TestFailureEmailAndPreferences(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	meta := commands.Meta{Tenant: "acme"}
	res, _ := e.cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Filename: "scan.pdf", Content: []byte(pdf),
		User: domain.User{Email: "bob@example.com"}})
	e.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1})
	e.cmds.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1, Reason: "the PDF has no text"})
	if err := e.notifier().Handle(ctx, e.event(res.DocumentID, domain.TypeExtractionFailed)); err != nil {
		t.Fatal(err)
	}
	msgs := e.smtp.WaitFor(t, 1, 5*time.Second)
	if !strings.Contains(string(msgs[0].Data), "the PDF has no text") {
		t.Fatal("the failure e-mail does not say what went wrong")
	}

	// Bob follows the unsubscribe link: no more e-mails.
	token, err := e.links.Token(ctx, "acme", "Bob@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	tenant, email, err := e.links.Verify(ctx, token)
	if err != nil || tenant != "acme" || email != "bob@example.com" {
		t.Fatalf("verify: %q %q %v", tenant, email, err)
	}
	if _, _, err := e.links.Verify(ctx, token+"x"); err == nil {
		t.Fatal("a tampered token verified")
	}
	e.queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: email, EmailEnabled: false})
	doc := e.extracted("bob@example.com", domain.Fields{Total: "1.00"})
	if err := e.notifier().Handle(ctx, e.event(doc, domain.TypeReceiptExtracted)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d e-mails after opting out, want 1", n)
	}
}

func TestPermanentAndTemporarySMTPFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc := e.extracted("ann@example.com", domain.Fields{Total: "2.00"})
	e.smtp.FailNext(1, 550, "no such user")
	if err := e.notifier().Handle(ctx, e.event(doc, domain.TypeReceiptExtracted)); err != nil {
		t.Fatal(err)
	}
	if e.history(doc, domain.TypeNotificationFailed) != 1 || len(e.smtp.Messages()) != 0 {
		t.Fatal("a permanent refusal was not recorded, or was retried")
	}
	doc2 := e.extracted("ann@example.com", domain.Fields{Total: "3.00"})
	e.smtp.FailNext(2, 451, "try again later")
	if err := e.notifier().Handle(ctx, e.event(doc2, domain.TypeReceiptExtracted)); err != nil {
		t.Fatal(err)
	}
	if len(e.smtp.Messages()) != 1 || e.history(doc2, domain.TypeNotificationSent) != 1 {
		t.Fatal("a temporary failure was not retried to success")
	}
}

func TestMonthlyReportOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.extracted("ann@example.com", domain.Fields{Vendor: "Shop A", Date: "2026-10-03", Currency: "EUR", Total: "10.50"})
	e.extracted("ann@example.com", domain.Fields{Vendor: "Shop A", Date: "2026-10-09", Currency: "EUR", Total: "4.25"})
	e.extracted("ann@example.com", domain.Fields{Vendor: "Shop B", Date: "2026-10-20", Currency: "USD", Total: "7.00"})
	e.extracted("ann@example.com", domain.Fields{Vendor: "Shop C", Date: "2026-09-30", Currency: "EUR", Total: "99.00"})
	e.extracted("bob@example.com", domain.Fields{Vendor: "Shop D", Date: "2026-10-01", Currency: "GBP", Total: "1.00"})
	e.extracted("cid@example.com", domain.Fields{Vendor: "Shop E", Date: "2026-11-01", Currency: "GBP", Total: "1.00"})
	catchUp(t, e.pool, e.store)

	rep := &Reporter{Commands: e.cmds, Queries: e.queries, Sender: e.sender, Templates: e.tmpl, Links: e.links, Log: quiet}
	dry, err := rep.Run(ctx, "2026-10", true)
	if err != nil || len(dry.Reports) != 2 || len(e.smtp.Messages()) != 0 {
		t.Fatalf("dry run: %+v %v, %d e-mails", dry, err, len(e.smtp.Messages()))
	}
	res, err := rep.Run(ctx, "2026-10", false)
	if err != nil || res.Sent != 2 {
		t.Fatalf("run: %+v %v", res, err)
	}
	msgs := e.smtp.WaitFor(t, 2, 10*time.Second)
	var ann mailtest.Received
	for _, m := range msgs {
		if m.To[0] == "ann@example.com" {
			ann = m
		}
		if m.To[0] == "cid@example.com" {
			t.Fatal("a user without expenses in the month got a report")
		}
	}
	subject := decodeHeader(ann.Header.Get("Subject"))
	if !strings.Contains(subject, "14.75 EUR") || !strings.Contains(subject, "7.00 USD") {
		t.Fatalf("report subject %q", subject)
	}
	rows := csvAttachment(t, ann)
	if len(rows) != 4 || rows[0][0] != "document_id" {
		t.Fatalf("CSV rows %v", rows)
	}
	again, err := rep.Run(ctx, "2026-10", false)
	if err != nil || again.Sent != 0 || again.AlreadySent != 2 {
		t.Fatalf("second run: %+v %v", again, err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 2 {
		t.Fatalf("%d e-mails after running the report twice, want 2", n)
	}
	built, err := rep.Build(ctx, "acme", "ann@example.com", "2026-10")
	if err != nil || built.Count != 3 || built.TopVendors[0].Vendor != "Shop A" || built.TopVendors[0].Documents != 2 {
		t.Fatalf("report: %+v %v", built, err)
	}
}

func TestSchedule(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct{ now, want string }{
		{"2026-11-22T10:00:00+01:00", "2026-12-01T00:05:00+01:00"},
		{"2026-12-01T00:04:59+01:00", "2026-12-01T00:05:00+01:00"},
		{"2026-12-01T00:05:00+01:00", "2027-01-01T00:05:00+01:00"},
	}
	for _, c := range cases {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := NextMonthlyRun(now, berlin).Format(time.RFC3339); got != c.want {
			t.Errorf("NextMonthlyRun(%s) = %s, want %s", c.now, got, c.want)
		}
	}
	if got := PreviousMonth(time.Date(2026, 1, 1, 0, 5, 0, 0, berlin)); got != "2025-12" {
		t.Errorf("PreviousMonth = %s", got)
	}
}

func catchUp(t *testing.T, pool *pgxpool.Pool, store *eventstore.Store) {
	t.Helper()
	last, _ := store.LastSequence(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runners []*projections.Runner
	for _, p := range projections.All() {
		r := projections.NewRunner(pool, store, p, quiet)
		runners = append(runners, r)
		go r.RunForever(ctx)
	}
	waitUntil(t, "projections", func() bool {
		for _, r := range runners {
			if r.Position() < last {
				return false
			}
		}
		return true
	})
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func decodeHeader(s string) string {
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

// csvAttachment finds the CSV part of a received e-mail.
func csvAttachment(t *testing.T, m mailtest.Received) [][]string {
	t.Helper()
	msg, err := stdmail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(r io.Reader, contentType string) [][]string
	walk = func(r io.Reader, contentType string) [][]string {
		mt, params, _ := mime.ParseMediaType(contentType)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return nil
				}
				if rows := walk(decodePart(p), p.Header.Get("Content-Type")); rows != nil {
					return rows
				}
			}
		}
		if mt == "text/csv" {
			rows, err := csv.NewReader(r).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		return nil
	}
	return walk(msg.Body, msg.Header.Get("Content-Type"))
}

func decodePart(p *multipart.Part) io.Reader {
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		return base64.NewDecoder(base64.StdEncoding, p)
	}
	return p
}

// TestErasedUserGetsNothing: after an erasure the user gets no e-mail
// about their documents and no monthly report; other users still do.
func TestErasedUserGetsNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	gone := e.extracted("gone@example.com", domain.Fields{Vendor: "Shop A", Date: "2026-10-03", Currency: "EUR", Total: "10.50"})
	e.extracted("stay@example.com", domain.Fields{Vendor: "Shop B", Date: "2026-10-04", Currency: "EUR", Total: "2.00"})
	catchUp(t, e.pool, e.store)
	if _, err := e.cmds.EraseUser(ctx, commands.EraseUser{Meta: commands.Meta{Tenant: "acme"}, Email: "gone@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.notifier().Handle(ctx, e.event(gone, domain.TypeReceiptExtracted)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.Messages()); n != 0 || e.history(gone, domain.TypeNotificationSent) != 0 {
		t.Fatalf("an erased user was e-mailed (%d e-mails)", n)
	}
	rep := &Reporter{Commands: e.cmds, Queries: e.queries, Sender: e.sender, Templates: e.tmpl, Links: e.links, Log: quiet}
	res, err := rep.Run(ctx, "2026-10", false)
	if err != nil || res.Sent != 1 {
		t.Fatalf("report run: %+v %v", res, err)
	}
	msgs := e.smtp.WaitFor(t, 1, 10*time.Second)
	if msgs[0].To[0] != "stay@example.com" {
		t.Fatalf("the report went to %v", msgs[0].To)
	}
	if built, err := rep.Build(ctx, "acme", "gone@example.com", "2026-10"); err != nil || built.Count != 0 || len(built.Totals) != 0 {
		t.Fatalf("an erased user's report: %+v %v", built, err)
	}
}
