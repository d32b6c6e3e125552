package domain

import (
	"strings"
	"testing"
)

func TestValidateCorrection(t *testing.T) {
	long := strings.Repeat("x", MaxCorrectionValue+1)
	items := func(n int, desc string) []LineItem {
		li := make([]LineItem, n)
		for i := range li {
			li[i] = LineItem{Description: desc, Amount: "1.00"}
		}
		return li
	}
	for _, c := range []struct {
		name string
		f    Fields
		want string // "" for valid
	}{
		{"plain", Fields{Vendor: "ACME", Total: "12.50", Currency: "EUR", LineItems: items(3, "pen")}, ""},
		{"value at the bound", Fields{Vendor: long[:MaxCorrectionValue]}, ""},
		{"500 line items", Fields{LineItems: items(MaxCorrectionLineItems, "pen")}, ""},
		{"long vendor", Fields{Vendor: long}, "vendor is longer than 1024 bytes"},
		{"long invoice number", Fields{InvoiceNumber: long}, "invoice_number is longer"},
		{"too many line items", Fields{LineItems: items(MaxCorrectionLineItems+1, "pen")}, "501 line items; at most 500"},
		{"long line item", Fields{LineItems: items(2, long)}, "line item 1 has a value longer"},
		{"engine version", Fields{Vendor: "A", EngineVersion: "9"}, "engine_version cannot be corrected"},
		{"sources", Fields{Vendor: "A", Sources: map[string]string{"vendor": "xml"}}, "sources cannot be corrected"},
		{"confidence", Fields{Confidence: map[string]int{"vendor": 100}}, "confidence cannot be corrected"},
		{"issuer", Fields{Issuer: &IssuerProfile{Keys: []string{"taxid:1"}}}, "issuer cannot be corrected"},
		{"learned from", Fields{LearnedFrom: &LearnedFrom{DocumentID: "d"}}, "learned_from cannot be corrected"},
		{"disagreements", Fields{Disagreements: []Disagreement{{Field: "total"}}}, "disagreements cannot be corrected"},
		{"template version", Fields{TemplateVersion: "1"}, "template_version cannot be corrected"},
		{"bad amount too", Fields{Total: "abc", Vendor: long}, "total \"abc\" is not a decimal amount"},
	} {
		err := ValidateCorrection(c.f)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		case c.want != "" && KindOf(err) != KindInvalid:
			t.Errorf("%s: kind %v, want invalid", c.name, KindOf(err))
		}
	}
}

// A correction event holds every correction so far and the machine's
// values; it stays under MaxCorrectionEvent however many PATCHes came.
func TestCorrectedEventIsBounded(t *testing.T) {
	item := LineItem{Description: strings.Repeat("d", 900), Amount: "1.00"}
	small := &DocumentCorrected{Corrections: Fields{LineItems: []LineItem{item}}}
	if err := ValidateCorrectedEvent(small); err != nil {
		t.Fatal(err)
	}
	big := &DocumentCorrected{Corrections: Fields{LineItems: make([]LineItem, 400)}}
	for i := range big.Corrections.LineItems {
		big.Corrections.LineItems[i] = item
	}
	if err := ValidateCorrectedEvent(big); err == nil || KindOf(err) != KindInvalid || !strings.Contains(err.Error(), "at most 262144") {
		t.Fatalf("a %d-item correction: %v", len(big.Corrections.LineItems), err)
	}
}
