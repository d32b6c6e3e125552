package einvoice

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tally/domain"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSamples(t *testing.T) {
	for _, c := range []struct {
		file       string
		syntax     string
		creditNote bool
		want       domain.Fields
	}{
		{"xrechnung-cii.xml", SyntaxCII, false, domain.Fields{
			Vendor: "Musterberatung GmbH", VendorAddress: "Beispielweg 7, 10115 Berlin, DE",
			Date: "2024-03-12", DueDate: "2024-04-11", InvoiceNumber: "XR-2024-0815", Currency: "EUR",
			Subtotal: "1034.50", Tax: "196.56", Total: "1231.06",
			LineItems: []domain.LineItem{
				{Description: "Beratung (Stunden)", Quantity: "10", UnitPrice: "95.00", Amount: "950.00"},
				{Description: "Reisekosten", Quantity: "1", UnitPrice: "84.50", Amount: "84.50"},
			},
		}},
		{"xrechnung-ubl.xml", SyntaxUBL, false, domain.Fields{
			Vendor: "Druckhaus Beispiel GmbH & Co. KG", VendorAddress: "Papiergasse 3, 20095 Hamburg, DE",
			Date: "2024-02-29", DueDate: "2024-03-30", InvoiceNumber: "XR-UBL-4711", Currency: "EUR",
			Subtotal: "200.00", Tax: "38.00", Total: "238.00",
			LineItems: []domain.LineItem{{Description: "Faltblatt A5, vierfarbig", Quantity: "500", UnitPrice: "0.40", Amount: "200.00"}},
		}},
		{"peppol-invoice.xml", SyntaxUBL, false, domain.Fields{
			Vendor: "Fjordtech AS", VendorAddress: "Eksempelgata 12, Bygg B, 5003 Bergen, NO",
			Date: "2024-05-02", DueDate: "2024-06-01", InvoiceNumber: "NO-2024-117", Currency: "NOK",
			Subtotal: "10000.00", Tax: "2500.00", Total: "12500.00",
			LineItems: []domain.LineItem{{Description: "Sensor unit", Quantity: "4", UnitPrice: "2500.00", Amount: "10000.00"}},
		}},
		{"peppol-creditnote.xml", SyntaxUBL, true, domain.Fields{
			Vendor: "Example Supplies Limited", VendorAddress: "1 Sample Road, D02 XY00 Dublin, IE",
			Date: "2024-05-20", DueDate: "2024-06-19", InvoiceNumber: "CN-2024-009", Currency: "EUR",
			Subtotal: "-50.00", Tax: "-11.50", Total: "-61.50",
			LineItems: []domain.LineItem{{Description: "Returned toner cartridge", Quantity: "2", UnitPrice: "25.00", Amount: "50.00"}},
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			b := readSample(t, c.file)
			if !Sniff(b) {
				t.Fatal("Sniff = false")
			}
			inv, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Syntax != c.syntax || inv.CreditNote != c.creditNote {
				t.Errorf("syntax %s credit note %v, want %s %v", inv.Syntax, inv.CreditNote, c.syntax, c.creditNote)
			}
			got := inv.Fields
			for name := range map[string]bool{"vendor": true, "date": true, "total": true, "line_items": true} {
				if got.Sources[name] != domain.FieldSourceXML || got.Confidence[name] != 100 {
					t.Errorf("%s: source %q confidence %v, want xml 100", name, got.Sources[name], got.Confidence[name])
				}
			}
			got.Sources, got.Confidence = nil, nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	deep := strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)
	for _, c := range []struct {
		name, doc, reason string
		want              error
	}{
		{"external entity (XXE)", string(readSample(t, "xxe.xml")), "document type declaration", ErrRefused},
		{"billion laughs", string(readSample(t, "billion-laughs.xml")), "entity expansion", ErrRefused},
		{"undeclared entity", `<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&x;</ID></Invoice>`, "not well-formed", ErrRefused},
		{"too deep", deep, "nests deeper", ErrRefused},
		{"too large", "<a>" + strings.Repeat(" ", MaxBytes) + "</a>", "bytes, more than", ErrRefused},
		{"unclosed", `<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</ID>`, "not well-formed", ErrRefused},
		{"two roots", `<a/><b/>`, "more than one root", ErrRefused},
		{"empty", ``, "no root element", ErrRefused},
		{"other XML", `<note><to>x</to></note>`, "root element is <note>", ErrNotInvoice},
		{"Invoice of another namespace", `<Invoice xmlns="urn:example"/>`, "urn:example", ErrNotInvoice},
	} {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := Parse([]byte(c.doc)); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.reason) {
					t.Fatalf("err = %v, want %v saying %q", err, c.want, c.reason)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Parse did not return: a hostile document must never hang")
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for doc, want := range map[string]bool{
		"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- a long comment -->\n<rsm:CrossIndustryInvoice xmlns:rsm=\"x\"/>": true,
		`<CreditNote/>`:        true,
		`<html><body/></html>`: false,
		`%PDF-1.7`:             false,
		``:                     false,
	} {
		if got := Sniff([]byte(doc)); got != want {
			t.Errorf("Sniff(%q) = %v, want %v", doc, got, want)
		}
	}
}

// pdfWithEmbedded builds a minimal PDF/A-3-like file that embeds xml as a
// FlateDecode embedded-file stream whose /Length is an indirect object, as
// many producers write it.
func pdfWithEmbedded(t testing.TB, xml []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(xml)
	w.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(factur-x.xml) 4 0 R] >> >> >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	b.WriteString("4 0 obj\n<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /EF << /F 5 0 R >> /AFRelationship /Data >>\nendobj\n")
	fmt.Fprintf(&b, "5 0 obj\n<<\n/Type /EmbeddedFile\n/Subtype /text#2Fxml\n/Filter /FlateDecode\n/Params << /ModDate (D:20240312\\)) /Size %d >>\n/Length 6 0 R\n>>\nstream\n", len(xml))
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	fmt.Fprintf(&b, "6 0 obj\n%d\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n", z.Len())
	return b.Bytes()
}

func TestFromPDF(t *testing.T) {
	inv, ok, err := FromPDF(pdfWithEmbedded(t, readSample(t, "xrechnung-cii.xml")))
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if inv.Fields.InvoiceNumber != "XR-2024-0815" || inv.Fields.Total != "1231.06" {
		t.Errorf("got %+v", inv.Fields)
	}

	_, ok, err = FromPDF(pdfWithEmbedded(t, readSample(t, "billion-laughs.xml")))
	if ok || !errors.Is(err, ErrRefused) {
		t.Errorf("billion laughs embedded: ok %v err %v, want ErrRefused", ok, err)
	}
	_, ok, err = FromPDF(pdfWithEmbedded(t, []byte("<note/>")))
	if ok || err != nil {
		t.Errorf("embedded non-invoice: ok %v err %v, want neither", ok, err)
	}
	if _, ok, err := FromPDF([]byte("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF")); ok || err != nil {
		t.Errorf("plain PDF: ok %v err %v", ok, err)
	}
}

func TestAmount(t *testing.T) {
	for in, want := range map[string]string{"12.50": "12.50", "+3": "3", "-0.5": "-0.5", "1.1234567": "1.123457", "1e3": "", "abc": "", "": ""} {
		if got := amount(in); got != want {
			t.Errorf("amount(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"xrechnung-cii.xml", "xrechnung-ubl.xml", "peppol-invoice.xml", "peppol-creditnote.xml", "xxe.xml", "billion-laughs.xml"} {
		f.Add(readSample(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := Parse(b)
		if err != nil {
			return
		}
		for _, v := range []string{inv.Fields.Subtotal, inv.Fields.Tax, inv.Fields.Total} {
			if v != "" && !domain.IsDecimalAmount(v) {
				t.Fatalf("amount %q breaks the decimal contract", v)
			}
		}
		for _, d := range []string{inv.Fields.Date, inv.Fields.DueDate} {
			if d != "" && !isoDateRe.MatchString(d) {
				t.Fatalf("date %q is not an ISO date", d)
			}
		}
	})
}

func FuzzFromPDF(f *testing.F) {
	f.Add(pdfWithEmbedded(f, readSample(f, "xrechnung-ubl.xml")))
	f.Add([]byte("%PDF-1.4\n5 0 obj\n<< /Type /EmbeddedFile /Length 3 >>\nstream\n<a>\nendstream\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, ok, err := FromPDF(b)
		if ok && err != nil {
			t.Fatalf("ok with error %v", err)
		}
		if ok && inv.Syntax == "" {
			t.Fatal("ok without a syntax")
		}
	})
}
