package extract

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tally/config"
	"tally/domain"
	"tally/ppocr"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"1.234,56", "1234.56", true},
		{"1,234.56", "1234.56", true},
		{"RM 9.00", "9.00", true},
		{"RM9.00", "9.00", true},
		{"$12", "12", true},
		{"12.5", "12.5", true},
		{"-3,00 €", "-3.00", true},
		{"€ 1.234,56", "1234.56", true},
		{"EUR 78.60", "78.60", true},
		{"78.60 EUR", "78.60", true},
		{"US$ 5", "5", true},
		{"£0.99", "0.99", true},
		{"(5.00)", "-5.00", true},
		{"12.50-", "-12.50", true},
		{"−7,67", "-7.67", true},
		{"1'234.50", "1234.50", true},
		{"1 234,56", "1234.56", true},
		{"1,234", "1234", true},
		{"1.234.567,89", "1234567.89", true},
		{"1,234,567.89", "1234567.89", true},
		{"1.000,0000", "1000.0000", true},
		{"0,5", "0.5", true},
		{"007.50", "7.50", true},
		{"0", "0", true},
		{"  42  ", "42", true},
		{"1.105", "1.105", true},
		{"", "", false},
		{"abc", "", false},
		{"12%", "", false},
		{"25/12/2018", "", false},
		{"25.12.2018", "", false},
		{"13:58", "", false},
		{"1,23,4", "", false},
		{"12..5", "", false},
		{"1.2.3", "", false},
		{"12.", "", false},
		{".5", "", false},
		{"--5", "", false},
		{"(-5)", "", false},
		{"1.1234567", "", false},
		{"1234567890123456", "", false},
		{"Total 9.00", "", false},
		{"12 34", "", false},
		{"1,2,3.4", "", false},
		{"€", "", false},
		{"INV-2026", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseAmount(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"25/12/2018", "2018-12-25", true},
		{"2018-12-25", "2018-12-25", true},
		{"2018/12/25", "2018-12-25", true},
		{"Dec 25, 2018", "2018-12-25", true},
		{"December 25 2018", "2018-12-25", true},
		{"25 December 2018", "2018-12-25", true},
		{"25.12.2018", "2018-12-25", true},
		{"12/25/2018", "2018-12-25", true},
		{"25-Dec-18", "2018-12-25", true},
		{"25-12-18", "2018-12-25", true},
		{"05 MAR 2018", "2018-03-05", true},
		{"7. Mai 2014", "2014-05-07", true},
		{"3rd November 2026", "2026-11-03", true},
		{"Monday, 25 December 2018", "2018-12-25", true},
		{"Sat, Aug 12, 2020", "2020-08-12", true},
		{"29/02/2020", "2020-02-29", true},
		// Ambiguous: day-first.
		{"03/04/2018", "2018-04-03", true},
		{"01.02.2019", "2019-02-01", true},
		// Invalid.
		{"", "", false},
		{"hello", "", false},
		{"31/02/2018", "", false},
		{"29/02/2019", "", false},
		{"32/01/2018", "", false},
		{"13/13/2018", "", false},
		{"12.25.2018", "", false}, // dotted dates are never month-first
		{"25/12-2018", "", false},
		{"2018-13-01", "", false},
		{"2018-02-30", "", false},
		{"0000-01-01", "", false},
		{"25 Foo 2018", "", false},
		{"Dec 32, 2018", "", false},
		{"12.50", "", false},
		{"25/12", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseDate(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFromText(t *testing.T) {
	tests := []struct {
		name string
		text string
		want domain.Fields
	}{
		{
			name: "layout invoice",
			text: `ACME Office Supplies Ltd
12 High Street, Springfield

INVOICE No. INV-2026-0042
Date: 2026-11-03
Due date: 2026-12-03

Description                   Qty   Unit   Amount
A4 paper, box                 2   10.00    20.00
Toner cartridge               1   45.50    45.50

Subtotal                                   65.50
VAT 20%                                    13.10
Total EUR                                  78.60
`,
			want: domain.Fields{
				Vendor: "ACME Office Supplies Ltd", VendorAddress: "12 High Street, Springfield",
				Date: "2026-11-03", DueDate: "2026-12-03", InvoiceNumber: "INV-2026-0042",
				Currency: "EUR", Subtotal: "65.50", Tax: "13.10", Total: "78.60",
			},
		},
		{
			name: "malaysian receipt with rounding",
			text: `TAX INVOICE
KEDAI MAJU SDN BHD (123456-X)
NO 5, JALAN BUNGA 3,
43300 SERI KEMBANGAN, SELANGOR
GST ID : 001234567890
RECEIPT NO : R000123
DATE: 14/03/2018 12:01:55 PM
ITEM   QTY   PRICE   AMOUNT
COFFEE   2   3.50   7.00
TOTAL QTY: 2
TOTAL   RM 30.91
ROUNDING ADJUSTMENT   RM -0.01
TOTAL ROUNDED   RM 30.90
CASH   RM 50.00
CHANGE   RM 19.10
GST SUMMARY   AMOUNT   TAX
SR @ 6%   29.16   1.75
TOTAL:   29.16   1.75
`,
			want: domain.Fields{
				Vendor: "KEDAI MAJU SDN BHD", VendorAddress: "NO 5, JALAN BUNGA 3, 43300 SERI KEMBANGAN, SELANGOR",
				Date: "2018-03-14", InvoiceNumber: "R000123", Currency: "MYR", Total: "30.90",
				Tax: "1.75", // from the GST summary row below its header
			},
		},
		{
			name: "german invoice",
			text: `Muster GmbH   Musterstraße 1   12345 Berlin

Rechnung Nr. RE-2019/0815
Rechnungsdatum: 05.03.2019
Fällig am: 04.04.2019

Nettobetrag                1.234,50 €
MwSt. 19 %                   234,56 €
Gesamtbetrag               1.469,06 €
`,
			want: domain.Fields{
				Vendor: "Muster GmbH", Date: "2019-03-05", DueDate: "2019-04-04",
				InvoiceNumber: "RE-2019/0815", Currency: "EUR",
				Subtotal: "1234.50", Tax: "234.56", Total: "1469.06",
			},
		},
		{
			name: "e-receipt with label and value on separate lines",
			text: `Corner Books
Thanks for shopping with us.
Order number:
A-778812
Order date: Dec 3, 2021
Items   $40.00
Sales tax   $3.20
Order total:
$43.20
`,
			want: domain.Fields{
				Vendor: "Corner Books", Date: "2021-12-03", InvoiceNumber: "A-778812",
				Currency: "USD", Subtotal: "", Tax: "3.20", Total: "43.20",
			},
		},
		{
			name: "nothing to find",
			text: "hello world\n",
			want: domain.Fields{Vendor: "hello world"},
		},
		{
			name: "empty",
			text: "",
			want: domain.Fields{},
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

// TestFromTextArithmetic: when several tax lines exist, the one for which
// subtotal + tax = total is taken.
func TestFromTextArithmetic(t *testing.T) {
	got := FromText(`Shop Ltd
Subtotal 100.00
VAT 20% 20.00
VAT reverse charge note 0.00
Total 120.00
`)
	if got.Subtotal != "100.00" || got.Tax != "20.00" || got.Total != "120.00" {
		t.Fatalf("got subtotal %q tax %q total %q", got.Subtotal, got.Tax, got.Total)
	}
}

func assertFields(t *testing.T, got, want domain.Fields) {
	t.Helper()
	check := func(name, g, w string) {
		if g != w {
			t.Errorf("%s = %q, want %q", name, g, w)
		}
	}
	check("vendor", got.Vendor, want.Vendor)
	check("vendor_address", got.VendorAddress, want.VendorAddress)
	check("date", got.Date, want.Date)
	check("due_date", got.DueDate, want.DueDate)
	check("invoice_number", got.InvoiceNumber, want.InvoiceNumber)
	check("currency", got.Currency, want.Currency)
	check("subtotal", got.Subtotal, want.Subtotal)
	check("tax", got.Tax, want.Tax)
	check("total", got.Total, want.Total)
	check("engine_version", got.EngineVersion, want.EngineVersion)
}

func requirePdftotext(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("pdftotext is not on PATH; install poppler-utils (apt-get install poppler-utils): %v", err)
	}
}

func TestExtractPDF(t *testing.T) {
	requirePdftotext(t)
	pdf, err := os.ReadFile(filepath.Join("..", "examples", "invoice.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(Limits{}).Extract(context.Background(), pdf, "application/pdf")
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	want := domain.Fields{
		Vendor: "ACME Office Supplies Ltd", VendorAddress: "12 High Street, Springfield",
		Date: "2026-11-03", InvoiceNumber: "INV-2026-0042", Currency: "EUR",
		Subtotal: "65.50", Tax: "13.10", Total: "78.60", EngineVersion: EngineVersion,
	}
	assertFields(t, got, want)

	// The same bytes sent as application/octet-stream are recognised.
	got, err = New(Limits{}).Extract(context.Background(), pdf, "application/octet-stream")
	if err != nil || got.Total != "78.60" {
		t.Fatalf("octet-stream: total %q, err %v", got.Total, err)
	}
}

func TestExtractCorruptPDF(t *testing.T) {
	requirePdftotext(t)
	for name, doc := range map[string][]byte{
		"no header":     []byte("this is not a pdf"),
		"broken body":   []byte("%PDF-1.4\ngarbage garbage\n%%EOF\n"),
		"truncated":     truncatedExample(t),
		"empty content": nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Limits{}).Extract(context.Background(), doc, "application/pdf")
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("err = %v, want ErrUnreadable", err)
			}
		})
	}
}

func truncatedExample(t *testing.T) []byte {
	pdf, err := os.ReadFile(filepath.Join("..", "examples", "invoice.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return pdf[:len(pdf)/3]
}

func TestExtractImageErrors(t *testing.T) {
	e := New(Limits{})
	e.tesseract = filepath.Join(t.TempDir(), "no-such-tesseract") // never reached
	truncated := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, ct := range []string{"image/png", "image/jpeg", "IMAGE/PNG; name=x.png", ""} {
		_, err := e.Extract(context.Background(), truncated, ct)
		if !errors.Is(err, ErrUnreadable) {
			t.Errorf("%q: err = %v, want ErrUnreadable", ct, err)
		}
	}
	// A header announcing 50,000 x 50,000 pixels is refused before any
	// decoding or OCR.
	huge := pngHeader(50000, 50000)
	if _, err := e.Extract(context.Background(), huge, "image/png"); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "pixels") {
		t.Errorf("huge image: err = %v, want ErrUnreadable about pixels", err)
	}
	for _, ct := range []string{"image/webp", "image/tiff", "application/zip"} {
		if _, err := e.Extract(context.Background(), []byte("x"), ct); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", ct, err)
		}
	}
}

// pngHeader is the start of a PNG whose IHDR announces w x h pixels.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R',
		byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w),
		byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h),
		8, 0, 0, 0, 0}
	crc := crc32.ChecksumIEEE(ihdr[4:])
	ihdr = append(ihdr, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
	return append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
}

func requireTesseract(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Fatalf("tesseract is not on PATH; install tesseract-ocr (apt-get install tesseract-ocr tesseract-ocr-eng): %v", err)
	}
}

// TestExtractImageOCR reads a synthetic receipt (testdata/receipt.png,
// rendered from made-up text) through tesseract.
func TestExtractImageOCR(t *testing.T) {
	requireTesseract(t)
	img, err := os.ReadFile(filepath.Join("testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"image/png", "application/octet-stream"} {
		got, err := New(Limits{}).Extract(context.Background(), img, ct)
		if err != nil {
			t.Fatalf("%s: Extract: %v", ct, err)
		}
		assertFields(t, got, domain.Fields{
			Vendor: "CORNER HARDWARE SDN BHD", VendorAddress: "NO 12, JALAN MAWAR 3, 43000 KAJANG, SELANGOR",
			Date: "2018-03-14", Currency: "MYR", Total: "25.00", EngineVersion: EngineVersion,
		})
	}
}

func TestExtractImageTesseractMissing(t *testing.T) {
	img, err := os.ReadFile(filepath.Join("testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Limits{})
	e.tesseract = filepath.Join(t.TempDir(), "no-such-tesseract")
	_, err = e.Extract(context.Background(), img, "image/png")
	if err == nil || errors.Is(err, ErrUnreadable) || errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want a not-found error that does not blame the document", err)
	}
}

func TestExtractImageTimeout(t *testing.T) {
	img, err := os.ReadFile(filepath.Join("testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "tesseract")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := New(Limits{Timeout: 200 * time.Millisecond})
	e.tesseract = script
	start := time.Now()
	if _, err := e.Extract(context.Background(), img, "image/png"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Extract took %v despite a 200ms timeout", d)
	}
}

func TestExtractImageOCRURL(t *testing.T) {
	img, err := os.ReadFile(filepath.Join("testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "image/png" || len(b) != len(img) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "Kiosk Ltd\nTotal   RM 4.20\n")
	}))
	defer srv.Close()
	e := New(Limits{OCRURL: srv.URL})
	e.tesseract = filepath.Join(t.TempDir(), "no-such-tesseract") // not used
	got, err := e.Extract(context.Background(), img, "image/png")
	if err != nil || got.Total != "4.20" || got.Vendor != "Kiosk Ltd" {
		t.Fatalf("got %+v, %v", got, err)
	}
	// A 4xx answer blames the document.
	bad := New(Limits{OCRURL: srv.URL + "/x"})
	if _, err := bad.Extract(context.Background(), pngHeader(10, 10), "image/png"); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("4xx: err = %v, want ErrUnreadable", err)
	}
}

const qpHTMLEmail = "From: Shop <shop@example.com>\r\n" +
	"To: me@example.com\r\n" +
	"Subject: Your receipt\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/related; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=\"utf-8\"\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<html><head><title>Receipt</title><style>td{color:red}</style></head><body>=\r\n" +
	"<div>Caf=C3=A9 Lumi=C3=A8re Ltd</div><p>Receipt No: R-1001<br>Date: 25/12/2018</p>=\r\n" +
	"<table><tr><td>Latte</td><td>=E2=82=AC 3,50</td></tr>=\r\n" +
	"<tr><td>Subtotal</td><td>=E2=82=AC 7,00</td></tr>=\r\n" +
	"<tr><td>VAT 10%</td><td>=E2=82=AC 0,70</td></tr>=\r\n" +
	"<tr><td><b>Total</b></td><td>=E2=82=AC&nbsp;7,70</td></tr></table>=\r\n" +
	"<script>var total = 999.99;</script></body></html>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: image/png\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename=logo.png\r\n" +
	"\r\n" +
	"iVBORw0KGgo=\r\n" +
	"--outer--\r\n"

func TestExtractEmailQuotedPrintableHTML(t *testing.T) {
	got, err := New(Limits{}).Extract(context.Background(), []byte(qpHTMLEmail), "message/rfc822")
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	assertFields(t, got, domain.Fields{
		Vendor: "Café Lumière Ltd", Date: "2018-12-25", InvoiceNumber: "R-1001",
		Currency: "EUR", Subtotal: "7.00", Tax: "0.70", Total: "7.70", EngineVersion: EngineVersion,
	})
}

func TestExtractEmailPrefersPlainText(t *testing.T) {
	msg := "Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n<p>Total 1.00</p>\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"VG90YWwgMi4wMA==\r\n" + // "Total 2.00"
		"--b--\r\n"
	got, err := New(Limits{}).Extract(context.Background(), []byte(msg), "message/rfc822")
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != "2.00" {
		t.Fatalf("total = %q, want the text/plain part's 2.00", got.Total)
	}
}

func TestExtractEmailDepthLimit(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	const depth = 30
	for i := 0; i < depth; i++ {
		sb.WriteString("--b" + itoa(i) + "\r\nContent-Type: multipart/mixed; boundary=b" + itoa(i+1) + "\r\n\r\n")
	}
	sb.WriteString("--b" + itoa(depth) + "\r\nContent-Type: text/plain\r\n\r\nTotal 5.00\r\n")
	_, err := New(Limits{}).Extract(context.Background(), []byte(sb.String()), "message/rfc822")
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("err = %v, want ErrUnreadable (text beyond the MIME depth limit is not read)", err)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestExtractEmailUnreadable(t *testing.T) {
	_, err := New(Limits{}).Extract(context.Background(), []byte("no headers here, just text without a blank line"), "message/rfc822")
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("err = %v, want ErrUnreadable", err)
	}
}

func TestExtractPlainAndHTML(t *testing.T) {
	e := New(Limits{})
	got, err := e.Extract(context.Background(), []byte("Kiosk Ltd\nTotal: £4.20\n"), "text/plain; charset=utf-8")
	if err != nil || got.Total != "4.20" || got.Currency != "GBP" {
		t.Fatalf("text/plain: %+v, %v", got, err)
	}
	// Windows-1252 bytes: 0x80 is the euro sign.
	got, err = e.Extract(context.Background(), []byte("<p>Kiosk GmbH</p><p>Summe: 4,20 \x80</p>"), "text/html")
	if err != nil || got.Total != "4.20" || got.Currency != "EUR" || got.Vendor != "Kiosk GmbH" {
		t.Fatalf("text/html: %+v, %v", got, err)
	}
	if _, err := e.Extract(context.Background(), []byte("  \n "), "text/plain"); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("blank text: err = %v, want ErrUnreadable", err)
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<html><head><title>x</title></head><body><!-- c --><div>A &amp; B</div>` +
		`<table><tr><td>Item</td><td> 1.00 </td></tr><tr><th>Total</th><td>2.00</td></tr></table>` +
		`<ul><li>one</li><li>two</li></ul>line<br/>break <p>para</p><style>p{}</style>a &lt; b</body></html>`
	want := "A & B\nItem   1.00\nTotal   2.00\none\ntwo\nline\nbreak\npara\na < b"
	if got := htmlToText(in); got != want {
		t.Fatalf("htmlToText:\n%q\nwant\n%q", got, want)
	}
}

func TestMaxTextBytes(t *testing.T) {
	e := New(Limits{MaxTextBytes: 10})
	text, err := e.Text(context.Background(), []byte("ACME Ltd\nTotal 99.00\n"), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	if len(text) > 10 {
		t.Fatalf("text is %d bytes, limit 10", len(text))
	}
}

func TestDefaults(t *testing.T) {
	l := New(Limits{}).Limits()
	if l.MaxPages != 50 || l.MaxTextBytes != 2<<20 || l.Timeout != 30*time.Second {
		t.Fatalf("defaults: %+v", l)
	}
}

func TestExtractContextTimeout(t *testing.T) {
	requirePdftotext(t)
	pdf, err := os.ReadFile(filepath.Join("..", "examples", "invoice.pdf"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("expired context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		_, err := New(Limits{}).Extract(ctx, pdf, "application/pdf")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})

	t.Run("engine timeout kills a hanging pdftotext", func(t *testing.T) {
		dir := t.TempDir()
		script := filepath.Join(dir, "pdftotext")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		e := New(Limits{Timeout: 200 * time.Millisecond})
		e.pdftotext, e.pdfReaders = script, nil
		start := time.Now()
		_, err := e.Extract(context.Background(), pdf, "application/pdf")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Extract took %v despite a 200ms timeout", d)
		}
	})

	t.Run("caller cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(Limits{}).Extract(ctx, []byte(qpHTMLEmail), "message/rfc822")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
	})
}

func TestPdftotextMissing(t *testing.T) {
	pdf := []byte("%PDF-1.4\n")
	e := New(Limits{})
	e.pdftotext, e.pdfReaders = filepath.Join(t.TempDir(), "no-such-pdftotext"), nil
	_, err := e.Extract(context.Background(), pdf, "application/pdf")
	if err == nil || errors.Is(err, ErrUnreadable) {
		t.Fatalf("err = %v, want a not-found error that does not blame the document", err)
	}
}

var decimalContract = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1.234,56", "1,234.56", "RM 9.00", "$12", "12.5", "-3,00 €", "(5.00)", "1'234", "1 234,56", "12.50-", "€", "--", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseAmount(s)
		if ok && !decimalContract.MatchString(v) {
			t.Fatalf("ParseAmount(%q) = %q: not a decimal", s, v)
		}
		if !ok && v != "" {
			t.Fatalf("ParseAmount(%q) = %q with ok=false", s, v)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"25/12/2018", "2018-12-25", "Dec 25, 2018", "25 December 2018", "25.12.2018", "12/25/2018", "25-Dec-18", "31/02/2018", "7. Mai 2014"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseDate(s)
		if !ok {
			return
		}
		d, err := time.Parse("2006-01-02", v)
		if err != nil || d.Format("2006-01-02") != v {
			t.Fatalf("ParseDate(%q) = %q: not a valid ISO date (%v)", s, v, err)
		}
	})
}

func FuzzExtractEmail(f *testing.F) {
	f.Add([]byte(qpHTMLEmail))
	f.Add([]byte("Content-Type: text/plain\r\n\r\nTotal 1.00\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+VG90YWwgMy4wMDwvYj4=\r\n--x--\r\n"))
	f.Add([]byte("Subject: x\n\n<html><script>"))
	e := New(Limits{Timeout: 5 * time.Second})
	f.Fuzz(func(t *testing.T, b []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fields, err := e.Extract(context.Background(), b, "message/rfc822")
			if err != nil {
				return
			}
			for _, a := range []string{fields.Total, fields.Subtotal, fields.Tax} {
				if a != "" && !decimalContract.MatchString(a) {
					t.Errorf("amount %q breaks the decimal contract", a)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Extract hung on %q", b)
		}
	})
}

// requireOCRModels opens the installed PP-OCR models, or skips the test
// when they are not installed and TALLY_REQUIRE_OCR_MODELS (set by CI) is
// not set.
func requireOCRModels(t *testing.T) *ppocr.Reader {
	t.Helper()
	r, err := ppocr.Open(ppocr.Config{Dir: config.OCRModelsDirFromEnv()})
	if errors.Is(err, ppocr.ErrNotInstalled) && os.Getenv("TALLY_REQUIRE_OCR_MODELS") == "" {
		t.Skipf("OCR models not installed (scripts/ocr-models.sh): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestExtractImageNeuralOCR reads the synthetic receipt with the PP-OCR
// models: the same fields as Tesseract finds, with the words the detector
// finds apart joined back into their lines.
func TestExtractImageNeuralOCR(t *testing.T) {
	e := New(Limits{}).WithNeuralOCR(requireOCRModels(t))
	img, err := os.ReadFile(filepath.Join("testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	e.tesseract = filepath.Join(t.TempDir(), "no-such-tesseract") // the models alone must do
	got, text, err := e.ExtractText(context.Background(), img, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	assertFields(t, got, domain.Fields{
		Vendor: "CORNER HARDWARE SDN BHD", VendorAddress: "NO 12, JALAN MAWAR 3, 43000 KAJANG, SELANGOR",
		Date: "2018-03-14", Currency: "MYR", Total: "25.00", EngineVersion: EngineVersion,
	})
	if !strings.Contains(text, "TOTAL   RM 25.00") {
		t.Errorf("label and amount are not two columns of one line:\n%s", text)
	}
}

func TestBoxesReading(t *testing.T) {
	boxes := []ppocr.Box{
		{Text: "TOTAL", Conf: 0.99, MinX: 10, MinY: 52, MaxX: 60, MaxY: 70},
		{Text: "SDN BHD", Conf: 0.9, MinX: 130, MinY: 9, MaxX: 200, MaxY: 31},
		{Text: "CORNER", Conf: 0.9, MinX: 10, MinY: 10, MaxX: 70, MaxY: 30},
		{Text: "HARDWARE", Conf: 0.9, MinX: 72, MinY: 11, MaxX: 128, MaxY: 30},
		{Text: "25.00", Conf: 0.8, MinX: 200, MinY: 50, MaxX: 250, MaxY: 70},
	}
	r := boxesReading(boxes)
	if want := "CORNER HARDWARE SDN BHD\nTOTAL   25.00"; r.text != want {
		t.Fatalf("text = %q, want %q", r.text, want)
	}
	if c := r.lines[1].conf; c < 89 || c > 91 {
		t.Errorf("second line's confidence = %v, want the length-weighted mean 90", c)
	}
}
