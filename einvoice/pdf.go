package einvoice

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// maxEmbedded bounds how many embedded-file streams of one PDF are tried.
const maxEmbedded = 16

// FromPDF finds the e-invoice a PDF/A-3 carries as an embedded file
// (ZUGFeRD's zugferd-invoice.xml, Factur-X's factur-x.xml, xrechnung.xml)
// and parses it. The file is recognised by its content, not its name: every
// embedded-file stream is tried and the first CII or UBL document wins.
//
// ok is false when the PDF embeds no e-invoice. err is set when one was
// found but could not be read (hostile, malformed); the caller then falls
// back to the PDF's text and can say why.
func FromPDF(pdf []byte) (inv Invoice, ok bool, err error) {
	var firstErr error
	for i, raw := range embeddedStreams(pdf) {
		if i >= maxEmbedded {
			break
		}
		inv, err := Parse(raw)
		if err == nil {
			return inv, true, nil
		}
		if firstErr == nil && !errors.Is(err, ErrNotInvoice) {
			firstErr = err
		}
	}
	return Invoice{}, false, firstErr
}

// embeddedFileRe finds the name /EmbeddedFile as a whole name (not the
// /EmbeddedFiles name tree of the catalogue).
var embeddedFileRe = regexp.MustCompile(`/Type\s*/EmbeddedFile[\s/>]`)

var (
	lengthRe = regexp.MustCompile(`/Length\s+(\d+)(\s+\d+\s+R)?`)
	filterRe = regexp.MustCompile(`/Filter\s*(\[\s*)?/(\w+)`)
)

// embeddedStreams returns the decoded contents of the PDF's embedded-file
// streams (objects whose dictionary says /Type /EmbeddedFile). Streams in
// a filter other than FlateDecode, or that do not decode, are skipped.
// Embedded files are streams, which PDF never puts inside object streams,
// so they are found in the file as written even when its cross-reference
// table is compressed.
func embeddedStreams(pdf []byte) [][]byte {
	var out [][]byte
	for _, loc := range embeddedFileRe.FindAllIndex(pdf, maxEmbedded*4) {
		dictStart := bytes.LastIndex(pdf[max(0, loc[0]-4096):loc[0]], []byte("<<"))
		if dictStart < 0 {
			continue
		}
		dictStart += max(0, loc[0]-4096)
		// The object's dictionary: from the last "obj" before the name.
		if o := bytes.LastIndex(pdf[max(0, loc[0]-4096):loc[0]], []byte("obj")); o >= 0 {
			o += max(0, loc[0]-4096)
			if d := bytes.Index(pdf[o:loc[0]], []byte("<<")); d >= 0 {
				dictStart = o + d
			}
		}
		dictEnd := dictionaryEnd(pdf, dictStart)
		if dictEnd < 0 {
			continue
		}
		dict := pdf[dictStart:dictEnd]
		body, ok := streamBody(pdf, dictEnd, dict)
		if !ok {
			continue
		}
		if data, err := decodeStream(body, dict); err == nil {
			out = append(out, data)
		}
	}
	return out
}

// dictionaryEnd returns the index just past the ">>" that closes the
// dictionary opened at start, or -1.
func dictionaryEnd(pdf []byte, start int) int {
	depth := 0
	for i := start; i+1 < len(pdf) && i < start+64<<10; i++ {
		switch {
		case pdf[i] == '(':
			// A literal string may hold unbalanced brackets; skip it.
			nest := 0
			for ; i < len(pdf); i++ {
				if pdf[i] == '\\' {
					i++
					continue
				}
				if pdf[i] == '(' {
					nest++
				} else if pdf[i] == ')' {
					nest--
					if nest == 0 {
						break
					}
				}
			}
		case pdf[i] == '<' && pdf[i+1] == '<':
			depth++
			i++
		case pdf[i] == '>' && pdf[i+1] == '>':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// streamBody returns the raw bytes of the stream that follows a dictionary
// ending at dictEnd: by its /Length when that is a direct number that
// lands on "endstream", else up to the next "endstream".
func streamBody(pdf []byte, dictEnd int, dict []byte) ([]byte, bool) {
	rest := pdf[dictEnd:]
	trimmed := bytes.TrimLeft(rest, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("stream")) {
		return nil, false
	}
	start := dictEnd + (len(rest) - len(trimmed)) + len("stream")
	if start < len(pdf) && pdf[start] == '\r' {
		start++
	}
	if start < len(pdf) && pdf[start] == '\n' {
		start++
	}
	if m := lengthRe.FindSubmatch(dict); m != nil && len(m[2]) == 0 {
		if n, err := strconv.Atoi(string(m[1])); err == nil && n >= 0 && start+n <= len(pdf) {
			if bytes.HasPrefix(bytes.TrimLeft(pdf[start+n:], " \t\r\n"), []byte("endstream")) {
				return pdf[start : start+n], true
			}
		}
	}
	end := bytes.Index(pdf[start:], []byte("endstream"))
	if end < 0 {
		return nil, false
	}
	return bytes.TrimRight(pdf[start:start+end], "\r\n"), true
}

// decodeStream undoes the stream's filter: none or FlateDecode, the only
// ones e-invoice producers use for the XML. The result is capped at
// MaxBytes+1, so a compression bomb stops there (and Parse refuses it).
func decodeStream(body, dict []byte) ([]byte, error) {
	m := filterRe.FindSubmatch(dict)
	if m == nil {
		return body, nil
	}
	if string(m[2]) != "FlateDecode" {
		return nil, fmt.Errorf("filter %s not supported", m[2])
	}
	r, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return data, nil
}
