package extract

import (
	"regexp"
	"strings"
)

// decimalRe is the contract for every amount in domain.Fields.
var decimalRe = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)

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
	s = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ", "\u2212", "-").Replace(s)
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
	return out, decimalRe.MatchString(out)
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
