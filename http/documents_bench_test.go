package http

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"tally/domain"
	"tally/readmodel"
)

// BenchmarkToDocument times turning a listed row into its answer: the
// three JSON columns of fields (as extracted, as corrected, the
// corrections) are decoded for every document of a page.
func BenchmarkToDocument(b *testing.B) {
	f := domain.Fields{Vendor: "Northwind Traders GmbH", VendorAddress: "Industriestraße 12, 70565 Stuttgart",
		Date: "2026-03-14", DueDate: "2026-04-13", InvoiceNumber: "RE-2026-0415", Currency: "EUR",
		Subtotal: "1234.00", Tax: "234.46", Total: "1468.46",
		Sources:    map[string]string{"vendor": "text", "date": "text", "total": "text", "currency": "text"},
		Confidence: map[string]int{"vendor": 92, "date": 97, "total": 96, "currency": 99}}
	for i := range 8 {
		f.LineItems = append(f.LineItems, domain.LineItem{Description: "Widget model " + string(rune('A'+i)), Quantity: "2", UnitPrice: "10.50", Amount: "21.00"})
	}
	raw, err := json.Marshal(f)
	if err != nil {
		b.Fatal(err)
	}
	row := readmodel.GetDocumentRow{ID: uuid.New(), Status: "COMPLETED", Fields: raw, MachineFields: raw}
	for b.Loop() {
		if d := toDocument(row); d.Fields == nil || d.Fields.Total != "1468.46" {
			b.Fatal("fields not decoded")
		}
	}
}
