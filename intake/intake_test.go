package intake

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const minimalPDF = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// sample reads an e-invoice sample of package einvoice.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "einvoice", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocument(t *testing.T) {
	p, j := pngBytes(t), jpegBytes(t)
	cases := []struct {
		name    string
		content []byte
		want    string
		wantErr string
	}{
		{"pdf", []byte(minimalPDF), PDF, ""},
		{"png", p, PNG, ""},
		{"jpeg", j, JPEG, ""},
		{"empty", nil, "", "empty"},
		{"text", []byte("hello, this is not an invoice"), "", "not a PDF, PNG or JPEG"},
		{"truncated pdf", []byte(minimalPDF[:30]), PDF, "truncated"},
		{"truncated png", p[:len(p)-12], PNG, "truncated"},
		{"corrupt png", append(append([]byte{}, p[:8]...), bytes.Repeat([]byte{0}, 40)...), PNG, "corrupt"},
		{"truncated jpeg", j[:len(j)-2], JPEG, "truncated"},
		{"pdf named like png", []byte("%PDF-1.7\n%%EOF"), PDF, "no objects"},
		{"ubl invoice", sample(t, "xrechnung-ubl.xml"), XML, ""},
		{"cii invoice", sample(t, "xrechnung-cii.xml"), XML, ""},
		{"peppol credit note", sample(t, "peppol-creditnote.xml"), XML, ""},
		{"xml with external entity", sample(t, "xxe.xml"), XML, "document type declaration"},
		{"billion laughs", sample(t, "billion-laughs.xml"), XML, "entity expansion"},
		{"xml that is no invoice", []byte(`<?xml version="1.0"?><note/>`), "", "not a PDF, PNG or JPEG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Document(c.content)
			if c.wantErr == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if !errors.Is(err, ErrRejected) || !bytes.Contains([]byte(err.Error()), []byte(c.wantErr)) {
				t.Fatalf("err = %v, want rejection mentioning %q", err, c.wantErr)
			}
		})
	}
}

func TestEmailMessage(t *testing.T) {
	m, err := EmailMessage([]byte("From: Shop <orders@shop.example>\r\nTo: Ann <ann@example.com>\r\nSubject: Your receipt\r\n\r\nTotal 12.00\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.To.Address != "ann@example.com" || m.From.Address != "orders@shop.example" || m.Subject != "Your receipt" {
		t.Fatalf("%+v", m)
	}
	for name, raw := range map[string]string{
		"empty":     "  \r\n",
		"no header": "just a body without headers",
		"no from":   "To: a@b.example\r\n\r\nbody",
		"bad from":  "From: not an address\r\n\r\nbody",
	} {
		if _, err := EmailMessage([]byte(raw)); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: err = %v, want rejection", name, err)
		}
	}
}

func FuzzDocument(f *testing.F) {
	f.Add([]byte(minimalPDF))
	f.Add(pngBytes(f))
	f.Add(jpegBytes(f))
	f.Fuzz(func(t *testing.T, content []byte) {
		typ, err := Document(content)
		if err != nil && !errors.Is(err, ErrRejected) {
			t.Fatalf("error outside ErrRejected: %v", err)
		}
		if err == nil && typ == "" {
			t.Fatal("accepted without a type")
		}
	})
}

func FuzzEmailMessage(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nTo: c@d.example\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, content []byte) {
		m, err := EmailMessage(content)
		if err != nil && !errors.Is(err, ErrRejected) {
			t.Fatalf("error outside ErrRejected: %v", err)
		}
		if err == nil && m.From == nil {
			t.Fatal("accepted without a sender")
		}
	})
}
