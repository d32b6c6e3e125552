// Package mailauthtest runs a real DNS server in the test process that
// publishes DKIM keys, and signs e-mails with them, so DKIM verification is
// tested over the same protocol it uses in production.
package mailauthtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
)

// DNS is a DNS server answering TXT queries from a table.
type DNS struct {
	mu   sync.Mutex
	txt  map[string][]string
	keys map[string]ed25519.PrivateKey
	addr string
}

// Start runs a DNS server on a free local UDP port until the test ends.
func Start(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &DNS{txt: map[string][]string{}, keys: map[string]ed25519.PrivateKey{}, addr: pc.LocalAddr().String()}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: d, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

// ServeDNS answers TXT questions from the table; anything else is NXDOMAIN.
func (d *DNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	d.mu.Lock()
	for _, q := range r.Question {
		name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
		records, ok := d.txt[name]
		if q.Qtype != dns.TypeTXT || !ok {
			continue
		}
		for _, rec := range records {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: chunk(rec),
			})
		}
	}
	d.mu.Unlock()
	if len(m.Answer) == 0 {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// chunk splits a record into the 255-byte strings TXT records are made of.
func chunk(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// Resolver returns a resolver that asks only this server.
func (d *DNS) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "udp", d.addr)
		},
	}
}

// Addr is the server's host:port.
func (d *DNS) Addr() string { return d.addr }

// AddKey makes a signing key for domain under selector "s1" and publishes
// its public half.
func (d *DNS) AddKey(t testing.TB, domain string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[domain] = priv
	d.txt["s1._domainkey."+domain] = []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

// Sign signs raw as domain, whose key AddKey made.
func (d *DNS) Sign(t testing.TB, domain string, raw []byte) []byte {
	t.Helper()
	d.mu.Lock()
	key := d.keys[domain]
	d.mu.Unlock()
	if key == nil {
		t.Fatalf("no key for %s: call AddKey first", domain)
	}
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: domain, Selector: "s1", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"},
		Expiration: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
