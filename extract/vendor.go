package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// docLabelRe matches lines that name the document rather than its issuer.
var docLabelRe = mustLineRegexp(`^[\s\-*=]*(tax\s*invoice|invoice|receipt|(official|payment|sales)\s+receipt|cash\s+(bill|sale|receipt)|bill|statement|quotation|quote|credit\s+note|delivery\s+note|order\s+confirmation|rechnung|gutschrift|quittung|facture|factuur|faktura|fattura|factura|original|copy|duplicate|simplified\s+tax\s+invoice)[\s\-*=:.]*$`)

// notVendorRe matches lines that are plainly something else: labels with
// values, contact details, page furniture and copyright notices.
var notVendorRe = mustLineRegexp(`(?i)^(date|invoice|receipt|order|bill to|ship to|page|tel|phone|fax|e-?mail|www\.|http|to:|from:|attn)|@|https?://|\(c\)|©|copyright|seite \d|page \d`)

// legalFormRe recognises company legal forms. A line carrying one near the
// top is the issuer's name far more often than the first line is (which on
// receipts is often a cashier, a branch or a slogan). Forms of two letters
// (AG, AS, AB, KG, OY, SA, BV) count only as written by registries, in
// capitals ("Oy", "Ab" too): in lower case they are ordinary words ("as
// soon as", "sa", "ab").
var legalFormRe = mustLineRegexp(`(?i:\b(?:ltd|limited|gmbh|sdn\.?\s*bhd|` + ocrSdn + `[.,]?\s*` + ocrBhd + `|bhd|inc|llc|plc|corp|corporation|sarl|s\.r\.l|srl|pty|s/b|ohg|e\.k|enterprise|trading)\b|co\.)\.?|\b(?:AG|S\.?A|B\.?V|KG|OY|Oy|AB|Ab|AS)\b\.?`)

// "SDN" and "BHD" as OCR reads them ("SON", "S0N"; "BND", "3HD", "EHD"),
// shared by legalFormRe and misreadSdnBhdRe.
const (
	ocrSdn = `s[do0][nm]`
	ocrBhd = `[b38e][hn][dor0]`
)

const vendorScanLines = 10

// vendorEvidence is how the vendor was found, strongest last: what the
// name's confidence is measured by, and what decides whether an e-mail's
// sender names the merchant instead.
type vendorEvidence int

const (
	vendorNone      vendorEvidence = iota
	vendorFirstLine                // the first meaningful line, for want of better
	vendorNameLike                 // the first line that reads as a name
	vendorSender                   // an e-mail's sender (display name or domain)
	vendorBrand                    // a web-address brand or copyright holder in the page furniture
	vendorLegalForm                // a line with a company legal form
	vendorTitle                    // an e-receipt's title naming the payee or shop
)

// confident: evidence that names the issuer more often than not on
// documents the rules were not written on.
func (e vendorEvidence) confident() bool { return e >= vendorBrand }

// findVendor returns the issuer's name and its line index (-1 when none):
// a line with a legal form among the first meaningful lines, else the first
// meaningful line that looks like a name (not an address, not OCR noise).
// Only the first column counts: the right-hand columns of a letterhead are
// usually the customer or the document details.
func findVendor(lines []textLine) (string, int, vendorEvidence) {
	if name, i := besideTitle(lines); name != "" {
		return name, i, vendorLegalForm
	}
	var candidates []int
	for i, l := range lines {
		if len(candidates) >= vendorScanLines {
			break
		}
		if len(candidates) > 0 && streetRe.MatchString(firstColumn(l.raw)) && !legalFormRe.MatchString(l.raw) {
			break // the address block: the name is above it
		}
		if meaningful(vendorText(l.raw)) {
			candidates = append(candidates, i)
		}
	}
	for k, i := range candidates {
		c := vendorText(lines[i].raw)
		if legalFormRe.FindStringIndex(c) == nil {
			continue
		}
		last := i
		// "HOME MASTER HARDWARE &" / "ELECTRICAL SDN BHD", and a branch
		// name whose parenthesis closes on the next line ("ENTERPRISE
		// (SETIA" / "JAYA) SDN BHD"): the name goes on below.
		if k+1 < len(candidates) && candidates[k+1] == i+1 &&
			(strings.HasSuffix(c, "&") || strings.Count(c, "(") > strings.Count(c, ")")) {
			c += " " + vendorText(lines[i+1].raw)
			last = i + 1
		}
		// A branch in parentheses on a line of its own under the name
		// ("CHECKERS HYPERMARKET SDN BHD" / "(JALAN KLANG LAMA)") belongs
		// to it, as "MR. D.I.Y. (KUCHAI) SDN BHD" does on one line.
		if last == i && i+1 < len(lines) && branchLineRe.MatchString(strings.TrimSpace(lines[i+1].raw)) && legalFormEndRe.MatchString(c) {
			c += " " + strings.TrimSpace(lines[i+1].raw)
			last = i + 1
		}
		// A line that starts with the legal form ("SDN BHD", "CO. (M)
		// SDN BHD", "(BRANCH) SDN BHD"), or holds a single word before
		// it ("RESTAURANT SDN BHD"), is the tail of a name wrapped over
		// two lines.
		if k > 0 && candidates[k-1] == i-1 && (legalTailRe.MatchString(c) || wordsBeforeLegalForm(c) == 1) {
			prev := vendorText(lines[i-1].raw)
			if !strings.ContainsAny(prev, "0123456789") && !addressWordRe.MatchString(prev) &&
				!legalFormRe.MatchString(prev) && isUpperText(prev) == isUpperText(c) {
				return cleanVendor(prev + " " + c), last, vendorLegalForm
			}
		}
		return cleanVendor(c), last, vendorLegalForm
	}
	for _, i := range candidates {
		c := vendorText(lines[i].raw)
		if nameLike(c) {
			if strings.HasSuffix(c, "&") && i+1 < len(lines) {
				if next := vendorText(lines[i+1].raw); nameLike(next) {
					return cleanVendor(c + " " + next), i + 1, vendorNameLike
				}
			}
			return cleanVendor(c), i, vendorNameLike
		}
	}
	if len(candidates) > 0 {
		i := candidates[0]
		return cleanVendor(vendorText(lines[i].raw)), i, vendorFirstLine
	}
	return "", -1, vendorNone
}

// legalTailRe: a line that begins with the end of a company name: a legal
// form, "& CO", a branch in parentheses ("(KAJANG) SDN BHD"), or a
// business word that Malaysian names put before the legal form
// ("ENTERPRISE", "TRADING"). "CP. (M)": a misread "CO. (M)".
var legalTailRe = mustLineRegexp(`(?i)^(&|and\s|co\.?\s|\(|\S{1,3}\.?\s*\(m\)|sdn|bhd|s/b|ltd|limited|gmbh|inc\b|llc|plc|enterprise|trading\b)`)

// branchLineRe: a line that is only a branch name in parentheses, with no
// digit (a registration number has them).
var branchLineRe = mustLineRegexp(`^\([^()\d]{3,40}\)$`)

// legalFormEndRe: a name that ends with its legal form.
var legalFormEndRe = mustLineRegexp(`(?i)\b(?:sdn\.?\s*bhd|bhd|s/b|ltd|limited|gmbh|inc|llc|plc)\.?$`)

// wordsBeforeLegalForm counts the words of a name before its legal form
// (-1 when it has none).
func wordsBeforeLegalForm(s string) int {
	loc := legalFormRe.FindStringIndex(s)
	if loc == nil {
		return -1
	}
	return len(strings.Fields(s[:loc[0]]))
}

// isUpperText: the letters of s are all capitals (a receipt header).
func isUpperText(s string) bool {
	return strings.ToUpper(s) == s && letterCount(s) > 0
}

// addressWordRe: words that make a line an address rather than a name.
var addressWordRe = mustLineRegexp(`(?i)\b(jalan|jln|lorong|lrg|taman|street|st\.|road|rd\.?|avenue|ave|lane|floor|flr|lot|blok|block|blk|no\.?\s*\d|straße|strasse|str\.|platz|weg|rue|avenue|suite|unit|p\.?o\.?\s*box)\b|\b\d{5}\b`)

// streetRe: a street line, which starts the address block below a name.
var streetRe = mustLineRegexp(`(?i)\b(jalan|jln|lorong|lrg|taman|street|road|avenue|lane|floor|flr|lot|blok|block|blk|straße|strasse|rue|suite|p\.?o\.?\s*box)\b|^no\.?\s*\d`)

// nameLike rejects the lines above a name that are not one: addresses,
// slogans in lower case, and OCR noise (short fragments, words without
// vowels).
func nameLike(s string) bool {
	if addressWordRe.MatchString(s) || strings.Count(s, ",") >= 2 {
		return false
	}
	words := strings.Fields(s)
	good := 0
	for _, w := range words {
		letters := 0
		vowels := 0
		for _, r := range w {
			if unicode.IsLetter(r) {
				letters++
				if strings.ContainsRune("aeiouyAEIOUYäöüéèàÄÖÜÉ", r) {
					vowels++
				}
			}
		}
		if letters >= 2 && vowels > 0 {
			good++
		}
	}
	if good == 0 || good*2 < len(words) {
		return false
	}
	// OCR noise is mostly short lower-case fragments; names on receipts
	// are printed in capitals or title case.
	upper := 0
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsUpper(r) || unicode.IsDigit(r) {
			upper++
		}
	}
	return upper*2 >= len(words) && letterCount(s) >= 4
}

var (
	labelValueRe = mustLineRegexp(`^([\p{L} .'-]{2,30}):\s*(.*)$`)
	partSepRe    = mustLineRegexp(`\s+[-|·•]\s+`)
)

// vendorText is the part of a line that may name the vendor: the first
// column; of "Label: value" only the value, and only when it carries a
// legal form ("Seller: ACME Ltd"); of "Name - Street - Town" the first part.
func vendorText(s string) string {
	c := firstColumn(s)
	// "ACME HEALTHCARE SDN   BHD": a legal form pushed into the next
	// column by wide letter spacing still belongs to the name.
	if cols := columnGapRe.Split(strings.TrimSpace(s), 3); len(cols) > 1 && len(cols[1]) <= 12 &&
		strings.HasSuffix(strings.ToLower(c), "sdn") && legalTailRe.MatchString(cols[1]) {
		c += " " + cols[1]
	}
	c = leadingRefRe.ReplaceAllString(c, "")
	// "UNIHAKKA INTERNATIONAL SDN BHD 30 May 2018 18:24": OCR joined the
	// date printed beside the name to it; the name ends with its legal form.
	if loc := legalFormRe.FindStringIndex(c); loc != nil && len(datesIn(c[loc[1]:])) > 0 && len(datesIn(c[:loc[1]])) == 0 {
		c = c[:loc[1]]
	}
	// a label's value names the vendor only with a legal form; a label
	// alone ("Account number:", its value in the next column) never
	if m := labelValueRe.FindStringSubmatch(c); m != nil {
		if !legalFormRe.MatchString(m[2]) || customerLabelRe.MatchString(m[1]) {
			return ""
		}
		c = m[2]
	}
	c = stripTrailingReg(c)
	if parts := partSepRe.Split(c, -1); len(parts) > 1 {
		c = parts[0]
		for _, p := range parts {
			if legalFormRe.MatchString(p) {
				c = p
				break
			}
		}
	}
	return c
}

// customerLabelRe: labels of the customer's name and address ("ATTN:",
// "Bill to:"), whose company is the buyer, not the issuer.
var customerLabelRe = mustLineRegexp(`(?i)^\s*(attn|attention|bill(ed)?\s*to|ship(ped)?\s*to|sold\s*to|deliver(ed|y)?\s*to|invoice\s*to|customer|client|guest|buyer|kunde|empfänger|rechnungsempfänger)\b`)

// leadingRefRe: a store or terminal number printed before the name
// ("#000002 ACME SDN BHD").
var leadingRefRe = mustLineRegexp(`^#\s*\d+\s+`)

// stripTrailingReg removes registration numbers and branch codes printed
// after a name, repeatedly: "ACME S/B 123456-U (KB1)," -> "ACME S/B".
func stripTrailingReg(s string) string {
	for range 4 {
		t := strings.TrimRight(s, " ,;:")
		t = trailingRegRe.ReplaceAllString(t, "")
		if t == s {
			break
		}
		s = t
	}
	return s
}

var columnGapRe = mustLineRegexp(`\s{3,}`)

func firstColumn(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSpace(columnGapRe.Split(s, 2)[0])
}

var orderRefRe = mustLineRegexp(`#\s*\d|\d{3,}-\d{3,}`)

// meaningful: at least three letters, mostly letters, and not a label,
// contact detail or a date.
func meaningful(s string) bool {
	if s == "" || docLabelRe.MatchString(strings.ToLower(s)) || notVendorRe.MatchString(s) {
		return false
	}
	letters, other := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsSpace(r):
		default:
			other++
		}
	}
	if letters < 3 || letters < other {
		return false
	}
	// Sentences ("Thanks for your order. We'll let you know ...") are
	// prose, not a name.
	if len(strings.Fields(s)) > 8 || strings.HasSuffix(s, ".") && len(strings.Fields(s)) > 3 && !legalFormRe.MatchString(s) {
		return false
	}
	if orderRefRe.MatchString(s) {
		return false
	}
	return len(datesIn(s)) == 0
}

// trailingRegRe matches a company registration number printed after the
// name: "(123456-X)", "1234567-W".
var trailingRegRe = mustLineRegexp(`(\s*\([^()]*\d[^()]*\)|\s+[0-9][0-9A-Z-]{4,})\s*$`)

// trailingDocLabelRe matches a document label after the name ("ACME Invoice").
var trailingDocLabelRe = mustLineRegexp(`(?i)\s+(tax\s+invoice|invoice|receipt|rechnung|facture)\s*$`)

// misreadSdnBhdRe: "SDN BHD" as OCR often misreads it ("SON BHD",
// "SDN BND", "Sdi Bhd", "SON, BHD", "SDN 3HD", "SDN EHD").
var misreadSdnBhdRe = mustLineRegexp(`(?i)\b(?:` + ocrSdn + `|sdi)([.,]?\s*)` + ocrBhd + `\b`)

// misreadCoRe: "CO. (M)", the company form of Malaysian names, with its O
// misread as a P ("POPULAR BOOK CP. (M) SDN BHD").
var misreadCoRe = mustLineRegexp(`\b([Cc])[Pp]\.(\s*\((?:M|m)\))`)

var (
	ocrSpeckEndsRe   = mustLineRegexp(`^[a-z]{1,2}\s+|\s+(?:[a-z]{1,2}|[.,'])$`)
	afterLegalFormRe = mustLineRegexp(`(?i)(\b(?:sdn\.?\s*bhd|bhd|ltd|s/b)\.?)\s+\S{1,2}$`)
)

// upperShare is the share of upper-case letters among the letters of s.
func upperShare(s string) float64 {
	up, all := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			all++
			if unicode.IsUpper(r) {
				up++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(up) / float64(all)
}

func cleanVendor(s string) string {
	s = misreadSdnBhdRe.ReplaceAllStringFunc(s, func(m string) string {
		sep := misreadSdnBhdRe.FindStringSubmatch(m)[1]
		return "SDN" + strings.Replace(sep, ",", ".", 1) + "BHD"
	})
	s = misreadCoRe.ReplaceAllString(s, "${1}O.$2")
	s = stripTrailingReg(s)
	s = trailingDocLabelRe.ReplaceAllString(s, "")
	// OCR specks around a name in capitals: a stray lower-case fragment
	// or a lone mark before or after it ("GRANDMA HOMES a", "ACME SDN
	// BHD .", "yy ACME"), and a fragment after the legal form.
	if letterCount(s) > 0 && upperShare(s) >= 0.5 {
		s = ocrSpeckEndsRe.ReplaceAllString(s, "")
	}
	s = afterLegalFormRe.ReplaceAllString(s, "$1")
	s = strings.Trim(s, " :;,-*=#|‘’'\"“”—_~")
	if utf8.RuneCountInString(s) > 100 {
		s = string([]rune(s)[:100])
		s = strings.TrimSpace(s)
	}
	return s
}

// payeeTitleRe: e-receipt titles that name whom the money went to
// ("Receipt for your payment to ACME Ltd").
var payeeTitleRe = mustLineRegexp(`(?i)\b(?:payments?|donation|purchase|order)\s+(?:to|from|at|with)\s+(.{2,80}?)\s*$`)

// domainBrandRe: a shop's brand printed as its web address ("Amazon.co.uk").
var domainBrandRe = mustLineRegexp(`^[A-Z][A-Za-z0-9-]{1,30}\.(?:com|net|org|co\.uk|de|fr|nl|it|es|at|ch|be|pl|com\.au|com\.my|ca|co\.jp|in|ie|eu|shop|store)$`)

// vendorFromTitle reads the vendor from an HTML title: the payee named
// after "payment to", or a brand domain heading the title
// ("Amazon.de - Bestellung ...").
func vendorFromTitle(title string) string {
	if title == "" {
		return ""
	}
	if m := payeeTitleRe.FindStringSubmatch(title); m != nil {
		return cleanVendor(m[1])
	}
	words := strings.FieldsFunc(title, func(r rune) bool { return r == ' ' || r == ':' || r == '|' })
	if len(words) == 0 {
		return ""
	}
	if first := strings.TrimRight(words[0], "-,"); domainBrandRe.MatchString(first) {
		return first
	}
	return ""
}

// brandInText finds an e-receipt's brand in its page furniture: a cell
// that is just a capitalised web address in the first lines ("Your
// Orders | Amazon.co.uk"), or the name after a copyright sign
// ("© 1995-2021 eBay Inc."). Only used when no name with a legal form
// was found.
func brandInText(lines []textLine) string {
	for i, l := range lines {
		if i >= 5 {
			break
		}
		for _, c := range columnGapRe.Split(strings.TrimSpace(l.raw), -1) {
			for _, part := range strings.Split(c, "|") {
				if p := strings.TrimSpace(part); domainBrandRe.MatchString(p) {
					return p
				}
			}
		}
	}
	for _, l := range lines {
		if m := copyrightRe.FindStringSubmatch(l.raw); m != nil {
			return m[1]
		}
	}
	return ""
}

// copyrightRe reads the holder's name after a copyright sign, before its
// legal form and an optional country in parentheses ("©1995-2021, eBay
// (UK) Limited").
var copyrightRe = mustLineRegexp(`(?:©|\(c\)|copyright)\s*(?:\d{4}\s*[-–]?\s*)?(?:\d{4})?,?\s*([A-Za-z][A-Za-z0-9.&'-]{1,30})\s+(?:\([A-Z]{2,3}\)\s+)?(?:Inc|Ltd|Limited|GmbH|LLC|plc|AG|S\.?A)\b`)

// besideTitle finds a letterhead that puts the document's title on the
// left of its first line and the issuer's name on the right ("INVOICE
// ... ACME B.V."): the other column is the issuer when it carries a legal
// form.
func besideTitle(lines []textLine) (string, int) {
	for i, l := range lines {
		if strings.TrimSpace(l.raw) == "" {
			continue
		}
		cols := columnGapRe.Split(strings.TrimSpace(l.raw), -1)
		if len(cols) < 2 || !docLabelRe.MatchString(strings.ToLower(cols[0])) {
			return "", -1
		}
		for _, c := range cols[1:] {
			if legalFormRe.MatchString(c) && meaningful(c) {
				return cleanVendor(c), i
			}
		}
		return "", -1
	}
	return "", -1
}
