package extract

import (
	"html"
	"strings"
)

// Tags whose content is never visible text.
var skipContent = map[string]bool{
	"script": true, "style": true, "head": true, "title": true, "noscript": true,
	"template": true, "svg": true, "object": true, "iframe": true,
}

// Tags that start a new line: the rules in FromText are line-oriented, and in
// HTML receipts a label and its value share a block or a table row.
var lineBreak = map[string]bool{
	"br": true, "p": true, "div": true, "tr": true, "li": true, "table": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"ul": true, "ol": true, "dl": true, "dt": true, "dd": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true,
	"blockquote": true, "pre": true, "address": true, "center": true,
	"form": true, "tbody": true, "thead": true, "tfoot": true, "caption": true,
}

// cell marks a table-cell boundary while building; it becomes a column gap.
const cell = '\t'

// htmlToText strips tags from an HTML document keeping its visual lines:
// block elements and <br> break lines, table cells on one row are separated
// by three spaces (like pdftotext -layout columns), and entities are decoded.
// It is a small tolerant scanner rather than a full HTML parser: receipts are
// rarely well-formed and only the visible text is needed.
func htmlToText(doc string) string {
	var sb strings.Builder
	sb.Grow(len(doc) / 2)
	lowerDoc := asciiLower(doc) // same byte offsets as doc
	unclosed := map[string]bool{}
	i := 0
	for i < len(doc) {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			writeText(&sb, doc[i:])
			break
		}
		writeText(&sb, doc[i:i+lt])
		i += lt
		rest := doc[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(doc)
			} else {
				i += 4 + end + 3
			}
			continue
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			i += skipTag(rest)
			continue
		}
		closing := strings.HasPrefix(rest, "</")
		nameStart := 1
		if closing {
			nameStart = 2
		}
		j := nameStart
		for j < len(rest) && isTagNameByte(rest[j]) {
			j++
		}
		if j == nameStart {
			// "<" not followed by a tag name ("a < b"): plain text.
			writeText(&sb, "<")
			i++
			continue
		}
		name := strings.ToLower(rest[nameStart:j])
		n := skipTag(rest)
		i += n
		switch {
		case !closing && skipContent[name] && !strings.HasSuffix(strings.TrimSpace(rest[:n]), "/>"):
			if !unclosed[name] {
				k := skipUntilClose(doc[i:], lowerDoc[i:], name)
				// Once "</name" is missing from here on, it is missing from
				// every later position too: remembering that keeps the
				// scan linear on hostile input.
				unclosed[name] = k == 0
				i += k
			}
		case name == "td" || name == "th":
			sb.WriteByte(cell)
		case lineBreak[name]:
			sb.WriteByte('\n')
		}
	}
	return tidyLines(sb.String())
}

func isTagNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ':'
}

// skipTag returns the length of the tag at the start of s (through its '>'),
// honouring quoted attribute values.
func skipTag(s string) int {
	var quote byte
	for k := 1; k < len(s); k++ {
		c := s[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return k + 1
		}
	}
	return len(s)
}

// skipUntilClose returns the length up to and including "</name...>", or 0
// when the element is never closed.
func skipUntilClose(s, lower, name string) int {
	k := strings.Index(lower, "</"+name)
	if k < 0 {
		// Unclosed: drop only the tag, not the rest of the document.
		return 0
	}
	return k + skipTag(s[k:])
}

// writeText appends decoded text with all whitespace (source line breaks
// included) collapsed to single spaces, as a browser would render it.
func writeText(sb *strings.Builder, s string) {
	if s == "" {
		return
	}
	s = html.UnescapeString(s)
	space := false
	for _, r := range s {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '\f' || r == '\u00a0' || r == '\u200b' {
			space = true
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteRune(r)
	}
	if space {
		sb.WriteByte(' ')
	}
}

// tidyLines trims lines, joins the non-empty cells of a row with three
// spaces and drops empty lines (nested blocks produce many of them, and
// they carry no meaning a browser would show).
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	for _, line := range lines {
		cells := strings.Split(line, string(cell))
		kept := cells[:0]
		for _, c := range cells {
			if c = strings.TrimSpace(c); c != "" {
				kept = append(kept, c)
			}
		}
		if line = strings.Join(kept, "   "); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// htmlTitle returns the text of the document's first <title>, whitespace
// collapsed, at most 300 bytes.
func htmlTitle(doc string) string {
	lower := asciiLower(doc)
	i := strings.Index(lower, "<title")
	if i < 0 {
		return ""
	}
	i += skipTag(doc[i:])
	j := strings.Index(lower[i:], "</title")
	if j < 0 {
		return ""
	}
	var sb strings.Builder
	writeText(&sb, truncateUTF8(doc[i:i+j], 300))
	return strings.TrimSpace(sb.String())
}
