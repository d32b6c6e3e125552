package extract

import (
	"fmt"
	"math/big"
	"strings"
)

// totalKeywords, strongest first (the first match decides). A "grand
// total" or a gross amount is explicitly the final figure; "amount due" and
// the like are the figure to pay; a bare "total" may also be an
// intermediate total. "TOTAL INCLUDES GST 0%  8.20" is a total only when
// nothing better exists: just as often it carries the tax ("TOTAL INCLUDES
// 6% GST  1.51").
var totalKeywords = []struct {
	re       lineRegexp
	strength int
}{
	{mustLineRegexp(`grand\s*total|gesamtsumme|bruttosumme|bruttobetrag|rechnungsbetrag|endbetrag|total\s*ttc|montant\s*ttc|importe\s*total|totale\s*(fattura|documento)|należność\s*ogółem|do\s*zapłaty|te\s*betalen`), 5},
	{mustLineRegexp(`total\s*due|amount\s*due|\bamt\.?\s*due|balance\s*due|amount\s*payable|total\s*payable|zu\s*zahlen|total\s*to\s*pay`), 4},
	{mustLineRegexp(`total\s*amount|total\s*amt|\bnet\s*amt|invoice\s*total|order\s*total|total\s*charged|gesamtbetrag|total\s*paid|\b(amt|amount)\.?\s*paid\b`), 3},
	{mustLineRegexp(`total\s*includes?\b|includes?\s*\d`), 1},
	{mustLineRegexp(`\btotal\b|\bsumme\b|\btotaal\b|\btotale\b|\brazem\b`), 2},
}

// notTotalRe marks lines that mention "total" but are not the document
// total: subtotals, tax totals, net amounts, counts, discounts and notes
// such as "TOTAL INCLUDES 6% GST 1.51". ("Net total" is not excluded: on
// many receipts it is the final figure; the arithmetic check in
// pickSubtotalTax sorts out the invoices where it is the subtotal.)
var notTotalRe = mustLineRegexp(`sub[\s-]*total|exclusief|excl\.?\s*btw|total\s*(tax|vat|gst|mwst|excl|ex\b|net|before|discount|saving|qty|quantity|item|unit|pcs|weight|point|number|no\b|number)|(tax|vat|gst|mwst)\s*total|gesamtbetrag\s*der|ohne\s*ust|netto|total\s*ht\b|excl\.?\s*(vat|tax|gst)|excl(\.|uding|usive)?\s*(of\s*)?(vat|tax|gst)|before\s*tax`)

type totalHit struct {
	value string
	line  int
	// evidence says what vouches for the value: "paid" (cash minus
	// change), "tendered" (a payment of the same amount), "paid-only" (no
	// total label at all) or "label<strength>" (the keyword alone).
	evidence string
}

// notTotalIncludedRe: "GST @6% INCLUDED IN TOTAL 2.43" states the tax.
var notTotalIncludedRe = mustLineRegexp(`included\s*in\s*(the\s*)?total|(gst|tax|vat)\s*included`)

// finalTotalRe: labels of the figure after rounding, which is the one paid.
var finalTotalRe = mustLineRegexp(`nett?\s*total|total\s*(after\s*)?round|round(ed|ing)?\s*total|to\s*be\s*paid|net\s*payable|nett\s*amount|total\s*payable`)

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
		score    int
		partsSum bool
	}
	var cands []cand
	summaryEnd := -1
	for i, l := range lines {
		if taxSummaryRe.MatchString(l.lower) {
			summaryEnd = i + 6
		}
		if i <= summaryEnd || notTotalRe.MatchString(l.lower) || notTotalIncludedRe.MatchString(l.lower) || isChangeOrTenderLine(l.lower) || tenderTotalRe.MatchString(l.lower) {
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
			cands = append(cands, cand{totalHit: totalHit{value: v, line: i}, score: strength * 100})
		}
	}
	// An order from several sellers prints a total per part and the
	// sum of them once ("You sent a total of £16.48", "Total £8.49",
	// "Total £7.99"): the figure that the other totals add up to is the
	// document's.
	if len(cands) >= 3 {
		for k := range cands {
			sum, n := new(big.Rat), 0
			for _, o := range cands {
				if sameAmount(o.value, cands[k].value) {
					continue
				}
				if v, ok := rat(o.value); ok {
					sum.Add(sum, v)
					n++
				}
			}
			if v, ok := rat(cands[k].value); ok && n >= 2 && sum.Cmp(v) == 0 {
				cands[k].score += 200
				cands[k].partsSum = true
			}
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
		return totalHit{value: paid, line: -1, evidence: "paid-only"}
	}
	// A bare "total" that neither the payment nor the arithmetic confirms
	// gives way to what cash minus change says was paid, when that figure
	// is printed on a line of its own ("DUE  19.20" above "PAY  20.00",
	// "CHANGE  0.80", where the only "total" line states the tax). A
	// difference of a rounding adjustment is left to roundedTotal.
	if best.line >= 0 && paid != "" && best.score < 300 && !withinRounding(best.value, paid) && !tendered[normAmount(best.value)] {
		if at := printedAmountLine(lines, paid); at >= 0 {
			return totalHit{value: paid, line: at, evidence: "paid-printed"}
		}
	}
	if best.line >= 0 {
		best.value = roundedTotal(lines, best.value, best.line)
	}
	switch {
	case best.line < 0:
	case paid != "" && sameAmount(best.value, paid):
		best.evidence = "paid"
	case tendered[normAmount(best.value)]:
		best.evidence = "tendered"
	case best.partsSum:
		best.evidence = "parts-sum"
	default:
		best.evidence = fmt.Sprintf("label%d", best.score/100)
	}
	return best.totalHit
}

var (
	cashLineRe   = mustLineRegexp(`\b(cash|tunai|tendered|received|payment|paid|visa|master\s*card|credit\s*card|debit)\b|^\s*pay\b`)
	changeLineRe = mustLineRegexp(`\b(change|baki|kembali)\b`)
	// tenderTotalRe: the sum handed over, labelled as a total ("ACCEPTED
	// TOTAL  10.00", "TOTAL TENDERED  50.00"): a payment, not the total.
	tenderTotalRe = mustLineRegexp(`\b(accepted|tendered)\s*total|total\s*tendered`)
)

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
		case cashLineRe.MatchString(l.lower) && !changeLineRe.MatchString(l.lower) && !strings.Contains(l.lower, "total"),
			tenderTotalRe.MatchString(l.lower) && !changeLineRe.MatchString(l.lower):
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

// withinRounding: a and b differ by at most ten cents, what a cash
// rounding adjustment changes.
func withinRounding(a, b string) bool {
	x, ok1 := rat(a)
	y, ok2 := rat(b)
	if !ok1 || !ok2 {
		return false
	}
	d := new(big.Rat).Sub(x, y)
	return d.Abs(d).Cmp(big.NewRat(1, 10)) <= 0
}

// printedAmountLine is the first line whose amount is value, not counting
// what was handed over or given back; -1 when there is none.
func printedAmountLine(lines []textLine, value string) int {
	for i, l := range lines {
		if cashLineRe.MatchString(l.lower) || changeLineRe.MatchString(l.lower) || tenderRe.MatchString(l.lower) {
			continue
		}
		if h, ok := lineAmount(l.raw); ok && sameAmount(h.value, value) {
			return i
		}
	}
	return -1
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

var taxSummaryRe = mustLineRegexp(`(gst|tax|vat|mwst)\s*summary|tax\s*code|steuerübersicht|umsatzsteueraufschlüsselung`)

var tenderRe = mustLineRegexp(`\b(change|cash|tendered|rounding|accepted|received)\b`)

// isChangeOrTenderLine: "CASH 50.00" and "CHANGE 20.10" lines follow the
// total on receipts but are what the customer handed over or got back.
func isChangeOrTenderLine(lower string) bool {
	return tenderRe.MatchString(lower) && !strings.Contains(lower, "total")
}

// roundingLineRe: a rounding adjustment ("ROUNDING ADJ  -0.02",
// "Rounding  .03"), which cash receipts print where the smallest coin
// is five cents; roundingValueRe reads its amount, which may lack the
// leading zero or, read by OCR, have a comma for its point ("0,01").
var (
	roundingLineRe  = mustLineRegexp(`\bround(ing)?\b|\brounding\s*adj`)
	roundingValueRe = mustLineRegexp(`(-?)\s*(?:rm|\$)?\s*(0?)[.,](\d\d)\s*$`)
)

// roundedTotal applies a rounding adjustment printed after the total:
// when total plus the adjustment (at most 10 cents) is printed again below
// (the rounded figure, or the amount tendered), that sum is the total.
// Arithmetic decides, so a rounding line that says something else changes
// nothing.
func roundedTotal(lines []textLine, total string, at int) string {
	t, ok := rat(total)
	if !ok {
		return total
	}
	for i := at + 1; i < len(lines) && i <= at+4; i++ {
		if !roundingLineRe.MatchString(lines[i].lower) {
			continue
		}
		m := roundingValueRe.FindStringSubmatch(strings.TrimSpace(lines[i].lower))
		if m == nil || m[3] == "00" {
			continue
		}
		adj, _ := new(big.Rat).SetString("0." + m[3])
		if m[1] == "-" {
			adj.Neg(adj)
		}
		for _, sign := range []int{1, -1} {
			sum := new(big.Rat).Add(t, new(big.Rat).Mul(adj, big.NewRat(int64(sign), 1)))
			want := sum.FloatString(2)
			for j := at + 1; j < len(lines) && j <= i+6; j++ {
				if j == i {
					continue
				}
				for _, h := range amountsIn(lines[j].raw) {
					if h.decimals && sameAmount(h.value, want) {
						return want
					}
				}
			}
			if m[1] == "-" {
				break // a signed adjustment is applied as printed
			}
		}
	}
	return total
}

// totalWithoutLabel finds the total of a receipt that prints no total
// line, from what the figures say about each other: subtotal plus tax
// (tax may be absent), confirmed when a payment of that amount was
// tendered ("tendered-sum"); else the one amount tendered, when exactly
// one was ("tendered-only": a payment without change is the total).
func totalWithoutLabel(lines []textLine, subtotal, tax string) (string, string) {
	tendered := tenderedAmounts(lines)
	if sub, ok := rat(subtotal); ok {
		sum := new(big.Rat).Set(sub)
		if t, ok := rat(tax); ok {
			sum.Add(sum, t)
		}
		v := sum.FloatString(2)
		if tendered[normAmount(v)] {
			return v, "tendered-sum"
		}
	}
	if len(tendered) == 1 {
		for v := range tendered {
			if r, ok := rat(v); ok && r.Sign() > 0 {
				return v, "tendered-only"
			}
		}
	}
	return "", ""
}
