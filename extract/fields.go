package extract

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tally/domain"
)

// FromText finds fields in already-extracted text: lines separated by "\n",
// columns by runs of spaces (what pdftotext -layout and htmlToText produce).
// Every rule is a plain heuristic with a reason next to it; a field that no
// rule finds with some confidence stays empty.
func FromText(text string) domain.Fields {
	lines := splitLines(text)
	f := domain.Fields{EngineVersion: EngineVersion}

	total := findTotal(lines)
	f.Total = total.value
	subtotals := findLabelled(lines, isSubtotalLine)
	taxes := findLabelled(lines, isTaxLine)
	f.Subtotal, f.Tax = pickSubtotalTax(total.value, subtotals, taxes)
	f.Currency = findCurrency(lines, total.line)
	f.Date = findDate(lines)
	f.DueDate = findDueDate(lines)
	f.InvoiceNumber = findInvoiceNumber(lines)
	vendorLine := -1
	f.Vendor, vendorLine = findVendor(lines)
	if !legalFormRe.MatchString(f.Vendor) {
		if b := brandInText(lines); b != "" {
			f.Vendor = b
		}
	}
	f.VendorAddress = findAddress(lines, vendorLine)
	f.LineItems = findLineItems(lines)
	return f
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

// ---------------------------------------------------------------- amounts

// amountHit is one amount found in a line.
type amountHit struct {
	value    string
	decimals bool // printed with a decimal part
	currency bool // a currency symbol or code is attached
	start    int
	end      int
}

var numberRe = regexp.MustCompile(`\d[\d.,']*\d|\d`)

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
			return cs.sym != "RM" || len(s) == 2 || !isLetterByte(s[len(s)-3])
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
			return cs.sym != "RM" || len(s) == 2 || !isLetterByte(s[2])
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

// ---------------------------------------------------------------- total

// totalKeywords, strongest first (the first match decides). A "grand
// total" or a gross amount is explicitly the final figure; "amount due" and
// the like are the figure to pay; a bare "total" may also be an
// intermediate total. "TOTAL INCLUDES GST 0%  8.20" is a total only when
// nothing better exists: just as often it carries the tax ("TOTAL INCLUDES
// 6% GST  1.51").
var totalKeywords = []struct {
	re       *regexp.Regexp
	strength int
}{
	{regexp.MustCompile(`grand\s*total|gesamtsumme|bruttosumme|bruttobetrag|rechnungsbetrag|endbetrag|total\s*ttc|montant\s*ttc`), 5},
	{regexp.MustCompile(`total\s*due|amount\s*due|\bamt\.?\s*due|balance\s*due|amount\s*payable|total\s*payable|zu\s*zahlen|total\s*to\s*pay`), 4},
	{regexp.MustCompile(`total\s*amount|total\s*amt|\bnet\s*amt|invoice\s*total|order\s*total|total\s*charged|gesamtbetrag|total\s*paid`), 3},
	{regexp.MustCompile(`total\s*includes?\b|includes?\s*\d`), 1},
	{regexp.MustCompile(`\btotal\b|\bsumme\b`), 2},
}

// notTotalRe marks lines that mention "total" but are not the document
// total: subtotals, tax totals, net amounts, counts, discounts and notes
// such as "TOTAL INCLUDES 6% GST 1.51". ("Net total" is not excluded: on
// many receipts it is the final figure; the arithmetic check in
// pickSubtotalTax sorts out the invoices where it is the subtotal.)
var notTotalRe = regexp.MustCompile(`sub[\s-]*total|total\s*(tax|vat|gst|mwst|excl|ex\b|net|before|discount|saving|qty|quantity|item|unit|pcs|weight|point|number|no\b|number)|(tax|vat|gst|mwst)\s*total|gesamtbetrag\s*der|ohne\s*ust|netto|total\s*ht\b|excl\.?\s*(vat|tax|gst)|excl(\.|uding|usive)?\s*(of\s*)?(vat|tax|gst)|before\s*tax`)

type totalHit struct {
	value string
	line  int
}

// notTotalIncludedRe: "GST @6% INCLUDED IN TOTAL 2.43" states the tax.
var notTotalIncludedRe = regexp.MustCompile(`included\s*in\s*(the\s*)?total|(gst|tax|vat)\s*included`)

// finalTotalRe: labels of the figure after rounding, which is the one paid.
var finalTotalRe = regexp.MustCompile(`nett?\s*total|total\s*(after\s*)?round|round(ed|ing)?\s*total|to\s*be\s*paid|net\s*payable|nett\s*amount|total\s*payable`)

// findTotal weighs every amount on a line with a total keyword: the
// keyword's strength first, then evidence from arithmetic (cash handed over
// minus change given back; subtotal plus tax; the same figure printed
// again as the amount tendered), then position (receipts print running
// totals and rounding before the final figure, so later wins a tie).
//
// Lines just below a tax summary header ("GST SUMMARY  AMOUNT  TAX") are
// skipped: their "TOTAL" row adds up the tax table, not the document.
func findTotal(lines []textLine) totalHit {
	type cand struct {
		totalHit
		score int
	}
	var cands []cand
	summaryEnd := -1
	for i, l := range lines {
		if taxSummaryRe.MatchString(l.lower) {
			summaryEnd = i + 6
		}
		if i <= summaryEnd || notTotalRe.MatchString(l.lower) || notTotalIncludedRe.MatchString(l.lower) || isChangeOrTenderLine(l.lower) {
			continue
		}
		strength := 0
		if finalTotalRe.MatchString(l.lower) {
			strength = 5
		} else {
			for _, k := range totalKeywords {
				if k.re.MatchString(l.lower) {
					strength = k.strength
					break
				}
			}
		}
		if strength == 0 {
			continue
		}
		// A zero on a total line totals a part ("TOTAL LOADING CHARGES
		// 0.00", "Total discount 0.00"); a document owing nothing is
		// no document to extract.
		if v, ok := labelledAmount(lines, i); ok && !isZeroAmount(v) {
			cands = append(cands, cand{totalHit{value: v, line: i}, strength * 100})
		}
	}
	paid := paidAmount(lines)
	tendered := tenderedAmounts(lines)
	best := cand{totalHit: totalHit{line: -1}, score: -1 << 30}
	for _, c := range cands {
		if paid != "" && sameAmount(c.value, paid) {
			c.score += 250
		} else if tendered[normAmount(c.value)] {
			c.score += 60
		}
		if strings.HasPrefix(c.value, "-") {
			c.score -= 50
		}
		if c.score >= best.score {
			best = c
		}
	}
	if best.line < 0 && paid != "" {
		return totalHit{value: paid, line: -1}
	}
	return best.totalHit
}

var (
	cashLineRe   = regexp.MustCompile(`\b(cash|tunai|tendered|received|payment|paid|visa|master\s*card|credit\s*card|debit)\b`)
	changeLineRe = regexp.MustCompile(`\b(change|baki|kembali)\b`)
)

func isZeroAmount(v string) bool {
	r, ok := rat(v)
	return ok && r.Sign() == 0
}

// paidAmount is cash handed over minus the change given back, when a
// receipt prints both: the total, whatever its label says.
func paidAmount(lines []textLine) string {
	cash, change := "", ""
	for i, l := range lines {
		switch {
		case changeLineRe.MatchString(l.lower) && change == "" && cash != "":
			if v, ok := labelledAmount(lines, i); ok {
				change = v
			}
		case cashLineRe.MatchString(l.lower) && !changeLineRe.MatchString(l.lower) && !strings.Contains(l.lower, "total"):
			if v, ok := labelledAmount(lines, i); ok {
				cash, change = v, ""
			}
		}
	}
	c, ok1 := rat(cash)
	ch, ok2 := rat(change)
	if !ok1 || !ok2 || c.Sign() <= 0 || ch.Sign() < 0 {
		return ""
	}
	d := new(big.Rat).Sub(c, ch)
	if d.Sign() <= 0 {
		return ""
	}
	return d.FloatString(2)
}

// tenderedAmounts are the amounts on payment lines (a card payment is
// usually exactly the total).
func tenderedAmounts(lines []textLine) map[string]bool {
	out := map[string]bool{}
	for i, l := range lines {
		if cashLineRe.MatchString(l.lower) && !changeLineRe.MatchString(l.lower) {
			if v, ok := labelledAmount(lines, i); ok {
				out[normAmount(v)] = true
			}
		}
	}
	return out
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

var taxSummaryRe = regexp.MustCompile(`(gst|tax|vat|mwst)\s*summary|tax\s*code|steuerübersicht|umsatzsteueraufschlüsselung`)

var tenderRe = regexp.MustCompile(`\b(change|cash|tendered|rounding|accepted|received)\b`)

// isChangeOrTenderLine: "CASH 50.00" and "CHANGE 20.10" lines follow the
// total on receipts but are what the customer handed over or got back.
func isChangeOrTenderLine(lower string) bool {
	return tenderRe.MatchString(lower) && !strings.Contains(lower, "total")
}

// ---------------------------------------------------------------- subtotal, tax

var subtotalRe = regexp.MustCompile(`sub[\s-]*total|net\s*amount|total\s*excl|excl\.?\s*(vat|tax|gst)|excl(uding|usive)\s*(of\s*)?(vat|tax|gst)|total\s*net|\bnet\s*total|total\s*before\s*tax|untaxed|nettobetrag|netto|rechnungssumme\s*ohne|total\s*ht\b|montant\s*ht\b`)

func isSubtotalLine(lower string) bool { return subtotalRe.MatchString(lower) }

var (
	taxRe = regexp.MustCompile(`\b(tax|vat|gst|mwst|ust|tva|iva|sst|btw)\b|steuerbetrag|umsatzsteuer|mehrwertsteuer|mwst\.?-?betrag`)
	// Identifiers, not amounts: "VAT No", "GST ID", "Tax invoice", ...
	taxIDRe = regexp.MustCompile(`(tax|vat|gst|ust|tva|sst|btw)[\s.-]*(id|no|nr|number|reg|registration|identification|code|invoice)\b|idnr|steuernummer|tax\s*invoice|incl|inkl|enthält`)
)

func isTaxLine(lower string) bool {
	if notTotalIncludedRe.MatchString(lower) {
		return true // "GST @6% INCLUDED IN TOTAL 1.20"
	}
	return taxRe.MatchString(lower) && !taxIDRe.MatchString(lower) && !subtotalRe.MatchString(lower)
}

// findLabelled returns the amounts of every line the predicate accepts, last
// line first: summary blocks sit at the end of a document.
func findLabelled(lines []textLine, is func(string) bool) []string {
	var out []string
	for i := len(lines) - 1; i >= 0; i-- {
		if !is(lines[i].lower) {
			continue
		}
		if v, ok := labelledAmount(lines, i); ok {
			out = append(out, v)
		}
	}
	return out
}

// pickSubtotalTax chooses the subtotal and tax. Arithmetic is the best
// witness available: when some candidate pair satisfies subtotal + tax =
// total, that pair is taken. Otherwise the last labelled line of each wins.
func pickSubtotalTax(total string, subtotals, taxes []string) (string, string) {
	if t, ok := rat(total); ok {
		for _, s := range subtotals {
			for _, x := range taxes {
				sv, ok1 := rat(s)
				xv, ok2 := rat(x)
				if ok1 && ok2 && new(big.Rat).Add(sv, xv).Cmp(t) == 0 {
					return s, x
				}
			}
		}
	}
	var sub, tax string
	if len(subtotals) > 0 {
		sub = subtotals[0]
	}
	if len(taxes) > 0 {
		tax = taxes[0]
	}
	return sub, tax
}

func rat(s string) (*big.Rat, bool) {
	if s == "" {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// ---------------------------------------------------------------- currency

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

// ---------------------------------------------------------------- dates

var (
	dateLabelRe    = regexp.MustCompile(`\b(date|dated|datum|tarikh|order placed|bestellt am)\b|\bdate\s*de\b`)
	notDateLabelRe = regexp.MustCompile(`due|fällig|delivery|dispatch|ship|liefer|leistung|expir|valid|period|zeitraum|birth|print|f[äa]lligkeit`)
	dueLabelRe     = regexp.MustCompile(`\bdue\b|fällig|payable\s*by|pay\s*by|zahlbar\s*bis|échéance|payment\s*date`)
)

// findDate takes the first date next to a date label that is not a due,
// delivery or period date, an invoice's own date label ("Invoice date",
// "Rechnungsdatum") before any other ("Date:", "Order date"); failing
// that, the first date anywhere, since documents print their own date near
// the top. Dates that need repair (OCR look-alike letters, eight digits
// without separators) are used only when no clean date exists.
func findDate(lines []textLine) string {
	for _, finder := range []func(string) []string{datesIn, ocrDatesIn, compactDatesIn} {
		finder = plausibleDates(finder)
		for _, strong := range []bool{true, false} {
			for i, l := range lines {
				label := dateLabelRe.MatchString(l.lower)
				if strong {
					label = issueDateLabelRe.MatchString(l.lower)
				}
				if label && !notDateLabelRe.MatchString(l.lower) {
					if d := dateNearWith(lines, i, finder); d != "" {
						return d
					}
				}
			}
		}
		for _, l := range lines {
			if ds := finder(l.raw); len(ds) > 0 {
				return ds[0]
			}
		}
	}
	return ""
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
var issueDateLabelRe = regexp.MustCompile(`(rechnung|invoice|facture)\b.*\b(vom|von|du|dated)\s+\d|invoice\s*date|date\s*of\s*(issue|invoice)|issue\s*date|rechnungsdatum|belegdatum|date\s*de\s*(la\s*)?facture|receipt\s*date|bill\s*date`)

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

// ---------------------------------------------------------------- invoice number

// invoiceLabels, in order of preference: an invoice number identifies the
// document itself; an order or reference number is the next best key.
var invoiceLabels = []*regexp.Regexp{
	regexp.MustCompile(`(?i)invoice\s*(?:no\.?|nr\.?|#|number|num\.?|id)|\binv\.?\s*(?:no\.?|#)|rechnungs?[\s-]*(?:nr\.?|nummer|no\.?)|rechnung[^:\n]{0,30}?\bnr\.?|facture\s*n[°o]\.?|\bbill\s*(?:no\.?|#)|beleg[\s-]*(?:nr\.?|nummer)|receipt\s*(?:no\.?|#|number|id)`),
	regexp.MustCompile(`(?i)order\s*(?:no\.?|nr\.?|#|number|id)|bestell[\s-]*(?:nr\.?|nummer)|invoice\s*:|transaction\s*(?:id|no\.?)`),
}

var idTokenRe = regexp.MustCompile(`^[\s:#.°]*([A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[0-9])`)

// findInvoiceNumber reads the token after an invoice-number label: it must
// contain a digit (so a following label such as "Date" is not taken) and be
// at most 40 characters long.
func findInvoiceNumber(lines []textLine) string {
	for _, re := range invoiceLabels {
		for i, l := range lines {
			loc := re.FindStringIndex(l.raw)
			if loc == nil {
				continue
			}
			if id := idToken(l.raw[loc[1]:]); id != "" {
				return id
			}
			// Label alone on its line: value on the next non-empty one.
			if strings.TrimSpace(strings.Trim(l.raw[loc[1]:], ":#. ")) == "" {
				for j := i + 1; j < len(lines) && j <= i+2; j++ {
					next := strings.TrimSpace(lines[j].raw)
					if next == "" {
						continue
					}
					if !strings.Contains(next, "   ") {
						if id := idToken(next); id != "" && len(id) == len(next) {
							return id
						}
					}
					break
				}
			}
		}
	}
	return ""
}

func idToken(s string) string {
	m := idTokenRe.FindStringSubmatch(s)
	if m == nil || len(m[1]) > 40 || !strings.ContainsAny(m[1], "0123456789") {
		return ""
	}
	return m[1]
}

// ---------------------------------------------------------------- vendor

// docLabelRe matches lines that name the document rather than its issuer.
var docLabelRe = regexp.MustCompile(`^[\s\-*=]*(tax\s+invoice|invoice|receipt|official\s+receipt|cash\s+(bill|sale|receipt)|bill|statement|quotation|quote|credit\s+note|delivery\s+note|order\s+confirmation|rechnung|gutschrift|quittung|facture|original|copy|duplicate|simplified\s+tax\s+invoice)[\s\-*=:]*$`)

// notVendorRe matches lines that are plainly something else: labels with
// values, contact details, page furniture and copyright notices.
var notVendorRe = regexp.MustCompile(`(?i)^(date|invoice|receipt|order|bill to|ship to|page|tel|phone|fax|e-?mail|www\.|http|to:|from:|attn)|@|https?://|\(c\)|©|copyright|seite \d|page \d`)

// legalFormRe recognises company legal forms. A line carrying one near the
// top is the issuer's name far more often than the first line is (which on
// receipts is often a cashier, a branch or a slogan).
var legalFormRe = regexp.MustCompile(`(?i)\b(?:(?:ltd|limited|gmbh|sdn\.?\s*bhd|s[do0][nm][.,]?\s*b[hn][dor0]|bhd|inc|llc|plc|corp|corporation|ag|s\.?a|sarl|s\.?r\.?l|b\.?v|pty|s/b|kg|ohg|e\.k|oy|ab|as|enterprise|trading)\b|co\.)\.?`)

const vendorScanLines = 10

// findVendor returns the issuer's name and its line index (-1 when none):
// a line with a legal form among the first meaningful lines, else the first
// meaningful line that looks like a name (not an address, not OCR noise).
// Only the first column counts: the right-hand columns of a letterhead are
// usually the customer or the document details.
func findVendor(lines []textLine) (string, int) {
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
		// (SETIA" / "ALAM) SDN BHD"): the name goes on below.
		if k+1 < len(candidates) && candidates[k+1] == i+1 &&
			(strings.HasSuffix(c, "&") || strings.Count(c, "(") > strings.Count(c, ")")) {
			c += " " + vendorText(lines[i+1].raw)
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
				return cleanVendor(prev + " " + c), last
			}
		}
		return cleanVendor(c), last
	}
	for _, i := range candidates {
		c := vendorText(lines[i].raw)
		if nameLike(c) {
			if strings.HasSuffix(c, "&") && i+1 < len(lines) {
				if next := vendorText(lines[i+1].raw); nameLike(next) {
					return cleanVendor(c + " " + next), i + 1
				}
			}
			return cleanVendor(c), i
		}
	}
	if len(candidates) > 0 {
		i := candidates[0]
		return cleanVendor(vendorText(lines[i].raw)), i
	}
	return "", -1
}

// legalTailRe: a line that begins with the end of a company name: a legal
// form, "& CO", a branch in parentheses ("(SEMENYIH) SDN BHD"), or a
// business word that Malaysian names put before the legal form
// ("ENTERPRISE", "TRADING"). "CP. (M)": a misread "CO. (M)".
var legalTailRe = regexp.MustCompile(`(?i)^(&|and\s|co\.?\s|\(|\S{1,3}\.?\s*\(m\)|sdn|bhd|s/b|ltd|limited|gmbh|inc\b|llc|plc|enterprise|trading\b)`)

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
var addressWordRe = regexp.MustCompile(`(?i)\b(jalan|jln|lorong|taman|street|st\.|road|rd\.?|avenue|ave|lane|floor|flr|lot|blok|block|blk|no\.?\s*\d|straße|strasse|str\.|platz|weg|rue|avenue|suite|unit|p\.?o\.?\s*box)\b|\b\d{5}\b`)

// streetRe: a street line, which starts the address block below a name.
var streetRe = regexp.MustCompile(`(?i)\b(jalan|jln|lorong|taman|street|road|avenue|lane|floor|flr|lot|blok|block|blk|straße|strasse|rue|suite|p\.?o\.?\s*box)\b|^no\.?\s*\d`)

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
	labelValueRe = regexp.MustCompile(`^([\p{L} .'-]{2,30}):\s*(.+)$`)
	partSepRe    = regexp.MustCompile(`\s+[-|·•]\s+`)
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
	c = stripTrailingReg(c)
	if m := labelValueRe.FindStringSubmatch(c); m != nil {
		if !legalFormRe.MatchString(m[2]) {
			return ""
		}
		c = m[2]
	}
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

// leadingRefRe: a store or terminal number printed before the name
// ("#000002 ACME SDN BHD").
var leadingRefRe = regexp.MustCompile(`^#\s*\d+\s+`)

// stripTrailingReg removes registration numbers and branch codes printed
// after a name, repeatedly: "ACME S/B 273500-U (KJ1)," -> "ACME S/B".
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

var columnGapRe = regexp.MustCompile(`\s{3,}`)

func firstColumn(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSpace(columnGapRe.Split(s, 2)[0])
}

var orderRefRe = regexp.MustCompile(`#\s*\d|\d{3,}-\d{3,}`)

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
// name: "(519537-X)", "1110644-W".
var trailingRegRe = regexp.MustCompile(`(\s*\([^()]*\d[^()]*\)|\s+[0-9][0-9A-Z-]{4,})\s*$`)

// trailingDocLabelRe matches a document label after the name ("ACME Invoice").
var trailingDocLabelRe = regexp.MustCompile(`(?i)\s+(tax\s+invoice|invoice|receipt|rechnung|facture)\s*$`)

// misreadSdnBhdRe: "SDN BHD" as OCR often misreads it ("SON BHD",
// "SDN BND", "Sdi Bhd", "SON, BHD").
var misreadSdnBhdRe = regexp.MustCompile(`(?i)\b(?:s[do0][nm]|sdi)([.,]?\s*)b[hn][dor0]\b`)

var (
	ocrSpeckEndsRe   = regexp.MustCompile(`^[a-z]{1,2}\s+|\s+(?:[a-z]{1,2}|[.,'])$`)
	afterLegalFormRe = regexp.MustCompile(`(?i)(\b(?:sdn\.?\s*bhd|bhd|ltd|s/b)\.?)\s+\S{1,2}$`)
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

// ---------------------------------------------------------------- brands

// payeeTitleRe: e-receipt titles that name whom the money went to
// ("Receipt for your payment to ACME Ltd").
var payeeTitleRe = regexp.MustCompile(`(?i)\b(?:payments?|donation|purchase|order)\s+(?:to|from|at|with)\s+(.{2,80}?)\s*$`)

// domainBrandRe: a shop's brand printed as its web address ("Amazon.co.uk").
var domainBrandRe = regexp.MustCompile(`^[A-Z][A-Za-z0-9-]{1,30}\.(?:com|net|org|co\.uk|de|fr|nl|it|es|at|ch|be|pl|com\.au|com\.my|ca|co\.jp|in|ie|eu|shop|store)$`)

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

var copyrightRe = regexp.MustCompile(`(?:©|\(c\)|copyright)\s*(?:\d{4}\s*[-–]?\s*)?(?:\d{4})?,?\s*([A-Za-z][A-Za-z0-9.&'-]{1,30})\s+(?:Inc|Ltd|Limited|GmbH|LLC|plc|AG|S\.?A)\b`)

// ---------------------------------------------------------------- address

// regNumberRe: a company registration number ("(JM0352019-K)", "789417-W").
var regNumberRe = regexp.MustCompile(`\d{4,}-[A-Z]\b`)

// priceLikeRe: a price ("3,50", "12.00", "€ 7"), which no address holds.
var priceLikeRe = regexp.MustCompile(`\d[.,]\d\d(?:[^\d/.,-]|$)|[€£$]\s*\d`)

var postcodeRe = regexp.MustCompile(`\b\d{5}\b`)

// addressText is a line with its column gaps closed: receipts print an
// address across the whole width.
func addressText(s string) string {
	return columnGapRe.ReplaceAllString(strings.TrimSpace(s), " ")
}

// addressStart: a street line (a street word, or a number and a comma) or
// a postcode line.
func addressStart(c string) bool {
	if letterCount(c) < 2 || len(datesIn(c)) > 0 || priceLikeRe.MatchString(c) {
		return false
	}
	return addressWordRe.MatchString(c) || postcodeRe.MatchString(c) ||
		strings.ContainsAny(c, "0123456789") && strings.Contains(c, ",")
}

var notAddressRe = regexp.MustCompile(`(?i)\b(tel|phone|fax|e-?mail|www|http|gst|vat|reg|invoice|receipt|date|cashier|no\s*:|co\.?\s*no|company\s*no|abn|ust|steuer|roc|h/p|hp|mobile|website)\b|\b[tf]\s*:|@|\d{1,2}:\d{2}`)

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
		// A company number ("(860671-D)") is skipped, unless the line
		// is a street line whose lot number has the same shape
		// ("LOT 1851-A & 1851-B, JALAN KPB 6,").
		if c == "" || regNumberRe.MatchString(c) && !addressWordRe.MatchString(c) {
			continue
		}
		if notAddressRe.MatchString(c) && !addressWordRe.MatchString(c) {
			continue
		}
		if addressStart(c) {
			start = j
			break
		}
	}
	if start < 0 {
		return ""
	}
	var parts []string
	postcode := false
	for j := start; j < len(lines) && len(parts) < 5; j++ {
		c := addressText(lines[j].raw)
		if c == "" || notAddressRe.MatchString(c) || letterCount(c) < 2 || len(datesIn(c)) > 0 || priceLikeRe.MatchString(c) {
			break
		}
		if postcode && (strings.ContainsAny(c, "0123456789") || len(strings.Fields(c)) > 4) {
			break
		}
		parts = append(parts, c)
		if postcodeRe.MatchString(c) {
			postcode = true
		}
	}
	// Lines are joined as printed, with a space: a wrapped address line
	// carries its own commas where the printer put them.
	addr := strings.Trim(strings.Join(parts, " "), " :;,-*=#|‘’'\"“”—_~")
	if utf8.RuneCountInString(addr) > 250 {
		addr = strings.TrimSpace(string([]rune(addr)[:250]))
	}
	return addr
}
