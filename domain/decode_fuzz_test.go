package domain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// FuzzDecodeAsEncodingJSON: Decode reads every payload type exactly as
// encoding/json does (the same value, or a refusal where it refuses),
// seeded with the stored samples of every schema version.
func FuzzDecodeAsEncodingJSON(f *testing.F) {
	types := make([]string, 0, len(payloadTypes))
	for typ := range payloadTypes {
		types = append(types, typ)
	}
	sort.Strings(types)
	files, _ := filepath.Glob("testdata/v*/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var e Envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(sort.SearchStrings(types, e.Type)), []byte(e.Data))
	}
	f.Add(uint8(0), []byte(`{"fields":{"total":"1.00","line_items":[{"amount":"1"}]},"unknown":1,"FIELDS":null}`))
	f.Add(uint8(1), []byte(`{"uploaded_at":"2026-13-40T00:00:00Z"}`))
	f.Add(uint8(2), []byte(`{"size":1e3,"attempt":"2"}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		proto := reflect.TypeOf(payloadTypes[typ])
		want, got := reflect.New(proto).Interface(), reflect.New(proto).Interface()
		werr := json.Unmarshal(data, want)
		gerr := Envelope{Type: typ, SchemaVersion: SchemaVersion(typ), Data: data}.Decode(got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s %q: encoding/json err %v, Decode err %v", typ, data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%s %q:\nencoding/json %+v\nDecode        %+v", typ, data, want, got)
		}
	})
}

// BenchmarkDecode reads a stored result's payload with encoding/json (the
// baseline) and with Decode.
func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile("testdata/v1/ReceiptExtracted.json")
	if err != nil {
		b.Fatal(err)
	}
	var e Envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p ReceiptExtracted
			if err := json.Unmarshal(e.Data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p ReceiptExtracted
			if err := e.Decode(&p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
