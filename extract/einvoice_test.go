package extract

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"tally/domain"
	"tally/einvoice"
)

// withEmbeddedXML appends to a PDF an uncompressed embedded-file object
// holding xml, the way an incremental update adds one.
func withEmbeddedXML(t *testing.T, pdf, xml []byte) []byte {
	t.Helper()
	out := slices.Clone(pdf)
	out = fmt.Appendf(out, "\n90 0 obj\n<< /Type /EmbeddedFile /Subtype /text#2Fxml /Length %d >>\nstream\n", len(xml))
	out = append(out, xml...)
	out = append(out, "\nendstream\nendobj\n%%EOF\n"...)
	return out
}

func TestExtractPDFPrefersEmbeddedXML(t *testing.T) {
	requirePdftotext(t)
	pdf, err := os.ReadFile(filepath.Join("..", "examples", "invoice.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := os.ReadFile(filepath.Join("testdata", "acme-cii.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(Limits{}).Extract(t.Context(), withEmbeddedXML(t, pdf, xml), "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	assertFields(t, got, domain.Fields{
		Vendor: "ACME Office Supplies Limited", VendorAddress: "12 High Street, Springfield",
		Date: "2026-11-03", InvoiceNumber: "INV-2026-0042", Currency: "EUR",
		Subtotal: "65.50", Tax: "13.10", Total: "78.60", EngineVersion: EngineVersion,
	})
	want := []domain.Disagreement{{Field: "vendor", Kept: "ACME Office Supplies Limited", Other: "ACME Office Supplies Ltd"}}
	if !slices.Equal(got.Disagreements, want) {
		t.Errorf("disagreements = %+v, want %+v", got.Disagreements, want)
	}
	if got.Sources["total"] != domain.FieldSourceXML || got.Confidence["total"] != 100 {
		t.Errorf("total: source %q confidence %v", got.Sources["total"], got.Confidence["total"])
	}
	if got.Sources["vendor_address"] == domain.FieldSourceXML {
		t.Error("the address came from the text, not the XML")
	}

	// A hostile embedded XML is not read; the text layer still is.
	bomb, err := os.ReadFile(filepath.Join("..", "einvoice", "testdata", "billion-laughs.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err = New(Limits{}).Extract(t.Context(), withEmbeddedXML(t, pdf, bomb), "application/pdf")
	if err != nil || got.Vendor != "ACME Office Supplies Ltd" || got.Total != "78.60" {
		t.Fatalf("got vendor %q total %q err %v", got.Vendor, got.Total, err)
	}
}

func TestExtractXMLUpload(t *testing.T) {
	e := New(Limits{})
	ubl, err := os.ReadFile(filepath.Join("..", "einvoice", "testdata", "peppol-creditnote.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"application/xml", "text/xml; charset=utf-8", "application/octet-stream", ""} {
		got, err := e.Extract(t.Context(), ubl, ct)
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		if got.Total != "-61.50" || got.Vendor != "Example Supplies Limited" || got.EngineVersion != EngineVersion {
			t.Errorf("%q: got %+v", ct, got)
		}
	}
	for _, name := range []string{"xxe.xml", "billion-laughs.xml"} {
		doc, err := os.ReadFile(filepath.Join("..", "einvoice", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Extract(t.Context(), doc, "application/xml")
		if !errors.Is(err, ErrUnreadable) || !errors.Is(err, einvoice.ErrRefused) {
			t.Errorf("%s: err = %v, want ErrUnreadable and einvoice.ErrRefused", name, err)
		}
	}
	if _, err := e.Extract(t.Context(), []byte("<note/>"), "text/xml"); !errors.Is(err, einvoice.ErrNotInvoice) {
		t.Errorf("other XML: err = %v", err)
	}
}
