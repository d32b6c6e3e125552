package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/mailbox/mailboxtest"
	"tally/migrations/pgtest"
	"tally/netguard"
	"tally/personal"
	"tally/seal"
)

// env is a scrape's real surroundings: event store, database, blob
// store, command handler and an IMAP server.
type env struct {
	t      testing.TB
	events *eventstore.Store
	pool   *pgxpool.Pool
	blobs  blob.Store
	cmds   *commands.Handler
	links  *Links
	imap   *mailboxtest.Server
	log    *slog.Logger
}

func newEnv(t testing.TB) *env {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	// The test servers listen on loopback.
	links, err := NewLinks(context.Background(), pool, Limits{AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, events: events, pool: pool, blobs: blobs, cmds: commands.New(events, blobs, log, commands.WithPeople(personal.New(pool))), links: links,
		imap: mailboxtest.Start(t), log: log}
	e.imap.AddUser("ann@mail.test", "app-password-1")
	return e
}

func (e *env) scraper(filter Filter, limits Limits) *Scraper {
	return &Scraper{Links: e.links, Submit: Commands{Handler: e.cmds}, Limits: limits, Log: e.log,
		Filters: FilterFunc(func(context.Context, string) (Filter, error) { return filter, nil })}
}

func (e *env) link(tenant string) Link {
	e.t.Helper()
	l, err := e.links.Create(context.Background(), tenant, NewLink{
		Host: e.imap.Host, Port: e.imap.Port, TLS: TLSPlain, Username: "ann@mail.test", Password: "app-password-1",
		User: domain.User{Email: "Ann@Example.com", Name: "Ann"}, Verify: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// documents reads the whole stream and returns every uploaded document's
// event, checking each one through Load as well.
func (e *env) documents() map[string]domain.DocumentUploaded {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	last, err := e.events.LastSequence(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]domain.DocumentUploaded{}
	if last == 0 {
		return out
	}
	r, err := e.events.Subscribe(ctx, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Close()
	for seen := uint64(0); seen < last; {
		batch, err := r.Next(ctx, 100, 50*time.Millisecond)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, ev := range batch {
			seen = ev.Sequence
			if ev.Type != domain.TypeDocumentUploaded {
				continue
			}
			var p domain.DocumentUploaded
			if err := ev.Decode(&p); err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.cmds.Documents().Load(ctx, ev.Tenant, ev.AggregateID); err != nil {
				e.t.Fatalf("load %s: %v", ev.AggregateID, err)
			}
			out[ev.AggregateID] = p
		}
	}
	return out
}

// subjects are the Subject headers of the documents' stored e-mails.
func (e *env) subjects(docs map[string]domain.DocumentUploaded) []string {
	e.t.Helper()
	var out []string
	for _, d := range docs {
		msg := e.stored(d)
		out = append(out, msg.Header.Get("Subject"))
	}
	slices.Sort(out)
	return out
}

func (e *env) stored(d domain.DocumentUploaded) *mail.Message {
	e.t.Helper()
	rc, err := e.blobs.Get(context.Background(), d.BlobKey)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	raw, _ := io.ReadAll(rc)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	return msg
}

func email(from, subject, messageID string, date time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: Ann <ann@example.com>\r\nSubject: %s\r\nDate: %s\r\n", from, subject, date.Format(time.RFC1123Z))
	if messageID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", messageID)
	}
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\nTotal: 12.50 EUR\r\n", subject)
	return b.Bytes()
}

// fixture fills the INBOX: receipts from two retailers inside and outside
// their cutoffs, and other mail. It returns the filter and the subjects
// that must become documents.
func (e *env) fixture(now time.Time) (Filter, []string) {
	day := 24 * time.Hour
	filter := Filter{
		Since: now.Add(-30 * day),
		Retailers: []Retailer{
			{Email: "orders@shop-a.test"},
			{Email: "Receipts@Shop-B.test", Since: now.Add(-7 * day)}, // stricter than the global cutoff
		},
	}
	msgs := []struct {
		from, subject, id string
		age               time.Duration
	}{
		{"Shop A <orders@shop-a.test>", "A recent", "a1@shop-a.test", 2 * day},
		{"Shop A <orders@shop-a.test>", "A older", "a2@shop-a.test", 20 * day},
		{"Shop A <orders@shop-a.test>", "A no message id", "", 5 * day},
		{"Shop A <orders@shop-a.test>", "A too old", "a3@shop-a.test", 40 * day},
		// Same calendar day as the cutoff, an hour before it: IMAP's
		// date-only SINCE finds it, the exact check must not take it.
		{"Shop A <orders@shop-a.test>", "A an hour too old", "a4@shop-a.test", 30*day + time.Hour},
		{"Shop B <receipts@shop-b.test>", "B recent", "b1@shop-b.test", 3 * day},
		{"Shop B <receipts@shop-b.test>", "B outside its own cutoff", "b2@shop-b.test", 15 * day},
		{"News <news@other.test>", "Newsletter", "n1@other.test", 1 * day},
		// IMAP's FROM is a substring match: this one is found and refused.
		{"Fake <notorders@shop-a.test>", "Lookalike", "f1@shop-a.test", 1 * day},
	}
	for _, m := range msgs {
		at := now.Add(-m.age)
		e.imap.Append("ann@mail.test", "INBOX", email(m.from, m.subject, m.id, at), at)
	}
	return filter, []string{"A no message id", "A older", "A recent", "B recent"}
}

func TestScrapeTakesExactlyTheReceiptsInsideTheCutoffOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	filter, want := e.fixture(time.Now())
	link := e.link("acme")
	s := e.scraper(filter, Limits{})

	res, err := s.ScrapeLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 4 {
		t.Fatalf("first scrape: %+v, want 4 new", res)
	}
	res, err = s.ScrapeLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 0 || res.Seen != 4 {
		t.Fatalf("second scrape: %+v, want 0 new and 4 seen", res)
	}
	docs := e.documents()
	if got := e.subjects(docs); !slices.Equal(got, want) {
		t.Fatalf("documents %q, want %q", got, want)
	}
	for id, d := range docs {
		owner, err := personal.New(e.pool).Open(ctx, "acme", d.Owner())
		if err != nil || owner.User != (domain.User{Email: "ann@example.com", Name: "Ann"}) || d.Source != domain.SourceEmail {
			t.Errorf("doc %s: user %+v (%v) source %q", id, owner.User, err, d.Source)
		}
	}
	got, err := e.links.Get(ctx, "acme", link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastScrapeAt.IsZero() || got.LastScrapeError != "" || got.LastScrapeNew != 0 || got.MessagesFound != 4 {
		t.Fatalf("link after two scrapes: %+v", got)
	}
}

func TestScrapeAfterUIDValidityChangeMakesNoSecondDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	filter, want := e.fixture(now)
	link := e.link("acme")
	s := e.scraper(filter, Limits{})
	if res, err := s.ScrapeLink(ctx, link.ID); err != nil || res.New != 4 {
		t.Fatalf("first scrape: %+v %v", res, err)
	}
	// The server rebuilds the folder: new UIDVALIDITY, new UIDs, same mail.
	e.imap.Recreate("ann@mail.test", "INBOX")
	e.fixture(now)
	res, err := s.ScrapeLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 0 || res.Seen != 4 {
		t.Fatalf("scrape after UIDVALIDITY change: %+v, want 0 new, 4 seen", res)
	}
	var validities int
	if err := e.pool.QueryRow(ctx, "SELECT count(DISTINCT uid_validity) FROM mailbox_seen WHERE link_id = $1", link.ID).Scan(&validities); err != nil || validities != 2 {
		t.Fatalf("seen rows under %d UIDVALIDITY values (%v), want 2: the server did not renumber", validities, err)
	}
	if got := e.subjects(e.documents()); !slices.Equal(got, want) {
		t.Fatalf("documents %q, want %q", got, want)
	}
}

func TestConcurrentScrapesMakeEachDocumentOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	filter, want := e.fixture(time.Now())
	link := e.link("acme")
	s := e.scraper(filter, Limits{})
	row, acct, err := e.links.account(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Without the lock first: both scrapes find every message new, and the
	// command ids alone keep the documents single.
	var wg sync.WaitGroup
	results := make([]Result, 4)
	errs := make([]error, 4)
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = s.scrapeLink(ctx, row, acct) })
	}
	wg.Wait()
	// Then through the lock, also at once.
	for i := 2; i < 4; i++ {
		wg.Go(func() { results[i], errs[i] = s.ScrapeLink(ctx, link.ID) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrBusy) {
			t.Fatalf("scrape %d: %v", i, err)
		}
	}
	if n := results[0].New + results[1].New; n < 4 {
		t.Fatalf("concurrent scrapes submitted %d, want at least 4: %+v %+v", n, results[0], results[1])
	}
	if got := e.subjects(e.documents()); !slices.Equal(got, want) {
		t.Fatalf("documents %q, want %q", got, want)
	}
}

func TestScrapeLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	filter, _ := e.fixture(now)
	big := email("Shop A <orders@shop-a.test>", "A big", "big@shop-a.test", now.Add(-time.Hour))
	big = append(big, bytes.Repeat([]byte("x"), 4000)...)
	e.imap.Append("ann@mail.test", "INBOX", big, now.Add(-time.Hour))
	link := e.link("acme")
	s := e.scraper(filter, Limits{MaxMessages: 3, MaxMessageSize: 2000})

	res, err := s.ScrapeLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 3 || !res.More {
		t.Fatalf("first scrape: %+v, want 3 new and more", res)
	}
	res, err = s.ScrapeLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 1 || res.More || res.TooLarge != 1 {
		t.Fatalf("second scrape: %+v, want 1 new, 1 too large", res)
	}
	res, err = s.ScrapeLink(ctx, link.ID)
	if err != nil || res.New != 0 || res.TooLarge != 0 {
		t.Fatalf("third scrape: %+v %v, want nothing new and the large one remembered", res, err)
	}
	if n := len(e.documents()); n != 4 {
		t.Fatalf("%d documents, want 4", n)
	}
}

func TestNoRetailersTakesEveryMessageWithinTheCutoff(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	filter, _ := e.fixture(now)
	filter.Retailers = nil
	link := e.link("acme")
	res, err := e.scraper(filter, Limits{}).ScrapeLink(context.Background(), link.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Everything but the two older than 30 days.
	if res.New != 7 {
		t.Fatalf("%+v, want 7 new", res)
	}
}

func TestPasswordIsStoredSealed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.link("acme"), e.link("other")
	var sealed []byte
	if err := e.pool.QueryRow(ctx, "SELECT password_sealed FROM mailbox_links WHERE id = $1", a.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("app-password-1")) {
		t.Fatal("the password is stored in the clear")
	}
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM mailbox_links WHERE convert_to(row(mailbox_links.*)::text, 'UTF8') LIKE '%app-password-1%'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows holding the password in the clear: %d %v", n, err)
	}
	_, acct, err := e.links.account(ctx, a.ID)
	if err != nil || acct.Password != "app-password-1" {
		t.Fatalf("open: %q %v", acct.Password, err)
	}
	// Bound to its link: copied onto another tenant's link it does not open.
	if _, err := e.pool.Exec(ctx, "UPDATE mailbox_links SET password_sealed = $1 WHERE id = $2", sealed, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.links.account(ctx, b.ID); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("copied password: %v, want ErrOpen", err)
	}
}

func TestLinkValidationAndTenants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := NewLink{Host: e.imap.Host, Port: e.imap.Port, TLS: TLSPlain, Username: "ann@mail.test", Password: "app-password-1",
		User: domain.User{Email: "ann@example.com"}}
	bad := []func(n *NewLink){
		func(n *NewLink) { n.Host = "" },
		func(n *NewLink) { n.Port = 0 },
		func(n *NewLink) { n.TLS = "ssl" },
		func(n *NewLink) { n.Host = "imap.example.com" }, // plain to a remote host
		func(n *NewLink) { n.Password = "" },
		func(n *NewLink) { n.User.Email = "not-an-address" },
	}
	for i, mutate := range bad {
		n := base
		mutate(&n)
		if _, err := e.links.Create(ctx, "acme", n); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: %v, want ErrInvalid", i, err)
		}
	}
	wrong := base
	wrong.Password, wrong.Verify = "wrong", true
	if _, err := e.links.Create(ctx, "acme", wrong); !errors.Is(err, ErrLogin) {
		t.Fatalf("wrong password: %v, want ErrLogin", err)
	}
	l := e.link("acme")
	if _, err := e.links.Get(ctx, "other", l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant's get: %v", err)
	}
	if err := e.links.Delete(ctx, "other", l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant's delete: %v", err)
	}
	if err := e.links.Delete(ctx, "acme", l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.links.Get(ctx, "acme", l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted link: %v", err)
	}
}

func TestVerifyOverTLS(t *testing.T) {
	srv := mailboxtest.Start(t)
	srv.AddUser("ann", "pw")
	limits := Limits{TLSConfig: tlsConfigFor(srv), AllowPrivateNetworks: true}
	ctx := context.Background()
	if err := Verify(ctx, Account{Host: srv.Host, Port: srv.TLSPort, TLS: TLSImplicit, Username: "ann", Password: "pw"}, limits); err != nil {
		t.Fatalf("imaps: %v", err)
	}
	if err := Verify(ctx, Account{Host: srv.Host, Port: srv.Port, TLS: TLSStartTLS, Username: "ann", Password: "pw"}, limits); err != nil {
		t.Fatalf("starttls: %v", err)
	}
	// Without trusting the test certificate, TLS must fail.
	if err := Verify(ctx, Account{Host: srv.Host, Port: srv.TLSPort, TLS: TLSImplicit, Username: "ann", Password: "pw"}, Limits{AllowPrivateNetworks: true}); err == nil {
		t.Fatal("imaps with an untrusted certificate succeeded")
	}
}

func TestDeadlineOnASilentServer(t *testing.T) {
	// A server that accepts and never greets.
	ln := listenSilent(t)
	start := time.Now()
	err := Verify(context.Background(), Account{Host: "127.0.0.1", Port: ln, TLS: TLSPlain, Username: "a", Password: "b"},
		Limits{DialTimeout: 300 * time.Millisecond, AllowPrivateNetworks: true})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("silent server: %v after %s", err, time.Since(start))
	}
}

var _ = uuid.Nil

func TestLostSeenRowsMakeNoSecondDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	filter, want := e.fixture(time.Now())
	link := e.link("acme")
	s := e.scraper(filter, Limits{})
	if res, err := s.ScrapeLink(ctx, link.ID); err != nil || res.New != 4 {
		t.Fatalf("first scrape: %+v %v", res, err)
	}
	// As if the process died after each submit and before remembering it.
	if _, err := e.pool.Exec(ctx, "DELETE FROM mailbox_seen"); err != nil {
		t.Fatal(err)
	}
	if res, err := s.ScrapeLink(ctx, link.ID); err != nil || res.New != 4 {
		t.Fatalf("scrape with the seen rows gone: %+v %v, want all 4 submitted again", res, err)
	}
	if got := e.subjects(e.documents()); !slices.Equal(got, want) {
		t.Fatalf("documents %q, want %q", got, want)
	}
}

func TestScrapeLogsNoAddressesOrPasswords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var logs syncBuffer
	e.log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	filter, _ := e.fixture(time.Now())
	link := e.link("acme")
	s := e.scraper(filter, Limits{})
	if _, err := s.ScrapeLink(ctx, link.ID); err != nil {
		t.Fatal(err)
	}
	e.imap.AddUser("receipts@tally.test", "forward-pw")
	e.imap.Append("receipts@tally.test", "INBOX", readTestdata(t, "gmail.eml"), time.Now())
	s.Forward = &Account{Host: e.imap.Host, Port: e.imap.Port, TLS: TLSPlain, Username: "receipts@tally.test", Password: "forward-pw", Address: "receipts@tally.test"}
	if res, err := s.ScrapeForward(ctx); err != nil || res.UnknownForwarder != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	// A failing login is logged too, by kind.
	if _, err := e.pool.Exec(ctx, "UPDATE mailbox_links SET username = 'nobody@mail.test'"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScrapeLink(ctx, link.ID); !errors.Is(err, ErrLogin) {
		t.Fatalf("scrape with a wrong login: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, link.ID.String()) || !strings.Contains(out, `"unknown_forwarders":1`) || !strings.Contains(out, "login refused") {
		t.Fatalf("the log lacks the link id, the counts or the error kind:\n%s", out)
	}
	for _, secret := range []string{"@", "app-password-1", "forward-pw", "Shop A", "Total"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

// A tenant's IMAP host used to be dialled wherever it pointed, and the
// dial or TLS error came back verbatim: enough to scan the operator's
// network. Hosts that are not public are refused unless the operator
// allows private networks, and every failure reads the same.
func TestLinksRefusePrivateNetworksAndEchoNoErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	guarded, err := NewLinks(ctx, e.pool, Limits{DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	link := func(links *Links, host string, port int) error {
		_, err := links.Create(ctx, "acme", NewLink{Host: host, Port: port, TLS: TLSPlain, Username: "ann@mail.test",
			Password: "app-password-1", User: domain.User{Email: "ann@example.com"}, Verify: true})
		return err
	}
	silent, _ := NewLinks(ctx, e.pool, Limits{DialTimeout: 300 * time.Millisecond, CommandTimeout: 300 * time.Millisecond, AllowPrivateNetworks: true})
	cases := []struct {
		name  string
		links *Links
		host  string
		port  int
	}{
		{"loopback IMAP server, not allowed", guarded, e.imap.Host, e.imap.Port},
		{"by name", guarded, "localhost", e.imap.Port},
		{"closed port", e.links, "127.0.0.1", closedPort},
		{"silent server", silent, "127.0.0.1", listenSilent(t)},
	}
	for _, c := range cases {
		err := link(c.links, c.host, c.port)
		if !errors.Is(err, ErrVerify) || !errors.Is(err, ErrUnreachable) {
			t.Fatalf("%s: %v, want ErrUnreachable", c.name, err)
		}
		for _, leak := range []string{"127.0.0.1", "dial", "refused", "timeout", "i/o", strconv.Itoa(c.port)} {
			if strings.Contains(err.Error(), leak) {
				t.Fatalf("%s: the answer %q tells %q", c.name, err, leak)
			}
		}
	}
	// A link made while allowed, scraped by links that are not: refused,
	// and the stored error is the same one reason.
	l := e.link("acme")
	s := &Scraper{Links: guarded, Submit: Commands{Handler: e.cmds}, Log: e.log,
		Filters: FilterFunc(func(context.Context, string) (Filter, error) { return Filter{}, nil })}
	if _, err := s.ScrapeLink(ctx, l.ID); !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("scrape of a loopback host: %v", err)
	}
	got, err := e.links.Get(ctx, "acme", l.ID)
	if err != nil || got.LastScrapeError != ErrUnreachable.Error() {
		t.Fatalf("stored error %q (%v)", got.LastScrapeError, err)
	}
}

func TestMailboxLinksPerTenantAreLimited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	links, err := NewLinks(ctx, e.pool, Limits{MaxLinksPerTenant: 2, AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	n := NewLink{Host: e.imap.Host, Port: e.imap.Port, TLS: TLSPlain, Username: "ann@mail.test", Password: "app-password-1",
		User: domain.User{Email: "ann@example.com"}}
	for i := range 2 {
		if _, err := links.Create(ctx, "acme", n); err != nil {
			t.Fatalf("link %d: %v", i+1, err)
		}
	}
	if _, err := links.Create(ctx, "acme", n); !errors.Is(err, ErrLimit) {
		t.Fatalf("third link: %v, want ErrLimit", err)
	}
	if _, err := links.Create(ctx, "other", n); err != nil {
		t.Fatalf("another tenant's link: %v", err)
	}
}
