package extract

import "testing"

func TestFindTotal(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"grand total beats total", "Total   10.00\nGrand Total   11.90\n", "11.90"},
		{"subtotal is not the total", "Subtotal   10.00\nVAT 19%   1.90\n", ""},
		{"amount due", "Net   100,00\nAmount due   119,00 EUR\n", "119.00"},
		{"label and value on separate lines", "Order Total:\n£21.20\n", "21.20"},
		{"cash minus change without a label", "BREAD   3.20\nCASH   10.00\nCHANGE   6.80\n", "3.20"},
		{"rounded total wins", "TOTAL AMOUNT: 7.72\nROUNDING: -0.02\nNETT TOTAL: 7.70\n", "7.70"},
		{"rounding adjustment confirmed below", "TOTAL SALES (INCL GST) RM   177.22\nROUNDING ADJUSTMENT RM   -.02\nROUNDING RM   177.20\nCREDIT RM   177.20\n", "177.20"},
		{"unsigned rounding, tendered", "TOTAL WITH GST   41.48\nROUNDING   0.02\nVISA   41.50\n", "41.50"},
		{"rounding that adds up to nothing printed", "TOTAL   41.48\nROUNDING   0.02\nCASH   50.00\nCHANGE   8.52\n", "41.48"},
		{"a zero total is a part total", "TOTAL DISCOUNT   0.00\nTOTAL   5.50\n", "5.50"},
		{"tax summary rows are not the total", "TOTAL   9.90\nGST SUMMARY   AMOUNT   TAX\nTOTAL   9.34   0.56\n", "9.90"},
		{"a count is not money", "Total (3 items)\n", ""},
		{"rounding read with a comma", "TOTAL   19.99\nRounding Adj   0,01\nRounding   20.00\nCASH   20.00\nCHANGE   0.00\n", "20.00"},
		{"rounding with a comma that adds up to nothing printed", "TOTAL   19.99\nRounding Adj   0,01\nCASH   50.00\nCHANGE   30.01\n", "19.99"},
		{"the sum of the parts' totals", "You sent a total of £16.48 GBP.\nKorean Ginseng Tablets   £8.49 GBP\nTotal\n£8.49 GBP\nPayment\n£8.49 GBP\nGinkgo Biloba Tablets   £7.99 GBP\nTotal\n£7.99 GBP\nPayment\n£7.99 GBP\n", "16.48"},
		{"totals that add up to nothing printed", "Total   8.49\nTotal   7.99\nTotal   3.00\n", "3.00"},
		{"accepted total is the payment", "010100 PAY PARKING TICKET   5.00 RM\nAMOUNT INCL. GST   5.00 RM\nACCEPTED TOTAL   10.00 RM\nCHANGE   5.00 RM\nGST 6%   0.28 RM\n", "5.00"},
		{"a total tendered is no total", "TOTAL   11.50\nTOTAL TENDERED   12.00\n", "11.50"},
		{"paid amount printed beats a tax line", "QTY   8   19.20\nROUNDING ADJ   0.00\nDUE   19.20\nPAY   20.00\nCHANGE   0.80\n(TOTAL INCLUDED GST @ 6% : 1.09)\n", "19.20"},
		{"paid amount not printed leaves the total", "TOTAL   8.00\nCASH   20.00\nCHANGE   2.00\n", "8.00"},
		{"paid after rounding leaves the total to the rounding rule", "TOTAL:   72.93\nRND ADJ   0.02\nTTL ATF RND   72.95\nPAYMENT   73.00\nCHANGE DUE   0.05\n", "72.93"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := findTotal(splitLines(c.text)).value; got != c.want {
				t.Errorf("findTotal = %q, want %q", got, c.want)
			}
		})
	}
}

func TestTotalWithoutLabel(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"one payment, no total line", "KEDAI CONTOH\nDPT.05   RM   149.00\nDPT.04   RM   21.00\nCASH\nRM   170.00\n", "170.00"},
		{"subtotal confirmed by the payment", "4X 38.00   RM152.00\nSUBTOTAL   RM152.00\nGST 0%   RM0.00\nCASH   RM152.00\nVISA   RM10.00\n", "152.00"},
		{"amount paid is a total label", "AMT PAID INCL. GST : RM78.30\nAMT PAID EXCL. GST :RM 73.87\n", "78.30"},
		{"two payments, nothing adds up", "ITEM  3.00\nCASH  5.00\nVISA  7.00\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := FromText(c.text).Total; got != c.want {
				t.Errorf("total = %q, want %q", got, c.want)
			}
		})
	}
}
