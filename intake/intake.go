// Package intake decides whether an uploaded file is something Tally can
// take: its type by magic bytes (never by name or client header) and a
// structural check that catches empty, truncated or corrupt files before
// anything is stored.
package intake

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder for DecodeConfig
	_ "image/png"  // registers the PNG decoder for DecodeConfig
	"mime"
	"net/mail"
	"strings"
	"tally/einvoice"
	"time"
)

// Content types Tally accepts.
const (
	PDF   = "application/pdf"
	PNG   = "image/png"
	JPEG  = "image/jpeg"
	Email = "message/rfc822"
	// XML is a structured e-invoice: CII (XRechnung, Factur-X) or UBL
	// (XRechnung, Peppol BIS), recognised by its root element.
	XML = "application/xml"
)

// ErrRejected wraps every reason a file is refused; the message says what
// is wrong in words a user can act on.
var ErrRejected = errors.New("file rejected")

// MaxPixels bounds image dimensions so that a tiny file cannot claim a
// picture that takes gigabytes to decode later.
const MaxPixels = 100_000_000

func reject(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...))
}

// Document checks an invoice upload: a PDF, PNG, JPEG or an XML e-invoice.
// It returns the content type found. An XML e-invoice is read in full here,
// so a hostile one (entity declarations, external entities, too deep or too
// large) is refused before it is stored.
func Document(content []byte) (string, error) {
	if len(content) == 0 {
		return "", reject("the file is empty")
	}
	switch {
	case bytes.HasPrefix(content, []byte("%PDF-")):
		return PDF, checkPDF(content)
	case bytes.HasPrefix(content, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, checkImage(content, "PNG", []byte("IEND\xaeB`\x82"))
	case bytes.HasPrefix(content, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, checkImage(content, "JPEG", []byte{0xFF, 0xD9})
	case einvoice.Sniff(content):
		if _, err := einvoice.Parse(content); err != nil {
			return XML, reject("the XML e-invoice cannot be read: %v", err)
		}
		return XML, nil
	}
	return "", reject("the file is not a PDF, PNG or JPEG, nor an XML e-invoice (its first bytes match none of them)")
}

func checkPDF(content []byte) error {
	// A complete PDF ends with %%EOF (possibly followed by whitespace); a
	// truncated upload does not.
	tail := content[max(0, len(content)-2048):]
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return reject("the PDF is truncated or corrupt: no %%%%EOF marker at its end")
	}
	if !bytes.Contains(content, []byte("obj")) {
		return reject("the PDF is corrupt: it contains no objects")
	}
	return nil
}

func checkImage(content []byte, kind string, trailer []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		return reject("the %s is corrupt: %v", kind, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return reject("the %s has no pixels", kind)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return reject("the %s is %dx%d pixels, more than the %d allowed", kind, cfg.Width, cfg.Height, MaxPixels)
	}
	tail := content[max(0, len(content)-4096):]
	if !bytes.Contains(tail, trailer) {
		return reject("the %s is truncated: its end marker is missing", kind)
	}
	return nil
}

// Message is what EmailMessage learns from an e-receipt's headers.
type Message struct {
	To      *mail.Address
	From    *mail.Address
	Subject string
	// MessageID is the Message-ID without its angle brackets; empty when
	// the e-mail has none.
	MessageID string
	// Date is the Date header; zero when missing or unreadable.
	Date time.Time
}

// decodeHeader decodes RFC 2047 encoded words; a header that does not
// decode is kept as sent.
func decodeHeader(v string) string {
	v = strings.TrimSpace(v)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// EmailMessage checks a raw RFC 5322 message and returns its addressing.
func EmailMessage(content []byte) (Message, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return Message{}, reject("the e-mail is empty")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(content))
	if err != nil {
		return Message{}, reject("not an RFC 5322 e-mail: %v", err)
	}
	var m Message
	if from := msg.Header.Get("From"); from != "" {
		if m.From, err = mail.ParseAddress(from); err != nil {
			return Message{}, reject("the e-mail's From header is not an address: %v", err)
		}
	} else {
		return Message{}, reject("the e-mail has no From header")
	}
	if to := msg.Header.Get("To"); to != "" {
		list, err := mail.ParseAddressList(to)
		if err != nil {
			return Message{}, reject("the e-mail's To header is not an address list: %v", err)
		}
		m.To = list[0]
	}
	m.Subject = decodeHeader(msg.Header.Get("Subject"))
	m.MessageID = strings.Trim(strings.TrimSpace(msg.Header.Get("Message-Id")), "<>")
	if len(m.MessageID) > 500 {
		return Message{}, reject("the e-mail's Message-ID is longer than 500 characters")
	}
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d.UTC()
	}
	return m, nil
}
