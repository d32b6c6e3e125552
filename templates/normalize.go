package templates

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"tally/domain"
	"tally/extract"
)

// normalize turns a raw field value into its domain.Fields form. An empty
// result comes with a note saying why.
func (t *compiled) normalize(field, raw string) (string, string) {
	s := strings.Join(strings.Fields(raw), " ")
	if s == "" {
		return "", "the value is empty"
	}
	switch field {
	case "subtotal", "tax", "total":
		if v, ok := normalizeAmount(s, t.decimalMark); ok {
			return v, ""
		}
		mark := t.decimalMark
		if mark == "" {
			mark = "guessed"
		}
		return "", fmt.Sprintf("%q is not an amount (decimal mark %s)", truncate(s, 40), mark)
	case "date", "due_date":
		if v, ok := normalizeDate(s, t.dateFormat); ok {
			return v, ""
		}
		format := t.dateFormat
		if format == "" {
			format = "the engine's"
		}
		return "", fmt.Sprintf("%q is not a date in format %s", truncate(s, 40), format)
	case "currency":
		if v, ok := normalizeCurrency(s); ok {
			return v, ""
		}
		return "", fmt.Sprintf("%q is not a currency code or symbol", truncate(s, 40))
	}
	return s, ""
}

// normalizeAmount reads an amount with a known decimal mark: the other
// mark, spaces and apostrophes group thousands; a currency code or symbol
// around the number, a sign or parentheses are allowed. An empty mark
// leaves the guessing to extract.ParseAmount.
func normalizeAmount(s, mark string) (string, bool) {
	if mark == "" {
		return extract.ParseAmount(s)
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	s = strings.ReplaceAll(s, "\u2212", "-")
	// Peel whatever surrounds the number: currency, signs, spaces.
	start := strings.IndexFunc(s, isDigitRune)
	end := strings.LastIndexFunc(s, isDigitRune)
	if start < 0 {
		return "", false
	}
	prefix, body, suffix := s[:start], s[start:end+1], s[end+1:]
	if strings.Contains(prefix, "-") || strings.Contains(suffix, "-") {
		if neg {
			return "", false
		}
		neg = true
	}
	for _, r := range prefix + suffix {
		if unicode.IsDigit(r) || r == '.' || r == ',' {
			return "", false // e.g. ".5" or "5." is not what a template should capture
		}
	}
	thousands := "."
	if mark == "." {
		thousands = ","
	}
	var b strings.Builder
	decimals := -1
	for _, r := range body {
		switch {
		case isDigitRune(r):
			b.WriteRune(r)
			if decimals >= 0 {
				decimals++
			}
		case string(r) == mark:
			if decimals >= 0 {
				return "", false // two decimal marks
			}
			b.WriteByte('.')
			decimals = 0
		case string(r) == thousands || r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f' || r == '\u2009':
			if decimals >= 0 {
				return "", false // grouping after the decimal mark
			}
		default:
			return "", false
		}
	}
	v := b.String()
	intPart, frac, _ := strings.Cut(v, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	v = intPart
	if frac != "" {
		v += "." + frac
	}
	if neg {
		v = "-" + v
	}
	return v, domain.IsDecimalAmount(v)
}

func isDigitRune(r rune) bool { return r >= '0' && r <= '9' }

// normalizeDate reads a date in the template's format and returns it as an
// ISO date. An empty format leaves it to extract.ParseDate.
func normalizeDate(s, format string) (string, bool) {
	switch format {
	case "":
		return extract.ParseDate(s)
	case "dmy", "mdy", "ymd":
		parts := strings.FieldsFunc(s, func(r rune) bool {
			return r == '.' || r == '/' || r == '-' || r == ',' || unicode.IsSpace(r)
		})
		if len(parts) != 3 {
			return "", false
		}
		var d, m, y string
		switch format {
		case "dmy":
			d, m, y = parts[0], parts[1], parts[2]
		case "mdy":
			m, d, y = parts[0], parts[1], parts[2]
		default:
			y, m, d = parts[0], parts[1], parts[2]
		}
		day, err := strconv.Atoi(strings.TrimRight(strings.ToLower(d), "stndrh"))
		if err != nil {
			return "", false
		}
		month, err := strconv.Atoi(m)
		if err != nil {
			month, _ = extract.MonthNumber(m)
		}
		year, err := strconv.Atoi(y)
		if err != nil || (len(y) != 2 && len(y) != 4) {
			return "", false
		}
		if len(y) == 2 {
			year += 2000
		}
		return extract.ISODate(year, month, day)
	default:
		t, err := time.Parse(format, s)
		if err != nil {
			return "", false
		}
		return extract.ISODate(t.Year(), int(t.Month()), t.Day())
	}
}

// normalizeCurrency accepts an ISO 4217 code in any case or a common
// symbol.
func normalizeCurrency(s string) (string, bool) {
	return extract.CurrencyCode(s)
}
