package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// ErrTemporary marks failures worth a retry: 4xx replies, connection
// errors, timeouts, and problems while connecting (greeting, STARTTLS,
// authentication), which concern the server or the configuration rather
// than the message.
var ErrTemporary = errors.New("temporary mail failure")

// ErrPermanent marks failures that a retry cannot fix: 5xx replies to the
// message's MAIL FROM, RCPT TO or DATA, and messages that cannot be built
// (invalid recipient, header, Message-ID, ...).
var ErrPermanent = errors.New("permanent mail failure")

// Attachment is a file attached to a Message.
type Attachment struct {
	Filename    string
	ContentType string // e.g. "text/csv"; default application/octet-stream
	Data        []byte
}

// Message is one e-mail to one recipient.
type Message struct {
	To      string // one address, "Ann <ann@example.com>" or bare
	Subject string
	Text    string // text/plain part
	HTML    string // text/html part (alternative), optional

	// MessageID is set as the Message-ID header (without angle brackets,
	// e.g. "evt-0192...@example.com"), so that a resend of the same
	// notification is recognisable as a duplicate. When empty a random one
	// at MessageIDDomain is used.
	MessageID string

	// Headers are extra header fields, e.g. List-Unsubscribe and
	// List-Unsubscribe-Post. Reply-To is accepted as an address list.
	// Fields this package sets itself (From, To, Subject, Message-ID,
	// Date, MIME and Content-* fields, ...) are refused.
	Headers map[string]string

	Attachments []Attachment
}

// Sender delivers messages over SMTP. It is safe for concurrent use; every
// Send opens its own connection.
type Sender struct {
	ep      endpoint
	from    *mail.Address
	domain  string
	timeout time.Duration
	tlsConf *tls.Config
}

// NewSender validates cfg and returns a Sender. It does not connect.
func NewSender(cfg Config) (*Sender, error) {
	ep, from, timeout, errs := cfg.parse()
	if len(errs) > 0 {
		return nil, fmt.Errorf("mail: invalid config: %w", errors.Join(errs...))
	}
	_, domain, _ := splitAddr(from.Address)
	return &Sender{
		ep:      ep,
		from:    from,
		domain:  strings.ToLower(domain),
		timeout: timeout,
		tlsConf: &tls.Config{
			ServerName:         ep.host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: ep.insecure, //nolint:gosec // opt-in via SMTP_URL for self-signed test servers
		},
	}, nil
}

// MessageIDDomain is the domain part to use in Message-IDs (From's domain).
func (s *Sender) MessageIDDomain() string { return s.domain }

// Send delivers one message. A non-nil error wraps ErrTemporary or
// ErrPermanent (and the underlying go-mail error, e.g. *gomail.SendError).
//
// The time allowed is Config.Timeout or the context's deadline, whichever is
// earlier; it applies to connecting and, again, to the SMTP transaction.
// Cancelling ctx aborts connecting; a transaction already under way runs to
// its end or to that deadline.
//
// Once the server has accepted the message, Send reports success even if
// the connection then fails (QUIT/RSET), so a retry does not duplicate it.
//
// The error's message names no e-mail address (RedactAddresses): servers
// quote the recipient in their replies, and the error is logged and
// stored.
func (s *Sender) Send(ctx context.Context, m Message) error {
	return redact(s.send(ctx, m))
}

func (s *Sender) send(ctx context.Context, m Message) error {
	msg, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("mail: %w: %w", ErrPermanent, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %w: %w", ErrTemporary, err)
	}

	timeout := s.timeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return fmt.Errorf("mail: %w: %w", ErrTemporary, context.DeadlineExceeded)
	}

	client, err := gomail.NewClient(s.ep.host, s.clientOptions(timeout)...)
	if err != nil {
		return fmt.Errorf("mail: %w: %w", ErrTemporary, err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		// Greeting, EHLO, STARTTLS and AUTH failures concern the server or
		// our configuration, not this message: retrying may succeed once
		// the server or the operator has fixed it.
		return fmt.Errorf("mail: %w: connecting to %s:%d: %w", ErrTemporary, s.ep.host, s.ep.port, err)
	}
	defer func() { _ = client.CloseWithSMTPClient(conn) }()

	err = client.SendWithSMTPClient(conn, msg)
	if err == nil || msg.IsDelivered() {
		return nil
	}
	if isPermanent(err) {
		return fmt.Errorf("mail: %w: %w", ErrPermanent, err)
	}
	return fmt.Errorf("mail: %w: %w", ErrTemporary, err)
}

func (s *Sender) clientOptions(timeout time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.ep.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tlsConf),
	}
	switch {
	case s.ep.implicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.ep.starttlsRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.ep.user != "" {
		// Auto-discovery never picks PLAIN or LOGIN on an unencrypted
		// connection, so the password is not sent in the clear.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.ep.user),
			gomail.WithPassword(s.ep.pass),
		)
	}
	return opts
}

// isPermanent classifies an error of the SMTP transaction (after connecting).
func isPermanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch code := se.ErrorCode(); {
		case code >= 500 && code < 600:
			return true
		case code >= 400 && code < 500:
			return false
		}
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return true // the message itself is unsendable
		}
		return false // no reply code: connection broke, timed out, ...
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code < 600
	}
	return false
}

// reservedHeaders are set by compose or by go-mail and cannot be given in
// Message.Headers (lower case).
var reservedHeaders = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true,
	"subject": true, "message-id": true, "date": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true,
	"content-disposition": true, "content-id": true, "return-path": true,
}

// compose builds the go-mail message; every error is a problem of m.
func (s *Sender) compose(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)

	if strings.TrimSpace(m.To) == "" {
		return nil, errors.New("no recipient")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("invalid recipient %q: %w", m.To, err)
	}
	if _, domain, ok := splitAddr(to.Address); !ok || !validDomain(domain) {
		return nil, fmt.Errorf("invalid recipient %q: want local@domain", m.To)
	}
	msg.ToMailAddress(to)

	if hasLineBreak(m.Subject) {
		return nil, errors.New("subject contains a line break")
	}
	msg.Subject(m.Subject)

	id := m.MessageID
	if id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:]) + "@" + s.domain
	}
	if err := checkMessageID(id); err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(id)
	msg.SetDate()

	seen := make(map[string]bool, len(m.Headers))
	for name, value := range m.Headers {
		if !validFieldName(name) {
			return nil, fmt.Errorf("invalid header name %q", name)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		lower := strings.ToLower(canon)
		if reservedHeaders[lower] {
			return nil, fmt.Errorf("header %s cannot be set through Message.Headers", canon)
		}
		if seen[lower] {
			return nil, fmt.Errorf("header %s given twice", canon)
		}
		seen[lower] = true
		if hasLineBreak(value) {
			return nil, fmt.Errorf("header %s contains a line break", canon)
		}
		if lower == "reply-to" {
			addrs, err := mail.ParseAddressList(value)
			if err != nil {
				return nil, fmt.Errorf("invalid Reply-To %q: %w", value, err)
			}
			msg.ReplyToMailAddress(addrs...)
			continue
		}
		msg.SetGenHeader(gomail.Header(canon), value)
	}

	switch {
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		if m.HTML != "" {
			msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
		}
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		return nil, errors.New("message has neither text nor HTML body")
	}

	for i, a := range m.Attachments {
		name := strings.TrimSpace(a.Filename)
		if name == "" || hasLineBreak(name) || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("attachment %d: invalid file name %q", i, a.Filename)
		}
		ct := strings.TrimSpace(a.ContentType)
		if ct == "" {
			ct = string(gomail.TypeAppOctetStream)
		}
		if hasLineBreak(ct) {
			return nil, fmt.Errorf("attachment %s: invalid content type %q", name, a.ContentType)
		}
		if err := msg.AttachReader(name, bytes.NewReader(a.Data),
			gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("attachment %s: %w", name, err)
		}
	}
	return msg, nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// checkMessageID accepts "left@right" (RFC 5322 msg-id without brackets).
func checkMessageID(id string) error {
	left, right, ok := splitAddr(id)
	if !ok || strings.Count(id, "@") != 1 {
		return fmt.Errorf("invalid Message-ID %q: want left@right without angle brackets", id)
	}
	for _, r := range left + right {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>()[]\,;:"`, r) {
			return fmt.Errorf("invalid Message-ID %q: character %q not allowed", id, r)
		}
	}
	return nil
}

// validFieldName: printable US-ASCII except colon (RFC 5322 §3.6.8).
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}
