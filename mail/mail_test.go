package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"tally/mail"
	"tally/mail/mailtest"
)

const from = "Tally <tally@example.com>"

func newSender(t *testing.T, url string) *mail.Sender {
	t.Helper()
	s, err := mail.NewSender(mail.Config{URL: url, From: from, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func send(t *testing.T, s *mail.Sender, m mail.Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, m)
}

func plainMessage(to string) mail.Message {
	return mail.Message{To: to, Subject: "Hello", Text: "Hello there.\n"}
}

// parts reads the MIME parts of a multipart body (quoted-printable is
// decoded by multipart.Reader; base64 is left to the caller).
type part struct {
	header map[string][]string
	body   []byte
}

func readParts(t *testing.T, contentType string, body io.Reader) (string, []part) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type = %q, want multipart/*", mt)
	}
	mr := multipart.NewReader(body, params["boundary"])
	var out []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		out = append(out, part{header: p.Header, body: b})
	}
	return mt, out
}

func crlfToLF(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }

func TestSendTextAndHTML(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())

	subject := "Rechnung Nr. 42 – fällig: 12,50 €"
	text := "Hallo Ann,\n\nIhre Rechnung über 12,50 € ist fällig.\n"
	html := "<p>Hallo Ann,</p><p>Ihre Rechnung über <b>12,50 €</b> ist fällig.</p>\n"
	msg := mail.Message{
		To:        "Ann Müller <ann@example.com>",
		Subject:   subject,
		Text:      text,
		HTML:      html,
		MessageID: "evt-0192abcd-ef01@example.com",
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://tally.example.com/unsubscribe/abc>",
			"list-unsubscribe-post": "List-Unsubscribe=One-Click",
			"X-Tally-Event":         "invoice.sent",
			"Reply-To":              "Billing <billing@example.com>",
		},
	}
	if err := send(t, s, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]

	if got.From != "tally@example.com" {
		t.Errorf("MAIL FROM = %q", got.From)
	}
	if len(got.To) != 1 || got.To[0] != "ann@example.com" {
		t.Errorf("RCPT TO = %q", got.To)
	}
	if h := got.Header.Get("Message-Id"); h != "<evt-0192abcd-ef01@example.com>" {
		t.Errorf("Message-ID header = %q", h)
	}
	if got.MessageID != msg.MessageID {
		t.Errorf("Received.MessageID = %q", got.MessageID)
	}

	// The header block must be pure ASCII: non-ASCII only as encoded words.
	head, _, _ := bytes.Cut(got.Data, []byte("\r\n\r\n"))
	for i, c := range head {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte in header at %d: %q", i, head)
		}
	}
	rawSubject := got.Header.Get("Subject")
	if !strings.Contains(rawSubject, "=?UTF-8?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", rawSubject)
	}
	dec := new(mime.WordDecoder)
	if s, err := dec.DecodeHeader(rawSubject); err != nil || s != subject {
		t.Errorf("Subject decodes to %q (%v), want %q", s, err, subject)
	}

	if a, err := got.Header.AddressList("From"); err != nil || len(a) != 1 ||
		a[0].Name != "Tally" || a[0].Address != "tally@example.com" {
		t.Errorf("From = %v (%v)", a, err)
	}
	if a, err := got.Header.AddressList("To"); err != nil || len(a) != 1 ||
		a[0].Name != "Ann Müller" || a[0].Address != "ann@example.com" {
		t.Errorf("To = %v (%v)", a, err)
	}
	if a, err := got.Header.AddressList("Reply-To"); err != nil || len(a) != 1 ||
		a[0].Address != "billing@example.com" {
		t.Errorf("Reply-To = %v (%v)", a, err)
	}
	for k, want := range map[string]string{
		"List-Unsubscribe":      "<https://tally.example.com/unsubscribe/abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Tally-Event":         "invoice.sent",
		"Mime-Version":          "1.0",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if _, err := got.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}

	m, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, parts := readParts(t, m.Header.Get("Content-Type"), m.Body)
	if mt != "multipart/alternative" {
		t.Fatalf("top-level type = %s, want multipart/alternative", mt)
	}
	if len(parts) != 2 {
		t.Fatalf("got %d parts, want 2", len(parts))
	}
	for i, want := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", html}} {
		ct, params, _ := mime.ParseMediaType(parts[i].header["Content-Type"][0])
		if ct != want.ct || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("part %d Content-Type = %q", i, parts[i].header["Content-Type"])
		}
		if b := crlfToLF(parts[i].body); strings.TrimRight(b, "\n") != strings.TrimRight(want.body, "\n") {
			t.Errorf("part %d body = %q, want %q", i, b, want.body)
		}
	}
}

func TestSendAttachment(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	csv := []byte("number;customer;amount\r\n2024-001;Müller GmbH;12,50\r\n2024-002;\"Smith; Co\";99,00\r\n")

	msg := plainMessage("ann@example.com")
	msg.Attachments = []mail.Attachment{{Filename: "invoices-2024.csv", ContentType: "text/csv", Data: csv}}
	if err := send(t, s, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]

	m, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, parts := readParts(t, m.Header.Get("Content-Type"), m.Body)
	if mt != "multipart/mixed" {
		t.Fatalf("top-level type = %s, want multipart/mixed", mt)
	}
	var found bool
	for _, p := range parts {
		disp, params, err := mime.ParseMediaType(strings.Join(p.header["Content-Disposition"], ""))
		if err != nil || disp != "attachment" {
			continue
		}
		found = true
		if params["filename"] != "invoices-2024.csv" {
			t.Errorf("filename = %q", params["filename"])
		}
		if ct, _, _ := mime.ParseMediaType(p.header["Content-Type"][0]); ct != "text/csv" {
			t.Errorf("attachment Content-Type = %q", p.header["Content-Type"])
		}
		if enc := p.header["Content-Transfer-Encoding"]; len(enc) != 1 || !strings.EqualFold(enc[0], "base64") {
			t.Fatalf("Content-Transfer-Encoding = %q", enc)
		}
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(p.body)), ""))
		if err != nil {
			t.Fatalf("base64: %v", err)
		}
		if !bytes.Equal(data, csv) {
			t.Errorf("attachment = %q, want %q", data, csv)
		}
	}
	if !found {
		t.Fatalf("no attachment part in %d parts", len(parts))
	}
}

func TestTemporaryFailure451(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	srv.FailNext(1, 451, "greylisted, try again later")

	err := send(t, s, plainMessage("ann@example.com"))
	if !errors.Is(err, mail.ErrTemporary) || errors.Is(err, mail.ErrPermanent) {
		t.Fatalf("err = %v, want ErrTemporary only", err)
	}
	var se *gomail.SendError
	if !errors.As(err, &se) || se.ErrorCode() != 451 {
		t.Errorf("want a go-mail SendError with code 451, got %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server stored %d messages", n)
	}

	// The retry goes through.
	if err := send(t, s, plainMessage("ann@example.com")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	srv.WaitFor(t, 1, 5*time.Second)
}

func TestPermanentFailure550(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	srv.FailNext(1, 550, "no such user")

	err := send(t, s, plainMessage("nobody@example.com"))
	if !errors.Is(err, mail.ErrPermanent) || errors.Is(err, mail.ErrTemporary) {
		t.Fatalf("err = %v, want ErrPermanent only", err)
	}
	if !strings.Contains(err.Error(), "no such user") {
		t.Errorf("error does not carry the server's reply: %v", err)
	}
}

func TestDataRejection(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{{452, mail.ErrTemporary}, {554, mail.ErrPermanent}} {
		srv := mailtest.Start(t)
		s := newSender(t, srv.URL())
		srv.FailNextData(1, tc.code, "rejected at end of data")
		err := send(t, s, plainMessage("ann@example.com"))
		if !errors.Is(err, tc.want) {
			t.Errorf("DATA %d: err = %v, want %v", tc.code, err, tc.want)
		}
	}
}

func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s := newSender(t, "smtp://"+addr)
	err = send(t, s, plainMessage("ann@example.com"))
	if !errors.Is(err, mail.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}

	// Also after a mailtest server has stopped.
	srv := mailtest.Start(t)
	srv.Close()
	s = newSender(t, srv.URL())
	if err := send(t, s, plainMessage("ann@example.com")); !errors.Is(err, mail.ErrTemporary) {
		t.Fatalf("stopped server: err = %v, want ErrTemporary", err)
	}
}

func TestTimeout(t *testing.T) {
	// A server that accepts connections and never says anything.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // ln closed at the end of the test
			}
			conns = append(conns, c)
		}
	}()

	s, err := mail.NewSender(mail.Config{URL: "smtp://" + ln.Addr().String(), From: from, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Send(context.Background(), plainMessage("ann@example.com"))
	if !errors.Is(err, mail.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s with a 300ms timeout", d)
	}

	// The context's deadline counts too.
	s = newSender(t, "smtp://"+ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.Send(ctx, plainMessage("ann@example.com")); !errors.Is(err, mail.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s with a 200ms context", d)
	}
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	for name, m := range map[string]mail.Message{
		"no recipient":        {Subject: "x", Text: "x"},
		"bad recipient":       {To: "not an address", Subject: "x", Text: "x"},
		"two recipients":      {To: "a@example.com, b@example.com", Subject: "x", Text: "x"},
		"no body":             {To: "a@example.com", Subject: "x"},
		"subject newline":     {To: "a@example.com", Subject: "x\r\nBcc: evil@example.com", Text: "x"},
		"header injection":    {To: "a@example.com", Text: "x", Headers: map[string]string{"X-A": "1\r\nBcc: evil@example.com"}},
		"reserved header":     {To: "a@example.com", Text: "x", Headers: map[string]string{"bcc": "evil@example.com"}},
		"bad header name":     {To: "a@example.com", Text: "x", Headers: map[string]string{"X A": "1"}},
		"bracketed MessageID": {To: "a@example.com", Text: "x", MessageID: "<id@example.com>"},
		"MessageID no domain": {To: "a@example.com", Text: "x", MessageID: "just-an-id"},
		"nameless attachment": {To: "a@example.com", Text: "x", Attachments: []mail.Attachment{{Data: []byte("x")}}},
	} {
		err := send(t, s, m)
		if !errors.Is(err, mail.ErrPermanent) {
			t.Errorf("%s: err = %v, want ErrPermanent", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestGeneratedMessageID(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	if d := s.MessageIDDomain(); d != "example.com" {
		t.Fatalf("MessageIDDomain = %q", d)
	}
	if err := send(t, s, plainMessage("ann@example.com")); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if !strings.HasSuffix(got.MessageID, "@example.com") || len(got.MessageID) < len("@example.com")+16 {
		t.Errorf("generated Message-ID = %q", got.MessageID)
	}
}

func TestTLSAndAuth(t *testing.T) {
	t.Run("STARTTLS with AUTH", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithSTARTTLS())
		url := strings.Replace(srv.URL(), "smtp://", "smtp://alice:s%3Acret@", 1) + "?starttls=required&insecure_skip_verify=true"
		if err := send(t, newSender(t, url), plainMessage("ann@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := srv.WaitFor(t, 1, 5*time.Second)[0]
		if !got.TLS || got.Username != "alice" {
			t.Errorf("TLS = %v, user = %q; want TLS as alice", got.TLS, got.Username)
		}
	})
	t.Run("opportunistic STARTTLS", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithSTARTTLS())
		if err := send(t, newSender(t, srv.URL()+"?insecure_skip_verify=true"), plainMessage("ann@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS || got.Username != "" {
			t.Errorf("TLS = %v, user = %q; want TLS, no auth", got.TLS, got.Username)
		}
	})
	t.Run("implicit TLS with AUTH", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithImplicitTLS())
		if !strings.HasPrefix(srv.URL(), "smtps://") {
			t.Fatalf("URL = %s", srv.URL())
		}
		url := strings.Replace(srv.URL(), "smtps://", "smtps://bob:pw@", 1) + "?insecure_skip_verify=true"
		if err := send(t, newSender(t, url), plainMessage("ann@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS || got.Username != "bob" {
			t.Errorf("TLS = %v, user = %q; want TLS as bob", got.TLS, got.Username)
		}
	})
	t.Run("certificate is verified by default", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithImplicitTLS())
		err := send(t, newSender(t, srv.URL()), plainMessage("ann@example.com"))
		if !errors.Is(err, mail.ErrTemporary) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v, want a temporary certificate error", err)
		}
	})
	t.Run("starttls=required without STARTTLS", func(t *testing.T) {
		srv := mailtest.Start(t)
		err := send(t, newSender(t, srv.URL()+"?starttls=required"), plainMessage("ann@example.com"))
		if !errors.Is(err, mail.ErrTemporary) || len(srv.Messages()) != 0 {
			t.Errorf("err = %v, want ErrTemporary and nothing sent", err)
		}
	})
	t.Run("no password over a plain connection", func(t *testing.T) {
		srv := mailtest.Start(t) // offers AUTH PLAIN without TLS
		err := send(t, newSender(t, strings.Replace(srv.URL(), "smtp://", "smtp://alice:secret@", 1)), plainMessage("ann@example.com"))
		if !errors.Is(err, mail.ErrTemporary) || len(srv.Messages()) != 0 {
			t.Errorf("err = %v, want a refusal to authenticate in the clear", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []mail.Config{
		{URL: "smtp://user:pass@mail.example.com:587", From: "Tally <tally@example.com>"},
		{URL: "smtp://user:pass@mail.example.com:587?starttls=required", From: "tally@example.com"},
		{URL: "smtps://user:pass@mail.example.com:465", From: "tally@example.com", Timeout: time.Minute},
		{URL: "smtp://localhost:25", From: "tally@example.com"},
		{URL: "smtp://127.0.0.1:2525?insecure_skip_verify=true", From: "tally@example.com"},
		{URL: "smtp://mail.example.com", From: "tally@example.com"},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}

	bad := mail.Config{URL: "ftp://user:hunter2@host:99999?bogus=1", From: "not an address", Timeout: -time.Second}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) < 5 {
		t.Fatalf("want several joined errors, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`unknown scheme "ftp"`, `invalid port "99999"`, `unknown parameter "bogus"`, "MAIL_FROM", "negative"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error reveals the password:\n%s", msg)
	}
	if s := bad.String(); strings.Contains(s, "hunter2") {
		t.Errorf("Config.String reveals the password: %s", s)
	}

	for _, c := range []mail.Config{
		{URL: "", From: "tally@example.com"},
		{URL: "mail.example.com:587", From: "tally@example.com"},
		{URL: "smtp://", From: "tally@example.com"},
		{URL: "smtp://host/path", From: "tally@example.com"},
		{URL: "smtp://host?starttls=maybe", From: "tally@example.com"},
		{URL: "smtps://host?starttls=required", From: "tally@example.com"},
		{URL: "smtp://:pw@host", From: "tally@example.com"},
		{URL: "smtp://host", From: ""},
		{URL: "smtp://host", From: "Tally <tally>"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%v: Validate accepted it", c)
		}
	}

	if _, err := mail.NewSender(bad); err == nil {
		t.Error("NewSender accepted a bad config")
	}
}
