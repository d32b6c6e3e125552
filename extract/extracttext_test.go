package extract

import (
	"context"
	"strings"
	"testing"
)

// The text the fields were read from comes back for full-text search;
// a structured e-invoice, read as XML, has none.
func TestExtractTextReturnsTheText(t *testing.T) {
	e := New(Limits{})
	f, text, err := e.ExtractText(context.Background(), []byte("Corner Bakery\n2 x Sourdough loaf   8.40\nTotal EUR 8.40\n"), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Sourdough loaf") || f.Total != "8.40" {
		t.Fatalf("text %q, total %q", text, f.Total)
	}
	plain, err := e.Extract(context.Background(), []byte("Corner Bakery\n2 x Sourdough loaf   8.40\nTotal EUR 8.40\n"), "text/plain")
	if err != nil || plain.Total != f.Total || plain.Vendor != f.Vendor {
		t.Fatalf("Extract and ExtractText differ: %+v / %+v, %v", plain, f, err)
	}
}
