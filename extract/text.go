package extract

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"tally/einvoice"
	"unicode/utf8"
)

// Content types the engine reads.
const (
	TypePDF   = "application/pdf"
	TypeEmail = "message/rfc822"
	TypeText  = "text/plain"
	TypeHTML  = "text/html"
)

// Text returns the plain text of a document, as FromText expects it: lines
// separated by "\n", table cells separated by runs of spaces. It is the first
// half of Extract, exported so that callers can store or inspect the text.
func (e *Engine) Text(ctx context.Context, content []byte, contentType string) (string, error) {
	d, err := e.read(ctx, content, contentType)
	return d.text, err
}

// docText is what read finds in a document.
type docText struct {
	text string
	// title is the HTML <title> of an HTML document or e-mail body:
	// e-receipts name the shop or the payee there.
	title string
	// ocr is the local OCR reading of an image, with its word
	// confidences; nil for other documents.
	ocr *ocrReading
	// sender is an e-mail's From: address; nil for other documents.
	sender *mail.Address
}

// read is Text that also returns what else the reading learnt (docText).
func (e *Engine) read(ctx context.Context, content []byte, contentType string) (docText, error) {
	title := ""
	var reading *ocrReading
	var sender *mail.Address
	if err := ctx.Err(); err != nil {
		return docText{}, fmt.Errorf("extract: %w", err)
	}
	mediaType, params := parseContentType(contentType)
	if mediaType == "" || mediaType == "application/octet-stream" {
		mediaType = sniff(content)
	}
	if isXMLType(mediaType) {
		return docText{}, fmt.Errorf("%w: %s is an e-invoice, read as structured data, not as text", ErrUnsupported, mediaType)
	}
	var text string
	switch {
	case mediaType == TypePDF || mediaType == "application/x-pdf":
		t, err := e.pdfText(ctx, content)
		if err != nil {
			return docText{}, err
		}
		text = t
	case mediaType == TypeEmail:
		t, ti, from, err := e.emailText(ctx, content)
		if err != nil {
			return docText{}, err
		}
		text, title, sender = t, ti, from
	case mediaType == TypeText:
		text = decodeCharset(content, params["charset"])
	case mediaType == TypeHTML || mediaType == "application/xhtml+xml":
		doc := decodeCharset(content, params["charset"])
		text, title = htmlToText(doc), htmlTitle(doc)
	case strings.HasPrefix(mediaType, "image/"):
		t, r, err := e.imageText(ctx, content, mediaType)
		if err != nil {
			return docText{}, err
		}
		text, reading = t, r
	case mediaType == "":
		return docText{}, fmt.Errorf("%w: content type missing and not recognisable from the content", ErrUnsupported)
	default:
		return docText{}, fmt.Errorf("%w: %s", ErrUnsupported, mediaType)
	}
	text = truncateUTF8(text, e.limits.MaxTextBytes)
	if strings.TrimSpace(text) == "" {
		return docText{}, errNoText(mediaType)
	}
	return docText{text: text, title: title, ocr: reading, sender: sender}, nil
}

// parseContentType lower-cases the media type and tolerates malformed
// parameters (the media type alone is still useful then).
func parseContentType(ct string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		params = nil
	}
	return strings.ToLower(strings.TrimSpace(mt)), params
}

// sniff recognises the few formats that have unmistakable magic bytes, for
// callers that send application/octet-stream.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return TypePDF
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case einvoice.Sniff(b):
		return TypeXML
	}
	return ""
}

// sniffedType is the media type Extract goes by: the one given, or, when
// none (or application/octet-stream) is, the one sniffed from the content.
func sniffedType(content []byte, contentType string) string {
	mediaType, _ := parseContentType(contentType)
	if mediaType == "" || mediaType == "application/octet-stream" {
		mediaType = sniff(content)
	}
	if mediaType == "application/x-pdf" {
		mediaType = TypePDF
	}
	return mediaType
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// decodeCharset turns b into UTF-8. UTF-8 (and ASCII) pass through; the
// Latin-1 family is mapped; anything else that is not valid UTF-8 is read as
// Windows-1252, the most common mislabelled charset in receipts.
func decodeCharset(b []byte, charset string) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "iso-8859-15":
		return decode1252(b)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return decode1252(b)
}

// win1252 holds the characters Windows-1252 puts in 0x80-0x9F (where
// ISO-8859-1 has control characters); 0 means undefined.
var win1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

func decode1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			if r := win1252[c-0x80]; r != 0 {
				sb.WriteRune(r)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// TypeOfFile maps a file name to the content type the engine reads; an
// unknown extension gives "", which leaves the type to sniffing.
func TypeOfFile(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pdf":
		return TypePDF
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".eml":
		return TypeEmail
	case ".html", ".htm":
		return TypeHTML
	case ".txt":
		return TypeText
	case ".xml":
		return "application/xml"
	}
	return ""
}
