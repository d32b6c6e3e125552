package extract

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// monthNames maps month names and abbreviations (English, German, French,
// Dutch, Malay) to month numbers.
var monthNames = map[string]int{}

func init() {
	for m, names := range [12]string{
		"jan january januar jänner janvier januari",
		"feb february februar février fevrier févr fev februari",
		"mar march märz maerz mars maart mac mrt mär",
		"apr april avril",
		"may mai mei",
		"jun june juni juin",
		"jul july juli juillet juil",
		"aug august août aout augustus ogos",
		"sep sept september septembre",
		"oct october oktober octobre okt",
		"nov november novembre",
		"dec december dezember décembre decembre dez dis",
	} {
		for _, n := range strings.Fields(names) {
			monthNames[n] = m + 1
		}
	}
}

var (
	isoDateRe     = mustLineRegexp(`^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$`)
	numDateRe     = mustLineRegexp(`^(\d{1,2})([-/.])(\d{1,2})([-/.])(\d{4}|\d{2})$`)
	dayMonthRe    = mustLineRegexp(`^(\d{1,2})(?:st|nd|rd|th)?\.?[\s/-]*(\p{L}+)\.?[\s,/-]*(\d{4}|\d{2})$`)
	monthDayRe    = mustLineRegexp(`^(\p{L}+)\.?\s*(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})$`)
	compactDateRe = mustLineRegexp(`^\d{8}$`)
	weekdayPrefix = mustLineRegexp(`^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+`)
)

// ParseDate turns a printed date into an ISO date "YYYY-MM-DD".
//
// Accepted: ISO "2018-12-25" (also with "/" or "."), numeric "25/12/2018",
// "25.12.2018", "25-12-18", textual "25 December 2018", "25-Dec-18",
// "7. Mai 2014", "Dec 25, 2018", optionally after a weekday name.
//
// Ambiguity: numeric dates are read day-first ("03/04/2018" is 3 April),
// because that is how most of the world, and most of the documents this
// engine sees (EU and Malaysian receipts), print them. Month-first is used
// only when day-first is impossible ("12/25/2018"), and never for dotted
// dates, which are day-first by convention. Two-digit years are 20YY.
// Impossible dates ("31/02/2018") and years outside 1900-2100 give ok=false.
func ParseDate(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Trim(s, "()[],;: ")
	s = weekdayPrefix.ReplaceAllString(s, "")
	if m := isoDateRe.FindStringSubmatch(s); m != nil {
		return makeDate(atoi(m[1]), atoi(m[2]), atoi(m[3]))
	}
	if m := numDateRe.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return "", false
		}
		a, b, y := atoi(m[1]), atoi(m[3]), year(m[5])
		if d, ok := makeDate(y, b, a); ok {
			return d, true
		}
		if m[2] == "." {
			return "", false
		}
		return makeDate(y, a, b)
	}
	if compactDateRe.MatchString(s) {
		// "25032018" (day first, as printed on receipts) or "20180325".
		if d, ok := makeDate(atoi(s[4:]), atoi(s[2:4]), atoi(s[:2])); ok {
			return d, true
		}
		return makeDate(atoi(s[:4]), atoi(s[4:6]), atoi(s[6:]))
	}
	if m := dayMonthRe.FindStringSubmatch(s); m != nil {
		if mon, ok := monthNames[m[2]]; ok {
			return makeDate(year(m[3]), mon, atoi(m[1]))
		}
	}
	if m := monthDayRe.FindStringSubmatch(s); m != nil {
		if mon, ok := monthNames[m[1]]; ok {
			return makeDate(atoi(m[3]), mon, atoi(m[2]))
		}
	}
	return "", false
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func year(s string) int {
	y := atoi(s)
	if len(s) == 2 {
		y += 2000
	}
	return y
}

// MonthNumber returns the month (1-12) a name or abbreviation stands for,
// in any of the languages ParseDate reads ("Dec", "Dezember", "juillet"),
// or, failing that, whose first three letters are an abbreviation ("Janu").
func MonthNumber(name string) (int, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if m, ok := monthNames[name]; ok {
		return m, true
	}
	if len(name) > 3 {
		m, ok := monthNames[name[:3]]
		return m, ok
	}
	return 0, false
}

// ISODate formats a calendar date as "YYYY-MM-DD"; ok is false for a date
// that does not exist or a year outside 1900-2100.
func ISODate(y, m, d int) (string, bool) { return makeDate(y, m, d) }

func makeDate(y, m, d int) (string, bool) {
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31 {
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), true
}

// dateCandidateRe finds substrings that may be dates; ParseDate decides.
var dateCandidateRe = mustLineRegexp(
	`\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b` +
		`|\b\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})\b` +
		`|\b\d{1,2}(?:st|nd|rd|th)?\.?[ /-]?\p{L}{3,9}\.?[ ,/-]{0,3}(?:\d{4}|\d{2})\b` +
		`|\b\p{L}{3,9}\.?[ ]\d{1,2}(?:st|nd|rd|th)?[ ]?,?[ ]\d{4}\b`)

// gluedAfterDateRe: a date run into the next word ("21/05/2018TIME").
var gluedAfterDateRe = mustLineRegexp(`([-/.]\d{2,4})(\p{L})`)

// datesIn returns the dates found in s, in order.
func datesIn(s string) []string {
	var out []string
	s = gluedAfterDateRe.ReplaceAllString(s, "$1 $2")
	// A candidate that is not a date may hide one that overlaps it
	// ("Nr. 7 vom 11.03.2018": "7 vom 11" is tried first), so the search
	// goes on from the next character rather than after the candidate.
	for i := 0; i < len(s); {
		loc := dateCandidateRe.FindStringIndex(s[i:])
		if loc == nil {
			break
		}
		if d, ok := ParseDate(s[i+loc[0] : i+loc[1]]); ok {
			out = append(out, d)
			i += loc[1]
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i+loc[0]:])
		i += loc[0] + size
	}
	return out
}

// compactDateCandRe: an eight-digit date ("25032018", "20180428"), alone or
// before a time ("20180428/191204", "25032018 13:11").
var compactDateCandRe = mustLineRegexp(`(?:^|[^\d/.,-])(\d{8})(?:$|[^\d.,-]|/\d{6}\b)`)

// compactDatesIn returns the eight-digit dates of s. Such numbers are also
// identifiers, so only years 2000-2039 count, and callers use them only
// when no separated date was found.
func compactDatesIn(s string) []string {
	var out []string
	for _, m := range compactDateCandRe.FindAllStringSubmatch(s, -1) {
		if d, ok := ParseDate(m[1]); ok && d >= "2000" && d < "2040" {
			out = append(out, d)
		}
	}
	return out
}

// ocrDateRe: a numeric date in which OCR may have read a digit as a
// letter ("|7-06-2018", "O5/O3/2018", "2l.03.2018"). Only tokens of this
// shape are repaired, never words.
var ocrDateRe = mustLineRegexp(`(?:^|[^\p{L}\d])([\dOoIl|]{1,2}[-/.][\dOoIl|]{1,2}[-/.](?:[\dOoIl|]{4}|[\dOoIl|]{2}))(?:$|[^\p{L}\d])`)

// ocrYearRe: a four-digit year 2x.. whose second digit is one that OCR
// reads for a 0 (6, 8, 9): no receipt is dated in the 27th century.
var ocrYearRe = mustLineRegexp(`[-/.]2([689])\d\d$`)

var ocrDigitFix = strings.NewReplacer("O", "0", "o", "0", "I", "1", "l", "1", "|", "1")

// ocrDatesIn returns dates whose digits OCR misread as look-alike letters.
// At least four real digits must be present, so that a word is never read
// as a date.
func ocrDatesIn(s string) []string {
	var out []string
	for _, m := range ocrDateRe.FindAllStringSubmatch(s, -1) {
		tok := m[1]
		digits := 0
		for i := 0; i < len(tok); i++ {
			if isDigit(tok[i]) {
				digits++
			}
		}
		if digits == len(tok)-2 {
			// All digits: only a year whose hundreds OCR read as a
			// round digit ("12-02-2618", "2918") can be repaired.
			if y := ocrYearRe.FindStringSubmatchIndex(tok); y != nil {
				fixed := tok[:y[2]] + "0" + tok[y[3]:]
				if d, ok := ParseDate(fixed); ok {
					out = append(out, d)
				}
			}
			continue
		}
		if digits < 4 {
			continue // too few digits: a word, not a date
		}
		if d, ok := ParseDate(ocrDigitFix.Replace(tok)); ok {
			out = append(out, d)
		}
	}
	return out
}

var (
	dateLabelRe    = mustLineRegexp(`\b(date|dated|datum|tarikh|order placed|bestellt am)\b|\bdate\s*de\b`)
	notDateLabelRe = mustLineRegexp(`due|fällig|delivery|dispatch|ship|liefer|leistung|expir|valid|period|zeitraum|birth|print|f[äa]lligkeit`)
	dueLabelRe     = mustLineRegexp(`\bdue\b|fällig|payable\s*by|pay\s*by|zahlbar\s*bis|échéance|payment\s*date`)
)

// findDate takes the first date next to a date label that is not a due,
// delivery or period date, an invoice's own date label ("Invoice date",
// "Rechnungsdatum") before any other ("Date:", "Order date"); failing
// that, the first date anywhere, since documents print their own date near
// the top. Dates that need repair (OCR look-alike letters, eight digits
// without separators) are used only when no clean date exists.
func findDate(lines []textLine) string {
	d, _ := findDateEvidence(lines)
	return d
}

// findDateEvidence is findDate saying how it found the date: "issue-label",
// "label" or "first", with "-repaired" for a date that needed repair.
func findDateEvidence(lines []textLine) (string, string) {
	for k, finder := range []func(string) []string{datesIn, ocrDatesIn, compactDatesIn} {
		repaired := ""
		if k > 0 {
			repaired = "-repaired"
		}
		finder = plausibleDates(finder)
		for _, strong := range []bool{true, false} {
			for i, l := range lines {
				label := dateLabelRe.MatchString(l.lower)
				how := "label"
				if strong {
					label, how = issueDateLabelRe.MatchString(l.lower), "issue-label"
				}
				if label && !notDateLabelRe.MatchString(l.lower) {
					if d := dateNearWith(lines, i, finder); d != "" {
						return d, how + repaired
					}
				}
			}
		}
		for _, l := range lines {
			if ds := finder(l.raw); len(ds) > 0 {
				return ds[0], "first" + repaired
			}
		}
	}
	return "", ""
}

// plausibleDates keeps the dates a document can carry as its own: not
// decades ahead ("2078", OCR for "2018").
func plausibleDates(finder func(string) []string) func(string) []string {
	limit := fmt.Sprintf("%04d", time.Now().Year()+10)
	return func(s string) []string {
		ds := finder(s)
		out := ds[:0]
		for _, d := range ds {
			if d[:4] <= limit {
				out = append(out, d)
			}
		}
		return out
	}
}

// issueDateLabelRe: labels of the date the document was issued.
// "Rechnung Nr. 4711 vom 05.06.2018" names it too.
var issueDateLabelRe = mustLineRegexp(`(rechnung|invoice|facture)\b.*\b(vom|von|du|dated)\s+\d|invoice\s*date|date\s*of\s*(issue|invoice)|issue\s*date|rechnungsdatum|belegdatum|date\s*de\s*(la\s*)?facture|receipt\s*date|bill\s*date`)

// findDueDate takes the first date next to a "due" label.
func findDueDate(lines []textLine) string {
	for i, l := range lines {
		if dueLabelRe.MatchString(l.lower) {
			if d := dateNear(lines, i); d != "" {
				return d
			}
		}
	}
	return ""
}

// dateNear is the first date on line i or on the next non-empty line.
func dateNear(lines []textLine, i int) string {
	return dateNearWith(lines, i, datesIn)
}

func dateNearWith(lines []textLine, i int, datesIn func(string) []string) string {
	if ds := datesIn(lines[i].raw); len(ds) > 0 {
		return ds[0]
	}
	for j := i + 1; j < len(lines) && j <= i+2; j++ {
		if strings.TrimSpace(lines[j].raw) == "" {
			continue
		}
		if ds := datesIn(lines[j].raw); len(ds) > 0 {
			return ds[0]
		}
		break
	}
	return ""
}
