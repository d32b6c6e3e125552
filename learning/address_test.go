package learning

import (
	"testing"

	"tally/domain"
)

// Receipts of a chain: one head-office address on every branch's receipt,
// then the branch's own line, which the rules do not take as address.
const chainFirst = `QUICKMART SDN BHD
(CO. REG 000000-X)
LOT 5, JALAN MAWAR,
TAMAN MELATI 41150 KLANG, SELANGOR
0101-TMN SRI INDAH
GST ID: 000000000000
Date: 03/04/2024
Rice                 10.00
TOTAL                10.00
`

const chainSecond = `QUICKMART SDN BHD
(CO. REG 000000-X)
LOT 5, JALAN MAWAR,
TAMAN MELATI 41150 KLANG, SELANGOR
0202-JLN BUNGA RAYA
GST ID: 000000000000
Date: 05/06/2024
Sugar                 4.20
TOTAL                 4.20
`

func TestACorrectionTeachesWhereTheAddressEnds(t *testing.T) {
	first := extractText(t, chainFirst)
	if first.VendorAddress == "" {
		t.Fatal("the rules read no address")
	}
	l, ok := Learn(first, domain.Fields{VendorAddress: first.VendorAddress + " 0101-TMN SRI INDAH"})
	if !ok || l.AddressLines != 1 {
		t.Fatalf("lesson %+v, want the address to end a line later", l)
	}
	second := extractText(t, chainSecond)
	from := domain.LearnedFrom{DocumentID: "doc-1", EventID: "ev-1"}
	got := Apply(second, chainSecond, l, from)
	if want := second.VendorAddress + " 0202-JLN BUNGA RAYA"; got.VendorAddress != want {
		t.Fatalf("address %q, want %q (this branch's line, not the lesson's)", got.VendorAddress, want)
	}
	if got.Sources["vendor_address"] != domain.FieldSourceLearned || got.LearnedFrom == nil {
		t.Errorf("sources %v, learned from %v", got.Sources, got.LearnedFrom)
	}
	if err := domain.ValidateFields(got); err != nil {
		t.Error(err)
	}
	// Without the text the lines cannot be found: the address stays.
	if got := Apply(second, "", l, from); got.VendorAddress != second.VendorAddress {
		t.Errorf("without the text: %q", got.VendorAddress)
	}

	// The other way: the user takes the branch line the rules added away.
	long := second
	long.VendorAddress = second.VendorAddress + " 0202-JLN BUNGA RAYA"
	l, ok = Learn(long, domain.Fields{VendorAddress: second.VendorAddress})
	if !ok || l.AddressLines != -1 {
		t.Fatalf("lesson %+v, want the address to end a line earlier", l)
	}
	first.VendorAddress += " 0101-TMN SRI INDAH"
	if got := Apply(first, chainFirst, l, from); got.VendorAddress != extractText(t, chainFirst).VendorAddress {
		t.Errorf("address %q, want its last line taken away", got.VendorAddress)
	}
}

// A respelled address teaches no line, and a line of the receipt's body
// is never taken as the address's end.
func TestAddressLessonsLeaveOtherAddressesAlone(t *testing.T) {
	for _, c := range []struct {
		read, right string
		want        int
	}{
		{"LOT 5, JALAN MAWAR, TAMAN MELATI 41150 KLANG", "LOT 5, JALAN MAWAR, TAMAN MELATI 41150 KLANG, SELANGOR.", 1},
		{"LOT 5, JALAN MAWAR, TAMAN MELATI 41150 KLANG, SELANGOR", "LOT 5, JALAN MAWAR, TAMAN MELATI 41150 KLANG", -1},
		// Respelled, a digit and a letter: no line moved.
		{"LOT 5 JALAN MAWAR TAMAN MELATI", "LOT 6 JALAN MAWAR TAMAN MELATl", 0},
		// Two letters more at the end are a respelling too.
		{"LOT 5 JALAN MAWAR TAMAN MELATI", "LOT 5 JALAN MAWAR TAMAN MELATI JY", 0},
		// A different address that only starts alike.
		{"NO 8 JALAN", "NO 8 JALAN 7/118B DESA TUN RAZAK", 0},
		{"", "LOT 5 JALAN MAWAR", 0},
	} {
		if got := addressLines(c.read, c.right); got != c.want {
			t.Errorf("%q -> %q: %d, want %d", c.read, c.right, got, c.want)
		}
	}
	text := "SHOP\nLOT 5, JALAN MAWAR\nTOTAL: 10.00\n"
	if got := moveAddressEnd("LOT 5, JALAN MAWAR", text, 1); got != "LOT 5, JALAN MAWAR" {
		t.Errorf("took a labelled amount as the address's end: %q", got)
	}
}
