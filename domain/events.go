package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Event types. These strings are part of the public event contract: subscribers
// outside Tally switch on them, so they are never renamed.
const (
	TypeDocumentUploaded    = "DocumentUploaded"
	TypeExtractionRequested = "ExtractionRequested"
	TypeExtractionStarted   = "ExtractionStarted"
	TypeReceiptExtracted    = "ReceiptExtracted"
	TypeExtractionFailed    = "ExtractionFailed"
	TypeNotificationSent    = "NotificationSent"
	TypeNotificationFailed  = "NotificationFailed"
	TypeMonthlyReportSent   = "MonthlyReportSent"
	TypeDocumentCorrected   = "DocumentCorrected"
	TypeDocumentDeleted     = "DocumentDeleted"
	TypeDocumentRestored    = "DocumentRestored"
	TypeDocumentPurged      = "DocumentPurged"
	TypeExtractionRevised   = "ExtractionRevised"
	TypeDuplicateDetected   = "DuplicateDetected"
	TypeFingerprintClaimed  = "FingerprintClaimed"
	TypeOrderPartAdded      = "OrderPartAdded"
	TypeUserErased          = "UserErased"
)

// Notification kinds: which event an e-mail told the user about.
const (
	NotifyExtracted = "extracted"
	NotifyFailed    = "failed"
)

const (
	// AggregateDocument is a document's aggregate type, part of its
	// subject.
	AggregateDocument = "document"
	// AggregateReport is one user's monthly report.
	AggregateReport = "report"
	// AggregateFingerprint is one content key (an e-mail's message id, a
	// file's hash, an invoice's vendor, number and total) and the first
	// document that had it. Its subject can hold only one first event, so
	// the stream itself decides which of two concurrent copies came first.
	AggregateFingerprint = "fingerprint"
	// AggregateUser is one pseudonymous user (UserErased).
	AggregateUser = "user"

	maxReasonLength   = 2000
	maxEventDataBytes = 512 << 10
)

// Sources of a document, recorded in DocumentUploaded.Source.
const (
	SourceUpload   = "upload"   // POST /v1/documents
	SourceEmail    = "email"    // POST /v1/receipts/email
	SourceIngest   = "ingest"   // POST /api/v1/ingest/upload
	SourceBillify  = "billify"  // POST /upload-invoice
	SourceEReceipt = "ereceipt" // POST /ereceipts/create_job
)

// Envelope is the versioned wrapper every event travels in. Data holds the
// type-specific payload as JSON so that the envelope can be read (routed,
// audited) without knowing every payload type.
type Envelope struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	SchemaVersion int       `json:"schema_version"`
	Tenant        string    `json:"tenant"`
	AggregateType string    `json:"aggregate_type"`
	AggregateID   string    `json:"aggregate_id"`
	OccurredAt    time.Time `json:"occurred_at"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	// CommandID identifies the command that produced the event. A retried
	// command carries the same id, which is how a second attempt finds that
	// the first one already landed, even long after the stream's dedup window.
	CommandID string          `json:"command_id,omitempty"`
	Data      json.RawMessage `json:"data"`

	// Sequence is the event's position in the stream. It is filled in on
	// read and never serialised: it is where the event is, not what it says.
	Sequence uint64 `json:"-"`
	// Trace is the W3C traceparent of the append that stored the event,
	// filled in on read when tracing was on (package tracing); like
	// Sequence it travels beside the event, never in it.
	Trace string `json:"-"`
}

// User is the person a document belongs to, as named at upload. Events
// carry it sealed (SealedUser); only schema-1 events have it in the clear.
type User struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// SealedUser is a document's user as its DocumentUploaded names them.
// Opening it takes the user's key, which lives outside the stream (package
// personal), so this package never sees the plain user of a new event.
type SealedUser struct {
	// ID is the pseudonym: the same for every document of one user until
	// the user is erased. Empty for schema-1 events.
	ID string
	// Sealed is the user's name and e-mail, sealed with the user's key
	// (base64). Empty for schema-1 events.
	Sealed string
	// Plain is a schema-1 event's user, stored in the clear before
	// personal data was sealed; erasing it is the reader's job.
	Plain *User
	// Private is the document's Private, sealed with the same key
	// (base64). Empty before schema 3 and when the document names no
	// user.
	Private string
}

// Private is what a document's events say of its user besides their name
// and e-mail: the file's name, an e-mail's subject, and the e-receipt
// API's hash of the user's address and the client's id for them. From
// schema 3 on (DocumentUploaded) and 2 (OrderPartAdded) an upload that
// names a user carries them sealed with the user's key, and blank in the
// clear; older events carry them in the clear, and readers blank them
// once the user is erased.
type Private struct {
	// Text is a result's extracted text (ResultText); an upload's
	// Private leaves it blank.
	Text         string `json:"text,omitempty"`
	Filename     string `json:"filename,omitempty"`
	Subject      string `json:"subject,omitempty"`
	EmailHash    string `json:"email_hash,omitempty"`
	ClientUserID string `json:"client_user_id,omitempty"`
}

// IsZero reports whether p holds nothing.
func (p Private) IsZero() bool { return p == Private{} }

// Named reports whether a document has a user at all (the InvoiceFlow
// ingest route names none).
func (s SealedUser) Named() bool {
	return s.ID != "" || s.Sealed != "" || (s.Plain != nil && s.Plain.Email != "")
}

// DocumentUploaded records a stored file. It is also the first request to
// extract it (attempt 1), so the hot path appends exactly one event.
type DocumentUploaded struct {
	Source      string `json:"source"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	BlobKey     string `json:"blob_key"`
	// UserID and UserSealed (schema version 2) name the user: a pseudonym,
	// and the user's name and e-mail sealed with a key of the user's own.
	// Both are empty when the route names no user.
	UserID     string `json:"user_id,omitempty"`
	UserSealed string `json:"user_sealed,omitempty"`
	// User is the plain user of schema-1 events; never written since.
	User *User `json:"user,omitempty"`
	// PrivateSealed (schema version 3) is the upload's Private sealed
	// with the user's key; Filename, Email.Subject, Job.EmailHash and
	// Job.ClientUserID are then blank. Empty when the route names no
	// user: there is no one to erase.
	PrivateSealed string    `json:"private_sealed,omitempty"`
	UploadedAt    time.Time `json:"uploaded_at"`
	Attempt       int       `json:"attempt"`
	// Email describes an e-mail document: its identity, sender and the
	// verdict on its DKIM signatures, taken once at intake.
	Email *EmailInfo `json:"email,omitempty"`
	// Job is set on documents made by the e-receipt API's create_job.
	Job *EReceiptJob `json:"job,omitempty"`
}

// EmailInfo is what Tally learned from an e-mail's header at intake.
type EmailInfo struct {
	MessageID string `json:"message_id,omitempty"`
	From      string `json:"from,omitempty"`
	Subject   string `json:"subject,omitempty"`
	// Part is what part of an order the e-mail is (PartOf its subject),
	// kept in the clear because the subject is sealed.
	Part string     `json:"part,omitempty"`
	Date *time.Time `json:"date,omitempty"`
	Auth EmailAuth  `json:"auth"`
}

// EmailAuth is the verdict on an e-mail's sender. DKIM is verified, failed,
// none or temperror. A forged sender is never trusted as the merchant.
type EmailAuth struct {
	DKIM         string   `json:"dkim"`
	FromDomain   string   `json:"from_domain,omitempty"`
	SignedBy     []string `json:"signed_by,omitempty"`
	SenderForged bool     `json:"sender_forged,omitempty"`
	Reason       string   `json:"reason,omitempty"`
}

// EReceiptJob carries the e-receipt API's job parameters, echoed in its
// results. EmailHash is the SHA-256 of the user's address, never the address.
type EReceiptJob struct {
	EmailHash    string `json:"email_hash,omitempty"`
	Provider     string `json:"provider,omitempty"`
	ClientUserID string `json:"client_user_id,omitempty"`
	// Aggregate is the account's use_aggregation when the job was made:
	// the e-mails of one order become one receipt.
	Aggregate bool `json:"aggregate,omitempty"`
}

// OrderPartAdded joins a later e-mail of an order (shipping, delivery...)
// to the order's first document, whose receipt it becomes part of. The
// later document itself is marked DuplicateDetected with reason same_order.
//
// Subject is the part's subject in the clear (schema 1). From schema 2 it
// is blank and UserID and PrivateSealed are the part's own upload's (its
// user and sealed Private), copied as they are: the part's subject opens
// with the part's user's key, and no longer once the user is erased.
type OrderPartAdded struct {
	DocumentID    string     `json:"document_id"`
	Part          string     `json:"part"`
	MessageID     string     `json:"message_id,omitempty"`
	Subject       string     `json:"subject,omitempty"`
	UserID        string     `json:"user_id,omitempty"`
	PrivateSealed string     `json:"private_sealed,omitempty"`
	Date          *time.Time `json:"date,omitempty"`
	Fields        Fields     `json:"fields"`
}

// Order parts, guessed from the e-mail's subject.
const (
	PartConfirmation = "confirmation"
	PartShipping     = "shipping"
	PartDelivery     = "delivery"
	PartUpdate       = "update"
)

// PartOf names the part of an order an e-mail is, from its subject.
func PartOf(subject string) string {
	s := strings.ToLower(subject)
	switch {
	case strings.Contains(s, "delivered"):
		return PartDelivery
	case strings.Contains(s, "shipped"), strings.Contains(s, "shipping"), strings.Contains(s, "on its way"),
		strings.Contains(s, "on the way"), strings.Contains(s, "dispatched"), strings.Contains(s, "out for delivery"):
		return PartShipping
	case strings.Contains(s, "confirm"), strings.Contains(s, "thank"), strings.Contains(s, "receipt"), strings.Contains(s, "order"):
		return PartConfirmation
	}
	return PartUpdate
}

// OrderKey is what makes two e-mails parts of one order: the merchant and
// the order number. ok is false when either is unknown.
func OrderKey(merchant string, f Fields) (string, bool) {
	merchant = strings.Join(strings.Fields(strings.ToLower(merchant)), " ")
	number := strings.ToUpper(strings.TrimSpace(f.InvoiceNumber))
	if merchant == "" || number == "" {
		return "", false
	}
	return merchant + "\x00" + number, true
}

// DuplicateDetected marks a document as a copy of an earlier one: it stays
// listed, flagged, but no longer counts in totals.
type DuplicateDetected struct {
	Of     string `json:"of"`
	Reason string `json:"reason"`
}

// Duplicate reasons.
const (
	DuplicateSameMessage = "same_message_id"
	DuplicateSameContent = "same_content"
	DuplicateSameInvoice = "same_invoice"
	// DuplicateSameOrder: a later e-mail of an order already on file; its
	// values live on in the order's receipt (OrderPartAdded).
	DuplicateSameOrder = "same_order"
)

// FingerprintID names the fingerprint aggregate of a content key. Keys are
// hashed because they hold text (vendor names, message ids) that cannot
// sit in a subject.
func FingerprintID(reason, key string) string {
	sum := sha256.Sum256([]byte(reason + "\x00" + key))
	return hex.EncodeToString(sum[:16])
}

// InvoiceKey is what makes two invoices the same one: vendor, number and
// total. ok is false when a part is missing, since then nothing can be
// said.
func InvoiceKey(f Fields) (key string, ok bool) {
	vendor := strings.Join(strings.Fields(strings.ToLower(f.Vendor)), " ")
	number := strings.ToUpper(strings.TrimSpace(f.InvoiceNumber))
	if vendor == "" || number == "" || f.Total == "" {
		return "", false
	}
	return vendor + "\x00" + number + "\x00" + f.Currency + "\x00" + f.Total, true
}

// FingerprintClaimed is the first (and only) event of a fingerprint
// aggregate: the document that had the key first.
type FingerprintClaimed struct {
	DocumentID string `json:"document_id"`
	Reason     string `json:"reason"`
}

// Owner is the document's user as the event names it, whichever schema
// version wrote it.
func (p DocumentUploaded) Owner() SealedUser {
	return SealedUser{ID: p.UserID, Sealed: p.UserSealed, Plain: p.User, Private: p.PrivateSealed}
}

// Private returns the upload's Private as the event has it in the clear
// (blank where it is sealed).
func (p DocumentUploaded) Private() Private {
	out := Private{Filename: p.Filename}
	if p.Email != nil {
		out.Subject = p.Email.Subject
	}
	if p.Job != nil {
		out.EmailHash, out.ClientUserID = p.Job.EmailHash, p.Job.ClientUserID
	}
	return out
}

// WithPrivate returns the upload with pr in its clear fields. Email and
// Job are copied, never changed where they point: a decoded payload may
// be shared by several readers.
func (p DocumentUploaded) WithPrivate(pr Private) DocumentUploaded {
	p.Filename = pr.Filename
	if p.Email != nil {
		e := *p.Email
		e.Subject = pr.Subject
		p.Email = &e
	}
	if p.Job != nil {
		j := *p.Job
		j.EmailHash, j.ClientUserID = pr.EmailHash, pr.ClientUserID
		p.Job = &j
	}
	return p
}

// UserErased records that a user's key was destroyed: their name and
// e-mail in every event no longer open. Readers that kept them (read
// models, subscribers) blank them for UserID. It sits on the user's own
// aggregate (tally.events.<tenant>.user.<user id>), once.
type UserErased struct {
	UserID string `json:"user_id"`
}

// ExtractionRequested asks for a new extraction of an already uploaded
// document (a reprocess or a retry). Attempt numbers only grow.
type ExtractionRequested struct {
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
	// LastError is why the previous attempt did not finish (retries only).
	LastError string `json:"last_error,omitempty"`
	// NotBefore delays the job: a retry waits out its backoff.
	NotBefore *time.Time `json:"not_before,omitempty"`
}

// Reasons for an ExtractionRequested.
const (
	ReasonReprocess = "reprocess"
	ReasonRetry     = "retry"
)

// ExtractionStarted records that a worker took the given attempt.
type ExtractionStarted struct {
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker,omitempty"`
}

// ReceiptExtracted carries the fields found for one attempt.
type ReceiptExtracted struct {
	Attempt int    `json:"attempt"`
	Fields  Fields `json:"fields"`
	ResultText
}

// ResultText is the beginning of a document's extracted text (at most
// MaxResultText bytes), which the search read model indexes. The text of
// an invoice names its buyer, so for a document that names a user it is
// sealed with that user's key (Private.Text in PrivateSealed, under
// UserID) and erasing the user makes it unreadable; Text holds it in the
// clear only for a document without a user, and in results written
// before results were sealed. All blank when there is no text (a
// structured e-invoice) and in events written before it was kept.
type ResultText struct {
	Text          string `json:"text,omitempty"`
	UserID        string `json:"user_id,omitempty"`
	PrivateSealed string `json:"private_sealed,omitempty"`
}

// Sealed is the sealed text as personal opens it.
func (t ResultText) Sealed() SealedUser {
	return SealedUser{ID: t.UserID, Private: t.PrivateSealed}
}

// ExtractionRevised is a new result for a document that already had one
// (a reprocess). Changes lists each field whose value moved; the history
// keeps both results.
type ExtractionRevised struct {
	Attempt int                    `json:"attempt"`
	Fields  Fields                 `json:"fields"`
	Changes map[string]FieldChange `json:"changes"`
	ResultText
}

// FieldChange is one field's old and new value.
type FieldChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Diff lists the scalar fields that differ between a and b, by JSON name.
func Diff(a, b Fields) map[string]FieldChange {
	out := map[string]FieldChange{}
	pairs := []struct {
		name string
		x, y string
	}{
		{"vendor", a.Vendor, b.Vendor}, {"vendor_address", a.VendorAddress, b.VendorAddress},
		{"date", a.Date, b.Date}, {"due_date", a.DueDate, b.DueDate},
		{"invoice_number", a.InvoiceNumber, b.InvoiceNumber}, {"currency", a.Currency, b.Currency},
		{"subtotal", a.Subtotal, b.Subtotal}, {"tax", a.Tax, b.Tax}, {"total", a.Total, b.Total},
		{"engine_version", a.EngineVersion, b.EngineVersion}, {"template_version", a.TemplateVersion, b.TemplateVersion},
	}
	for _, p := range pairs {
		if p.x != p.y {
			out[p.name] = FieldChange{From: p.x, To: p.y}
		}
	}
	return out
}

// ExtractionFailed ends an attempt without fields. Reason is written for
// people and never contains document text.
type ExtractionFailed struct {
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
}

// DocumentCorrected records a user's corrections. Corrections holds every
// field the user has set so far (not only this time's), so the event alone
// says what the user's values are; Previous is what the document showed
// before. A user's value wins over any extraction result, later ones
// included.
type DocumentCorrected struct {
	Corrections Fields `json:"corrections"`
	Previous    Fields `json:"previous"`
}

// DocumentDeleted takes a document out of lists and totals. Its file is
// purged after PurgeAfter unless it is restored before.
type DocumentDeleted struct {
	Reason     string    `json:"reason,omitempty"`
	PurgeAfter time.Time `json:"purge_after"`
}

// DocumentRestored brings a deleted document back.
type DocumentRestored struct{}

// DocumentPurged records that a deleted document's file is gone.
type DocumentPurged struct {
	BlobKey string `json:"blob_key"`
}

// NotificationSent records the e-mail sent about one event of the
// document. It is keyed by the source event, so a replay or a restarted
// notifier never sends about the same event again. It holds no address:
// personal data stays out of the history where it can.
type NotificationSent struct {
	SourceEventID string `json:"source_event_id"`
	Kind          string `json:"kind"`
	MessageID     string `json:"message_id"`
}

// NotificationFailed records an e-mail the mail server refused for good.
type NotificationFailed struct {
	SourceEventID string `json:"source_event_id"`
	Kind          string `json:"kind"`
	Reason        string `json:"reason"`
}

// MonthlyReportSent records one user's report for one month, on the
// report's own aggregate, so running the report again sends nothing new.
type MonthlyReportSent struct {
	Month     string          `json:"month"`
	MessageID string          `json:"message_id"`
	Documents int             `json:"documents"`
	Totals    []CurrencyTotal `json:"totals"`
}

// CurrencyTotal is a sum in one currency.
type CurrencyTotal struct {
	Currency string `json:"currency"`
	Total    string `json:"total"`
}

// Fields are what extraction found. Amounts are decimal strings (never
// floats, so no cent is lost on the way) and dates are ISO dates.
type Fields struct {
	Vendor          string     `json:"vendor,omitempty"`
	VendorAddress   string     `json:"vendor_address,omitempty"`
	Date            string     `json:"date,omitempty"`
	DueDate         string     `json:"due_date,omitempty"`
	InvoiceNumber   string     `json:"invoice_number,omitempty"`
	Currency        string     `json:"currency,omitempty"`
	Subtotal        string     `json:"subtotal,omitempty"`
	Tax             string     `json:"tax,omitempty"`
	Total           string     `json:"total,omitempty"`
	LineItems       []LineItem `json:"line_items,omitempty"`
	EngineVersion   string     `json:"engine_version,omitempty"`
	TemplateVersion string     `json:"template_version,omitempty"`
	// Sources says, per field (keyed by its JSON name), where the value
	// came from: one of the FieldSource* constants.
	Sources map[string]string `json:"sources,omitempty" doc:"Where each field's value came from, keyed by the field's JSON name: xml (a structured e-invoice, read exactly), template (a merchant template), learned (this tenant's correction of an earlier document from the same issuer; see learned_from), sender (an e-mail's From:, for want of a confident name in its body) or text (the generic rules). A user's correction wins over all of them."`
	// Confidence is, per field, the chance in percent (0-100) that the
	// value is right, as measured on labelled documents; 100 for exact
	// sources. It is the scale of the e-receipt API's confidences.
	Confidence map[string]int `json:"confidence,omitempty" doc:"Per field, the chance in percent (0-100) that the value is right, calibrated on labelled documents: of the fields given 90 or more, at least 95 % were right. 100 for values from a structured e-invoice."`
	// Disagreements are the fields where a structured e-invoice and the
	// document's visible text differ. The structured value was kept.
	Disagreements []Disagreement `json:"disagreements,omitempty" doc:"Fields on which a structured e-invoice and the document's visible text differ; the field holds the structured value."`
	// Issuer identifies who issued the document and where its values
	// stood, so that a user's correction can teach Tally about that
	// issuer (package learning). Set by the generic engine only.
	Issuer *IssuerProfile `json:"issuer,omitempty" readOnly:"true" doc:"Who issued the document (fingerprint keys) and where its amounts and dates stood, from which a correction teaches Tally about the issuer."`
	// LearnedFrom names the correction that the fields whose source is
	// "learned" came from.
	LearnedFrom *LearnedFrom `json:"learned_from,omitempty" readOnly:"true" doc:"The correction (document and event) that the fields whose source is learned came from."`
}

// IssuerProfile is what the generic engine saw of a document's issuer:
// fingerprint keys ("taxid:", "domain:", "layout:", "name:") and every
// labelled amount and printed date, in reading order.
type IssuerProfile struct {
	Keys    []string        `json:"keys"`
	Amounts []LabelledValue `json:"amounts,omitempty"`
	Dates   []LabelledValue `json:"dates,omitempty"`
}

// LabelledValue is a value and the words printed before it on its line
// (or on the line above when its own holds none), lower-cased.
type LabelledValue struct {
	Label string `json:"label"`
	Value string `json:"value"` // a decimal amount, or a date as printed
}

// LearnedFrom is the correction a learned field comes from.
type LearnedFrom struct {
	DocumentID string `json:"document_id"`
	EventID    string `json:"event_id"`
}

// Where a field's value came from, in order of trust.
const (
	FieldSourceXML      = "xml"      // a structured e-invoice (CII or UBL), read exactly
	FieldSourceTemplate = "template" // a merchant template
	FieldSourceSender   = "sender"   // an e-mail's From: (display name or domain), for want of a confident name in its body
	FieldSourceLearned  = "learned"  // this tenant's correction of an earlier document from the same issuer
	FieldSourceText     = "text"     // the generic rules, from the document's text
)

// Disagreement is one field on which a structured e-invoice and the text
// of the same document differ.
type Disagreement struct {
	Field string `json:"field"`
	Kept  string `json:"kept"`  // the structured (XML) value, which the field holds
	Other string `json:"other"` // what the visible text says
}

// Merge returns base with every non-empty field of over in its place.
func Merge(base, over Fields) Fields {
	pick := func(b, o string) string {
		if o != "" {
			return o
		}
		return b
	}
	out := base
	out.Vendor = pick(base.Vendor, over.Vendor)
	out.VendorAddress = pick(base.VendorAddress, over.VendorAddress)
	out.Date = pick(base.Date, over.Date)
	out.DueDate = pick(base.DueDate, over.DueDate)
	out.InvoiceNumber = pick(base.InvoiceNumber, over.InvoiceNumber)
	out.Currency = pick(base.Currency, over.Currency)
	out.Subtotal = pick(base.Subtotal, over.Subtotal)
	out.Tax = pick(base.Tax, over.Tax)
	out.Total = pick(base.Total, over.Total)
	if over.LineItems != nil {
		out.LineItems = over.LineItems
	}
	return out
}

// IsZero reports whether no field is set.
func (f Fields) IsZero() bool {
	return f.Vendor == "" && f.VendorAddress == "" && f.Date == "" && f.DueDate == "" && f.InvoiceNumber == "" &&
		f.Currency == "" && f.Subtotal == "" && f.Tax == "" && f.Total == "" && f.LineItems == nil
}

// LineItem is one row of an invoice or receipt.
type LineItem struct {
	Description string `json:"description"`
	Quantity    string `json:"quantity,omitempty"`
	UnitPrice   string `json:"unit_price,omitempty"`
	Amount      string `json:"amount,omitempty"`
}

// Subject is the stream subject of one aggregate. The tenant sits in the
// subject so that a consumer (or a permission) can be scoped to one tenant.
func Subject(prefix, tenant, aggregateType, aggregateID string) string {
	return fmt.Sprintf("%s.%s.%s.%s", prefix, tenant, aggregateType, aggregateID)
}

// schemaVersions are the payload versions written today, for the types
// past version 1. A version changes only for a breaking change of the
// payload; fields are added within a version.
var schemaVersions = map[string]int{
	// 2: the user is sealed (user_id, user_sealed) instead of plain (user).
	// 3: the file name, the e-mail's subject and the job's email_hash and
	// client_user_id are sealed too (private_sealed) when a user is named.
	TypeDocumentUploaded: 3,
	// 2: the part's subject is sealed (user_id, private_sealed).
	TypeOrderPartAdded: 2,
}

// SchemaVersion is the payload version written today for an event type.
func SchemaVersion(eventType string) int {
	if v, ok := schemaVersions[eventType]; ok {
		return v
	}
	return 1
}

// NewEnvelope wraps a payload. Callers fill in ids and the time so that this
// package stays free of clocks and randomness.
func NewEnvelope(id, tenant, aggregateID, eventType string, at time.Time, payload any) (Envelope, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s: %w", eventType, err)
	}
	if len(data) > maxEventDataBytes {
		return Envelope{}, fmt.Errorf("encode %s: payload of %d bytes exceeds %d", eventType, len(data), maxEventDataBytes)
	}
	return Envelope{
		ID:            id,
		Type:          eventType,
		SchemaVersion: SchemaVersion(eventType),
		Tenant:        tenant,
		AggregateType: AggregateDocument,
		AggregateID:   aggregateID,
		OccurredAt:    at.UTC(),
		Data:          data,
	}, nil
}

// Decode unmarshals the envelope's payload into v. Older versions read
// into today's structs as they are: a schema-1 DocumentUploaded fills
// User instead of UserID and UserSealed (sealing it would take a key, and
// this package does no I/O), and DocumentUploaded.Owner presents both
// alike.
//
// It decodes with the semantics of encoding/json on the decoder of
// encoding/json/v2, which reads the text once where encoding/json
// validates it first, and allocates a fraction as often: every consumer
// decodes every payload it reads.
func (e Envelope) Decode(v any) error {
	if latest := SchemaVersion(e.Type); e.SchemaVersion > latest {
		return fmt.Errorf("decode %s %s: schema version %d is newer than this build understands (%d)", e.Type, e.ID, e.SchemaVersion, latest)
	}
	if err := jsonv1.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// MaxResultText bounds the text a result event carries: enough for the
// words of any real receipt or invoice, small enough that the stream does
// not hold whole documents.
const MaxResultText = 64 << 10

// TruncateText cuts text to at most MaxResultText bytes, at a character
// boundary.
func TruncateText(text string) string {
	if len(text) <= MaxResultText {
		return text
	}
	cut := MaxResultText
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// Truncate shortens a human-readable reason so that one bad error message
// cannot bloat the stream.
func Truncate(s string) string {
	if len(s) <= maxReasonLength {
		return s
	}
	return s[:maxReasonLength] + "…"
}
