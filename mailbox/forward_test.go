package mailbox

import (
	"bytes"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tally/intake"
)

func TestUnforward(t *testing.T) {
	cases := []struct {
		file, from, name, subject, date string
		body                            []string // in the rebuilt text
		attachments                     int      // parts besides the bodies
	}{
		{"gmail.eml", "orders@shop-a.test", "Shop A", "Your Shop A order #1001", "2026-11-02T10:15:00+01:00",
			[]string{"Order #1001", "Total: 42.00 EUR"}, 1},
		{"apple.eml", "receipts@shop-b.test", "Shop B", "Receipt from Shop B", "2026-11-02T18:30:05+01:00",
			[]string{"Total: 9.99 EUR"}, 0},
		{"outlook.eml", "billing@shop-c.test", "Shop C, Inc.", "Your invoice from Shop C", "2026-11-02T15:45:00-05:00",
			[]string{"Amount due: 120.00 USD"}, 0},
		{"outlook-html.eml", "hello@shop-d.test", "Shop D", "Shop D order confirmation", "2026-11-03T07:05:00Z",
			[]string{"Total: 15.00 GBP"}, 0},
		{"attached.eml", "noreply@shop-e.test", "Shop E", "Shop E receipt", "2026-11-01T12:00:00Z",
			[]string{"Total: 5.00 EUR"}, 0},
		{"nested.eml", "orders@shop-a.test", "Shop A", "Shop A order", "2026-11-01T09:30:00Z",
			[]string{"Total: 7.00 EUR"}, 0},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := readTestdata(t, c.file)
			out, f, err := Unforward(raw)
			if err != nil {
				t.Fatal(err)
			}
			if f.Forwarder.Address != "bob@example.com" {
				t.Errorf("forwarder %q", f.Forwarder.Address)
			}
			if f.From.Address != c.from || f.From.Name != c.name || f.Subject != c.subject {
				t.Errorf("from %q %q subject %q", f.From.Name, f.From.Address, f.Subject)
			}
			want, _ := time.Parse(time.RFC3339, c.date)
			if !f.Date.Equal(want) {
				t.Errorf("date %s, want %s", f.Date, want)
			}
			// The rebuilt message is an e-mail Tally takes, from the merchant.
			m, err := intake.EmailMessage(out)
			if err != nil {
				t.Fatalf("rebuilt message refused: %v\n%s", err, out)
			}
			if m.From.Address != c.from {
				t.Errorf("rebuilt From %q", m.From.Address)
			}
			msg, _ := mail.ReadMessage(bytes.NewReader(out))
			if d, err := msg.Header.Date(); err != nil || !d.Equal(want) {
				t.Errorf("rebuilt Date %v %v", d, err)
			}
			text := decodedText(t, out)
			for _, s := range c.body {
				if !strings.Contains(text, s) {
					t.Errorf("rebuilt body lacks %q:\n%s", s, text)
				}
			}
			if strings.Contains(text, "> Total") {
				t.Errorf("the rebuilt body is still quoted:\n%s", text)
			}
			if c.file != "attached.eml" && strings.Contains(text, "for my expenses") {
				t.Errorf("the forwarder's note is in the rebuilt text body")
			}
			if n := bytes.Count(out, []byte("Content-Disposition: attachment")); n != c.attachments {
				t.Errorf("%d attachments, want %d", n, c.attachments)
			}
		})
	}
}

func TestUnforwardRefusesPlainMail(t *testing.T) {
	if _, _, err := Unforward(readTestdata(t, "not-forwarded.eml")); !errors.Is(err, ErrNotForwarded) {
		t.Fatalf("%v, want ErrNotForwarded", err)
	}
	if _, _, err := Unforward([]byte("not an e-mail")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestParseLooseDate(t *testing.T) {
	loc := time.FixedZone("", 3600)
	cases := map[string]string{
		"Mon, Nov 2, 2026 at 10:15 AM":          "2026-11-02T10:15:00+01:00",
		"Mon, 2 Nov 2026 10:15:00 +0000":        "2026-11-02T10:15:00Z",
		"2 November 2026 at 18:30:05 CET":       "2026-11-02T18:30:05+01:00",
		"November 2, 2026 at 6:30:05 PM PST":    "2026-11-02T18:30:05-08:00",
		"Monday, November 2, 2026 3:45 PM":      "2026-11-02T15:45:00+01:00",
		"Montag, 2. November 2026 um 15:45":     "", // unread: the forwarding date stands in
		"2026-11-02 15:45 (GMT+02:00)":          "2026-11-02T15:45:00+02:00",
		"lundi 2 novembre 2026":                 "",
		"Tuesday, 3 November 2026 07:05":        "2026-11-03T07:05:00+01:00",
		"":                                      "",
		"Thu, Nov 5, 2026 at 11:00\u202fPM":     "2026-11-05T23:00:00+01:00",
		"Sent: Monday, November 2, 2026 3:45PM": "",
	}
	for in, want := range cases {
		got := parseLooseDate(in, loc)
		if want == "" {
			if !got.IsZero() {
				t.Errorf("%q: %s, want unreadable", in, got)
			}
			continue
		}
		w, _ := time.Parse(time.RFC3339, want)
		if !got.Equal(w) {
			t.Errorf("%q: %s, want %s", in, got, w)
		}
	}
}

// FuzzUnforward: any input either fails cleanly or yields a message that
// Tally's intake takes, from a valid merchant address.
func FuzzUnforward(f *testing.F) {
	files, _ := filepath.Glob("testdata/forwarded/*.eml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("From: a@b.c\r\n\r\n-----Original Message-----\r\nFrom: x@y.z\r\nSent: 1 Jan 2026\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, fwd, err := Unforward(raw)
		if err != nil {
			return
		}
		if fwd.From == nil || fwd.From.Address == "" || fwd.Forwarder == nil {
			t.Fatalf("accepted without addresses: %+v", fwd)
		}
		m, err := intake.EmailMessage(out)
		if err != nil {
			t.Fatalf("rebuilt message refused: %v\n%q", err, out)
		}
		if m.From == nil || !strings.EqualFold(m.From.Address, fwd.From.Address) {
			t.Fatalf("rebuilt From %v, parsed %q", m.From, fwd.From.Address)
		}
	})
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "forwarded", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodedText is every text part of a message, decoded.
func decodedText(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	w := &forwardWalk{}
	w.walk(map[string][]string(msg.Header), msg.Body, 0)
	if w.attached != nil {
		return decodedText(t, w.attached)
	}
	return w.plain + "\n" + w.html
}

func TestParseForwardURL(t *testing.T) {
	a, err := ParseForwardURL("imaps://receipts%40tally.test:p%40ss@mail.example.com/Receipts")
	if err != nil || a.Host != "mail.example.com" || a.Port != 993 || a.TLS != TLSImplicit || a.Username != "receipts@tally.test" ||
		a.Password != "p@ss" || a.Folder != "Receipts" {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = ParseForwardURL("imap://u:p@127.0.0.1:1143/?address=Receipts@Tally.test")
	if err != nil || a.Port != 1143 || a.TLS != TLSPlain || a.folder() != "INBOX" || a.Address != "receipts@tally.test" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []string{"imap://u:p@mail.example.com/", "pop3://u:p@h/", "imaps://h/", "imaps://u:p@h:0/", "imaps://u:p@h/", "imaps://r+x@t.test:p@h/"} {
		if _, err := ParseForwardURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
