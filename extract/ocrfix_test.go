package extract

import (
	"slices"
	"strings"
	"testing"
)

func TestCleanOCRText(t *testing.T) {
	for in, want := range map[string]string{
		"Total Amount: 164. 80":  "Total Amount: 164.80",
		"Rounding Adj : -0. 01":  "Rounding Adj : -0.01",
		"TOTAI RM 8.10":          "TOTAL RM 8.10",
		"Net Tota! 25.00":        "Net Total 25.00",
		"T0TAL 3.00":             "TOTAL 3.00",
		"MR. A.B.¥. (M) SDN BHD": "MR. A.B.Y. (M) SDN BHD",
		"¥4 252.60":              "¥4 252.60",              // a currency sign before a digit stays
		"TONAL TOTEM TOTAL 2. 5": "TONAL TOTEM TOTAL 2. 5", // real words, one digit
		"12 items 3. 500 pcs":    "12 items 3. 500 pcs",
		// Specks and the receipt's edge read as marks of their own.
		"| TAMAN CONTOH |":               "TAMAN CONTOH",
		"NO. 3 & 5, JALAN CONTOH 11, :":  "NO. 3 & 5, JALAN CONTOH 11,",
		". 81999 KAMPUNG, . ;":           "81999 KAMPUNG,",
		"Kawasan Perindustrian ! Contoh": "Kawasan Perindustrian  Contoh",
		"Cashier : USER":                 "Cashier : USER", // a label's colon stays
		"TOTAL   12.50 ¦":                "TOTAL   12.50",
	} {
		if got := cleanOCRText(in); got != want {
			t.Errorf("cleanOCRText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDatesInOCR(t *testing.T) {
	tests := []struct {
		fn   func(string) []string
		in   string
		want []string
	}{
		{datesIn, "DATE:   14/02/2018TIME:   09:41:07AM", []string{"2018-02-14"}},
		{datesIn, "Nr. 2.1 vom 24.03.2020", []string{"2020-03-24"}},
		{datesIn, "Invoice Date: August 3 , 2014", []string{"2014-08-03"}},
		{ocrDatesIn, "Date: |7-04-2018 10:15:02", []string{"2018-04-17"}},
		{ocrDatesIn, "O5/O3/2018", []string{"2018-03-05"}},
		{ocrDatesIn, "Ol-lO-O8", nil},   // too few real digits
		{ocrDatesIn, "25/03/2018", nil}, // nothing to repair: datesIn's job
		{ocrDatesIn, "On 1O-l2-2018", []string{"2018-12-10"}},
		{ocrDatesIn, "12-02-2618 11:34:45 AM", []string{"2018-02-12"}},
		{ocrDatesIn, "12-02-2018 11:34:45 AM", nil}, // nothing to repair
		{ocrDatesIn, "12-02-2518", nil},             // 5 is no misread 0
		{compactDatesIn, "00990020077   14032018   10:02:31", []string{"2018-03-14"}},
		{compactDatesIn, "Date/Time : 20180411/101010", []string{"2018-04-11"}},
		{compactDatesIn, "GST ID 000123456789", nil},
		{compactDatesIn, "Ref 12345678", nil},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFindDatePreferences(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"Order Date: 15-10-2015\nInvoice Date: 20-10-2015\n", "2015-10-20"},
		{"Stylesheet 2.1 vom 24.03.2020\nRechnung Nr. 900017 vom 05.06.2018\n", "2018-06-05"},
		{"Receipt 00123   25032018   13:11\nTOTAL 5.00\n", "2018-03-25"},
		{"Date: 22/03/2078\n", ""},
		{"Date: 12/03/2018\nLOT 1O-2l-2018\n", "2018-03-12"},
	} {
		if got := findDate(splitLines(tt.text)); got != tt.want {
			t.Errorf("findDate(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestVendorOCRRepairs(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"TAN AH KOW\nBOOK HOUSE (TAMAN JAYA) SDN BND\n123456-W\nNO.5, JALAN CONTOH 18,\n", "BOOK HOUSE (TAMAN JAYA) SDN BHD"},
		{"GRANNY KITCHEN RESTAURANT a\nNO 3, JALAN MAWAR\n", "GRANNY KITCHEN RESTAURANT"},
		{"Kedai Kopi Maju Son Bhd Co\nNO 3, JALAN MAWAR\n", "Kedai Kopi Maju SDN BHD"},
		{"SIMPLIFIED TAX INVOICE\nAA FARMASI\nSUBANG MEDIC SDN   BHD\n1234567-K\n", "SUBANG MEDIC SDN BHD"},
		{"ABC HARDWARE\nENTERPRISE (SETIA\nJAYA) SDN BHD\n123456-X\n", "ABC HARDWARE ENTERPRISE (SETIA JAYA) SDN BHD"},
		{"PASAR RAYA MAJU JAYA\n(KAJANG) SDN BHD\n(123456-W)\n", "PASAR RAYA MAJU JAYA (KAJANG) SDN BHD"},
		{"TSK POWER TOOLS\nTRADING\n001234567-T\n", "TSK POWER TOOLS TRADING"},
		{"LIAN SOON VEGETARIAN\nRESTAURANT SDN BHD\n(1234567-X)\n", "LIAN SOON VEGETARIAN RESTAURANT SDN BHD"},
	} {
		if got := FromText(tt.text).Vendor; got != tt.want {
			t.Errorf("vendor of %q = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// FuzzCleanOCRText: the repairs work line by line and never add or drop
// a line (the rules rely on labels and values staying on their lines).
func FuzzCleanOCRText(f *testing.F) {
	f.Add("| TAMAN CONTOH |\nTOTAI RM 8.10\n. 81999 KAMPUNG, . ;")
	f.Add("Total Amount: 164. 80\n¦ ! «")
	f.Fuzz(func(t *testing.T, text string) {
		got := cleanOCRText(text)
		if strings.Count(got, "\n") != strings.Count(text, "\n") {
			t.Fatalf("cleanOCRText(%q) = %q: lines changed", text, got)
		}
	})
}

func TestDigitForLetter(t *testing.T) {
	for in, want := range map[string]string{
		"L0T": "LOT", "K0ALA": "KOALA", "0ld": "old", "Ja1an": "Jalan", "Leve1": "Level",
		"SENT0SA": "SENTOSA",
		// left as they are
		"UG1": "UG1", "B1": "B1", "1A": "1A", "1st": "1st", "SS21": "SS21", "U13": "U13",
		"MASA1": "MASA1", "CS00011904": "CS00011904", "G0": "G0", "TOTAL": "TOTAL", "P0S1": "P0S1",
		"UPTOWN3": "UPTOWN3",
		"430O0":   "43000", "1o5": "105", "10O": "10O", "O12": "O12", "A12": "A12",
	} {
		if got := digitForLetter(in); got != want {
			t.Errorf("digitForLetter(%q) = %q, want %q", in, got, want)
		}
	}
}
