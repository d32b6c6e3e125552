package mailauth_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"tally/mailauth"
	"tally/mailauth/mailauthtest"
)

func message(from string) []byte {
	return []byte(strings.ReplaceAll("From: Shop <"+from+">\nTo: ann@example.org\nSubject: Your order 1234\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <1@"+from[strings.IndexByte(from, '@')+1:]+">\n\nOrder 1234\nTotal: 12.50 EUR\n", "\n", "\r\n"))
}

func TestVerify(t *testing.T) {
	dns := mailauthtest.Start(t)
	dns.AddKey(t, "shop.example")
	dns.AddKey(t, "mail.shop.example")
	dns.AddKey(t, "attacker.example")
	v := &mailauth.Verifier{Resolver: dns.Resolver(), Timeout: 2 * time.Second}

	signed := dns.Sign(t, "shop.example", message("orders@shop.example"))
	tampered := bytes.Replace(signed, []byte("12.50"), []byte("1.50"), 1)
	// The From: header is rewritten after signing: the signature no longer
	// matches, which is what a forger reusing a genuine e-mail produces.
	spoofed := bytes.Replace(signed, []byte("orders@shop.example"), []byte("orders@bank.example"), 1)
	// A valid signature by a domain that is not the sender's.
	unaligned := dns.Sign(t, "attacker.example", message("orders@shop.example"))
	subdomain := dns.Sign(t, "mail.shop.example", message("orders@shop.example"))
	unknownKey := append([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=nokey.example; s=s1; h=from; bh=AAAA; b=AAAA\r\n"), message("a@nokey.example")...)

	cases := []struct {
		name   string
		raw    []byte
		dkim   string
		forged bool
	}{
		{"signed by the sender", signed, mailauth.Verified, false},
		{"signed by the sender's subdomain", subdomain, mailauth.Verified, false},
		{"unsigned", message("orders@shop.example"), mailauth.None, false},
		{"body changed after signing", tampered, mailauth.Failed, true},
		{"sender changed after signing", spoofed, mailauth.Failed, true},
		{"signed by another domain", unaligned, mailauth.Failed, true},
		{"key not published", unknownKey, mailauth.Failed, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := v.Verify(context.Background(), c.raw)
			if got.DKIM != c.dkim || got.SenderForged != c.forged {
				t.Fatalf("Verify = %+v, want dkim %s forged %v", got, c.dkim, c.forged)
			}
			if c.dkim != mailauth.Verified && got.Reason == "" {
				t.Fatal("a verdict other than verified carries no reason")
			}
		})
	}
}

func TestVerifyWithoutDNS(t *testing.T) {
	dns := mailauthtest.Start(t)
	dns.AddKey(t, "shop.example")
	signed := dns.Sign(t, "shop.example", message("orders@shop.example"))
	// A resolver whose server does not answer: the key cannot be fetched,
	// which is not evidence of forgery.
	dead := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: context.DeadlineExceeded}
	}}
	got := (&mailauth.Verifier{Resolver: dead, Timeout: time.Second}).Verify(context.Background(), signed)
	if got.DKIM != mailauth.TempError || got.SenderForged {
		t.Fatalf("Verify without DNS = %+v, want temperror, not forged", got)
	}
}

func TestAligned(t *testing.T) {
	cases := []struct {
		from, signer string
		want         bool
	}{
		{"shop.example", "shop.example", true},
		{"shop.example.co.uk", "mail.example.co.uk", true},
		{"example.co.uk", "other.co.uk", false},
		{"shop.example", "example", false},
		{"Shop.Example.", "shop.example", true},
	}
	for _, c := range cases {
		if got := mailauth.Aligned(c.from, c.signer); got != c.want {
			t.Errorf("Aligned(%q, %q) = %v, want %v", c.from, c.signer, got, c.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(message("orders@shop.example"))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=\r\nFrom: a@b\r\n\r\nbody"))
	f.Add([]byte("From: \r\n\r\n"))
	dead := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: context.DeadlineExceeded}
	}}
	v := &mailauth.Verifier{Resolver: dead, Timeout: 100 * time.Millisecond}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := v.Verify(context.Background(), raw)
		switch got.DKIM {
		case mailauth.Verified:
			t.Fatalf("verified without any key: %+v", got)
		case mailauth.Failed, mailauth.None, mailauth.TempError:
		default:
			t.Fatalf("unknown verdict %q", got.DKIM)
		}
	})
}
