package mail_test

import (
	"errors"
	"strings"
	"testing"

	"tally/mail"
	"tally/mail/mailtest"
)

// A server that quotes the recipient in its refusal, and a message the
// library refuses for its recipient: neither error names the address,
// and both still say what kind of failure it was.
func TestSendErrorsNameNoAddress(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	srv.FailNext(1, 550, "5.1.1 <nobody.here@example.com>: Recipient address rejected")
	err := send(t, s, plainMessage("nobody.here@example.com"))
	if !errors.Is(err, mail.ErrPermanent) || !strings.Contains(err.Error(), "Recipient address rejected") {
		t.Fatalf("refused recipient: %v", err)
	}
	if strings.Contains(err.Error(), "nobody.here") {
		t.Fatalf("the error names the recipient: %v", err)
	}
	err = send(t, s, plainMessage("two@example.com, three@example.org"))
	if err == nil || !errors.Is(err, mail.ErrPermanent) || strings.Contains(err.Error(), "two@") || strings.Contains(err.Error(), "three@") {
		t.Fatalf("invalid recipient: %v", err)
	}
}

func TestRedactAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"550 <Ann.Lee+x@mail.example.co.uk> rejected": "550 <<address>> rejected",
		"rcpt a@b and c_d@e-f.g":                      "rcpt <address> and <address>",
		"no address here @ all":                       "no address here @ all",
	} {
		if got := mail.RedactAddresses(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
