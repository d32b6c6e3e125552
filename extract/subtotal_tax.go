package extract

import (
	"math/big"
)

var subtotalRe = mustLineRegexp(`sub[\s-]*total|net\s*amount|total\s*excl|excl\.?\s*(vat|tax|gst)|excl(uding|usive)\s*(of\s*)?(vat|tax|gst)|total\s*net|\bnet\s*total|total\s*before\s*tax|untaxed|nettobetrag|netto|rechnungssumme\s*ohne|total\s*ht\b|montant\s*ht\b|excl(\.|usief)?\s*btw|base\s*imponible|imponibile`)

func isSubtotalLine(lower string) bool { return subtotalRe.MatchString(lower) }

var (
	taxRe = mustLineRegexp(`\b(tax|vat|gst|mwst|ust|tva|iva|sst|btw)\b|steuerbetrag|umsatzsteuer|mehrwertsteuer|mwst\.?-?betrag`)
	// Identifiers, not amounts: "VAT No", "GST ID", "Tax invoice", ...
	taxIDRe = mustLineRegexp(`(tax|vat|gst|ust|tva|sst|btw)[\s.-]*(id|no|nr|number|reg|registration|identification|code|invoice)\b|idnr|steuernummer|tax\s*invoice|incl|inkl|enthält`)
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

// addsUp reports whether subtotal + tax = total, the strongest evidence
// that all three amounts were read right.
func addsUp(subtotal, tax, total string) bool {
	s, ok1 := rat(subtotal)
	x, ok2 := rat(tax)
	t, ok3 := rat(total)
	return ok1 && ok2 && ok3 && new(big.Rat).Add(s, x).Cmp(t) == 0
}

// amountsOnLines returns every amount with decimals on the lines the
// predicate accepts, last line first: a line printed in two columns
// ("Exclusief BTW € 593,36     Subtotaal € 717,97") holds more than the
// one amount labelledAmount reads.
func amountsOnLines(lines []textLine, is func(string) bool) []string {
	var out []string
	for i := len(lines) - 1; i >= 0; i-- {
		if is(lines[i].lower) {
			out = append(out, decimalAmounts(lines[i].raw)...)
		}
	}
	return out
}

// decimalAmounts are the amounts with decimals printed on a line, in order.
func decimalAmounts(raw string) []string {
	var out []string
	for _, h := range amountsIn(raw) {
		if h.decimals {
			out = append(out, h.value)
		}
	}
	return out
}

// subtotalTaxByColumns finds a subtotal and tax that add up to the total
// where the labelled amounts do not: among every amount on the subtotal and
// tax lines, or, when no subtotal and no tax was found, in a totals row
// that prints net, tax and gross side by side ("Razem:  257,59  59,24
// 316,83", the gross last). Arithmetic is the only witness, so nothing is
// returned when no pair adds up.
func subtotalTaxByColumns(lines []textLine, total, subtotal, tax string) (string, string, bool) {
	t, ok := rat(total)
	if !ok || t.Sign() <= 0 {
		return "", "", false
	}
	if s, x, ok := pairAddingUp(total, amountsOnLines(lines, isSubtotalLine), amountsOnLines(lines, isTaxLine)); ok {
		return s, x, true
	}
	if subtotal != "" || tax != "" {
		return "", "", false
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i].lower
		if notTotalRe.MatchString(l) || !totalRowRe.MatchString(l) {
			continue
		}
		vals := decimalAmounts(lines[i].raw)
		if len(vals) < 3 || !sameAmount(vals[len(vals)-1], total) {
			continue
		}
		vals = vals[:len(vals)-1]
		for a := 0; a+1 < len(vals); a++ {
			if s, x, ok := pairAddingUp(total, vals[a:a+1], vals[a+1:a+2]); ok {
				return s, x, true
			}
		}
	}
	return "", "", false
}

// totalRowRe: the label of a row of totals ("Total", "Summe", "Razem").
var totalRowRe = mustLineRegexp(`\btotal\b|\bsumme\b|\btotaal\b|\btotale\b|\brazem\b`)

// pairAddingUp returns the first subtotal and tax, both positive and the
// tax the smaller, that add up to total.
func pairAddingUp(total string, subtotals, taxes []string) (string, string, bool) {
	for _, s := range subtotals {
		for _, x := range taxes {
			sv, ok1 := rat(s)
			xv, ok2 := rat(x)
			if ok1 && ok2 && xv.Sign() > 0 && xv.Cmp(sv) < 0 && addsUp(s, x, total) {
				return s, x, true
			}
		}
	}
	return "", "", false
}
