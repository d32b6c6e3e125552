package extract

import (
	"strings"
	"testing"

	"tally/domain"
)

func TestSenderName(t *testing.T) {
	for _, c := range []struct{ name, address, want string }{
		{"Amazon.co.uk", "auto-confirm@amazon.co.uk", "Amazon.co.uk"},
		{`"Tiny Tea Co"`, "hello@tinytea.example", "Tiny Tea Co"},
		{"no-reply", "no-reply@mail.shop.example.co.uk", "Example.co.uk"},
		{"", "orders@shop.example.com", "Example.com"},
		{"orders@shop.example", "orders@shop.example", "Shop.example"},
		{"", "not an address", ""},
		{"", "x@localhost", ""},
	} {
		if got := SenderName(c.name, c.address); got != c.want {
			t.Errorf("SenderName(%q, %q) = %q, want %q", c.name, c.address, got, c.want)
		}
	}
}

func email(from, body string) []byte {
	return []byte(strings.ReplaceAll("From: "+from+"\nTo: Ann <ann@example.com>\nSubject: Your order\n"+
		"Content-Type: text/plain; charset=utf-8\n\n"+body, "\n", "\r\n"))
}

func TestExtractEmailVendorFromSender(t *testing.T) {
	e := New(Limits{})
	for _, c := range []struct {
		name, from, body, vendor, source string
	}{
		{"a body without a confident name: the sender's display name",
			`"Amazon.co.uk" <auto-confirm@amazon.co.uk>`,
			"Dispatch item(s) as soon as they become available.\nOrder #123-1234567-1234567\nOrder Total:   £21.20\n",
			"Amazon.co.uk", domain.FieldSourceSender},
		{"no display name: the organisational domain",
			`auto-confirm@mail.bookshop.co.uk`,
			"Your delivery preference:\nItem   9.99\nTotal   9.99\n",
			"Bookshop.co.uk", domain.FieldSourceSender},
		{"a confident body name wins over an unverified sender",
			`"Amazon.co.uk" <auto-confirm@amazon.co.uk>`,
			"Gadget Shop Ltd\n1 Market Street\nTotal   £5.00\n",
			"Gadget Shop Ltd", domain.FieldSourceText},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := e.Extract(t.Context(), email(c.from, c.body), "message/rfc822")
			if err != nil {
				t.Fatal(err)
			}
			if got.Vendor != c.vendor || got.Sources["vendor"] != c.source {
				t.Errorf("vendor %q from %q, want %q from %q", got.Vendor, got.Sources["vendor"], c.vendor, c.source)
			}
		})
	}
}
