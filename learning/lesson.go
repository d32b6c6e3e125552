// Package learning lets a tenant's corrections teach Tally about the
// issuers of its documents. A correction (DocumentCorrected) of a document
// whose extraction carried an issuer profile (domain.IssuerProfile: the
// issuer's fingerprint keys and where each amount and date stood) becomes
// a Lesson: the issuer's proper name and address, the label (and which
// occurrence of it) that held the total, subtotal and tax, the label and
// day/month order of the date, the currency. The projection (package
// projections, read model learned_issuers) keeps one lesson per tenant and
// fingerprint key; the next document of the same tenant with a key in
// common gets the lesson applied (Apply), its fields marked with source
// "learned" and the correction they came from.
//
// Lessons never cross tenants: every read and write is keyed by tenant.
package learning

import (
	"maps"
	"strings"

	"tally/domain"
	"tally/extract"
)

// Lesson is what one correction showed about its issuer. Every part is
// optional: what the correction did not show is not taught.
type Lesson struct {
	Vendor        string `json:"vendor,omitempty"`
	VendorAddress string `json:"vendor_address,omitempty"`
	Currency      string `json:"currency,omitempty"`
	Total         *Place `json:"total,omitempty"`
	Subtotal      *Place `json:"subtotal,omitempty"`
	Tax           *Place `json:"tax,omitempty"`
	Date          *Place `json:"date,omitempty"`
	// MonthFirst: the issuer prints numeric dates month first.
	MonthFirst bool `json:"month_first,omitempty"`
	// AddressLines is how the correction moved the address's end: 1 when
	// the user added the line after what the engine read (a chain's
	// branch line), -1 when the user took the engine's last line away.
	AddressLines int `json:"address_lines,omitempty"`
}

// Place is where a value stood: its label, and which occurrence of that
// label counted from the last (0 is the last one).
type Place struct {
	Label   string `json:"label"`
	FromEnd int    `json:"from_end"`
}

// Empty reports whether the lesson teaches nothing.
func (l Lesson) Empty() bool { return l == Lesson{} }

// Learn returns what a correction teaches: prev is what the document
// showed before (its extraction, with its issuer profile), corrected the
// user's values. Fields the user left alone after looking at the document
// are taken as right. ok=false when there is nothing to learn (no profile,
// or no value the profile can place).
func Learn(prev, corrected domain.Fields) (Lesson, bool) {
	if prev.Issuer == nil || len(prev.Issuer.Keys) == 0 {
		return Lesson{}, false
	}
	eff := domain.Merge(prev, corrected)
	p := prev.Issuer
	l := Lesson{Vendor: eff.Vendor, VendorAddress: eff.VendorAddress, Currency: eff.Currency,
		AddressLines: addressLines(prev.VendorAddress, eff.VendorAddress)}
	l.Total = placeAmount(p.Amounts, eff.Total)
	l.Subtotal = placeAmount(p.Amounts, eff.Subtotal)
	l.Tax = placeAmount(p.Amounts, eff.Tax)
	if eff.Date != "" {
		for _, d := range p.Dates {
			dayFirst, _ := extract.ParseDateOrder(d.Value, false)
			monthFirst, _ := extract.ParseDateOrder(d.Value, true)
			if dayFirst != eff.Date && monthFirst != eff.Date {
				continue
			}
			l.Date = place(p.Dates, d.Label, indexOf(p.Dates, d))
			l.MonthFirst = monthFirst == eff.Date && dayFirst != eff.Date
			break
		}
	}
	return l, !l.Empty()
}

// placeAmount finds where amount v stood: its first labelled occurrence.
func placeAmount(values []domain.LabelledValue, v string) *Place {
	if v == "" {
		return nil
	}
	for i, a := range values {
		if sameAmount(a.Value, v) {
			return place(values, a.Label, i)
		}
	}
	return nil
}

func place(values []domain.LabelledValue, label string, at int) *Place {
	n := 0
	for _, a := range values[at+1:] {
		if sameLabel(a.Label, label) {
			n++
		}
	}
	return &Place{Label: label, FromEnd: n}
}

func indexOf(values []domain.LabelledValue, v domain.LabelledValue) int {
	for i, a := range values {
		if a == v {
			return i
		}
	}
	return -1
}

// find returns the value at place p among values: the occurrence of its
// label FromEnd from the last, or the nearest one when the document has
// fewer.
func find(values []domain.LabelledValue, p *Place) (string, bool) {
	if p == nil {
		return "", false
	}
	var hits []string
	for _, a := range values {
		if sameLabel(a.Label, p.Label) {
			hits = append(hits, a.Value)
		}
	}
	if len(hits) == 0 {
		return "", false
	}
	return hits[max(len(hits)-1-p.FromEnd, 0)], true
}

// addressLines tells a correction that moved the address's end from one
// that respelled it: read is the engine's address, right the user's. The
// longer one starts with the other (as letters and digits, a few misread
// ones allowed) and goes on for at least three more, but for less than
// the shorter one holds: a line, not most of an address.
func addressLines(read, right string) int {
	a, b := letters(read), letters(right)
	switch {
	case a == "" || b == "":
		return 0
	case len(b) >= len(a)+3 && len(b) < 2*len(a) && nearlyPrefix(a, b):
		return 1
	case len(a) >= len(b)+3 && len(a) < 2*len(b) && nearlyPrefix(b, a):
		return -1
	}
	return 0
}

// nearlyPrefix: short is the beginning of long, a letter in ten misread.
func nearlyPrefix(short, long string) bool {
	return len(short) >= 8 && editDistance(short, long[:len(short)]) <= len(short)/10
}

// Confidence of learned fields, in percent, as the engine's are
// calibrated: (right + 1) / (found + 2) of each field's learned values on
// the dev split of the benchmark (one correction per vendor, applied to
// the vendor's other documents; see bench/extraction/learning), and under
// 90 for fields too rarely learned there to say more. A name is applied
// only where the document reads nearly the same (the correction fixes its
// spelling). A chain's branches share a name and a tax number, not an
// address, and a learned address in place of the engine's was right in
// none of the cases measured (the users' spellings differ from the
// print): what a lesson teaches of an address is where it ends, the line
// after it added or its last line taken away (20 of 26 right on the dev
// split: 75).
var learnedConfidence = map[string]int{
	"vendor":   70, // 6 of 8 right
	"currency": 85, "date": 85,
	"total": 60, "subtotal": 60, "tax": 60,
	"vendor_address": 75,
}

// fillOnly are the fields a lesson only fills where the engine found
// nothing: measured, a learned place of an amount was right less often
// than the engine's own value where it had one.
var fillOnly = map[string]bool{"total": true, "subtotal": true, "tax": true}

// Apply lays a lesson over fields extracted from a document of the same
// issuer. A learned value replaces the engine's only where the engine was
// less sure of its own (or found none); each field it sets says source
// "learned" and the correction it came from. A field the lesson cannot
// place in this document keeps its value. Fields from a structured
// e-invoice or a template are left alone: they are exact or made for the
// issuer. text is what the fields were read from, in which the lesson
// finds the lines an address ends with ("" when it is not at hand: the
// address is then left as it is).
func Apply(f domain.Fields, text string, l Lesson, from domain.LearnedFrom) domain.Fields {
	if f.Issuer == nil {
		return f
	}
	// The maps are the caller's: work on copies.
	f.Sources, f.Confidence = maps.Clone(f.Sources), maps.Clone(f.Confidence)
	if f.Sources == nil {
		f.Sources = map[string]string{}
	}
	if f.Confidence == nil {
		f.Confidence = map[string]int{}
	}
	applied := false
	set := func(field string, dst *string, v string) {
		conf := learnedConfidence[field]
		if v == "" || v == *dst {
			return
		}
		if c, ok := f.Confidence[field]; ok && *dst != "" && c >= conf {
			return
		}
		if field == "vendor" && *dst != "" && !nearlySame(*dst, v) {
			return
		}
		if fillOnly[field] && *dst != "" {
			return
		}
		switch f.Sources[field] {
		case domain.FieldSourceXML, domain.FieldSourceTemplate:
			return
		}
		*dst = v
		f.Sources[field] = domain.FieldSourceLearned
		f.Confidence[field] = conf
		applied = true
	}
	set("vendor", &f.Vendor, l.Vendor)
	set("currency", &f.Currency, l.Currency)
	for _, a := range []struct {
		field string
		dst   *string
		p     *Place
	}{{"total", &f.Total, l.Total}, {"subtotal", &f.Subtotal, l.Subtotal}, {"tax", &f.Tax, l.Tax}} {
		if v, ok := find(f.Issuer.Amounts, a.p); ok {
			set(a.field, a.dst, v)
		}
	}
	if raw, ok := find(f.Issuer.Dates, l.Date); ok {
		d, ok := extract.ParseDateOrder(raw, l.MonthFirst)
		// The same printed date read in the other order is the engine's
		// guess at the format, which the lesson knows.
		if other, _ := extract.ParseDateOrder(raw, !l.MonthFirst); ok && other == f.Date && other != d {
			f.Date = ""
		}
		if ok {
			set("date", &f.Date, d)
		}
	}
	if f.Sources["vendor_address"] != domain.FieldSourceXML && f.Sources["vendor_address"] != domain.FieldSourceTemplate {
		address := f.VendorAddress
		if l.AddressLines != 0 && address != "" {
			address = moveAddressEnd(address, text, l.AddressLines)
		}
		if address != f.VendorAddress {
			f.VendorAddress = address
			f.Sources["vendor_address"] = domain.FieldSourceLearned
			f.Confidence["vendor_address"] = learnedConfidence["vendor_address"]
			applied = true
		}
	}
	if applied {
		f.LearnedFrom = &from
	}
	return f
}

// moveAddressEnd adds the line after the address's last line in the text
// (by > 0) or takes its last line away (by < 0). The address is left as
// it is where its lines cannot be found in the text.
func moveAddressEnd(address, text string, by int) string {
	lines := strings.Split(text, "\n")
	want := letters(address)
	// The last line of the address: the line whose letters end it, the
	// longest such one, and the address's lines before it.
	end, endLen := -1, 0
	for i, line := range lines {
		ll := letters(line)
		if len(ll) >= 3 && strings.HasSuffix(want, ll) && len(ll) > endLen {
			end, endLen = i, len(ll)
		}
	}
	if end < 0 {
		return address
	}
	if by > 0 {
		for _, next := range lines[end+1:] {
			next = strings.TrimSpace(next)
			if next == "" {
				continue
			}
			// A line of amounts or a label with a value is the receipt's
			// body, not the address's end.
			if len(letters(next)) < 3 || strings.ContainsAny(next, ":") {
				return address
			}
			return address + " " + next
		}
		return address
	}
	// Take the last line's words off the address's end.
	last := strings.Fields(strings.TrimSpace(lines[end]))
	words := strings.Fields(address)
	if len(words) <= len(last) {
		return address
	}
	kept := strings.Join(words[:len(words)-len(last)], " ")
	if letters(kept)+letters(strings.Join(last, " ")) != want {
		return address
	}
	return strings.TrimRight(kept, " ,")
}

// nearlySame reports whether text a, as the engine read it, is text b
// misread (a few letters in five wrong) or cut short (a part of it).
func nearlySame(a, b string) bool {
	a, b = letters(a), letters(b)
	if len(a) < 4 || len(b) < 4 {
		return false
	}
	if len(a)*5 >= len(b)*3 && strings.Contains(b, a) {
		return true
	}
	return editDistance(a, b) <= max(len(a), len(b))/5
}

func letters(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}

// sameLabel compares labels as OCR reads them: equal, or equal but for a
// few misread letters (one in five at most).
func sameLabel(a, b string) bool {
	if a == b {
		return true
	}
	a, b = strings.ReplaceAll(a, " ", ""), strings.ReplaceAll(b, " ", "")
	if a == b {
		return true
	}
	n := max(len(a), len(b))
	if n < 5 {
		return false
	}
	return editDistance(a, b) <= n/5
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sameAmount compares decimal strings by value ("12.5" = "12.50").
func sameAmount(a, b string) bool {
	return normAmount(a) == normAmount(b)
}

func normAmount(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Priority of a fingerprint key's kind: the lowest wins a lookup. A tax
// or registration number names one issuer; a sender domain may be a
// platform's; a heading's shape or a name read by the rules may be shared.
func Priority(key string) int {
	kind, _, _ := strings.Cut(key, ":")
	switch kind {
	case "taxid":
		return 1
	case "domain":
		return 2
	case "layout":
		return 3
	default:
		return 4
	}
}
