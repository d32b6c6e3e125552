package extract

import (
	"fmt"
	"hash/fnv"
	"net/mail"
	"strings"
	"unicode"

	"tally/domain"
)

// Bounds of an issuer profile, so that it stays a small part of its event.
const (
	maxProfileAmounts = 64
	maxProfileDates   = 16
	maxLabelBytes     = 48
	maxTaxIDKeys      = 3
)

// registrationRe: a tax or company registration number after its label ("GST
// Reg No: 000123456789", "VAT GB 123 4567 89", "USt-IdNr. DE123456789",
// "CO. REG. NO. 123456-X", "ABN 12 345 678 901"). The number needs six
// digits or more (checked by the caller).
var registrationRe = mustLineRegexp(`(?i)\b(?:gst|vat|tva|btw|iva|mwst|ust|uid|abn|acn|siret|siren|tin|npwp|ein|sst|roc|tax|reg|regn|registration|company)\b[^\p{L}\d\n]{0,3}(?:[\p{L}.]{1,12}[^\p{L}\d\n]{0,3}){0,3}([A-Z]{0,3}[\d][\dA-Z -]{4,22}[\dA-Z])`)

// issuerProfile is what a correction can teach from: the fingerprint keys
// of the document's issuer and where its amounts and dates stood.
func issuerProfile(lines []textLine, sender *mail.Address, vendor string) *domain.IssuerProfile {
	p := &domain.IssuerProfile{Keys: issuerKeys(lines, sender, vendor)}
	for i, l := range lines {
		for _, h := range amountsIn(l.raw) {
			if !h.decimals && !h.currency {
				continue
			}
			label := labelBefore(lines, i, h.start)
			if label == "" || len(p.Amounts) == maxProfileAmounts {
				continue
			}
			p.Amounts = append(p.Amounts, domain.LabelledValue{Label: label, Value: h.value})
		}
		for _, loc := range dateCandidateRe.FindAllStringIndex(l.raw, -1) {
			raw := l.raw[loc[0]:loc[1]]
			if _, ok := ParseDate(raw); !ok || len(p.Dates) == maxProfileDates {
				continue
			}
			p.Dates = append(p.Dates, domain.LabelledValue{Label: labelBefore(lines, i, loc[0]), Value: raw})
		}
	}
	return p
}

// issuerKeys are the document's fingerprint keys, strongest first: the
// tax or registration numbers it prints, the sender's organisational
// domain, the shape of its first lines, and its vendor's name as found.
func issuerKeys(lines []textLine, sender *mail.Address, vendor string) []string {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	taxIDs := 0
	for _, l := range lines {
		for _, m := range registrationRe.FindAllStringSubmatch(l.raw, -1) {
			id := alnum(strings.ToUpper(m[1]))
			if digitCount(id) >= 6 && taxIDs < maxTaxIDKeys {
				add("taxid:" + id)
				taxIDs++
			}
		}
	}
	if sender != nil {
		if org := SenderOrganisation(sender.Address); org != "" {
			add("domain:" + strings.ToLower(org))
		}
	}
	if sig := layoutSignature(lines); sig != "" {
		add("layout:" + sig)
	}
	if n := alnum(strings.ToLower(vendor)); len(n) >= 4 {
		add("name:" + n)
	}
	return keys
}

// layoutSignature is a hash of the document's first three non-empty lines
// with digits masked: the heading an issuer prints on every document.
func layoutSignature(lines []textLine) string {
	var head []string
	letters := 0
	for _, l := range lines {
		t := strings.Join(strings.Fields(l.lower), " ")
		if t == "" {
			continue
		}
		letters += letterCount(t)
		head = append(head, strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return '9'
			}
			return r
		}, t))
		if len(head) == 3 {
			break
		}
	}
	if letters < 8 {
		return ""
	}
	h := fnv.New64a()
	h.Write([]byte(strings.Join(head, "\n")))
	return fmt.Sprintf("%016x", h.Sum64())
}

// labelBefore is the label of a value at byte offset at of line i: the
// words before it on the line, or, when there are none, the words of the
// line above (a label printed over its value). Lower-cased, letters and
// single spaces only, at most maxLabelBytes from the end.
func labelBefore(lines []textLine, i, at int) string {
	if l := labelText(lines[i].lower[:min(at, len(lines[i].lower))]); l != "" {
		return l
	}
	for j := i - 1; j >= 0 && j >= i-2; j-- {
		if strings.TrimSpace(lines[j].raw) == "" {
			continue
		}
		return labelText(lines[j].lower)
	}
	return ""
}

func labelText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	l := b.String()
	if len(l) > maxLabelBytes {
		l = l[len(l)-maxLabelBytes:]
		if i := strings.IndexByte(l, ' '); i >= 0 {
			l = l[i+1:]
		}
	}
	return l
}

func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// ParseDateOrder is ParseDate with the order of a numeric date's day and
// month given: month-first reads "03/04/2018" as 4 March. It is how a
// date format learnt from an issuer is applied.
func ParseDateOrder(s string, monthFirst bool) (string, bool) {
	if !monthFirst {
		return ParseDate(s)
	}
	t := strings.Trim(strings.ToLower(strings.TrimSpace(s)), "()[],;: ")
	t = weekdayPrefix.ReplaceAllString(t, "")
	if m := numDateRe.FindStringSubmatch(t); m != nil && m[2] == m[4] && m[2] != "." {
		return makeDate(year(m[5]), atoi(m[1]), atoi(m[3]))
	}
	return ParseDate(s)
}
