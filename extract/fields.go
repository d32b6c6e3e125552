package extract

import (
	"strings"
	"unicode"

	"tally/domain"
)

// FromText finds fields in already-extracted text: lines separated by "\n",
// columns by runs of spaces (what pdftotext -layout and htmlToText produce).
// Every rule is a plain heuristic with a reason next to it; a field that no
// rule finds with some confidence stays empty.
func FromText(text string) domain.Fields {
	f, _ := fieldsFromText(text)
	return f
}

// evidence is what the rules learnt about how they found the fields, beyond
// the values themselves.
type evidence struct {
	vendor   vendorEvidence
	total    string // totalHit.evidence, or "adds-up" when subtotal + tax = total
	date     string // findDateEvidence's how
	invoice  string // findInvoiceNumberEvidence's how
	currency string // "total-line" or "anywhere"
	addsUp   bool   // subtotal + tax = total
}

func fieldsFromText(text string) (domain.Fields, evidence) {
	lines := splitLines(text)
	f := domain.Fields{EngineVersion: EngineVersion}
	var ev evidence

	total := findTotal(lines)
	f.Total = total.value
	subtotals := findLabelled(lines, isSubtotalLine)
	taxes := findLabelled(lines, isTaxLine)
	f.Subtotal, f.Tax = pickSubtotalTax(total.value, subtotals, taxes)
	if !addsUp(f.Subtotal, f.Tax, total.value) {
		if s, x, ok := subtotalTaxByColumns(lines, total.value, f.Subtotal, f.Tax); ok {
			f.Subtotal, f.Tax = s, x
		}
	}
	if f.Total == "" {
		if v, how := totalWithoutLabel(lines, f.Subtotal, f.Tax); v != "" {
			f.Total, total.evidence = v, how
		}
	}
	ev.total, ev.addsUp = total.evidence, addsUp(f.Subtotal, f.Tax, f.Total)
	if ev.addsUp && (ev.total == "" || strings.HasPrefix(ev.total, "label")) {
		ev.total = "adds-up"
	}
	f.Currency = findCurrency(lines, total.line)
	ev.currency = "anywhere"
	if total.line >= 0 && f.Currency != "" && findCurrency(lines[total.line:total.line+1], 0) == f.Currency {
		ev.currency = "total-line"
	}
	f.Date, ev.date = findDateEvidence(lines)
	f.DueDate = findDueDate(lines)
	f.InvoiceNumber, ev.invoice = findInvoiceNumberEvidence(lines)
	vendorLine := -1
	f.Vendor, vendorLine, ev.vendor = findVendor(lines)
	if !legalFormRe.MatchString(f.Vendor) {
		if b := brandInText(lines); b != "" {
			f.Vendor, ev.vendor = b, vendorBrand
		}
	}
	f.VendorAddress = findAddress(lines, vendorLine)
	f.LineItems = findLineItems(lines)
	return f, ev
}

// textLine is one line of the document with a lower-cased copy for
// keyword matching (same text, so the two can be searched independently).
type textLine struct {
	raw   string
	lower string
}

var spaceish = strings.NewReplacer(
	"\r\n", "\n", "\r", "\n", "\t", "   ", "\u00a0", " ", "\u202f", " ",
	"\u2009", " ", "\u2007", " ", "\u2212", "-", "\ufeff", "",
	// Zero-width characters, which HTML mail scatters inside words and
	// numbers ("©1995\u200c-2021"), are not text.
	"\u200b", "", "\u200c", "", "\u200d", "", "\u2060", "",
)

// maxLineBytes bounds the part of a line the rules look at. No label and
// value of a real document is that long, and it keeps FromText quick on
// pathological input (a megabyte of text without a line break).
const maxLineBytes = 2000

func splitLines(text string) []textLine {
	text = spaceish.Replace(text)
	raw := strings.Split(text, "\n")
	lines := make([]textLine, len(raw))
	for i, l := range raw {
		l = strings.TrimRightFunc(truncateUTF8(l, maxLineBytes), unicode.IsSpace)
		lines[i] = textLine{raw: l, lower: strings.ToLower(l)}
	}
	return lines
}
