// Package docs_test checks the published event contract in docs/ against
// the code: every event type has a JSON Schema, events built with the
// domain package (and the templates package, for its operational event)
// validate against it, and the schemas name exactly the fields the Go
// payloads have.
package docs_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"tally/domain"
	"tally/mailauth"
	"tally/templates"
)

const schemaDir = "schemas"

// eventFiles are the Go files that define event types: the domain's, and
// the templates package's operational event.
var eventFiles = []string{
	filepath.Join("..", "domain", "events.go"),
	filepath.Join("..", "templates", "events.go"),
}

// eventTypes reads the Type* constants from eventFiles, so that a new
// event type without a schema fails here even before anyone adds a sample
// for it.
func eventTypes(t *testing.T) []string {
	t.Helper()
	var types []string
	for _, name := range eventFiles {
		types = append(types, typeConstants(t, name)...)
	}
	if len(types) < 8 {
		t.Fatalf("found only %d event types in %v: %v", len(types), eventFiles, types)
	}
	return types
}

func typeConstants(t *testing.T, path string) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Type") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: %s is not a string literal", path, name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				types = append(types, v)
			}
		}
	}
	return types
}

func TestEveryEventTypeHasASchema(t *testing.T) {
	types := eventTypes(t)
	for _, typ := range types {
		if _, err := os.Stat(filepath.Join(schemaDir, typ+".json")); err != nil {
			t.Errorf("event type %s has no schema: add docs/schemas/%s.json and describe it in docs/events.md", typ, typ)
		}
	}
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name != "envelope" && !slices.Contains(types, name) {
			t.Errorf("schema %s names no event type in %v", f, eventFiles)
		}
	}
	doc, err := os.ReadFile("events.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range types {
		if !bytes.Contains(doc, []byte("### "+typ)) {
			t.Errorf("docs/events.md has no section \"### %s\"", typ)
		}
	}
}

// sampleUserID is the pseudonymous user of the samples.
const sampleUserID = "7d0f5a52-1c2e-4b8a-9f3d-6e1a2b3c4d5e"

// payloads holds one realistic payload per event type.
func payloads() map[string]any {
	uploaded := time.Date(2026, 3, 31, 22, 15, 4, 123456789, time.UTC)
	notBefore := uploaded.Add(4 * time.Second)
	extracted := domain.Fields{
		Vendor: "Hotel Lisboa Lda", VendorAddress: "Rua Augusta 1, 1100-048 Lisboa", Date: "2026-03-28",
		DueDate: "2026-04-27", InvoiceNumber: "FT 2026/1187", Currency: "EUR", Subtotal: "230.00", Tax: "13.80",
		Total: "243.80", EngineVersion: "text-1", TemplateVersion: "generic-3",
		LineItems: []domain.LineItem{
			{Description: "Room, 2 nights", Quantity: "2", UnitPrice: "115.00", Amount: "230.00"},
			{Description: "City tax"},
		},
	}
	shipped := time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)
	revised := extracted
	revised.Date, revised.Tax, revised.Total, revised.EngineVersion, revised.TemplateVersion =
		"2026-03-27", "", "230.00", "text-2", ""
	corrections := domain.Fields{Total: "234.80", Tax: "4.80", LineItems: []domain.LineItem{
		{Description: "Room, 2 nights", Quantity: "2", UnitPrice: "115.00", Amount: "230.00"},
		{Description: "City tax", Amount: "4.80"},
	}}
	return map[string]any{
		domain.TypeDocumentUploaded: domain.DocumentUploaded{
			Source: domain.SourceUpload, Filename: "", ContentType: "application/pdf", Size: 48213,
			SHA256:        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			BlobKey:       "acme/2026/03/0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77.pdf",
			UserID:        sampleUserID,
			UserSealed:    "BQq8gbbqWSmk01tr5NZiTbmlb79Ri+pPlP73ESKI6a6qFZkX8kastsa8ZK1H1ZFWz9fH2SMVXVtwoMH4dMlE6l8PquK5vFHj91aG4Q==",
			PrivateSealed: "BQq8gbbqWSmkJ8Vb3c1Qk2hV4pZr0cYtq9d2Y6vQeI1sT7wO5nGmXlR3kUa8eP0fJ4bC6dH9iL2gN==",
			UploadedAt:    uploaded, Attempt: 1,
		},
		domain.TypeUserErased: domain.UserErased{UserID: sampleUserID},
		domain.TypeExtractionRequested: domain.ExtractionRequested{
			Attempt: 3, Reason: domain.ReasonRetry, LastError: "pdftotext: timed out after 60s", NotBefore: &notBefore,
		},
		domain.TypeExtractionStarted: domain.ExtractionStarted{Attempt: 1, Worker: "worker-7f9c"},
		domain.TypeReceiptExtracted:  domain.ReceiptExtracted{Attempt: 2, Fields: extracted},
		domain.TypeExtractionRevised: domain.ExtractionRevised{Attempt: 3, Fields: revised,
			Changes: domain.Diff(extracted, revised)},
		domain.TypeExtractionFailed: domain.ExtractionFailed{Attempt: 1, Reason: "the image could not be read: OCR found no text"},
		domain.TypeDocumentCorrected: domain.DocumentCorrected{
			Corrections: corrections, Previous: extracted,
		},
		domain.TypeDocumentDeleted: domain.DocumentDeleted{
			Reason: "duplicate of FT 2026/1186", PurgeAfter: uploaded.AddDate(0, 0, 30),
		},
		domain.TypeDocumentRestored: domain.DocumentRestored{},
		domain.TypeDocumentPurged:   domain.DocumentPurged{BlobKey: "acme/2026/03/0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77.pdf"},
		domain.TypeNotificationSent: domain.NotificationSent{
			SourceEventID: "0195f3c2-9d10-7b5a-8c3e-41f0a2b6d9e1", Kind: domain.NotifyExtracted,
			MessageID: "event-0195f3c2-9d10-7b5a-8c3e-41f0a2b6d9e1@tally.example.com",
		},
		domain.TypeNotificationFailed: domain.NotificationFailed{
			SourceEventID: "0195f3c2-9d10-7b5a-8c3e-41f0a2b6d9e1", Kind: domain.NotifyFailed,
			Reason: "550 5.1.1 <ann@example.com>: mailbox unavailable",
		},
		domain.TypeMonthlyReportSent: domain.MonthlyReportSent{
			Month: "2026-03", MessageID: "report-6c1f0b52-3e0d-5a8e-b7a4-2f9d6e1c0a33@tally.example.com", Documents: 4,
			Totals: []domain.CurrencyTotal{{Currency: "EUR", Total: "512.30"}, {Currency: "XXX", Total: "12.00"}},
		},
		domain.TypeDuplicateDetected: domain.DuplicateDetected{
			Of: "0195f3b9-1c07-7e5a-9d42-6b8f0e3a2c15", Reason: domain.DuplicateSameInvoice,
		},
		domain.TypeFingerprintClaimed: domain.FingerprintClaimed{
			DocumentID: "0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77", Reason: domain.DuplicateSameContent,
		},
		domain.TypeOrderPartAdded: domain.OrderPartAdded{
			DocumentID: "0195f7d0-4b2e-7c19-a3f5-8e6d1c0b9a24", Part: domain.PartShipping,
			MessageID: "0100018e9c4f2a1b-shipped-7731@email.shop.example", UserID: sampleUserID,
			PrivateSealed: "BQq8gbbqWSmkV2Wm7tQp1Lx9cRz4eN6aYb3Hd8fJ0kG5sU2oP7iM1vT9wE4rA6yC3nB8hD5jK0lF==",
			Date:          &shipped, Fields: domain.Fields{
				Vendor: "Shop Example", InvoiceNumber: "113-4829", Date: "2026-04-01", Currency: "EUR", Total: "59.90",
				LineItems: []domain.LineItem{{Description: "Kettle", Quantity: "1", Amount: "59.90"}},
			},
		},
		templates.TypeTemplatesActivated: templates.TemplatesActivated{
			Version: "2026.11.2", PreviousVersion: "2026.11.1", Templates: 14, Reason: templates.ReasonUpdate,
			Checksum: "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
			Source:   "s3://tally-templates/bundles/2026.11.2.json",
		},
	}
}

// ereceiptUpload is a DocumentUploaded of the e-receipt API, with the
// optional e-mail and job parts the sample in payloads() leaves out.
func ereceiptUpload() domain.DocumentUploaded {
	sent := time.Date(2026, 3, 31, 20, 1, 44, 0, time.UTC)
	return domain.DocumentUploaded{
		Source: domain.SourceEReceipt, Filename: "receipt.eml", ContentType: "message/rfc822", Size: 18734,
		SHA256:     "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		BlobKey:    "acme/2026/03/0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77.eml",
		UserID:     "7d0f5a52-1c2e-4b8a-9f3d-6e1a2b3c4d5e",
		UserSealed: "BQq8gbbqWSmk01tr5NZiTbmlb79Ri+pPlP73ESKI6a6qFZkX8kastsa8ZK1H1ZFWz9fH2SMVXVtwoMH4dMlE6l8PquK5vFHj91aG4Q==",
		UploadedAt: time.Date(2026, 3, 31, 22, 15, 4, 0, time.UTC), Attempt: 1,
		Email: &domain.EmailInfo{
			MessageID: "0100018e9c4f2a1b-order-7731@email.shop.example", From: "orders@shop.example",
			Subject: "Your order 113-4829", Date: &sent,
			Auth: domain.EmailAuth{DKIM: "verified", FromDomain: "shop.example", SignedBy: []string{"shop.example", "mailer.example"}},
		},
		Job: &domain.EReceiptJob{
			EmailHash: "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514",
			Provider:  "gmail", ClientUserID: "user-8812", Aggregate: true,
		},
	}
}

// sample wraps a payload the way Tally's commands do (and, for the
// templates package's event, the way templates.Store does).
func sample(t *testing.T, typ string, payload any) []byte {
	t.Helper()
	tenant, aggregateID := "acme", "0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77"
	switch typ {
	case domain.TypeMonthlyReportSent:
		aggregateID = "6c1f0b52-3e0d-5a8e-b7a4-2f9d6e1c0a33"
	case domain.TypeUserErased:
		aggregateID = sampleUserID
	case templates.TypeTemplatesActivated:
		tenant, aggregateID = templates.SystemTenant, templates.AggregateID
	case domain.TypeFingerprintClaimed:
		aggregateID = domain.FingerprintID(domain.DuplicateSameContent,
			"ann@example.com\x009f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	}
	e, err := domain.NewEnvelope("0195f3c2-b3c4-7d2e-8f10-2a3b4c5d6e7f", tenant, aggregateID, typ,
		time.Date(2026, 3, 31, 22, 15, 5, 0, time.FixedZone("CEST", 2*3600)), payload)
	if err != nil {
		t.Fatal(err)
	}
	switch typ {
	case domain.TypeMonthlyReportSent:
		e.AggregateType = domain.AggregateReport
	case domain.TypeUserErased:
		e.AggregateType = domain.AggregateUser
	case templates.TypeTemplatesActivated:
		e.AggregateType = templates.AggregateTemplates
		data, err := json.Marshal(e) // no command, correlation or causation
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	e.CommandID = "result:2"
	e.CorrelationID = "req-3f2a9c"
	switch typ {
	case domain.TypeFingerprintClaimed:
		// A claim carries the claiming document's id, and no request's.
		e.AggregateType = domain.AggregateFingerprint
		e.CommandID, e.CorrelationID = "claim:0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77", ""
	case domain.TypeDuplicateDetected:
		e.CommandID = "duplicate:" + domain.DuplicateSameInvoice
	case domain.TypeOrderPartAdded:
		e.CommandID = "part:0195f7d0-4b2e-7c19-a3f5-8e6d1c0b9a24"
	}
	e.CausationID = e.CommandID
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	s, err := c.Compile(filepath.Join(schemaDir, name+".json"))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func instance(t *testing.T, data []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSamplesValidate(t *testing.T) {
	all := payloads()
	envelope := compile(t, "envelope")
	for _, typ := range eventTypes(t) {
		t.Run(typ, func(t *testing.T) {
			payload, ok := all[typ]
			if !ok {
				t.Fatalf("no sample payload for %s: add one to payloads()", typ)
			}
			data := sample(t, typ, payload)
			schema := compile(t, typ)
			if err := schema.Validate(instance(t, data)); err != nil {
				t.Fatalf("%s\ndoes not validate: %v", data, err)
			}
			if err := envelope.Validate(instance(t, data)); err != nil {
				t.Fatalf("%s\ndoes not validate against envelope.json: %v", data, err)
			}
			// Each schema fixes its type: other types' events are refused.
			for other, p := range all {
				if other == typ {
					continue
				}
				if err := schema.Validate(instance(t, sample(t, other, p))); err == nil {
					t.Errorf("a %s event validates against %s.json", other, typ)
				}
			}
		})
	}
}

func TestSchemasRefuseBrokenEvents(t *testing.T) {
	base := sample(t, domain.TypeReceiptExtracted, payloads()[domain.TypeReceiptExtracted])
	cases := map[string]func(m map[string]any){
		"no id":                 func(m map[string]any) { delete(m, "id") },
		"newer schema version":  func(m map[string]any) { m["schema_version"] = 2 },
		"tenant with a dot":     func(m map[string]any) { m["tenant"] = "acme.eu" },
		"occurred_at not RFC":   func(m map[string]any) { m["occurred_at"] = "31/03/2026" },
		"report aggregate":      func(m map[string]any) { m["aggregate_type"] = "report" },
		"no data":               func(m map[string]any) { delete(m, "data") },
		"attempt as string":     func(m map[string]any) { data(m)["attempt"] = "2" },
		"total as number":       func(m map[string]any) { fields(m)["total"] = 243.8 },
		"total with comma":      func(m map[string]any) { fields(m)["total"] = "243,80" },
		"lower-case currency":   func(m map[string]any) { fields(m)["currency"] = "eur" },
		"date not a date":       func(m map[string]any) { fields(m)["date"] = "2026-02-30" },
		"line item without one": func(m map[string]any) { fields(m)["line_items"] = []any{map[string]any{"amount": "1.00"}} },
	}
	schema := compile(t, domain.TypeReceiptExtracted)
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(base, &m); err != nil {
				t.Fatal(err)
			}
			breakIt(m)
			data, _ := json.Marshal(m)
			if err := schema.Validate(instance(t, data)); err == nil {
				t.Fatalf("broken event validates:\n%s", data)
			}
		})
	}
	// Unknown fields are allowed: Tally may add fields within a version.
	var m map[string]any
	_ = json.Unmarshal(base, &m)
	m["new_envelope_field"] = true
	fields(m)["new_field"] = "x"
	data, _ := json.Marshal(m)
	if err := schema.Validate(instance(t, data)); err != nil {
		t.Fatalf("an event with added fields is refused: %v", err)
	}
}

// TestSchemasRefuseBrokenEventsOfOtherTypes breaks what the schemas of
// the other types add to the envelope.
func TestSchemasRefuseBrokenEventsOfOtherTypes(t *testing.T) {
	cases := []struct {
		typ, name string
		breakIt   func(m map[string]any)
	}{
		{domain.TypeDocumentCorrected, "no corrections", func(m map[string]any) { delete(data(m), "corrections") }},
		{domain.TypeDocumentCorrected, "no previous", func(m map[string]any) { delete(data(m), "previous") }},
		{domain.TypeDocumentCorrected, "corrected total as number", func(m map[string]any) {
			data(m)["corrections"].(map[string]any)["total"] = 234.8
		}},
		{domain.TypeDocumentCorrected, "corrected date not a date", func(m map[string]any) {
			data(m)["corrections"].(map[string]any)["date"] = "28.03.2026"
		}},
		{domain.TypeDocumentCorrected, "previous currency lower-case", func(m map[string]any) {
			data(m)["previous"].(map[string]any)["currency"] = "eur"
		}},
		{domain.TypeExtractionRevised, "no changes", func(m map[string]any) { delete(data(m), "changes") }},
		{domain.TypeExtractionRevised, "change without from", func(m map[string]any) {
			data(m)["changes"] = map[string]any{"total": map[string]any{"to": "230.00"}}
		}},
		{domain.TypeExtractionRevised, "revised total as number", func(m map[string]any) { fields(m)["total"] = 230 }},
		{domain.TypeExtractionRevised, "attempt 1", func(m map[string]any) { data(m)["attempt"] = 1 }},
		{domain.TypeDocumentDeleted, "no purge_after", func(m map[string]any) { delete(data(m), "purge_after") }},
		{domain.TypeDocumentDeleted, "purge_after not RFC", func(m map[string]any) { data(m)["purge_after"] = "in 30 days" }},
		{domain.TypeDocumentRestored, "report aggregate", func(m map[string]any) { m["aggregate_type"] = "report" }},
		{domain.TypeDocumentPurged, "no blob_key", func(m map[string]any) { delete(data(m), "blob_key") }},
		{domain.TypeDuplicateDetected, "no of", func(m map[string]any) { delete(data(m), "of") }},
		{domain.TypeDuplicateDetected, "of not a document id", func(m map[string]any) { data(m)["of"] = "FT 2026/1186" }},
		{domain.TypeDuplicateDetected, "no reason", func(m map[string]any) { delete(data(m), "reason") }},
		{domain.TypeDuplicateDetected, "fingerprint aggregate", func(m map[string]any) { m["aggregate_type"] = "fingerprint" }},
		{domain.TypeDuplicateDetected, "hash as document id", func(m map[string]any) {
			m["aggregate_id"] = "7e1f0c3a9b2d4e5f8a6b1c0d2e3f4a5b"
		}},
		{domain.TypeFingerprintClaimed, "document aggregate", func(m map[string]any) { m["aggregate_type"] = "document" }},
		{domain.TypeFingerprintClaimed, "UUID as fingerprint", func(m map[string]any) {
			m["aggregate_id"] = "0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77"
		}},
		{domain.TypeFingerprintClaimed, "upper-case fingerprint", func(m map[string]any) {
			m["aggregate_id"] = strings.ToUpper(m["aggregate_id"].(string))
		}},
		{domain.TypeFingerprintClaimed, "no document_id", func(m map[string]any) { delete(data(m), "document_id") }},
		{domain.TypeOrderPartAdded, "no fields", func(m map[string]any) { delete(data(m), "fields") }},
		{domain.TypeOrderPartAdded, "no part", func(m map[string]any) { delete(data(m), "part") }},
		{domain.TypeOrderPartAdded, "part total as number", func(m map[string]any) { fields(m)["total"] = 59.9 }},
		{domain.TypeOrderPartAdded, "document_id not a UUID", func(m map[string]any) { data(m)["document_id"] = "113-4829" }},
		{templates.TypeTemplatesActivated, "a tenant's", func(m map[string]any) { m["tenant"] = "acme" }},
		{templates.TypeTemplatesActivated, "document aggregate", func(m map[string]any) { m["aggregate_type"] = "document" }},
		{templates.TypeTemplatesActivated, "another aggregate id", func(m map[string]any) {
			m["aggregate_id"] = "0195f3c2-7a41-7c4e-9a0b-5d2e8c1f4a77"
		}},
		{templates.TypeTemplatesActivated, "checksum upper-case", func(m map[string]any) {
			data(m)["checksum"] = strings.ToUpper(data(m)["checksum"].(string))
		}},
		{templates.TypeTemplatesActivated, "templates as string", func(m map[string]any) { data(m)["templates"] = "14" }},
		{templates.TypeTemplatesActivated, "no version", func(m map[string]any) { delete(data(m), "version") }},
	}
	all := payloads()
	for _, c := range cases {
		t.Run(c.typ+"/"+c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(sample(t, c.typ, all[c.typ]), &m); err != nil {
				t.Fatal(err)
			}
			c.breakIt(m)
			raw, _ := json.Marshal(m)
			if err := compile(t, c.typ).Validate(instance(t, raw)); err == nil {
				t.Fatalf("broken event validates:\n%s", raw)
			}
		})
	}
}

// TestEReceiptUploadValidates checks the optional parts of
// DocumentUploaded, which the sample in payloads() leaves out.
func TestEReceiptUploadValidates(t *testing.T) {
	raw := sample(t, domain.TypeDocumentUploaded, ereceiptUpload())
	if err := compile(t, domain.TypeDocumentUploaded).Validate(instance(t, raw)); err != nil {
		t.Fatalf("%s\ndoes not validate: %v", raw, err)
	}
	// The verdicts mailauth writes are the ones the schema names.
	for _, v := range []string{mailauth.Verified, mailauth.Failed, mailauth.None, mailauth.TempError} {
		u := ereceiptUpload()
		u.Email.Auth = domain.EmailAuth{DKIM: v, SenderForged: v == mailauth.Failed}
		raw := sample(t, domain.TypeDocumentUploaded, u)
		if err := compile(t, domain.TypeDocumentUploaded).Validate(instance(t, raw)); err != nil {
			t.Errorf("DKIM verdict %q is refused: %v", v, err)
		}
	}
	cases := []struct {
		name    string
		breakIt func(m map[string]any)
	}{
		{"e-mail without auth", func(m map[string]any) {
			delete(email(m), "auth")
		}},
		{"unknown DKIM verdict", func(m map[string]any) {
			email(m)["auth"].(map[string]any)["dkim"] = "pass"
		}},
		{"signed_by as string", func(m map[string]any) {
			email(m)["auth"].(map[string]any)["signed_by"] = "shop.example"
		}},
		{"e-mail date not RFC", func(m map[string]any) {
			email(m)["date"] = "Tue, 31 Mar 2026 20:01:44 +0000"
		}},
		{"e-mail hash not hex", func(m map[string]any) {
			data(m)["job"].(map[string]any)["email_hash"] = "ann@example.com"
		}},
		{"aggregate as string", func(m map[string]any) {
			data(m)["job"].(map[string]any)["aggregate"] = "true"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			c.breakIt(m)
			broken, _ := json.Marshal(m)
			if err := compile(t, domain.TypeDocumentUploaded).Validate(instance(t, broken)); err == nil {
				t.Fatalf("broken event validates:\n%s", broken)
			}
		})
	}
}

func data(m map[string]any) map[string]any   { return m["data"].(map[string]any) }
func email(m map[string]any) map[string]any  { return data(m)["email"].(map[string]any) }
func fields(m map[string]any) map[string]any { return data(m)["fields"].(map[string]any) }

// TestSchemasMatchGoTypes compares each schema's properties and required
// lists with the Go structs: a field added to, renamed in or made optional
// in domain/events.go must be added to the schema (and to events.md).
func TestSchemasMatchGoTypes(t *testing.T) {
	env := readSchema(t, "envelope")
	compareType(t, "envelope", reflect.TypeFor[domain.Envelope](), env)
	for typ, payload := range payloads() {
		s := readSchema(t, typ)
		s, _ = inlineRefs(t, s, s).(map[string]any)
		props, _ := s["properties"].(map[string]any)
		dataSchema, _ := props["data"].(map[string]any)
		if dataSchema == nil {
			t.Errorf("%s.json has no properties.data", typ)
			continue
		}
		compareType(t, typ+".data", reflect.TypeOf(payload), dataSchema)
	}
}

func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(schemaDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("%s.json: $schema is %v, want draft 2020-12", name, s["$schema"])
	}
	return s
}

// inlineRefs returns node with every local "$ref" ("#/$defs/fields") of
// root replaced by what it points at, so that shared definitions are
// compared like inline ones. Other references (envelope.json) stay.
func inlineRefs(t *testing.T, root, node any) any {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		out := map[string]any{}
		if ref, ok := n["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
			var target any = root
			for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				m, _ := target.(map[string]any)
				target = m[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
			}
			resolved, ok := inlineRefs(t, root, target).(map[string]any)
			if !ok {
				t.Fatalf("$ref %q points at nothing", ref)
			}
			for k, v := range resolved {
				out[k] = v
			}
		}
		for k, v := range n {
			if k == "$ref" {
				if ref, _ := v.(string); strings.HasPrefix(ref, "#/") {
					continue
				}
			}
			out[k] = inlineRefs(t, root, v)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = inlineRefs(t, root, v)
		}
		return out
	}
	return node
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func compareType(t *testing.T, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := ""
	switch {
	case typ == timeType:
		want = "string"
		if schema["format"] != "date-time" {
			t.Errorf("%s: a time, but the schema's format is %v", path, schema["format"])
		}
	case typ == rawType:
		want = "object"
	case typ.Kind() == reflect.Struct:
		want = "object"
		compareStruct(t, path, typ, schema)
	case typ.Kind() == reflect.Map:
		want = "object"
		if typ.Key().Kind() != reflect.String {
			t.Errorf("%s: a map with %s keys", path, typ.Key())
		}
		values, _ := schema["additionalProperties"].(map[string]any)
		if values == nil {
			t.Errorf("%s: a map without additionalProperties", path)
		} else {
			compareType(t, path+"{}", typ.Elem(), values)
		}
	case typ.Kind() == reflect.Slice:
		want = "array"
		items, _ := schema["items"].(map[string]any)
		if items == nil {
			t.Errorf("%s: an array without items", path)
		} else {
			compareType(t, path+"[]", typ.Elem(), items)
		}
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = "integer"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	default:
		t.Errorf("%s: Go type %s has no JSON Schema mapping in this test", path, typ)
		return
	}
	if got, ok := schema["type"]; ok && got != want {
		t.Errorf("%s: schema type %v, Go type %s wants %s", path, got, typ, want)
	}
}

func compareStruct(t *testing.T, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	props, _ := schema["properties"].(map[string]any)
	var names, required []string
	// Visible fields, as encoding/json writes them: an embedded struct
	// without a tag of its own is written as its fields.
	for _, f := range reflect.VisibleFields(typ) {
		if !f.IsExported() || (f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "") {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			required = append(required, name)
		}
		sub, _ := props[name].(map[string]any)
		if sub == nil {
			t.Errorf("%s.%s (Go %s.%s) is missing from the schema", path, name, typ.Name(), f.Name)
			continue
		}
		compareType(t, path+"."+name, f.Type, sub)
	}
	for name := range props {
		if !slices.Contains(names, name) {
			t.Errorf("%s.%s is in the schema but not in Go type %s", path, name, typ.Name())
		}
	}
	var schemaRequired []string
	if r, ok := schema["required"].([]any); ok {
		for _, v := range r {
			schemaRequired = append(schemaRequired, v.(string))
		}
	}
	slices.Sort(required)
	slices.Sort(schemaRequired)
	if !slices.Equal(required, schemaRequired) {
		t.Errorf("%s: schema requires %v, but Go always writes %v (the fields without omitempty)", path, schemaRequired, required)
	}
}

// TestDocumentedExamplesValidate checks the JSON example under each event
// type's heading in events.md against that type's schema.
func TestDocumentedExamplesValidate(t *testing.T) {
	doc, err := os.ReadFile("events.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, part := range strings.Split(string(doc), "\n### ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		body, _, _ = strings.Cut(body, "\n## ") // the section ends at the next chapter
		sections[strings.TrimSpace(title)] = body
	}
	for _, typ := range eventTypes(t) {
		body, ok := sections[typ]
		if !ok {
			t.Errorf("events.md has no section for %s", typ)
			continue
		}
		// Every example of the section counts, not only the first.
		var examples []string
		for {
			_, rest, found := strings.Cut(body, "```json\n")
			if !found {
				break
			}
			example, after, closed := strings.Cut(rest, "\n```")
			if !closed {
				t.Errorf("events.md: an example of the %s section is not closed", typ)
				break
			}
			examples, body = append(examples, example), after
		}
		if len(examples) == 0 {
			t.Errorf("events.md: the %s section has no ```json example", typ)
		}
		for i, example := range examples {
			if err := compile(t, typ).Validate(instance(t, []byte(example))); err != nil {
				t.Errorf("events.md: %s example %d does not validate: %v", typ, i+1, err)
			}
			var e domain.Envelope
			if err := json.Unmarshal([]byte(example), &e); err != nil {
				t.Errorf("events.md: %s example %d is no envelope: %v", typ, i+1, err)
				continue
			}
			payload := reflect.New(reflect.TypeOf(payloads()[typ]))
			dec := json.NewDecoder(bytes.NewReader(e.Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(payload.Interface()); err != nil {
				t.Errorf("events.md: %s example %d's data does not decode into %s: %v", typ, i+1, payload.Elem().Type(), err)
			}
		}
	}
}

// TestDocumentUploadedVersions: version 1 (the user in the clear) still
// validates, as stored; version 2 has the user sealed and never in the
// clear.
func TestDocumentUploadedVersions(t *testing.T) {
	schema := compile(t, domain.TypeDocumentUploaded)
	v1, err := os.ReadFile(filepath.Join("..", "domain", "testdata", "v1", "DocumentUploaded.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(instance(t, v1)); err != nil {
		t.Fatalf("a stored version-1 event does not validate: %v", err)
	}
	base := sample(t, domain.TypeDocumentUploaded, payloads()[domain.TypeDocumentUploaded])
	if bytes.Contains(base, []byte("ann@example.com")) || bytes.Contains(base, []byte("hotel-lisbon")) {
		t.Fatalf("a version-3 sample shows the address or the file name: %s", base)
	}
	cases := map[string]func(m map[string]any){
		"version 2 with a plain user": func(m map[string]any) {
			data(m)["user"] = map[string]any{"email": "ann@example.com"}
		},
		"version 1 without a user": func(m map[string]any) {
			m["schema_version"] = 1
			delete(data(m), "user_id")
			delete(data(m), "user_sealed")
		},
		"id without sealed user":                    func(m map[string]any) { delete(data(m), "user_sealed") },
		"sealed user without id":                    func(m map[string]any) { delete(data(m), "user_id") },
		"user id not a uuid":                        func(m map[string]any) { data(m)["user_id"] = "ann@example.com" },
		"empty sealed user":                         func(m map[string]any) { data(m)["user_sealed"] = "" },
		"newer version":                             func(m map[string]any) { m["schema_version"] = 4 },
		"version 3 with the file name in the clear": func(m map[string]any) { data(m)["filename"] = "hotel-lisbon.pdf" },
		"sealed private without a user": func(m map[string]any) {
			delete(data(m), "user_id")
			delete(data(m), "user_sealed")
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(base, &m); err != nil {
				t.Fatal(err)
			}
			breakIt(m)
			raw, _ := json.Marshal(m)
			if err := schema.Validate(instance(t, raw)); err == nil {
				t.Fatalf("broken event validates:\n%s", raw)
			}
		})
	}
	// No user at all (the ingest route) is fine, the file name in the
	// clear: there is no one to erase.
	var m map[string]any
	_ = json.Unmarshal(base, &m)
	delete(data(m), "user_id")
	delete(data(m), "user_sealed")
	delete(data(m), "private_sealed")
	data(m)["filename"] = "hotel-lisbon.pdf"
	raw, _ := json.Marshal(m)
	if err := schema.Validate(instance(t, raw)); err != nil {
		t.Fatalf("an upload without a user is refused: %v", err)
	}
}
