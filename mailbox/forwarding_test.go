package mailbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"tally/domain"
	"tally/mail/mailtest"
	"tally/mailauth"
	"tally/mailauth/mailauthtest"
	"tally/personal"

	mailer "tally/mail"
)

const inbox = "receipts@tally.test"

// forwarding is a forwarding mailbox with its real surroundings: the IMAP
// inbox, an SMTP server that receives the confirmation links, and a DNS
// server that publishes the DKIM key of the senders' domain.
type forwarding struct {
	*env
	smtp *mailtest.Server
	dns  *mailauthtest.DNS
	s    *Scraper
}

func newForwarding(t *testing.T) *forwarding {
	e := newEnv(t)
	smtp := mailtest.Start(t)
	sender, err := mailer.NewSender(mailer.Config{URL: smtp.URL(), From: "Tally <tally@tally.test>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.links.Forwarding = Forwarding{Inbox: inbox, PublicURL: "https://tally.test", Mail: sender}
	dns := mailauthtest.Start(t)
	dns.AddKey(t, "example.com")
	e.imap.AddUser(inbox, "forward-pw")
	s := e.scraper(Filter{}, Limits{})
	s.Forward = &Account{Host: e.imap.Host, Port: e.imap.Port, TLS: TLSPlain, Username: inbox, Password: "forward-pw", Address: inbox}
	s.DKIM = &mailauth.Verifier{Resolver: dns.Resolver(), Timeout: 5 * time.Second}
	return &forwarding{env: e, smtp: smtp, dns: dns, s: s}
}

// address is tenant's forwarding address.
func (f *forwarding) address(tenant string) string {
	f.t.Helper()
	a, err := f.links.Address(context.Background(), tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Address
}

var confirmLink = regexp.MustCompile(`https://tally\.test/v1/forwarding-senders/confirm\?token=([A-Za-z0-9_.-]+)`)

// confirmations are the tokens of the confirmation links mailed to email.
func (f *forwarding) confirmations(email string) []string {
	f.t.Helper()
	var out []string
	for _, m := range f.smtp.Messages() {
		if len(m.To) != 1 || m.To[0] != email {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			f.t.Fatal(err)
		}
		var body io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		text, _ := io.ReadAll(body)
		if sub := confirmLink.FindSubmatch(text); sub != nil {
			out = append(out, string(sub[1]))
		}
	}
	return out
}

// forward is a testdata forward from "from" to "to", signed by domain
// (unsigned when domain is empty).
func (f *forwarding) forward(file, from, to, messageID, domain string) []byte {
	f.t.Helper()
	raw := readTestdata(f.t.(*testing.T), file)
	raw = bytes.Replace(raw, []byte("To: receipts@tally.test"), []byte("To: "+to), 1)
	// The forwarding message's own header only: the forwarded block in
	// the body has a From: line too.
	header, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	header = regexp.MustCompile(`(?m)^From: .*$`).ReplaceAll(header, []byte("From: "+from))
	header = regexp.MustCompile(`(?m)^Message-ID: .*$`).ReplaceAll(header, []byte("Message-ID: <"+messageID+">"))
	raw = append(append(header, "\r\n\r\n"...), body...)
	if domain != "" {
		raw = f.dns.Sign(f.t, domain, raw)
	}
	return raw
}

func (f *forwarding) scrape() Result {
	f.t.Helper()
	res, err := f.s.ScrapeForward(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// owners maps each document to its tenant and owner's address.
func (f *forwarding) owners() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for id := range f.documents() {
		for _, tenant := range []string{"acme", "evil"} {
			doc, err := f.cmds.Documents().Load(context.Background(), tenant, id)
			if err != nil {
				continue
			}
			u, err := personal.New(f.pool).Open(context.Background(), tenant, doc.Owner)
			if err != nil {
				f.t.Fatal(err)
			}
			out[id] = tenant + "/" + u.User.Email
		}
	}
	return out
}

// Another tenant registering a user's address first used to take that
// user's forwards (and made the user's own tenant's registration a 409).
// Each tenant now has its own address and its own confirmed senders.
func TestForwardingAddressTakenByAnotherTenantGetsNothing(t *testing.T) {
	f := newForwarding(t)
	ctx := context.Background()
	evil, err := f.links.RegisterSender(ctx, "evil", "bob@example.com", "Bob")
	if err != nil {
		t.Fatal(err)
	}
	acme, err := f.links.RegisterSender(ctx, "acme", "Bob@Example.com", "Bob Jones")
	if err != nil {
		t.Fatalf("registering an address another tenant registered: %v", err)
	}
	// No oracle: both tenants get the same answer.
	if evil.Email != acme.Email || evil.Confirmed || acme.Confirmed {
		t.Fatalf("answers differ: %+v and %+v", evil, acme)
	}
	// Each registration mailed its own link; a second registration does
	// not mail again.
	if _, err := f.links.RegisterSender(ctx, "acme", "bob@example.com", "Bob Jones"); err != nil {
		t.Fatal(err)
	}
	tokens := f.confirmations("bob@example.com")
	if len(tokens) != 2 {
		t.Fatalf("%d confirmation mails, want 2 (one per tenant, none resent)", len(tokens))
	}
	if f.address("acme") == f.address("evil") || !strings.HasPrefix(f.address("acme"), "receipts+") {
		t.Fatalf("addresses %s and %s", f.address("acme"), f.address("evil"))
	}
	// Bob confirms acme only (he was asked by acme).
	if err := f.links.ConfirmSender(ctx, tokens[1]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.imap.Append(inbox, "INBOX", f.forward("gmail.eml", "Bob Jones <bob@example.com>", f.address("acme"), "f1@example.com", "example.com"), now)
	// Bob's forward, sent to evil's address (a typo, or evil's invitation):
	// he never confirmed evil.
	f.imap.Append(inbox, "INBOX", f.forward("apple.eml", "Bob Jones <bob@example.com>", f.address("evil"), "f2@example.com", "example.com"), now)
	// Sent to the bare inbox: no tenant.
	f.imap.Append(inbox, "INBOX", f.forward("outlook.eml", "Bob Jones <bob@example.com>", inbox, "f3@example.com", "example.com"), now)
	res := f.scrape()
	if res.New != 1 || res.UnknownForwarder != 2 {
		t.Fatalf("%+v, want 1 new and 2 unknown", res)
	}
	for id, owner := range f.owners() {
		if owner != "acme/bob@example.com" {
			t.Fatalf("document %s belongs to %s", id, owner)
		}
	}
}

// A forged From: used to be enough to put documents into a tenant.
func TestForwardWithForgedSenderIsRefused(t *testing.T) {
	f := newForwarding(t)
	ctx := context.Background()
	if _, err := f.links.RegisterSender(ctx, "acme", "bob@example.com", "Bob"); err != nil {
		t.Fatal(err)
	}
	addr := f.address("acme")
	now := time.Now()
	// Unconfirmed: even Bob's genuine, signed forward does not count.
	f.imap.Append(inbox, "INBOX", f.forward("gmail.eml", "Bob <bob@example.com>", addr, "g1@example.com", "example.com"), now)
	if res := f.scrape(); res.New != 0 || res.UnknownForwarder != 1 {
		t.Fatalf("before confirmation: %+v", res)
	}
	for _, bad := range []string{"", "x.y", f.confirmations("bob@example.com")[0] + "x"} {
		if err := f.links.ConfirmSender(ctx, bad); !errors.Is(err, ErrBadConfirmation) {
			t.Fatalf("token %q: %v", bad, err)
		}
	}
	if err := f.links.ConfirmSender(ctx, f.confirmations("bob@example.com")[0]); err != nil {
		t.Fatal(err)
	}
	// Anyone can write From: bob@example.com; only example.com can sign it.
	f.imap.Append(inbox, "INBOX", f.forward("apple.eml", "Bob <bob@example.com>", addr, "g2@example.com", ""), now)
	f.dns.AddKey(t, "attacker.test")
	f.imap.Append(inbox, "INBOX", f.forward("outlook.eml", "Bob <bob@example.com>", addr, "g3@example.com", "attacker.test"), now)
	f.imap.Append(inbox, "INBOX", f.forward("gmail.eml", "Bob <bob@example.com>", addr, "g4@example.com", "example.com"), now)
	if res := f.scrape(); res.New != 1 || res.Unauthenticated != 2 {
		t.Fatalf("%+v, want 1 new and 2 unauthenticated", res)
	}
	// The operator turns DKIM off for a tenant whose mail server does not
	// sign: unsigned forwards from confirmed senders count, strangers still
	// do not.
	if err := f.links.SetRequireDKIM(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	f.imap.Append(inbox, "INBOX", f.forward("apple.eml", "Bob <bob@example.com>", addr, "g5@example.com", ""), now)
	f.imap.Append(inbox, "INBOX", f.forward("apple.eml", "Eve <eve@example.com>", addr, "g6@example.com", ""), now)
	if res := f.scrape(); res.New != 1 || res.UnknownForwarder != 1 {
		t.Fatalf("without DKIM: %+v", res)
	}
	for id, owner := range f.owners() {
		if owner != "acme/bob@example.com" {
			t.Fatalf("document %s belongs to %s", id, owner)
		}
	}
	if n := len(f.documents()); n != 2 {
		t.Fatalf("%d documents, want 2", n)
	}
	// A confirmation link does not outlive its sender.
	if err := f.links.DeleteSender(ctx, "acme", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := f.links.ConfirmSender(ctx, f.confirmations("bob@example.com")[0]); !errors.Is(err, ErrBadConfirmation) {
		t.Fatalf("link of a deleted sender: %v", err)
	}
}

func TestForwardingUnwrapsForwardsForTheSender(t *testing.T) {
	f := newForwarding(t)
	ctx := context.Background()
	if _, err := f.links.RegisterSender(ctx, "acme", "bob@example.com", "Bob Jones"); err != nil {
		t.Fatal(err)
	}
	if err := f.links.ConfirmSender(ctx, f.confirmations("bob@example.com")[0]); err != nil {
		t.Fatal(err)
	}
	addr := f.address("acme")
	now := time.Now()
	f.imap.Append(inbox, "INBOX", f.forward("gmail.eml", "Bob Jones <bob@example.com>", addr, "u1@example.com", "example.com"), now)
	f.imap.Append(inbox, "INBOX", f.forward("not-forwarded.eml", "Bob Jones <bob@example.com>", addr, "u2@example.com", "example.com"), now)
	if res := f.scrape(); res.New != 1 || res.Unparsable != 1 {
		t.Fatalf("%+v, want 1 new, 1 unparsable", res)
	}
	// A new forward arrives; the old ones are not looked at again.
	f.imap.Append(inbox, "INBOX", f.forward("outlook.eml", `"Jones, Bob" <bob@example.com>`, addr, "u3@example.com", "example.com"), now)
	if res := f.scrape(); res.New != 1 || res.Unparsable != 0 || res.Seen != 0 {
		t.Fatalf("second scrape %+v, want only the new forward", res)
	}
	froms := map[string]bool{}
	for id, d := range f.documents() {
		msg := f.stored(d)
		from, _ := mail.ParseAddress(msg.Header.Get("From"))
		froms[from.Address] = true
		body, _ := io.ReadAll(msg.Body)
		if bytes.Contains(body, []byte("for my expenses")) {
			t.Errorf("doc %s keeps the forwarder's note", id)
		}
		doc, err := f.cmds.Documents().Load(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		owner, err := personal.New(f.pool).Open(ctx, "acme", doc.Owner)
		if err != nil || owner.User != (domain.User{Email: "bob@example.com", Name: "Bob Jones"}) {
			t.Fatalf("owner of %s: %+v %v", id, owner, err)
		}
	}
	if !froms["orders@shop-a.test"] || !froms["billing@shop-c.test"] {
		t.Fatalf("documents from %v, want the merchants", froms)
	}
}

func TestTenantToken(t *testing.T) {
	h := func(s string) mail.Header {
		m, err := mail.ReadMessage(strings.NewReader(s + "\r\n\r\nbody"))
		if err != nil {
			t.Fatal(err)
		}
		return m.Header
	}
	cases := []struct{ header, want string }{
		{"To: Receipts+ABC@Tally.test", "abc"},
		{"To: a@b.test\r\nCc: x <receipts+k2@tally.test>", "k2"},
		{"Delivered-To: receipts+first@tally.test\r\nTo: receipts+second@tally.test", "first"},
		{"To: receipts@tally.test", ""},
		{"To: receipts+@tally.test", ""},
		{"To: other+abc@tally.test", ""},
		{"To: receipts+abc@evil.test", ""},
		{"To: not an address", ""},
	}
	for _, c := range cases {
		if got := tenantToken(inbox, h(c.header)); got != c.want {
			t.Errorf("%q: %q, want %q", c.header, got, c.want)
		}
	}
}

// A confirmation link that cannot be mailed is a clear, retryable failure
// of its own, and registering again once the mail server is back mails it.
func TestForwardingConfirmationMailDownIsRetryable(t *testing.T) {
	f := newForwarding(t)
	ctx := context.Background()
	working := f.links.Forwarding.Mail
	down, err := mailer.NewSender(mailer.Config{URL: "smtp://127.0.0.1:1", From: "Tally <tally@tally.test>", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.links.Forwarding.Mail = down
	_, err = f.links.RegisterSender(ctx, "acme", "bob@example.com", "Bob")
	var de *domain.Error
	if !errors.Is(err, ErrConfirmationMail) || !strings.Contains(err.Error(), "confirmation e-mail could not be sent") ||
		!errors.As(err, &de) || de.RetryAfter <= 0 {
		t.Fatalf("registering with the mail server down: %v, want ErrConfirmationMail with a time to retry after", err)
	}
	f.links.Forwarding.Mail = working
	if _, err := f.links.RegisterSender(ctx, "acme", "bob@example.com", "Bob"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.confirmations("bob@example.com")); n != 1 {
		t.Fatalf("%d confirmation links mailed after the retry, want 1", n)
	}
}

// A mail server that refuses the confirmation for good (no such mailbox)
// is the address's fault: a failure of its own that says to check it,
// not "retry later".
func TestForwardingConfirmationRefusedNamesTheAddress(t *testing.T) {
	f := newForwarding(t)
	f.smtp.FailNext(1, 550, "no such mailbox")
	_, err := f.links.RegisterSender(context.Background(), "acme", "nobody@example.com", "Nobody")
	if !errors.Is(err, ErrConfirmationRefused) || errors.Is(err, ErrConfirmationMail) || domain.KindOf(err) != domain.KindUnprocessable {
		t.Fatalf("registering an address the mail server refuses: %v, want ErrConfirmationRefused (unprocessable)", err)
	}
}
