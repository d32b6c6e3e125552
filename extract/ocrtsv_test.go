package extract

import (
	"strconv"
	"strings"
	"testing"

	"tally/domain"
)

// tsvRow builds one word row of Tesseract's TSV output.
func tsvRow(block, par, line, left, width int, conf, text string) string {
	return strings.Join([]string{"5", "1", strconv.Itoa(block), strconv.Itoa(par), strconv.Itoa(line), "1", strconv.Itoa(left), "10", strconv.Itoa(width), "20", conf, text}, "\t")
}

func TestParseTesseractTSV(t *testing.T) {
	tsv := strings.Join([]string{
		"level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
		"1\t1\t0\t0\t0\t0\t0\t0\t800\t600\t-1\t",
		tsvRow(1, 1, 1, 100, 80, "96.5", "KEDAI"),
		tsvRow(1, 1, 1, 190, 60, "93.5", "MAJU"),
		tsvRow(1, 1, 2, 100, 100, "90", "TOTAL"),
		tsvRow(1, 1, 2, 600, 100, "80", "RM12.50"), // far right: a column of its own
		tsvRow(2, 1, 1, 100, 80, "12", "~~a"),
		"5\t1\t2\t1\t1\t2\tx\t0\t0\t0\t0\tbroken", // unreadable row: skipped
		"",
	}, "\n")
	r := parseTesseractTSV(tsv)
	want := "KEDAI MAJU\nTOTAL   RM12.50\n\n~~a"
	if r.text != want {
		t.Fatalf("text = %q, want %q", r.text, want)
	}
	if c := r.valueConf("KEDAI MAJU"); c < 94 || c > 96 {
		t.Errorf("valueConf(name) = %v, want 95", c)
	}
	if c := r.valueConf("NOT THERE"); c != -1 {
		t.Errorf("valueConf(missing) = %v, want -1", c)
	}
	if c := r.meanConf(); c <= 12 || c >= 96.5 {
		t.Errorf("meanConf = %v", c)
	}
}

func TestDropUncertain(t *testing.T) {
	tsv := strings.Join([]string{
		tsvRow(1, 1, 1, 100, 80, "35", "PVOZ1EE"),
		tsvRow(1, 1, 2, 100, 80, "95", "NO"),
		tsvRow(1, 1, 2, 190, 80, "92", "5,"),
		tsvRow(1, 1, 2, 280, 80, "94", "JALAN"),
		tsvRow(1, 1, 2, 370, 80, "91", "BUNGA"),
	}, "\n")
	r := parseTesseractTSV(tsv)
	f := domain.Fields{Vendor: "PVOZ1EE", VendorAddress: "NO 5, JALAN BUNGA", Total: "1.00"}
	dropUncertain(&f, &r)
	want := domain.Fields{VendorAddress: "NO 5, JALAN BUNGA", Total: "1.00"}
	if f.Vendor != want.Vendor || f.VendorAddress != want.VendorAddress || f.Total != want.Total {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	dropUncertain(&f, nil) // no reading (OCR service): nothing to judge by
	if f.VendorAddress == "" {
		t.Fatal("dropped a field without a reading")
	}
}

// FuzzParseTesseractTSV: any output gives a reading whose lines are the
// text's lines and whose confidences stay within 0-100.
func FuzzParseTesseractTSV(f *testing.F) {
	f.Add(tsvRow(1, 1, 1, 100, 80, "96.5", "KEDAI") + "\n" + tsvRow(1, 1, 2, 100, 80, "50", "TOTAL"))
	f.Add("5\t1\t1\t1\t1\t1\t0\t0\t0\t0\t-1\t \n5\t1\t1\t1\t1\t2\t-5\t0\t-3\t0\tNaN\tx\ty")
	f.Add("level\tpage_num\n4\t1\t1\t1\t1\t0\t1\t1\t1\t1\t-1\t\n")
	f.Fuzz(func(t *testing.T, tsv string) {
		r := parseTesseractTSV(tsv)
		if got := strings.Count(r.text, "\n") + 1; r.text != "" && got != len(r.lines) {
			t.Fatalf("%d text lines, %d reading lines", got, len(r.lines))
		}
		for _, l := range r.lines {
			if !(l.conf >= 0 && l.conf <= 100) {
				t.Fatalf("line confidence %v", l.conf)
			}
		}
		if c := r.meanConf(); !(c >= 0 && c <= 100) {
			t.Fatalf("mean confidence %v", c)
		}
		_ = r.valueConf(tsv)
	})
}
