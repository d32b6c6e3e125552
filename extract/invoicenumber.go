package extract

import (
	"regexp"
	"strings"
)

// invoiceLabels, in order of preference: an invoice number identifies the
// document itself; an order or reference number is the next best key.
var invoiceLabels = []lineRegexp{
	mustLineRegexp(`(?i)invoice\s*(?:no\.?|nr\.?|#|number|num\.?|id)|\binv\.?\s*(?:no\.?|#)|rechnungs?[\s-]*(?:nr\.?|nummer|no\.?)|rechnung[^:\n]{0,30}?\bnr\.?|facture\s*n[°o]\.?|\bbill\s*(?:no\.?|#)|beleg[\s-]*(?:nr\.?|nummer)|receipt\s*(?:no\.?|#|number|id)|factuur\s*(?:nummer|nr\.?|no\.?)|numer\s*faktury|faktura\s*(?:nr\.?|no\.?)|n[°º]\s*(?:de\s*)?(?:facture|factura)|(?:factura|fattura)\s*(?:n[°º.o]|num)`),
	mustLineRegexp(`(?i)order\s*(?:no\.?|nr\.?|#|number|id)|bestell[\s-]*(?:nr\.?|nummer)|invoice\s*:|transaction\s*(?:id|no\.?)|booking\s*(?:id|no\.?|number|ref)|bestellnummer|ordernummer`),
}

var idTokenRe = regexp.MustCompile(`^[\s:#.°]*([A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[0-9])`)

// findInvoiceNumber reads the token after an invoice-number label: it must
// contain a digit (so a following label such as "Date" is not taken) and be
// at most 40 characters long.
func findInvoiceNumber(lines []textLine) string {
	id, _ := findInvoiceNumberEvidence(lines)
	return id
}

// findInvoiceNumberEvidence is findInvoiceNumber saying which label found
// the number: "invoice-label" or "order-label".
func findInvoiceNumberEvidence(lines []textLine) (string, string) {
	for k, re := range invoiceLabels {
		how := "invoice-label"
		if k > 0 {
			how = "order-label"
		}
		for i, l := range lines {
			loc := re.FindStringIndex(l.raw)
			if loc == nil {
				continue
			}
			if id := idToken(l.raw[loc[1]:]); id != "" {
				return id, how
			}
			// A label heading a column ("Booking ID     Payment Mode"):
			// the value is printed below it, starting where it starts.
			if rest := strings.TrimLeft(l.raw[loc[1]:], ":#."); strings.TrimSpace(rest) == "" || strings.HasPrefix(rest, "   ") {
				if id := valueBelow(lines, i, loc[0]); id != "" {
					return id, how + "-below"
				}
			}
			// Label alone on its line: value on the next non-empty one.
			if strings.TrimSpace(strings.Trim(l.raw[loc[1]:], ":#. ")) == "" {
				for j := i + 1; j < len(lines) && j <= i+2; j++ {
					next := strings.TrimSpace(lines[j].raw)
					if next == "" {
						continue
					}
					if !strings.Contains(next, "   ") {
						if id := idToken(next); id != "" && len(id) == len(next) {
							return id, how + "-below"
						}
					}
					break
				}
			}
		}
	}
	if id := hashBelowTitle(lines); id != "" {
		return id, "title-hash"
	}
	return "", ""
}

// invoiceTitleRe: the document's title alone in its column.
var invoiceTitleRe = mustLineRegexp(`(?i)^(?:tax\s+)?(?:invoice|rechnung|facture|factuur|faktura|fattura|factura)$`)

// hashBelowTitle reads a number printed with a "#" under the document's
// title ("INVOICE" / "# 2026-0042"), as many invoice templates set it in
// their top right corner: the title must be its line's last column, and
// the number the last column of the next non-empty line.
func hashBelowTitle(lines []textLine) string {
	for i, l := range lines {
		cols := columnGapRe.Split(strings.TrimSpace(l.raw), -1)
		if !invoiceTitleRe.MatchString(cols[len(cols)-1]) {
			continue
		}
		next := ""
		for j := i + 1; j < len(lines) && j <= i+2 && next == ""; j++ {
			next = strings.TrimSpace(lines[j].raw)
		}
		ncols := columnGapRe.Split(next, -1)
		last := ncols[len(ncols)-1]
		if !strings.HasPrefix(last, "#") {
			continue
		}
		if id := idToken(last); id != "" && len(id) == len(strings.TrimSpace(strings.TrimLeft(last, "#: "))) {
			return id
		}
	}
	return ""
}

func idToken(s string) string {
	m := idTokenRe.FindStringSubmatch(s)
	if m == nil || len(m[1]) > 40 || !strings.ContainsAny(m[1], "0123456789") {
		return ""
	}
	return m[1]
}

// valueBelow reads the identifier printed under a column label that starts
// at byte col of line i: on the next non-empty line, the token starting
// within two characters of the label's start (only in plain-text layouts,
// where columns are aligned by spaces).
func valueBelow(lines []textLine, i, col int) string {
	label := []rune(lines[i].raw[:col])
	at := len(label)
	for j := i + 1; j < len(lines) && j <= i+2; j++ {
		next := []rune(lines[j].raw)
		if strings.TrimSpace(string(next)) == "" {
			continue
		}
		for k := max(0, at-2); k <= at+2 && k < len(next); k++ {
			if next[k] != ' ' && (k == 0 || next[k-1] == ' ') {
				tok := strings.Fields(string(next[k:]))[0]
				if id := idToken(tok); id != "" && id == strings.TrimRight(tok, ".,;") {
					return id
				}
				return ""
			}
		}
		return ""
	}
	return ""
}
