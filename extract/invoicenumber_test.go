package extract

import "testing"

func TestFindInvoiceNumber(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"invoice number beats order number", "Order No: 55\nInvoice No.: INV-2024-0042\n", "INV-2024-0042"},
		{"order number when no invoice number", "Order #123-4567890-1234567\n", "123-4567890-1234567"},
		{"German", "Rechnungsnummer: 4711 vom 01.02.2024\n", "4711"},
		{"German without space", "Rechnungs-Nr. 2024/118\n", "2024/118"},
		{"label alone, value below", "Invoice Number\nA-1001\n", "A-1001"},
		{"a following label is not a number", "Invoice No: Date 12.03.2024\n", ""},
		{"French", "Facture N° F2024-17\n", "F2024-17"},
		{"Dutch", "Factuurnummer: 993548900\n", "993548900"},
		{"column label, value below it", "Guest: Ann\n  Booking ID          Payment Mode\n  QX7710              Cash\n", "QX7710"},
		{"column label, other column below", "  Booking ID          Payment Mode\n                      Cash 12\n", ""},
		{"a number with # under the title", "Sammy Maystone\nsomeone@example.com                                                                           INVOICE\n                                                                                                  # invoice_number_1\n                                                                                         Date:                Jan 1, 2022\n", "invoice_number_1"},
		{"a receipt number with # under the title", "TAX INVOICE\n20/04/2018 19:15   #1000000163\nPOS: 02\n", "1000000163"},
		{"a store number with # above the title is not it", "#0020 THE SUMMIT USJ\nTAX INVOICE\nPOS: 02\n", ""},
		{"a # line under another heading is not it", "RECEIPT\n# 42 MAIN STREET 7\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := findInvoiceNumber(splitLines(c.text)); got != c.want {
				t.Errorf("findInvoiceNumber = %q, want %q", got, c.want)
			}
		})
	}
}
