package extract

import "testing"

// Rules that read a letterhead by position and the labels of other
// languages; each case is written for a layout, not for a sender.
func TestLetterheadRules(t *testing.T) {
	for _, c := range []struct {
		name, text string
		check      func(t *testing.T, text string)
	}{
		{"issuer beside the title", "FACTUUR.                                Voorbeeld Handel B.V.\n                                        Kade 12\nKlant Naam\nStraat 3\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Vendor != "Voorbeeld Handel B.V." {
				t.Errorf("vendor = %q", f.Vendor)
			}
		}},
		{"the company after ATTN is the customer", "          Example Cloud Services Invoice\nBill to Address:\nATTN: Buyer Holdings Limited\nInvoice Number: 42\nTotal  $4.11\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Vendor == "Buyer Holdings Limited" {
				t.Errorf("vendor = %q, the customer", f.Vendor)
			}
		}},
		{"rupees as Rs", "PAYMENT RECEIPT\nGrand Total          Rs 1939\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Currency != "INR" || f.Total != "1939" {
				t.Errorf("currency, total = %q, %q", f.Currency, f.Total)
			}
		}},
		{"Rs inside a word is no currency", "Hours 12\nTOTAL 5.00\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Currency == "INR" {
				t.Errorf("currency = %q", f.Currency)
			}
		}},
		{"Dutch totals", "Exclusief BTW   € 100,00\nBTW 21%         € 21,00\nTotaal          € 121,00\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Total != "121.00" || f.Subtotal != "100.00" {
				t.Errorf("total, subtotal = %q, %q", f.Total, f.Subtotal)
			}
		}},
		{"Polish amount due", "Razem:   257,59   59,24   316,83\nNależność ogółem: 316,83 PLN\n", func(t *testing.T, text string) {
			if f := FromText(text); f.Total != "316.83" {
				t.Errorf("total = %q", f.Total)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, c.text) })
	}
}

func TestZeroWidthCharactersAreNotText(t *testing.T) {
	text := "Your order is confirmed\nItem number\n: 154317367111\n©1995\u200c-2021 Example Inc., all rights reserved\n"
	if f := FromText(text); f.Vendor != "Example" {
		t.Errorf("vendor = %q, want the copyright holder", f.Vendor)
	}
}
