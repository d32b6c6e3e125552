package notify

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// A vendor or filename read from a document is the sender's text: in the
// report's CSV it must not start a spreadsheet formula.
func TestReportCSVEscapesFormulas(t *testing.T) {
	rep := Report{Documents: []ReportDocument{
		{ID: "1", Vendor: "=HYPERLINK(\"http://x\")", Filename: "+cmd.pdf", Amount: "-12.50", Currency: "EUR"},
		{ID: "2", Vendor: "@SUM(A1)", Filename: "\tx.pdf", Amount: "3.00", Currency: "EUR"},
		{ID: "3", Vendor: "-2+3", Filename: "\rx.pdf", Amount: "4.00", Currency: "EUR"},
	}}
	rows, err := csv.NewReader(bytes.NewReader(rep.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"1", "", "'=HYPERLINK(\"http://x\")", "'+cmd.pdf", "-12.50", "EUR"},
		{"2", "", "'@SUM(A1)", "'\tx.pdf", "3.00", "EUR"},
		{"3", "", "'-2+3", "'\rx.pdf", "4.00", "EUR"},
	}
	for i, w := range want {
		got := rows[i+1]
		for j := range w {
			if got[j] != w[j] {
				t.Errorf("row %d cell %d = %q, want %q", i+1, j, got[j], w[j])
			}
		}
	}
}
