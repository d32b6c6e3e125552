package extract

import (
	"math/big"
	"strings"
	"tally/domain"
	"unicode"
	"unicode/utf8"
)

// amountSpaces turns the narrow and no-break spaces that typesetting puts
// in thousands groups into plain ones, and a minus sign into a hyphen.
var amountSpaces = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ", "\u2212", "-")

// ParseAmount turns a printed amount into a plain decimal string:
// "1.234,56" -> "1234.56", "1,234.56" -> "1234.56", "RM 9.00" -> "9.00",
// "$12" -> "12", "-3,00 €" -> "-3.00", "(5.00)" -> "-5.00".
//
// One currency symbol or ISO code may precede or follow the number. The
// decimal mark is decided like this:
//   - both "," and "." present: the last one is the decimal mark;
//   - only ",": a decimal comma unless it is followed by exactly three
//     digits ("1,234" is a thousand) or occurs more than once;
//   - only ".": a decimal point unless it occurs more than once.
//
// Thousands groups ("," "." "'" or a space) must have three digits, so that
// dates, times and phone numbers are not mistaken for amounts. ok is false
// when s is not an amount or does not fit the decimal contract (at most 15
// integer and 6 fractional digits).
func ParseAmount(s string) (string, bool) {
	s = amountSpaces.Replace(s)
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg = true
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	// Peel signs and at most one currency marker, from either end.
	stripped := false
	for range 4 {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "-"):
			if neg {
				return "", false
			}
			neg = true
			s = s[1:]
			continue
		case strings.HasSuffix(s, "-"):
			if neg {
				return "", false
			}
			neg = true
			s = s[:len(s)-1]
			continue
		case strings.HasPrefix(s, "+"):
			s = s[1:]
			continue
		}
		if !stripped {
			var ok bool
			if s, ok = stripCurrency(s); ok {
				stripped = true
				continue
			}
		}
		break
	}
	s = strings.TrimSpace(s)
	if s == "" || !isDigit(s[0]) || !isDigit(s[len(s)-1]) {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != '.' && c != ',' && c != '\'' && c != ' ' {
			return "", false
		}
	}

	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	decimal := byte(0)
	switch {
	case dots > 0 && commas > 0:
		decimal = '.'
		if strings.LastIndexByte(s, ',') > strings.LastIndexByte(s, '.') {
			decimal = ','
		}
	case commas == 1:
		if tail := s[strings.IndexByte(s, ',')+1:]; len(tail) != 3 {
			decimal = ','
		}
	case dots == 1:
		decimal = '.'
	}

	intPart, frac := s, ""
	if decimal != 0 {
		k := strings.LastIndexByte(s, decimal)
		intPart, frac = s[:k], s[k+1:]
		if strings.ContainsAny(frac, ".,' ") || frac == "" || len(frac) > 6 {
			return "", false
		}
		if strings.IndexByte(intPart, decimal) >= 0 {
			return "", false
		}
	}
	digits, ok := ungroup(intPart)
	if !ok {
		return "", false
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		digits = "0"
	}
	if len(digits) > 15 {
		return "", false
	}
	out := digits
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out, domain.IsDecimalAmount(out)
}

// ungroup removes thousands separators from an integer part, checking that
// every group after the first has exactly three digits and that only one
// kind of separator is used.
func ungroup(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	var sep byte
	var sb strings.Builder
	group := 0
	first := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			sb.WriteByte(c)
			group++
			continue
		}
		if sep == 0 {
			sep = c
		} else if c != sep {
			return "", false
		}
		if group == 0 || group > 3 || (!first && group != 3) {
			return "", false
		}
		first = false
		group = 0
	}
	if sep != 0 && group != 3 {
		return "", false
	}
	return sb.String(), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// amountHit is one amount found in a line.
type amountHit struct {
	value    string
	decimals bool // printed with a decimal part
	currency bool // a currency symbol or code is attached
	start    int
	end      int
}

var numberRe = mustLineRegexp(`\d[\d.,']*\d|\d`)

// amountsIn returns the amounts printed in a line. Numbers glued to letters
// ("INV2026", "A4"), parts of dates and times ("25/12", "13:58"),
// percentages ("20%", "19 %") and numbers in identifiers ("INV-2026-0042")
// are not amounts.
func amountsIn(s string) []amountHit {
	var hits []amountHit
	for _, m := range numberRe.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if before == '/' || before == ':' || before == '#' || before == '.' || before == ',' ||
			after == '/' || after == ':' || after == '%' || after == '°' {
			continue
		}
		if unicode.IsLetter(before) && !currencyBefore(s[:start]) {
			continue
		}
		if unicode.IsLetter(after) && !currencyAfter(s[end:]) {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(s[end:], " "), "%") {
			continue
		}
		neg := false
		if before == '-' {
			// A minus sign only when the dash is not joining two tokens.
			pre := strings.TrimSuffix(s[:start], "-")
			p, _ := utf8.DecodeLastRuneInString(pre)
			if p != utf8.RuneError && (unicode.IsLetter(p) || unicode.IsDigit(p)) && !currencyBefore(pre) {
				continue
			}
			neg = true
		}
		if after == '-' && end+1 < len(s) && isDigit(s[end+1]) {
			continue // "2026-0042", "18-11-18"
		}
		v, ok := ParseAmount(s[start:end])
		if !ok {
			continue
		}
		if neg && v != "0" && !strings.HasPrefix(v, "-") {
			v = "-" + v
		}
		hits = append(hits, amountHit{
			value:    v,
			decimals: strings.Contains(v, "."),
			currency: currencyBefore(strings.TrimSuffix(s[:start], "-")) || currencyAfter(s[end:]),
			start:    start,
			end:      end,
		})
	}
	return hits
}

// currencyBefore reports whether s ends with a currency marker.
func currencyBefore(s string) bool {
	s = strings.TrimRight(s, " ")
	for _, cs := range currencySymbols {
		if strings.HasSuffix(s, cs.sym) {
			n := len(strings.TrimSuffix(cs.sym, "."))
			if cs.sym == "Rs." {
				n++
			}
			return !wordSymbol(cs.sym) || len(s) == n || !isLetterByte(s[len(s)-n-1])
		}
	}
	if len(s) >= 3 && isoCurrencies[s[len(s)-3:]] {
		return len(s) == 3 || !isLetterByte(s[len(s)-4])
	}
	return false
}

// currencyAfter reports whether s starts with a currency marker.
func currencyAfter(s string) bool {
	s = strings.TrimLeft(s, " ")
	for _, cs := range currencySymbols {
		if strings.HasPrefix(s, cs.sym) {
			return !wordSymbol(cs.sym) || len(s) == len(cs.sym) || !isLetterByte(s[len(cs.sym)])
		}
	}
	if len(s) >= 3 && isoCurrencies[s[:3]] {
		return len(s) == 3 || !isLetterByte(s[3])
	}
	return false
}

func isLetterByte(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// lineAmount is the amount a labelled line stands for: the last one printed
// (labels sit on the left, values in the rightmost column), among amounts
// with a decimal part or a currency marker. Bare integers are left out
// because on a "Total (3 items)" line they are counts, not money.
func lineAmount(s string) (amountHit, bool) {
	hits := amountsIn(s)
	for i := len(hits) - 1; i >= 0; i-- {
		if hits[i].decimals || hits[i].currency {
			return hits[i], true
		}
	}
	return amountHit{}, false
}

// labelledAmount finds the amount for a label on line i: on the line itself
// or, when the line holds only the label (HTML receipts often put label and
// value in separate blocks), alone on the next non-empty line.
func labelledAmount(lines []textLine, i int) (string, bool) {
	if h, ok := lineAmount(lines[i].raw); ok {
		return h.value, true
	}
	for j := i + 1; j < len(lines) && j <= i+2; j++ {
		l := strings.TrimSpace(lines[j].raw)
		if l == "" {
			continue
		}
		h, ok := lineAmount(l)
		if ok && letterCount(l) <= 4 {
			return h.value, true
		}
		break
	}
	return "", false
}

func letterCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func isZeroAmount(v string) bool {
	r, ok := rat(v)
	return ok && r.Sign() == 0
}

func normAmount(s string) string {
	r, ok := rat(s)
	if !ok {
		return s
	}
	return r.FloatString(2)
}

func sameAmount(a, b string) bool {
	x, ok1 := rat(a)
	y, ok2 := rat(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

func rat(s string) (*big.Rat, bool) {
	if s == "" {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}
