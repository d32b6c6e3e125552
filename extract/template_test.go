package extract

import (
	"strings"
	"sync"
	"testing"

	"tally/domain"
)

// fakeMatcher matches documents containing its marker; its answer can be
// changed between calls, as a hot-swapped template bundle would.
type fakeMatcher struct {
	mu      sync.Mutex
	marker  string
	fields  domain.Fields
	name    string
	version string
	calls   int
	texts   []string
}

func (m *fakeMatcher) Match(text string) (domain.Fields, string, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.texts = append(m.texts, text)
	if !strings.Contains(text, m.marker) {
		return domain.Fields{}, "", "", false
	}
	return m.fields, m.name, m.version, true
}

func (m *fakeMatcher) swap(fields domain.Fields, name, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fields, m.name, m.version = fields, name, version
}

func TestWithTemplates(t *testing.T) {
	const doc = "ACME WIDGETS LTD\nInvoice No: INV-7\nDate: 03/04/2024\nTotal   EUR 12.50\n"
	m := &fakeMatcher{
		marker: "ACME WIDGETS",
		// Vendor and total from the template; the template's raw amount
		// and date are normalised; empty fields leave the generic ones.
		fields:  domain.Fields{Vendor: "Acme Widgets Limited", Total: "1.234,50", DueDate: "30.04.2024", EngineVersion: "ignored"},
		name:    "acme",
		version: "2024.1",
	}
	base := New(Limits{})
	e := base.WithTemplates(m)

	got, err := e.Extract(t.Context(), []byte(doc), TypeText)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Fields{
		Vendor:          "Acme Widgets Limited",
		Date:            "2024-04-03",
		DueDate:         "2024-04-30",
		InvoiceNumber:   "INV-7",
		Currency:        "EUR",
		Total:           "1234.50",
		EngineVersion:   EngineVersion,
		TemplateVersion: "2024.1/acme",
	}
	assertFields(t, got, want)
	if got.TemplateVersion != want.TemplateVersion {
		t.Errorf("template_version = %q, want %q", got.TemplateVersion, want.TemplateVersion)
	}
	if m.calls != 1 || m.texts[0] != doc {
		t.Fatalf("matcher called %d times with %q", m.calls, m.texts)
	}

	// The matcher is consulted on every Extract: a swapped bundle is
	// picked up without a new engine.
	m.swap(domain.Fields{InvoiceNumber: "X-1", Total: "not money", Currency: " gbp "}, "acme-v2", "2024.2")
	got, err = e.Extract(t.Context(), []byte(doc), TypeText)
	if err != nil {
		t.Fatal(err)
	}
	want = domain.Fields{
		Vendor:          "ACME WIDGETS LTD",
		Date:            "2024-04-03",
		InvoiceNumber:   "X-1",
		Currency:        "GBP",
		Total:           "12.50", // an unreadable template amount is dropped
		EngineVersion:   EngineVersion,
		TemplateVersion: "2024.2/acme-v2",
	}
	assertFields(t, got, want)
	if got.TemplateVersion != want.TemplateVersion {
		t.Errorf("template_version = %q, want %q", got.TemplateVersion, want.TemplateVersion)
	}
	if m.calls != 2 {
		t.Fatalf("matcher called %d times, want 2", m.calls)
	}

	// No template matches: the generic rules alone, no template version.
	got, err = e.Extract(t.Context(), []byte("OTHER SHOP LTD\nTotal   EUR 3.00\n"), TypeText)
	if err != nil {
		t.Fatal(err)
	}
	if got.Vendor != "OTHER SHOP LTD" || got.Total != "3.00" || got.TemplateVersion != "" {
		t.Fatalf("without a match: %+v", got)
	}

	// The engine WithTemplates was called on is unchanged.
	got, err = base.Extract(t.Context(), []byte(doc), TypeText)
	if err != nil {
		t.Fatal(err)
	}
	if got.Vendor != "ACME WIDGETS LTD" || got.TemplateVersion != "" || m.calls != 3 {
		t.Fatalf("base engine consulted templates: %+v (calls %d)", got, m.calls)
	}
	if base.WithTemplates(nil) == nil {
		t.Fatal("WithTemplates(nil) returned nil")
	}
}
