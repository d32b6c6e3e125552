package eventstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"tally/domain"
)

// uploadEvent is a stored DocumentUploaded as the API appends it: the
// user and the private fields sealed.
func uploadEvent(tb testing.TB) []byte {
	tb.Helper()
	payload, err := json.Marshal(domain.DocumentUploaded{
		Source: domain.SourceUpload, ContentType: "application/pdf", Size: 48211,
		SHA256:     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		BlobKey:    "default/2026/12/0193a6f2-5b7e-7c4d-9e1f-2a3b4c5d6e7f.pdf",
		UploadedAt: time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), Attempt: 1,
		UserID:        "5f0c7a3e-2b1d-4c8e-9a6f-0e1d2c3b4a59",
		UserSealed:    "qk9ZbW3M1xY2Vd8pQ0rT5uH7jK4lN6oP9sA1bC3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1fG3hI5jK7lM9nO1pQ3rS5tU7vW9xY1zA3bC5dE7fG9hI1jK3lM5nO7pQ9rS==",
		PrivateSealed: "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4",
	})
	if err != nil {
		tb.Fatal(err)
	}
	data, err := json.Marshal(domain.Envelope{
		ID: "0193a6f2-5b7e-7c4d-9e1f-000000000001", Type: domain.TypeDocumentUploaded, SchemaVersion: 3,
		Tenant: "default", AggregateType: "document", AggregateID: "0193a6f2-5b7e-7c4d-9e1f-2a3b4c5d6e7f",
		OccurredAt:    time.Date(2026, 12, 5, 18, 0, 0, 123456789, time.UTC),
		CorrelationID: "c-0193a6f2", CommandID: "upload:0193a6f2-5b7e-7c4d-9e1f-2a3b4c5d6e7f", Data: payload,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// The envelope decodes to what encoding/json makes of the same text, and
// text encoding/json refuses is refused.
func FuzzUnmarshalEnvelopeAsEncodingJSON(f *testing.F) {
	f.Add(uploadEvent(f))
	f.Add([]byte(`{"id":"a","type":"T","schema_version":1,"tenant":"t","occurred_at":"2026-01-02T03:04:05Z","data":{"x":[1,2,{"y":null}]}}`))
	f.Add([]byte(`{"ID":"case","Type":"T","data":"str","data":{"dup":1}}`))
	f.Add([]byte(`{"id":"\u00e9\ud83d\ude00","data":null,"extra":[true]}`))
	f.Add([]byte(`{"occurred_at":"not a time"}`))
	f.Add([]byte(`{"schema_version":1.5}`))
	f.Add([]byte("{\"id\":\"\xff\"}"))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got domain.Envelope
		werr := json.Unmarshal(data, &want)
		gerr := unmarshalEnvelope(data, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json err %v, decoder err %v", data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nencoding/json %+v\ndecoder       %+v", data, want, got)
		}
	})
}

// BenchmarkUnmarshalEnvelope decodes a stored upload event with
// encoding/json (the baseline) and with unmarshalEnvelope.
func BenchmarkUnmarshalEnvelope(b *testing.B) {
	data := uploadEvent(b)
	for _, bc := range []struct {
		name      string
		unmarshal func([]byte, *domain.Envelope) error
	}{
		{"encoding-json", func(d []byte, e *domain.Envelope) error { return json.Unmarshal(d, e) }},
		{"unmarshalEnvelope", unmarshalEnvelope},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var e domain.Envelope
				if err := bc.unmarshal(data, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
