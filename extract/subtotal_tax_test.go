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

func TestSubtotalTaxByColumns(t *testing.T) {
	for _, c := range []struct {
		name, text, sub, tax string
	}{
		{"a subtotal line in two columns", "    Exclusief BTW            € 593,36                                      Subtotaal                 € 717,97\n         BTW 21%             € 124,61\n                                                                              Totaal                 € 717,97\n",
			"593.36", "124.61"},
		{"a totals row of net, tax and gross", "1   EFECTA 95 CN27101245                l     54,910        5,79      1,10       5,77       257,59       23      59,24     316,83\n\n                                        Razem:         257,59                   59,24      316,83\n\nNależność ogółem: 316,83 PLN\n",
			"257.59", "59.24"},
		{"a totals row that does not add up is left alone", "Total   10.00   2.00   11.00\nGrand total   11.00\n", "", ""},
		{"labelled amounts that add up are kept", "Subtotal   10.00\nVAT   2.00\nTOTAL   9.00   3.00   12.00\n", "10.00", "2.00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := FromText(c.text)
			if f.Subtotal != c.sub || f.Tax != c.tax {
				t.Errorf("subtotal, tax = %q, %q; want %q, %q", f.Subtotal, f.Tax, c.sub, c.tax)
			}
		})
	}
}
