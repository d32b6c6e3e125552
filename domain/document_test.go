package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

func env(t *testing.T, seq uint64, typ, commandID string, payload any) Envelope {
	t.Helper()
	e, err := NewEnvelope("e"+string(rune('a'+seq)), "acme", "doc-1", typ, time.Unix(int64(seq), 0), payload)
	if err != nil {
		t.Fatal(err)
	}
	e.Sequence, e.CommandID = seq, commandID
	return e
}

func TestFoldLifecycle(t *testing.T) {
	d, err := Fold([]Envelope{
		env(t, 1, TypeDocumentUploaded, "c-up", DocumentUploaded{Filename: "a.pdf", Attempt: 1, User: &User{Email: "a@b.c"}}),
		env(t, 2, TypeExtractionStarted, "start:1", ExtractionStarted{Attempt: 1}),
		env(t, 3, TypeReceiptExtracted, "result:1", ReceiptExtracted{Attempt: 1, Fields: Fields{Total: "1.00"}}),
		env(t, 4, TypeExtractionRequested, "", ExtractionRequested{Attempt: 2, Reason: ReasonReprocess}),
		env(t, 5, "SomethingFromTheFuture", "", map[string]int{"x": 1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusPending || d.Attempt != 2 || d.Version != 5 || d.Fields.Total != "1.00" {
		t.Fatalf("%+v", d)
	}
	if e, ok := d.EventOf("result:1"); !ok || e.Sequence != 3 {
		t.Fatal("command id not remembered")
	}
	if _, ok := d.EventOf(""); ok {
		t.Fatal("empty command id matched")
	}
}

func TestDecisions(t *testing.T) {
	d, _ := Fold([]Envelope{env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{Attempt: 1})})
	if p, err := d.DecideStart(1, "w"); err != nil || p == nil {
		t.Fatalf("start: %v %v", p, err)
	}
	if _, err := d.DecideStart(2, "w"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("start of an attempt never requested: %v", err)
	}
	if _, err := d.DecideReprocess("x"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("reprocess while pending: %v", err)
	}
	_ = d.Apply(env(t, 2, TypeExtractionStarted, "", ExtractionStarted{Attempt: 1}))
	if p, err := d.DecideStart(1, "w"); err != nil || p != nil {
		t.Fatalf("second start of the same attempt must be a no-op: %v %v", p, err)
	}
	r, err := d.DecideRetry(1, "boom", time.Unix(100, 0))
	if err != nil || r.Attempt != 2 || r.Reason != ReasonRetry || r.NotBefore == nil {
		t.Fatalf("retry: %+v %v", r, err)
	}
	_ = d.Apply(env(t, 3, TypeExtractionFailed, "", ExtractionFailed{Attempt: 1, Reason: "boom"}))
	if d.Status != StatusFailed || d.FailureReason != "boom" {
		t.Fatalf("%+v", d)
	}
	if err := d.DecideResult(1); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("second result: %v", err)
	}
	p, err := d.DecideReprocess("again")
	if err != nil || p.Attempt != 2 {
		t.Fatalf("reprocess: %+v %v", p, err)
	}
	_ = d.Apply(env(t, 4, TypeExtractionRequested, "", *p))
	if err := d.DecideResult(1); !errors.Is(err, ErrStaleAttempt) {
		t.Fatalf("result of a replaced attempt: %v", err)
	}
	var empty Document
	if _, err := empty.DecideReprocess("x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reprocess of nothing: %v", err)
	}
}

func TestDecodeRefusesNewerSchema(t *testing.T) {
	e := env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{})
	e.SchemaVersion = SchemaVersion(TypeDocumentUploaded) + 1
	var p DocumentUploaded
	if err := e.Decode(&p); err == nil {
		t.Fatal("decoded an event from a newer schema")
	}
}

func TestTruncate(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	if got := Truncate(string(long)); len(got) > maxReasonLength+4 {
		t.Fatalf("len %d", len(got))
	}
	if Truncate("short") != "short" {
		t.Fatal("short reason changed")
	}
}

func TestDeletedDocumentIsNotReprocessed(t *testing.T) {
	d, _ := Fold([]Envelope{
		env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{Attempt: 1}),
		env(t, 2, TypeExtractionFailed, "", ExtractionFailed{Attempt: 1, Reason: "x"}),
		env(t, 3, TypeDocumentDeleted, "", DocumentDeleted{PurgeAfter: time.Unix(1000, 0)}),
	})
	if _, err := d.DecideReprocess("again"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("reprocess of a deleted document: %v", err)
	}
	if _, err := d.DecideCorrect(Fields{Total: "1.00"}); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("correction of a deleted document: %v", err)
	}
	if p, err := d.DecideRestore(time.Unix(999, 0)); err != nil || p == nil {
		t.Fatalf("restore within grace: %v %v", p, err)
	}
	if _, err := d.DecideRestore(time.Unix(1000, 0)); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("restore after grace: %v", err)
	}
	if p, _ := d.DecidePurge(time.Unix(1000, 0)); p == nil {
		t.Fatal("no purge after grace")
	}
}

// TestOwnerOfEitherVersion: a stored schema-1 upload names its user in the
// clear, a schema-2 one sealed; Owner presents both, and a folded
// document keeps the sealed form.
func TestOwnerOfEitherVersion(t *testing.T) {
	for _, c := range []struct {
		file  string
		plain bool
	}{{"testdata/v1/DocumentUploaded.json", true}, {"testdata/v2/DocumentUploaded.json", false}} {
		raw, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		var e Envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		d, err := Fold([]Envelope{e})
		if err != nil {
			t.Fatal(err)
		}
		o := d.Owner
		if !o.Named() || (o.Plain != nil) != c.plain || (o.ID != "" && o.Sealed != "") == c.plain {
			t.Fatalf("%s: owner %+v", c.file, o)
		}
		if !c.plain && bytes.Contains(e.Data, []byte("ann@example.com")) {
			t.Fatalf("%s: the sealed sample holds the address", c.file)
		}
	}
	if (SealedUser{Plain: &User{}}).Named() || (SealedUser{}).Named() {
		t.Fatal("a document without a user is named")
	}
}
