package extract

import (
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"tally/domain"
)

// TestFindLineItems covers the row parser with made-up documents.
func TestFindLineItems(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []domain.LineItem
	}{
		{
			name: "rows adding up to the subtotal",
			text: "Description            Qty   Price    Amount\n" +
				"Blue widget              2    4.50      9.00\n" +
				"Delivery service                        12.00\n" +
				"Green widget             1    3.25      3.25\n" +
				"Subtotal                               24.25\n" +
				"VAT 20%                                 4.85\n" +
				"Total                                  29.10\n",
			want: []domain.LineItem{
				{Description: "Blue widget", Quantity: "2", UnitPrice: "4.50", Amount: "9.00"},
				{Description: "Delivery service", Amount: "12.00"},
				{Description: "Green widget", Quantity: "1", UnitPrice: "3.25", Amount: "3.25"},
			},
		},
		{
			name: "decimal commas and an amount wrapped onto the next line",
			text: "Pos   Beschreibung        Nettopreis   Menge   Steuersatz\n" +
				"1     Miettage              86,5500    2 Tag(e)   19 %\n" +
				"                                                        173,10\n" +
				"2     Vollkasko             23,1000    2          19 %\n" +
				"                                                         46,20\n" +
				"      Positionssumme                                    219,30\n",
			want: []domain.LineItem{
				{Description: "Miettage", Quantity: "2", UnitPrice: "86.5500", Amount: "173.10"},
				{Description: "Vollkasko", Quantity: "2", UnitPrice: "23.1000", Amount: "46.20"},
			},
		},
		{
			name: "no sum: only rows whose quantity times price is their amount",
			text: "KEDAI MAJU\nNO 5, JALAN 3\nTEA   2 x 1.50   3.00\nTEL 03-1234 5678\nNOTE ABOUT 7.00\nCASH 20.00\n",
			want: []domain.LineItem{{Description: "TEA", Quantity: "2", UnitPrice: "1.50", Amount: "3.00"}},
		},
		{
			name: "a short code takes the item name printed above it",
			text: "CHICKEN RICE SET\nSR01   1   8.50   8.50\nICED TEA\nSR02   2   1.20   2.40\nTOTAL   10.90\n",
			want: []domain.LineItem{
				{Description: "CHICKEN RICE SET", Quantity: "1", UnitPrice: "8.50", Amount: "8.50"},
				{Description: "ICED TEA", Quantity: "2", UnitPrice: "1.20", Amount: "2.40"},
			},
		},
		{
			name: "tax table and payment lines are not items",
			text: "Coffee beans   1   12.00   12.00\nTotal   12.00\nVAT 7%   0.84\nCash   20.00\nChange   8.00\n",
			want: []domain.LineItem{{Description: "Coffee beans", Quantity: "1", UnitPrice: "12.00", Amount: "12.00"}},
		},
		{
			name: "a lone figure equal to the total after other rows is no evidence",
			text: "Invoice for services\nOffice at 12 High Street   40.00\nConsulting   100.00\nTotal   100.00\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findLineItems(splitLines(tt.text))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d items %+v, want %+v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("item %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzFindLineItems: any text gives items whose amounts are plain
// decimals, whose descriptions are valid UTF-8 taken from the text, and
// whose quantity times unit price, where both are given, is the amount.
func FuzzFindLineItems(f *testing.F) {
	f.Add("Widget   2   4.50   9.00\nSubtotal   9.00\n")
	f.Add("1     Miettage   86,5500   2 Tag(e)   19 %\n     173,10\nPositionssumme 173,10\n")
	f.Add("CHICKEN RICE\nSR01 1 8.50 8.50\nTOTAL 8.50\n")
	f.Add("Apple iPad   1   € 399,00   21%   € 399,00\nTotaal € 399,00\n")
	f.Add("x 0.00 0\n0.00\nsum 0.00\n")
	f.Fuzz(func(t *testing.T, text string) {
		items := findLineItems(splitLines(text))
		for _, it := range items {
			if !utf8.ValidString(it.Description) || it.Description == "" {
				t.Fatalf("bad description %q", it.Description)
			}
			a, ok := new(big.Rat).SetString(it.Amount)
			if !ok {
				t.Fatalf("amount %q is not a decimal", it.Amount)
			}
			if it.Quantity != "" && it.UnitPrice != "" {
				q, ok1 := new(big.Rat).SetString(it.Quantity)
				p, ok2 := new(big.Rat).SetString(it.UnitPrice)
				if !ok1 || !ok2 || !centsEqual(new(big.Rat).Mul(q, p), a) {
					t.Fatalf("%s x %s != %s", it.Quantity, it.UnitPrice, it.Amount)
				}
			}
			if !strings.Contains(strings.ToValidUTF8(strings.ReplaceAll(spaceish.Replace(text), "\n", " "), "\uFFFD"), strings.Fields(it.Description)[0]) {
				t.Fatalf("description %q not from the text", it.Description)
			}
		}
	})
}
