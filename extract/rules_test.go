package extract

import (
	"testing"

	"tally/domain"
)

// TestFromTextRules covers the receipt rules with synthetic text: every
// document here is made up.
func TestFromTextRules(t *testing.T) {
	tests := []struct {
		name string
		text string
		want domain.Fields
	}{
		{
			name: "total is cash minus change when the labels mislead",
			text: "MAJU JAYA TRADING\nNO 8, JALAN MELATI 2,\n52999 KAMPUNG CONTOH\nTOTAL INCL. GST@6%   RM 21.20\nCASH   RM 50.00\nCHANGE   RM 28.80\nGST @6% INCLUDED IN TOTAL   RM 1.20\n",
			want: domain.Fields{Vendor: "MAJU JAYA TRADING", VendorAddress: "NO 8, JALAN MELATI 2, 52999 KAMPUNG CONTOH", Currency: "MYR", Total: "21.20", Tax: "1.20"},
		},
		{
			name: "nett total after rounding wins over total amount",
			text: "KEDAI RUNCIT ABC\nTOTAL AMOUNT: RM7.72\nROUNDING: -RM0.02\nNETT TOTAL: RM7.70\n",
			want: domain.Fields{Vendor: "KEDAI RUNCIT ABC", Currency: "MYR", Total: "7.70"},
		},
		{
			name: "no total label: cash minus change",
			text: "PASAR MINI SEGAR\nBREAD   3.20\nCASH   10.00\nCHANGE   6.80\n",
			want: domain.Fields{Vendor: "PASAR MINI SEGAR", Total: "3.20"},
		},
		{
			name: "name wrapped before its legal form, registration numbers skipped",
			text: "STAR BOOK\nCO. (M) SDN BHD\n(CO. NO. 123456-W)\nNO 8, JALAN 7/21C, TAMAN CONTOH\n56999 BANDAR CONTOH, MALAYSIA\nTEL : 03-1234 5678\n",
			want: domain.Fields{Vendor: "STAR BOOK CO. (M) SDN BHD", VendorAddress: "NO 8, JALAN 7/21C, TAMAN CONTOH 56999 BANDAR CONTOH, MALAYSIA"},
		},
		{
			name: "a zero on a total line is not the total",
			text: "KEDAI RUNCIT ABC\nBREAD   3.20\nTOTAL LOADING CHARGES   0.00\nCASH   10.00\nCHANGE   6.80\n",
			want: domain.Fields{Vendor: "KEDAI RUNCIT ABC", Total: "3.20"},
		},
		{
			name: "a lot number shaped like a company number starts the address",
			text: "KEDAI ALAT TULIS SDN BHD\n(CO. RFG : 123456-D)\nLOT 1234-A & 1234-B, JALAN MAJU 6,\nKAWASAN PERINDUSTRIAN CEMPAKA,\n43999 SERI CONTOH, SELANGOR\nTEL : 03-1234 5678\n",
			want: domain.Fields{Vendor: "KEDAI ALAT TULIS SDN BHD", VendorAddress: "LOT 1234-A & 1234-B, JALAN MAJU 6, KAWASAN PERINDUSTRIAN CEMPAKA, 43999 SERI CONTOH, SELANGOR"},
		},
		{
			name: "trailing registration and branch codes are not the name",
			text: "GOOD BAKERY S/B 123456-U (KJ1)\nNO. 12-B3, JALAN SC9/4,\n47999 BUKIT CONTOH\nSELANGOR\nTEL:03-1234567\n",
			want: domain.Fields{Vendor: "GOOD BAKERY S/B", VendorAddress: "NO. 12-B3, JALAN SC9/4, 47999 BUKIT CONTOH SELANGOR"},
		},
		{
			name: "a legal form below the address block is not the vendor",
			text: "SINAR JAYA HARDWARE\nJM0000001-V\nNO.9 JALAN CONTOH 9/5\n81999 BANDAR CONTOH\nTEL : 07-000 0000\nSOLD TO: OTHER COMPANY SDN BHD\n",
			want: domain.Fields{Vendor: "SINAR JAYA HARDWARE", VendorAddress: "NO.9 JALAN CONTOH 9/5 81999 BANDAR CONTOH"},
		},
		{
			name: "name ending in ampersand continues on the next line",
			text: "HOME BEST HARDWARE &\nELECTRICAL\nNO.1, JALAN CONTOH,\n40999 TAMAN CONTOH\n",
			want: domain.Fields{Vendor: "HOME BEST HARDWARE & ELECTRICAL", VendorAddress: "NO.1, JALAN CONTOH, 40999 TAMAN CONTOH"},
		},
		{
			name: "e-receipt brand from a web address in the header",
			text: "Your Orders   |  Your Account  |  Shopzilla.co.uk\nOrder Confirmation\nOrder #123-4567890-1234567\nOrder Total:   £21.20\n",
			want: domain.Fields{Vendor: "Shopzilla.co.uk", InvoiceNumber: "123-4567890-1234567", Currency: "GBP", Total: "21.20"},
		},
		{
			name: "e-receipt brand from the copyright line",
			text: "Your order is confirmed\nTotal   £9.99\n©1995-2021 Bidly Inc. All rights reserved.\n",
			want: domain.Fields{Vendor: "Bidly", Currency: "GBP", Total: "9.99"},
		},
		{
			name: "textual month with slashes",
			text: "CAFE MELATI\nCB# : 1234   16/MAY/2019 03:21:09\nTOTAL   12.00\n",
			want: domain.Fields{Vendor: "CAFE MELATI", Date: "2019-05-16", Total: "12.00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromText(tt.text)
			tt.want.EngineVersion = EngineVersion
			assertFields(t, got, tt.want)
		})
	}
}

func TestVendorFromTitle(t *testing.T) {
	for in, want := range map[string]string{
		"Receipt for Your Payment to Gadget Shop Ltd": "Gadget Shop Ltd",
		"Receipt for your donation to Helping Hands":  "Helping Hands",
		"Shopzilla.de - Bestellung 123-4567890":       "Shopzilla.de",
		"Shopzilla.com: Order 123":                    "Shopzilla.com",
		"Your receipt":                                "",
		"":                                            "",
		" | : ":                                       "",
	} {
		if got := vendorFromTitle(in); got != want {
			t.Errorf("vendorFromTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTMLTitleVendor(t *testing.T) {
	doc := `<html><head><title>Receipt for your payment to Tiny Tea Co</title></head>` +
		`<body><p>Hello Jane Doe</p><p>Total charged: £12.50 GBP</p></body></html>`
	got, err := New(Limits{}).Extract(t.Context(), []byte(doc), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	if got.Vendor != "Tiny Tea Co" || got.Total != "12.50" {
		t.Fatalf("got vendor %q total %q", got.Vendor, got.Total)
	}
}
