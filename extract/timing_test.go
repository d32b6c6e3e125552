package extract

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkFromText times the rules alone on a synthetic receipt.
func BenchmarkFromText(b *testing.B) {
	text := strings.Repeat("ITEM   1   3.50   3.50\n", 30)
	text = "KEDAI MAJU SDN BHD (123456-X)\nNO 5, JALAN BUNGA 3,\n43300 SERI KEMBANGAN\nDATE: 14/03/2018\n" +
		text + "TOTAL   RM 105.00\nCASH   RM 110.00\nCHANGE   RM 5.00\n"
	for b.Loop() {
		FromText(text)
	}
}

// BenchmarkFromInvoiceText times the rules on a text-layer invoice in
// pdftotext's layout: long lines of columns, prose without amounts, a
// table of items and a summary.
func BenchmarkFromInvoiceText(b *testing.B) {
	var t strings.Builder
	t.WriteString("                                                   Northwind Traders GmbH\n")
	t.WriteString("                                                   Industriestraße 12, 70565 Stuttgart\n")
	t.WriteString("Bill to:                                           Invoice Number:        RE-2026-0415\n")
	t.WriteString("Contoso Ltd, attn. Accounts Payable                Invoice Date:          14.03.2026\n")
	t.WriteString("Hauptstraße 5, 10115 Berlin                        Due Date:              13.04.2026\n\n")
	t.WriteString("Thank you for your order. Please find the details of your delivery below and contact\n")
	t.WriteString("our customer service team with any questions about this invoice or your account.\n\n")
	t.WriteString("Pos  Description                                  Qty     Unit price        Amount\n")
	for i := range 25 {
		fmt.Fprintf(&t, "%-4d Widget model %c, stainless, boxed              %d       %d.50 EUR        %d.00 EUR\n", i+1, 'A'+i, 1+i%3, 10+i, (1+i%3)*(10+i))
		t.WriteString("     delivered in one shipment to the warehouse\n")
	}
	t.WriteString("\n                                                   Subtotal               1,234.00 EUR\n")
	t.WriteString("                                                   VAT 19 %                 234.46 EUR\n")
	t.WriteString("                                                   Total                  1,468.46 EUR\n\n")
	for range 8 {
		t.WriteString("Payment is due within 30 days of the invoice date without deduction. Goods remain our\n")
	}
	// Layout lines as wide as a page, a label far to the right.
	for i := range 12 {
		fmt.Fprintf(&t, "Account %d%s Customer service details%sPage %d of 12\n", 4711+i, strings.Repeat(" ", 60), strings.Repeat(" ", 50), i+1)
	}
	t.WriteString("IBAN DE89 3704 0044 0532 0130 00   BIC COBADEFFXXX   VAT ID DE123456789\n")
	text := t.String()
	for b.Loop() {
		FromText(text)
	}
}

// TestTimingBenchdata prints the extraction time per document (median and
// p99 per kind) over a benchdata split. It runs only when TALLY_BENCHDATA
// names the split's folder, e.g.
//
//	TALLY_BENCHDATA=../../shared/benchdata/dev go test -run TestTimingBenchdata -v ./extract/
func TestTimingBenchdata(t *testing.T) {
	dir := os.Getenv("TALLY_BENCHDATA")
	if dir == "" {
		t.Skip("TALLY_BENCHDATA not set")
	}
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatalf("TALLY_BENCHDATA=%s is not a benchmark split (the benchmark data is not part of the repository): %v", dir, err)
	}
	defer f.Close()
	e := New(Limits{})
	times := map[string][]time.Duration{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var item struct{ Kind, Input string }
		if err := json.Unmarshal(sc.Bytes(), &item); err != nil {
			t.Fatal(err)
		}
		content, err := os.ReadFile(filepath.Join(dir, item.Input))
		if err != nil {
			t.Fatal(err)
		}
		ct := map[string]string{".pdf": TypePDF, ".png": "image/png", ".jpg": "image/jpeg", ".html": TypeHTML, ".txt": TypeText}[filepath.Ext(item.Input)]
		start := time.Now()
		if _, err := e.Extract(context.Background(), content, ct); err != nil {
			t.Logf("%s: %v", item.Input, err)
		}
		times[item.Kind] = append(times[item.Kind], time.Since(start))
	}
	for kind, ds := range times {
		slices.Sort(ds)
		p99 := ds[min(len(ds)-1, len(ds)*99/100)]
		t.Logf("%-10s n=%3d median=%v p99=%v max=%v", kind, len(ds), ds[len(ds)/2], p99, ds[len(ds)-1])
	}
}
