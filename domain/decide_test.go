package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecideAddPart(t *testing.T) {
	var none Document
	if _, err := none.DecideAddPart(OrderPartAdded{DocumentID: "doc-2"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("part of no document: %v, want ErrNotFound", err)
	}
	d, _ := Fold([]Envelope{env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{Attempt: 1})})
	part := OrderPartAdded{DocumentID: "doc-2", Subject: "Shipped", Fields: Fields{Total: "5.00"}}
	p, err := d.DecideAddPart(part)
	if err != nil || p == nil || p.DocumentID != "doc-2" || p.Fields.Total != "5.00" {
		t.Fatalf("first part: %+v %v", p, err)
	}
	if err := d.Apply(env(t, 2, TypeOrderPartAdded, "part:doc-2", *p)); err != nil {
		t.Fatal(err)
	}
	if p, err := d.DecideAddPart(part); p != nil || err != nil {
		t.Fatalf("the same part again: %+v %v, want nothing to do", p, err)
	}
	if p, err := d.DecideAddPart(OrderPartAdded{DocumentID: "doc-3"}); p == nil || err != nil {
		t.Fatalf("another part: %+v %v", p, err)
	}
}

func TestDecideDuplicate(t *testing.T) {
	var none Document
	if _, err := none.DecideDuplicate("doc-0", DuplicateSameContent); !errors.Is(err, ErrNotFound) {
		t.Fatalf("duplicate of no document: %v, want ErrNotFound", err)
	}
	d, _ := Fold([]Envelope{env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{Attempt: 1})})
	if p, err := d.DecideDuplicate("doc-1", DuplicateSameContent); p != nil || err != nil {
		t.Fatalf("a copy of itself: %+v %v, want nothing to do", p, err)
	}
	p, err := d.DecideDuplicate("doc-0", DuplicateSameContent)
	if err != nil || p == nil || p.Of != "doc-0" || p.Reason != DuplicateSameContent {
		t.Fatalf("first verdict: %+v %v", p, err)
	}
	if err := d.Apply(env(t, 2, TypeDuplicateDetected, "duplicate:"+DuplicateSameContent, *p)); err != nil {
		t.Fatal(err)
	}
	if p, err := d.DecideDuplicate("doc-9", DuplicateSameInvoice); p != nil || err != nil {
		t.Fatalf("a second verdict: %+v %v, want the first to stand", p, err)
	}
	if d.DuplicateOf != "doc-0" || d.DuplicateReason != DuplicateSameContent {
		t.Fatalf("folded verdict %q %q", d.DuplicateOf, d.DuplicateReason)
	}
}

func TestDecideDelete(t *testing.T) {
	var none Document
	if _, err := none.DecideDelete("x", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of no document: %v, want ErrNotFound", err)
	}
	d, _ := Fold([]Envelope{env(t, 1, TypeDocumentUploaded, "", DocumentUploaded{Attempt: 1})})
	local := time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	p, err := d.DecideDelete(strings.Repeat("r", maxReasonLength+10), local)
	if err != nil || p == nil {
		t.Fatalf("delete: %+v %v", p, err)
	}
	if p.Reason != strings.Repeat("r", maxReasonLength)+"…" || p.PurgeAfter.Location() != time.UTC || !p.PurgeAfter.Equal(local) {
		t.Fatalf("reason of %d bytes, purge after %v", len(p.Reason), p.PurgeAfter)
	}
	if err := d.Apply(env(t, 2, TypeDocumentDeleted, "", *p)); err != nil {
		t.Fatal(err)
	}
	if p, err := d.DecideDelete("again", local); p != nil || err != nil {
		t.Fatalf("deleting twice: %+v %v, want nothing to do", p, err)
	}
}

func TestValidateTenant(t *testing.T) {
	for _, ok := range []string{"acme", "acme_co-1", "a", strings.Repeat("a", 63)} {
		if err := ValidateTenant(ok); err != nil || !ValidTenant(ok) {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Acme", "_x", "-x", "a.b", "a b", strings.Repeat("a", 64), ReservedTenant} {
		if err := ValidateTenant(bad); !errors.Is(err, ErrInvalid) || ValidTenant(bad) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	if err := ValidateTenant(ReservedTenant); !strings.Contains(PublicMessage(err), "reserved") {
		t.Errorf("reserved tenant: %v", err)
	}
}
