package extract

import "testing"

func TestFindSubtotalTax(t *testing.T) {
	for _, c := range []struct {
		name, text, total, sub, tax string
	}{
		{"labelled", "Subtotal   10.00\nVAT 19%   1.90\nTotal   11.90\n", "11.90", "10.00", "1.90"},
		{"German labels", "Nettobetrag   100,00\nUmsatzsteuer   19,00\nGesamtbetrag   119,00\n", "119.00", "100.00", "19.00"},
		{"the pair that adds up wins", "Net total   50.00\nSubtotal   40.00\nVAT   10.00\nTotal   50.00\n", "50.00", "40.00", "10.00"},
		{"a VAT number is not a tax", "VAT No. GB123456789\nTotal   5.00\n", "5.00", "", ""},
		{"tax included in the total", "TOTAL   21.20\nGST @6% INCLUDED IN TOTAL   1.20\n", "21.20", "", "1.20"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := splitLines(c.text)
			sub, tax := pickSubtotalTax(c.total, findLabelled(lines, isSubtotalLine), findLabelled(lines, isTaxLine))
			if sub != c.sub || tax != c.tax {
				t.Errorf("subtotal, tax = %q, %q; want %q, %q", sub, tax, c.sub, c.tax)
			}
		})
	}
}
