package extract

import (
	"strings"
	"unicode/utf8"
)

// regNumberRe: a company registration number ("(JM0123456-K)", "123456-W").
var regNumberRe = mustLineRegexp(`\d{4,}-[A-Z]\b`)

// priceLikeRe: a price ("3,50", "12.00", "€ 7"), which no address holds.
var priceLikeRe = mustLineRegexp(`\d[.,]\d\d(?:[^\d/.,-]|$)|[€£$]\s*\d`)

var postcodeRe = mustLineRegexp(`\b\d{5}\b`)

// trailingPostcodeRe: a line that ends with its postcode ("ARA DAMANSARA,
// 47301"): the town follows on the next line, however many words it has.
var trailingPostcodeRe = mustLineRegexp(`\b\d{5}[\s.,]*$`)

// premisesNumberRe: a word that numbers a plot or a building ("LOT 37636",
// "NO. 12345", "P.T. 33198"); the number after it is no postcode.
var premisesNumberRe = mustLineRegexp(`(?i)\b(lot|no|unit|plot|p\.?\s*t\.?\s*d?|box|blk|block|suite)[\s.:#]*$`)

// hasPostcode reports whether a line holds a five-digit number that is a
// postcode rather than the number of a plot or a building.
func hasPostcode(c string) bool {
	for _, m := range postcodeRe.FindAllStringIndex(c, -1) {
		if !premisesNumberRe.MatchString(c[:m[0]]) {
			return true
		}
	}
	return false
}

// dotPriceRe: a price with a decimal point ("12.00").
var dotPriceRe = mustLineRegexp(`\d\.\d\d(?:[^\d]|$)`)

// priceLike reports whether an address candidate holds a price. A street
// line's house numbers listed with commas ("NO. 53 55,57 & 59, JALAN
// SAGU 18") are not one: there, only a price with a decimal point or a
// currency sign counts.
func priceLike(c string) bool {
	if !priceLikeRe.MatchString(c) {
		return false
	}
	if streetRe.MatchString(c) {
		return dotPriceRe.MatchString(c) || strings.ContainsAny(c, "€£$")
	}
	return true
}

// addressText is a line with its column gaps closed: receipts print an
// address across the whole width.
func addressText(s string) string {
	return columnGapRe.ReplaceAllString(strings.TrimSpace(s), " ")
}

// parenNumberRe: a bare number in parentheses, which numbers a company or
// a shop ("(TONYMOLY SHOP (95874))"), never a postcode.
var parenNumberRe = mustLineRegexp(`\(\s*\d+\s*\)`)

// addressStart: a street line (a street word, or a number and a comma) or
// a postcode line.
func addressStart(c string) bool {
	if letterCount(c) < 2 || len(datesIn(c)) > 0 || priceLike(c) {
		return false
	}
	c = parenNumberRe.ReplaceAllString(c, "")
	return addressWordRe.MatchString(c) || postcodeRe.MatchString(c) ||
		strings.ContainsAny(c, "0123456789") && strings.Contains(c, ",")
}

var notAddressRe = mustLineRegexp(`(?i)\b(tel|phone|fax|e-?mail|www|http|gst|vat|reg|invoice|receipt|date|cashier|no\s*:|co\.?\s*no|company\s*no|abn|ust|steuer|roc|h/p|hp|mobile|website|number)\b|\b[tf]\s*:|@|\d{1,2}:\d{2}`)

// findAddress finds the address block below the vendor's name: it starts
// at the first of the next few lines that looks like a street or postcode
// line (registration numbers, former names and dates printed in between
// are skipped) and runs to the first line that is clearly not an address
// (phone, tax id, a date, a blank line), at most five lines. After the
// line with the postcode only a short town/state/country line may follow.
func findAddress(lines []textLine, vendorLine int) string {
	if vendorLine < 0 {
		return ""
	}
	start := -1
	for j := vendorLine + 1; j < len(lines) && j <= vendorLine+5; j++ {
		c := addressText(lines[j].raw)
		// A company number ("(123456-D)") is skipped, unless the line
		// is a street line whose lot number has the same shape
		// ("LOT 1234-A & 1234-B, JALAN MAJU 6,").
		if c == "" || regNumberRe.MatchString(c) && !addressWordRe.MatchString(c) {
			continue
		}
		if notAddressRe.MatchString(c) && !addressWordRe.MatchString(c) {
			continue
		}
		if addressStart(c) && !endsAddress(c) {
			start = j
			break
		}
	}
	if start < 0 {
		return ""
	}
	// A town line found first ("15000 KHEMISSET") has its street above
	// it, under the name, even without a street word ("AUTOROUTE RABAT
	// MEKNES").
	if p := start - 1; p > vendorLine && hasPostcode(addressText(lines[start].raw)) && !addressWordRe.MatchString(postcodeRe.ReplaceAllString(addressText(lines[start].raw), "")) {
		if c := addressText(lines[p].raw); !endsAddress(c) && !regNumberRe.MatchString(c) && letterCount(c) >= 4 {
			start = p
		}
	}
	var parts []string
	postcode, townNext := false, false
	for j := start; j < len(lines) && len(parts) < 5; j++ {
		c := addressText(lines[j].raw)
		if endsAddress(c) {
			break
		}
		if postcode && (strings.ContainsAny(c, "0123456789") || wordCount(c) > 4 && !townNext) {
			break
		}
		parts = append(parts, c)
		townNext = !postcode && trailingPostcodeRe.MatchString(c) && hasPostcode(c)
		if hasPostcode(c) {
			postcode = true
		}
	}
	// Lines are joined as printed, with a space: a wrapped address line
	// carries its own commas where the printer put them.
	addr := strings.Join(parts, " ")
	addr = addressLabelRe.ReplaceAllString(addr, "")
	addr = strings.Trim(addr, " :;,-*=#|‘’'\"“”—_~")
	if utf8.RuneCountInString(addr) > 250 {
		addr = strings.TrimSpace(string([]rune(addr)[:250]))
	}
	return addr
}

// addressLabelRe: a label printed before the address ("ADDRESS:", "HQ
// ADD:", "Anschrift:"), which is not part of it.
var addressLabelRe = mustLineRegexp(`(?i)^\s*(?:[a-z]{1,6}\s+)?(?:add|addr|address|adresse|anschrift|alamat)\s*[:.]\s*`)

// premisesNoRe: the number label of a plot or a unit ("Lot NO:20"), which
// is part of the address, not a label that ends it.
var premisesNoRe = mustLineRegexp(`(?i)\b(lot|unit|blk|block|plot|suite)\s*no\.?\s*:`)

// endsAddress: a line that is no part of an address (a contact detail, a
// tax id, the document's title, a date, a price, a blank line).
func endsAddress(c string) bool {
	return c == "" || notAddressRe.MatchString(premisesNoRe.ReplaceAllString(c, "$1 ")) || docLabelRe.MatchString(strings.ToLower(c)) ||
		letterCount(c) < 2 || len(datesIn(c)) > 0 || priceLike(c)
}

// wordCount counts the words of two letters or more: initials ("D. E.")
// do not make a town line long.
func wordCount(s string) int {
	n := 0
	for _, w := range strings.Fields(s) {
		if letterCount(w) >= 2 {
			n++
		}
	}
	return n
}
