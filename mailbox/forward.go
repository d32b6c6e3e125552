package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"time"

	"tally/intake"
	"tally/mailcodec"
)

// ErrNotForwarded means a message holds no forwarded header block (nor an
// attached original) from which the merchant's message can be recovered.
var ErrNotForwarded = errors.New("no forwarded message found")

// Forwarded is what a forwarded message says about the original.
type Forwarded struct {
	// Forwarder is the From of the forwarding message: the user.
	Forwarder *mail.Address
	// From is the original sender: the merchant.
	From    *mail.Address
	To      string
	Subject string
	// Date is the original date; the forwarding message's date when the
	// block's date could not be read.
	Date time.Time
}

// Limits of the MIME walk; real forwards nest a few levels deep at most.
const (
	maxForwardDepth = 10
	maxForwardParts = 100
	// maxNestedForwards: a forward of a forward of ... is unwrapped to the
	// innermost block, at most this deep.
	maxNestedForwards = 5
)

// Unforward rebuilds the original message from a forwarded one: From the
// merchant, the original Date, Subject and To, the forwarded body and the
// attachments, so extraction sees the merchant's e-mail. A message
// forwarded as an attachment (message/rfc822) is returned as attached.
func Unforward(raw []byte) ([]byte, Forwarded, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, Forwarded{}, fmt.Errorf("read forwarded message: %w", err)
	}
	var f Forwarded
	if f.Forwarder, err = parseAddress(msg.Header.Get("From")); err != nil {
		return nil, f, fmt.Errorf("forwarded message: From: %w", err)
	}
	outer, _ := mail.ParseDate(msg.Header.Get("Date"))
	w := &forwardWalk{}
	w.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0)
	if w.attached != nil {
		inner, err := mail.ReadMessage(bytes.NewReader(w.attached))
		// The attached message is passed on as it is, so it must be one
		// Tally takes as it stands.
		if _, ierr := intake.EmailMessage(w.attached); err == nil && ierr == nil {
			if from, err := mail.ParseAddress(inner.Header.Get("From")); err == nil {
				from.Address = strings.ToLower(from.Address)
				f.From, f.To, f.Subject = from, inner.Header.Get("To"), decodeHeader(inner.Header.Get("Subject"))
				f.Date, _ = mail.ParseDate(inner.Header.Get("Date"))
				if f.Date.IsZero() {
					f.Date = outer
				}
				return w.attached, f, nil
			}
		}
	}
	text := w.plain
	if text == "" && w.html != "" {
		text = htmlText(w.html)
	}
	block, ok := findBlock(text, outer.Location())
	if !ok {
		return nil, f, ErrNotForwarded
	}
	f.From, f.To, f.Subject, f.Date = block.from, block.to, block.subject, block.date
	if f.Date.IsZero() {
		f.Date = outer
	}
	if f.Date.IsZero() {
		f.Date = time.Unix(0, 0).UTC()
	}
	body := block.body
	if w.plain == "" {
		body = block.body // the HTML's text, for the text/plain part
	}
	htmlBody := ""
	if w.html != "" {
		htmlBody = htmlFromMarker(w.html)
	}
	out, err := rebuild(f, msg.Header.Get("Message-Id"), body, htmlBody, w.attachments)
	if err != nil {
		return nil, f, err
	}
	return out, f, nil
}

// rawPart is an attachment kept as it came: headers and encoded body.
type rawPart struct {
	header textproto.MIMEHeader
	body   []byte
}

type forwardWalk struct {
	parts       int
	plain, html string
	attached    []byte
	attachments []rawPart
}

func (w *forwardWalk) walk(h textproto.MIMEHeader, body io.Reader, depth int) {
	if depth > maxForwardDepth || w.parts >= maxForwardParts {
		return
	}
	w.parts++
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType == "" {
		mediaType, params = "text/plain", map[string]string{}
	}
	disposition, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if params["boundary"] == "" {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for w.parts < maxForwardParts {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			w.walk(p.Header, p, depth+1)
		}
	case mediaType == "message/rfc822" && w.attached == nil:
		b, err := io.ReadAll(decodeTransfer(h, body))
		if err == nil {
			w.attached = b
		}
	case disposition != "attachment" && mediaType == "text/plain" && w.plain == "":
		b, _ := io.ReadAll(decodeTransfer(h, body))
		w.plain = toUTF8(b, params["charset"])
	case disposition != "attachment" && mediaType == "text/html" && w.html == "":
		b, _ := io.ReadAll(decodeTransfer(h, body))
		w.html = toUTF8(b, params["charset"])
	case mediaType != "text/plain" && mediaType != "text/html" || disposition == "attachment":
		b, err := io.ReadAll(body)
		if err == nil {
			w.attachments = append(w.attachments, rawPart{header: h, body: b})
		}
	}
}

func decodeTransfer(h textproto.MIMEHeader, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	case "base64":
		return mailcodec.Base64Reader(body)
	}
	return body
}

// toUTF8 converts the charsets that are not UTF-8 and need no tables;
// anything else is read as UTF-8, which keeps the ASCII header block
// readable whatever the body's charset.
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "windows-1252", "us-ascii":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// block is one parsed forwarded header block.
type block struct {
	from    *mail.Address
	to      string
	subject string
	date    time.Time
	body    string
}

var (
	// Lines that open a forwarded block: Gmail, Thunderbird, Apple Mail,
	// Outlook's "Original Message" and its long underscore rule.
	markerPattern = regexp.MustCompile(`(?im)^[ \t>]*(?:-{2,}[ \t]*(?:forwarded message|original message)[ \t]*-{2,}[ \t]*|begin forwarded message:[ \t]*|_{10,}[ \t]*)$`)
	// Outlook without a marker: a From: line with a Sent: line soon after.
	outlookPattern = regexp.MustCompile(`(?im)^[ \t>]*\*?from:\*?[ \t]+\S.*\n(?:.*\n){0,3}?[ \t>]*\*?(?:sent|date):\*?[ \t]+\S`)
	headerLine     = regexp.MustCompile(`^\*?([A-Za-z][A-Za-z-]{1,20}):\*?(?:[ \t]+(.*))?$`)
	angleAddress   = regexp.MustCompile(`<([^<>\s]+@[^<>\s]+)>`)
	bareAddress    = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?`)
)

// findBlock finds the innermost forwarded block in text.
func findBlock(text string, loc *time.Location) (block, bool) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var found block
	ok := false
	for range maxNestedForwards {
		b, more := parseBlock(text, loc)
		if !more {
			break
		}
		found, ok, text = b, true, b.body
	}
	return found, ok
}

// parseBlock parses the first block in text, trying every place a block
// may start, earliest first.
func parseBlock(text string, loc *time.Location) (block, bool) {
	var starts []int
	for _, m := range markerPattern.FindAllStringIndex(text, 8) {
		starts = append(starts, m[1])
	}
	for _, m := range outlookPattern.FindAllStringIndex(text, 8) {
		starts = append(starts, m[0])
	}
	best, bestAt, ok := block{}, len(text)+1, false
	for _, at := range starts {
		if at >= bestAt {
			continue
		}
		if b, good := parseHeaders(text[at:], loc); good {
			best, bestAt, ok = b, at, true
		}
	}
	return best, ok
}

// parseHeaders reads "Key: value" lines up to the first blank line after
// them; the rest is the forwarded body.
func parseHeaders(s string, loc *time.Location) (block, bool) {
	lines := strings.SplitAfter(s, "\n")
	fields := map[string]string{}
	last := ""
	// quoted: the block came quoted ("> From: ..."), as Apple Mail sends
	// it; its body then loses one level of quoting.
	quoted := false
	i := 0
	for ; i < len(lines) && i < 40; i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		if len(fields) == 0 && strings.HasPrefix(strings.TrimLeft(line, " \t"), ">") && strings.TrimLeft(line, "> \t") != "" {
			quoted = true
		}
		line = strings.TrimLeft(line, "> \t")
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				i++
				break
			}
			continue
		}
		if m := headerLine.FindStringSubmatch(line); m != nil {
			last = strings.ToLower(m[1])
			if _, seen := fields[last]; !seen {
				fields[last] = strings.TrimSpace(m[2])
			}
			continue
		}
		// A folded line continues the previous field (Outlook wraps long
		// To: lists); anything else ends the block.
		if last != "" && (strings.HasPrefix(lines[i], " ") || strings.HasPrefix(lines[i], "\t")) {
			fields[last] += " " + strings.TrimSpace(line)
			continue
		}
		break
	}
	from, err := parseAddress(fields["from"])
	if err != nil {
		return block{}, false
	}
	b := block{from: from, to: oneLine(fields["to"]), subject: oneLine(fields["subject"])}
	date := fields["date"]
	if date == "" {
		date = fields["sent"]
	}
	b.date = parseLooseDate(date, loc)
	rest := lines[min(i, len(lines)):]
	if quoted {
		rest = slices.Clone(rest)
		for j, l := range rest {
			if t, ok := strings.CutPrefix(l, ">"); ok {
				rest[j] = strings.TrimPrefix(t, " ")
			}
		}
	}
	b.body = strings.Join(rest, "")
	return b, true
}

// parseAddress reads an address as forwarded blocks print it:
// "Shop <orders@shop.example>", "Shop [mailto:orders@shop.example]",
// "orders@shop.example", or a name with unquoted commas.
func parseAddress(s string) (*mail.Address, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "*", ""))
	if s == "" {
		return nil, errors.New("no address")
	}
	s = strings.NewReplacer("[mailto:", "<", "]", ">").Replace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		a.Address = strings.ToLower(a.Address)
		return a, nil
	}
	addr := ""
	name := ""
	if m := angleAddress.FindStringSubmatchIndex(s); m != nil {
		addr = s[m[2]:m[3]]
		name = strings.Trim(strings.TrimSpace(s[:m[0]]), `"'`)
	} else if m := bareAddress.FindString(s); m != "" {
		addr = m
	}
	if addr == "" {
		return nil, fmt.Errorf("no e-mail address in the From line")
	}
	if _, err := mail.ParseAddress("<" + addr + ">"); err != nil {
		return nil, fmt.Errorf("no valid e-mail address in the From line")
	}
	return &mail.Address{Name: oneLine(name), Address: strings.ToLower(addr)}, nil
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 998 {
		s = strings.ToValidUTF8(s[:998], "")
	}
	return s
}

func decodeHeader(s string) string {
	d, err := (&mime.WordDecoder{}).DecodeHeader(s)
	if err != nil {
		return oneLine(s)
	}
	return oneLine(d)
}

var (
	weekdayPattern = regexp.MustCompile(`(?i)\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b\.?,?`)
	atPattern      = regexp.MustCompile(`(?i)\s(?:at|um|à|a las)\s`)
	gmtOffset      = regexp.MustCompile(`(?i)\(?(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\)?`)
)

// zoneOffsets are the abbreviations mail clients print; Go would read an
// unknown one as UTC.
var zoneOffsets = map[string]int{
	"UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}

var dateLayouts = func() []string {
	var out []string
	for _, d := range []string{"2 Jan 2006", "2 January 2006", "Jan 2 2006", "January 2 2006", "2006-01-02", "2. January 2006", "2. Jan 2006"} {
		for _, t := range []string{"15:04:05", "15:04", "3:04:05 PM", "3:04 PM", "3:04:05PM", "3:04PM"} {
			out = append(out, d+" "+t)
		}
		out = append(out, d)
	}
	return out
}()

// parseLooseDate reads the dates forwarded blocks print ("Mon, Nov 2, 2026
// at 10:00 AM", "2 November 2026 at 10:00:00 CET", "Monday, November 2,
// 2026 10:00 AM"); a date without a zone is in loc, the forwarder's. The
// zero time means unreadable.
func parseLooseDate(s string, loc *time.Location) time.Time {
	s = oneLine(s)
	if s == "" || len(s) > 200 {
		return time.Time{}
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	if loc == nil {
		loc = time.UTC
	}
	var zone *time.Location
	if m := gmtOffset.FindStringSubmatchIndex(s); m != nil {
		sign, hours, mins := s[m[2]:m[3]], atoi(s[m[4]:m[5]]), 0
		if m[6] >= 0 {
			mins = atoi(s[m[6]:m[7]])
		}
		off := hours*3600 + mins*60
		if sign == "-" {
			off = -off
		}
		zone = time.FixedZone("", off)
		s = s[:m[0]] + s[m[1]:]
	}
	s = weekdayPattern.ReplaceAllString(" "+s, " ")
	s = atPattern.ReplaceAllString(s, " ")
	s = strings.NewReplacer(",", " ", "a.m.", "AM", "p.m.", "PM", " am", " AM", " pm", " PM").Replace(s)
	fields := strings.Fields(s)
	if n := len(fields); n > 0 && zone == nil {
		if off, ok := zoneOffsets[strings.ToUpper(fields[n-1])]; ok {
			zone, fields = time.FixedZone(strings.ToUpper(fields[n-1]), off*3600), fields[:n-1]
		} else if z, err := time.Parse("-0700", fields[n-1]); err == nil {
			zone, fields = z.Location(), fields[:n-1]
		}
	}
	if zone == nil {
		zone = loc
	}
	s = strings.Join(fields, " ")
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t
		}
	}
	return time.Time{}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

var (
	tagPattern   = regexp.MustCompile(`(?s)<[^>]*>`)
	breakPattern = regexp.MustCompile(`(?i)<(?:br|/p|/div|/tr|/h[1-6]|/li|/blockquote)\b[^>]*>`)
	dropPattern  = regexp.MustCompile(`(?is)<(style|script|head)\b.*?</(?:style|script|head)\s*>`)
	htmlMarker   = regexp.MustCompile(`(?i)(?:-{2,}\s*(?:forwarded message|original message)\s*-{2,}|begin forwarded message:|<hr\b|<div[^>]*(?:gmail_quote|divRplyFwdMsg|appendonsend)[^>]*>)`)
)

// htmlText is the text of an HTML body, line breaks kept, enough to find a
// forwarded block in.
func htmlText(h string) string {
	h = dropPattern.ReplaceAllString(h, "")
	h = breakPattern.ReplaceAllString(h, "\n$0")
	h = tagPattern.ReplaceAllString(h, "")
	h = html.UnescapeString(h)
	h = strings.ReplaceAll(h, "\u00a0", " ")
	return h
}

// htmlFromMarker drops what the forwarder wrote above the forwarded block;
// the block itself stays, as HTML gives no reliable end to it.
func htmlFromMarker(h string) string {
	loc := htmlMarker.FindStringIndex(h)
	if loc == nil {
		return h
	}
	return "<html><body>" + h[loc[0]:]
}

// rebuild writes the original message back as RFC 5322.
func rebuild(f Forwarded, messageID, text, htmlBody string, attachments []rawPart) ([]byte, error) {
	var buf bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", f.From.String())
	to := f.Forwarder.String()
	if a, err := parseAddress(f.To); err == nil {
		to = a.String()
	}
	header("To", to)
	if f.Subject != "" {
		header("Subject", mime.QEncoding.Encode("utf-8", f.Subject))
	}
	header("Date", f.Date.Format(time.RFC1123Z))
	if id := oneLine(messageID); id != "" {
		header("Message-Id", id)
	}
	header("MIME-Version", "1.0")
	mixed := multipart.NewWriter(&buf)
	header("Content-Type", "multipart/mixed; boundary="+mixed.Boundary())
	buf.WriteString("\r\n")
	if err := writeBodies(mixed, text, htmlBody); err != nil {
		return nil, err
	}
	for _, a := range attachments {
		h := textproto.MIMEHeader{}
		for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-Id"} {
			if v := a.header.Get(k); v != "" {
				h.Set(k, oneLine(v))
			}
		}
		pw, err := mixed.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(a.body); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeBodies(mixed *multipart.Writer, text, htmlBody string) error {
	target := mixed
	if htmlBody != "" {
		alt := &bytes.Buffer{}
		altW := multipart.NewWriter(alt)
		if err := writeText(altW, "text/plain", text); err != nil {
			return err
		}
		if err := writeText(altW, "text/html", htmlBody); err != nil {
			return err
		}
		if err := altW.Close(); err != nil {
			return err
		}
		pw, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + altW.Boundary()}})
		if err != nil {
			return err
		}
		_, err = pw.Write(alt.Bytes())
		return err
	}
	return writeText(target, "text/plain", text)
}

func writeText(w *multipart.Writer, mediaType, body string) error {
	pw, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mediaType + "; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := io.WriteString(qp, body); err != nil {
		return err
	}
	return qp.Close()
}
