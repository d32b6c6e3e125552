package extract

import (
	"strings"
	"testing"
)

func TestConfidenceByEvidence(t *testing.T) {
	text := "Kedai Maju Sdn Bhd\nNO 8, JALAN CONTOH 2,\n52999 KAMPUNG CONTOH\nInvoice No: A-1001\nDate: 03/02/2024\n" +
		"Subtotal   10.00\nGST 6%   0.60\nTotal   RM 10.60\nCash   20.00\nChange   9.40\n"
	got, err := New(Limits{}).Extract(t.Context(), []byte(text), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	for field, key := range map[string]string{
		"vendor": "vendor/legal-form", "vendor_address": "vendor_address/below-vendor", "date": "date/label",
		"invoice_number": "invoice_number/invoice-label", "currency": "currency/total-line",
		"subtotal": "subtotal/adds-up", "tax": "tax/adds-up", "total": "total/paid",
	} {
		if got.Confidence[field] != measuredConfidence[key] || got.Confidence[field] == 0 {
			t.Errorf("%s: confidence %d, want %d (%s)", field, got.Confidence[field], measuredConfidence[key], key)
		}
		if got.Sources[field] != "text" {
			t.Errorf("%s: source %q", field, got.Sources[field])
		}
	}
	// A total only a bare "Total" vouches for is less certain than one
	// that adds up.
	weak, _ := New(Limits{}).Extract(t.Context(), []byte("Shop\nTotal   7.00\n"), "text/plain")
	if weak.Confidence["total"] >= got.Confidence["total"] {
		t.Errorf("bare total %d, total that adds up %d", weak.Confidence["total"], got.Confidence["total"])
	}
}

// Every measured key is one the engine can give, and every percentage is
// a percentage; OCR'd fields stay out of the top decile until measured.
func TestConfidenceTable(t *testing.T) {
	for key, c := range measuredConfidence {
		if c < 1 || c > 99 {
			t.Errorf("%s: %d is no measured confidence", key, c)
		}
		if strings.HasPrefix(key, "ocr/") && c >= 90 {
			t.Errorf("%s: %d, OCR keys are not measured", key, c)
		}
	}
}

// OCR'd fields are looked up under their own keys, which the table has.
func TestOCRConfidenceKeys(t *testing.T) {
	f, ev := fieldsFromText("Kedai Maju Sdn Bhd\nNO 8, JALAN CONTOH 2,\n52999 KAMPUNG CONTOH\nDate: 03/02/2024\nTotal   RM 10.60\nCash   20.00\nChange   9.40\n")
	for field, key := range evidenceKeys(f, ev, true) {
		if !strings.HasPrefix(key, "ocr/"+field+"/") {
			t.Errorf("%s: key %s", field, key)
		}
		if _, ok := measuredConfidence[key]; !ok {
			t.Errorf("%s: no confidence for %s", field, key)
		}
	}
}
