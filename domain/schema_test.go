package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// payloadTypes maps every event type to its payload struct.
var payloadTypes = map[string]any{
	TypeDocumentUploaded:    DocumentUploaded{},
	TypeExtractionRequested: ExtractionRequested{},
	TypeExtractionStarted:   ExtractionStarted{},
	TypeReceiptExtracted:    ReceiptExtracted{},
	TypeExtractionFailed:    ExtractionFailed{},
	TypeNotificationSent:    NotificationSent{},
	TypeNotificationFailed:  NotificationFailed{},
	TypeMonthlyReportSent:   MonthlyReportSent{},
	TypeDocumentCorrected:   DocumentCorrected{},
	TypeDocumentDeleted:     DocumentDeleted{},
	TypeDocumentRestored:    DocumentRestored{},
	TypeDocumentPurged:      DocumentPurged{},
	TypeExtractionRevised:   ExtractionRevised{},
	TypeUserErased:          UserErased{},
	TypeOrderPartAdded:      OrderPartAdded{},
}

// TestStoredEventsOfEveryVersionStillRead reads events as stored by each
// schema version (testdata/v<N>/<Type>.json) with today's code. A field
// renamed or dropped fails here: stored events are immutable, so readers
// must keep understanding them (a breaking change needs a new schema
// version and an upcaster in Envelope.Decode).
func TestStoredEventsOfEveryVersionStillRead(t *testing.T) {
	files, _ := filepath.Glob("testdata/v*/*.json")
	seen := map[string]bool{} // "<type> v<version>"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e Envelope
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s: envelope: %v", f, err)
		}
		proto, ok := payloadTypes[e.Type]
		if !ok {
			t.Fatalf("%s: unknown event type %q", f, e.Type)
		}
		if dir := filepath.Base(filepath.Dir(f)); dir != fmt.Sprintf("v%d", e.SchemaVersion) {
			t.Fatalf("%s: schema_version %d stored under %s", f, e.SchemaVersion, dir)
		}
		seen[fmt.Sprintf("%s v%d", e.Type, e.SchemaVersion)] = true
		payload := reflect.New(reflect.TypeOf(proto)).Interface()
		pdec := json.NewDecoder(bytes.NewReader(e.Data))
		pdec.DisallowUnknownFields()
		if err := pdec.Decode(payload); err != nil {
			t.Fatalf("%s: payload no longer reads: %v", f, err)
		}
		if err := e.Decode(payload); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Everything stored survives a round trip through today's struct.
		again, _ := json.Marshal(payload)
		var a, b any
		json.Unmarshal(e.Data, &a)
		json.Unmarshal(again, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: payload changes on a round trip:\nstored %s\nnow    %s", f, e.Data, again)
		}
	}
	// Every version of every type ever written keeps a sample.
	for typ := range payloadTypes {
		for v := 1; v <= SchemaVersion(typ); v++ {
			if !seen[fmt.Sprintf("%s v%d", typ, v)] {
				t.Errorf("no stored sample of %s under testdata/v%d", typ, v)
			}
		}
	}
}
