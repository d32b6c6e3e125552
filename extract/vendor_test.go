package extract

import "testing"

func TestFindVendor(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"legal form beats the first line", "WELCOME\nSUNRISE MART SDN BHD\nNO 1, JALAN MAWAR\n", "SUNRISE MART SDN BHD"},
		{"first name-like line", "Blue Kettle Cafe\n12 High Street\n", "Blue Kettle Cafe"},
		{"document labels are skipped", "TAX INVOICE\nOMEGA SUPPLIES LTD\n", "OMEGA SUPPLIES LTD"},
		{"only the first column", "Northwind GmbH         Invoice No. 12\n", "Northwind GmbH"},
		{"labelled seller with a legal form", "Seller: Contoso Ltd\n", "Contoso Ltd"},
		{"registration number stripped", "KEDAI MAJU SDN BHD (123456-X)\n", "KEDAI MAJU SDN BHD"},
		{"misread SDN BHD repaired", "KEDAI MAJU SON BHD\n", "KEDAI MAJU SDN BHD"},
		{"B of BHD misread as 3", "SUPER SEVEN CASH & CARRY SDN 3HD\n", "SUPER SEVEN CASH & CARRY SDN BHD"},
		{"B of BHD misread as E", "DIGI TELECOMMUNICATIONS SDN EHD\n", "DIGI TELECOMMUNICATIONS SDN BHD"},
		{"3HD without SDN left alone", "3HD AUDIO SHOP\n", "3HD AUDIO SHOP"},
		{"misread CO. (M) repaired", "POPULAR BOOK\nCP. (M) SDN BHD\n(COMPANY NO. 123456-W)\n", "POPULAR BOOK CO. (M) SDN BHD"},
		{"CP without the (M) left alone", "CP. SUPPLIES SDN BHD\n", "CP. SUPPLIES SDN BHD"},
		{"a date joined to the name", "UNIHAKKA INTERNATIONAL SDN BHD 30 May 2018 18:24\n12 JalanTa/Kaann (123456-)\nTampai\nTAX INVOICE\n", "UNIHAKKA INTERNATIONAL SDN BHD"},
		{"a date before the legal form is no name", "30 May 2018 KEDAI SDN BHD\nBlue Kettle Cafe\n", "Blue Kettle Cafe"},
		{"a branch in parentheses below the name", "CHECKERS HYPERMARKET SDN BHD\n(JALAN KLANG LAMA)\nLOT 2942 & 2945, JLN SERI SENTOSA 8,\n", "CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)"},
		{"a registration number in parentheses is no branch", "KEDAI MAJU SDN BHD\n(123456-X)\nLOT 5, JALAN BUNGA\n", "KEDAI MAJU SDN BHD"},
		{"a label alone is no name", "Account number:   Invoice Summary\n296664039561\nBlue Kettle Cafe\n", "Blue Kettle Cafe"},
		{"nothing", "\n\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, _, _ := findVendor(splitLines(c.text)); got != c.want {
				t.Errorf("findVendor = %q, want %q", got, c.want)
			}
		})
	}
}

func TestBrandFromCopyright(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"a country in parentheses before the legal form", "Teen Titans Go Stickers\nItem price\n: £2.55\n©1995\u200c-2021, eBay (UK) Limited, registered in England and Wales with number 01234567\n", "eBay"},
		{"a phrase in parentheses is no country", "Teen Titans Go Stickers\n©2021 Example (Trading as Shop) Limited\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := brandInText(splitLines(c.text)); got != c.want {
				t.Errorf("brandInText = %q, want %q", got, c.want)
			}
		})
	}
}
