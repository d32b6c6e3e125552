package domain

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateTextKeepsWholeCharacters(t *testing.T) {
	short := "Kaffee und Kuchen"
	if got := TruncateText(short); got != short {
		t.Fatalf("short text changed: %q", got)
	}
	// "ä" is two bytes: a cut at MaxResultText would split the last one.
	long := "a" + strings.Repeat("ä", MaxResultText)
	got := TruncateText(long)
	if len(got) > MaxResultText || !utf8.ValidString(got) || len(got) < MaxResultText-1 {
		t.Fatalf("cut to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func TestResultEventCarriesTheText(t *testing.T) {
	d := &Document{}
	typ, p := d.ResultEventWithText(1, Fields{Vendor: "Acme"}, ResultText{Text: "Acme GmbH\nespresso beans"})
	if typ != TypeReceiptExtracted || p.(ReceiptExtracted).Text != "Acme GmbH\nespresso beans" {
		t.Fatalf("first result: %s %+v", typ, p)
	}
	d.Machine = &Fields{Vendor: "Acme"}
	typ, p = d.ResultEventWithText(2, Fields{Vendor: "Acme"}, ResultText{Text: strings.Repeat("x", MaxResultText+10)})
	if typ != TypeExtractionRevised || len(p.(ExtractionRevised).Text) != MaxResultText {
		t.Fatalf("revision: %s, text of %d bytes", typ, len(p.(ExtractionRevised).Text))
	}
}
