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
