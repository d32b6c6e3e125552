package extract

import "strings"

// isoCurrencies are the ISO 4217 codes recognised in text. The list is
// deliberately not all of ISO 4217: codes such as ALL, TOP, CUP or MOP are
// also ordinary words and would be found in every document.
var isoCurrencies = map[string]bool{
	"EUR": true, "USD": true, "GBP": true, "MYR": true, "CHF": true, "JPY": true,
	"CNY": true, "INR": true, "AUD": true, "CAD": true, "NZD": true, "SGD": true,
	"HKD": true, "SEK": true, "NOK": true, "DKK": true, "PLN": true, "CZK": true,
	"HUF": true, "RON": true, "BGN": true, "TRY": true, "ZAR": true, "BRL": true,
	"MXN": true, "IDR": true, "THB": true, "PHP": true, "VND": true, "KRW": true,
	"AED": true, "SAR": true, "ILS": true, "RUB": true, "UAH": true, "ISK": true,
}

// currencySymbols maps printed symbols to ISO codes. Order matters: longer
// symbols come first so that "US$" is not read as "$" and "S$" not as "$".
// A bare "$" is read as USD: it is by far the most common dollar, and the
// field is a hint for bookkeeping rather than a settlement instruction.
var currencySymbols = []struct{ sym, code string }{
	{"US$", "USD"}, {"HK$", "HKD"}, {"NZ$", "NZD"}, {"CA$", "CAD"}, {"C$", "CAD"},
	{"A$", "AUD"}, {"S$", "SGD"}, {"€", "EUR"}, {"£", "GBP"}, {"¥", "JPY"},
	{"₹", "INR"}, {"zł", "PLN"}, {"RM", "MYR"}, {"Rs.", "INR"}, {"Rs", "INR"}, {"$", "USD"},
}

// CurrencyCode reads a currency written on its own: an ISO 4217 code in
// any case ("eur") or a printed symbol ("€", "US$", "RM").
func CurrencyCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, cs := range currencySymbols {
		if strings.EqualFold(s, cs.sym) {
			return cs.code, true
		}
	}
	if u := strings.ToUpper(s); len(u) == 3 && isLetterByte(u[0]) && isLetterByte(u[1]) && isLetterByte(u[2]) {
		return u, true
	}
	return "", false
}

// currencyIn returns the first currency named in s: an ISO code as a whole
// upper-case word, or a symbol ("RM" only as a whole word, since the letters
// occur inside ordinary words).
func currencyIn(s string) string {
	best, bestAt := "", len(s)+1
	for _, w := range wordSpans(s) {
		if w.start >= bestAt {
			break
		}
		if isoCurrencies[w.text] {
			best, bestAt = w.text, w.start
			break
		}
	}
	for _, cs := range currencySymbols {
		at := -1
		if wordSymbol(cs.sym) {
			for _, w := range wordSpans(s) {
				if w.text == strings.TrimSuffix(cs.sym, ".") {
					at = w.start
					break
				}
			}
		} else {
			at = strings.Index(s, cs.sym)
		}
		if at >= 0 && at < bestAt {
			best, bestAt = cs.code, at
		}
	}
	return best
}

// wordSymbol: a currency symbol made of letters ("RM", "Rs"), which counts
// only as a whole word, since the letters occur inside ordinary words.
func wordSymbol(sym string) bool {
	return sym == "RM" || sym == "Rs" || sym == "Rs."
}

type span struct {
	text  string
	start int
}

// wordSpans splits s into runs of ASCII letters.
func wordSpans(s string) []span {
	var out []span
	start := -1
	for i := 0; i <= len(s); i++ {
		letter := i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z')
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			out = append(out, span{s[start:i], start})
			start = -1
		}
	}
	return out
}

// stripCurrency removes one currency symbol or code from the start or the
// end of s (case-insensitively for codes) and reports whether it did.
func stripCurrency(s string) (string, bool) {
	for _, cs := range currencySymbols {
		if len(s) > len(cs.sym) && strings.EqualFold(s[:len(cs.sym)], cs.sym) {
			return s[len(cs.sym):], true
		}
		if len(s) > len(cs.sym) && strings.EqualFold(s[len(s)-len(cs.sym):], cs.sym) {
			return s[:len(s)-len(cs.sym)], true
		}
	}
	if len(s) > 3 {
		if isoCurrencies[strings.ToUpper(s[:3])] {
			return s[3:], true
		}
		if isoCurrencies[strings.ToUpper(s[len(s)-3:])] {
			return s[:len(s)-3], true
		}
	}
	return s, false
}

// findCurrency prefers a currency printed on or next to the total line (the
// one that matters), then the first one anywhere in the document.
func findCurrency(lines []textLine, totalLine int) string {
	if totalLine >= 0 {
		for _, j := range []int{totalLine, totalLine + 1, totalLine - 1} {
			if j >= 0 && j < len(lines) {
				if c := currencyIn(lines[j].raw); c != "" {
					return c
				}
			}
		}
	}
	for _, l := range lines {
		if c := currencyIn(l.raw); c != "" {
			return c
		}
	}
	return ""
}
