package extract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"

	"tally/mailcodec"
)

// MIME walking limits. Real receipts nest three or four levels deep at most;
// the limits only exist so that hostile input cannot make the walk expensive.
const (
	maxMIMEDepth = 10
	maxMIMEParts = 200
)

// header is what both mail.Header and textproto.MIMEHeader offer.
type header interface {
	Get(key string) string
}

// mimeWalk collects the readable parts of one message.
type mimeWalk struct {
	ctx      context.Context
	maxBytes int // per decoded part
	parts    int
	plain    []string // inline text/plain bodies
	html     []string // inline text/html bodies
	attText  []string // text attachments, used only when there is no body
	pdfs     [][]byte // PDF attachments, used only when there is no text
}

// emailText reads an RFC 822 message and returns its text. It prefers
// text/plain bodies (what the sender wrote for machines), then text/html
// bodies with the tags stripped, then text attachments, and finally the text
// of the first PDF attachment (many e-mailed invoices are just a PDF). The
// sender (From:) is returned too; nil when it does not parse.
func (e *Engine) emailText(ctx context.Context, content []byte) (string, string, *mail.Address, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(content))
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: e-mail: %v", ErrUnreadable, err)
	}
	sender, _ := mail.ParseAddress(msg.Header.Get("From"))
	text, title, err := e.emailBody(ctx, msg)
	return text, title, sender, err
}

func (e *Engine) emailBody(ctx context.Context, msg *mail.Message) (string, string, error) {
	w := &mimeWalk{ctx: ctx, maxBytes: e.limits.MaxTextBytes}
	w.walk(msg.Header, msg.Body, 0)
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("e-mail: %w", err)
	}
	switch {
	case nonEmpty(w.plain):
		return strings.Join(w.plain, "\n\n"), "", nil
	case nonEmpty(w.html):
		texts := make([]string, len(w.html))
		for i, h := range w.html {
			texts[i] = htmlToText(h)
		}
		return strings.Join(texts, "\n\n"), htmlTitle(w.html[0]), nil
	case nonEmpty(w.attText):
		return strings.Join(w.attText, "\n\n"), "", nil
	}
	for _, pdf := range w.pdfs {
		text, err := e.pdfText(ctx, pdf)
		if err == nil {
			return text, "", nil
		}
		if ctx.Err() != nil {
			return "", "", err
		}
	}
	return "", "", errNoText("e-mail")
}

func nonEmpty(ss []string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

func (w *mimeWalk) walk(h header, body io.Reader, depth int) {
	if depth > maxMIMEDepth || w.parts >= maxMIMEParts || w.ctx.Err() != nil {
		return
	}
	w.parts++

	mediaType, params := parseContentType(h.Get("Content-Type"))
	if mediaType == "" {
		mediaType = TypeText // RFC 2045 default
	}
	disposition, _ := parseContentType(h.Get("Content-Disposition"))
	attachment := disposition == "attachment"

	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		boundary := params["boundary"]
		if boundary == "" {
			return
		}
		mr := multipart.NewReader(body, boundary)
		for w.parts < maxMIMEParts && w.ctx.Err() == nil {
			// NextRawPart: this walker decodes transfer encodings itself,
			// the same way for every level.
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			w.walk(p.Header, p, depth+1)
		}
	case mediaType == TypeEmail:
		inner, err := mail.ReadMessage(w.decoded(h, body))
		if err != nil {
			return
		}
		w.walk(inner.Header, inner.Body, depth+1)
	case mediaType == TypeText || mediaType == TypeHTML:
		b := w.read(h, body)
		text := decodeCharset(b, params["charset"])
		switch {
		case attachment && mediaType == TypeHTML:
			w.attText = append(w.attText, htmlToText(text))
		case attachment:
			w.attText = append(w.attText, text)
		case mediaType == TypeHTML:
			w.html = append(w.html, text)
		default:
			w.plain = append(w.plain, text)
		}
	case mediaType == TypePDF || (mediaType == "application/octet-stream" && strings.HasSuffix(strings.ToLower(partFilename(h)), ".pdf")):
		if len(w.pdfs) < 3 {
			w.pdfs = append(w.pdfs, w.read(h, body))
		}
	}
}

// decoded undoes the part's Content-Transfer-Encoding.
func (w *mimeWalk) decoded(h header, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	case "base64":
		return mailcodec.Base64Reader(body)
	}
	return body
}

// read returns the decoded part, at most maxBytes of it. A decoding error
// keeps what was decoded so far: half a receipt is better than none.
func (w *mimeWalk) read(h header, body io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(w.decoded(h, body), int64(w.maxBytes)))
	return b
}

func partFilename(h header) string {
	_, params := parseContentType(h.Get("Content-Disposition"))
	if name := params["filename"]; name != "" {
		return name
	}
	_, params = parseContentType(h.Get("Content-Type"))
	return params["name"]
}
