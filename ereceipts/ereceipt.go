package ereceipts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"tally/blob"
	"tally/domain"
	"tally/extract"
	"tally/personal"
)

// Format is the webhook body format of e-receipt results: a JSON array of
// EReceipt objects.
const Format = "ereceipt"

// Job states, the e-receipt API's names for a document's status.
const (
	StateQueued    = "queued"
	StateExecuting = "executing"
	StateCompleted = "completed"
	StateError     = "error"
)

// State maps a document status onto a job state.
func State(s domain.Status) string {
	switch s {
	case domain.StatusProcessing:
		return StateExecuting
	case domain.StatusCompleted:
		return StateCompleted
	case domain.StatusFailed:
		return StateError
	}
	return StateQueued
}

// Value is a field with its confidence (0-100), as the e-receipt API
// reports every parsed value.
type Value struct {
	Value      any `json:"value"`
	Confidence int `json:"confidence"`
}

// Product is one line of a receipt.
type Product struct {
	Description *Value `json:"productDescription,omitempty"`
	Quantity    *Value `json:"quantity,omitempty"`
	UnitPrice   *Value `json:"unitPrice,omitempty"`
	TotalPrice  *Value `json:"totalPrice,omitempty"`
}

// EReceipt is one parsed e-receipt in the e-receipt API's shape.
type EReceipt struct {
	BlinkReceiptID     string  `json:"blinkReceiptId"`
	OrigBlinkReceiptID *string `json:"origBlinkReceiptId"`
	JobID              uint64  `json:"jobId,omitempty"`
	ClientUserID       string  `json:"clientUserId,omitempty"`
	EmailHash          string  `json:"emailHash,omitempty"`

	EReceiptEmailID       string `json:"ereceiptEmailId,omitempty"`
	EmailTimestamp        *int64 `json:"emailTimestamp,omitempty"`
	EReceiptEmailProvider string `json:"ereceiptEmailProvider,omitempty"`
	EReceiptMerchantEmail string `json:"ereceiptMerchantEmail,omitempty"`
	EReceiptEmailSubject  string `json:"ereceiptEmailSubject,omitempty"`
	// EReceiptAuthenticated is true when a DKIM signature by the sender's
	// domain verified; DKIM is the verdict itself.
	EReceiptAuthenticated bool   `json:"ereceiptAuthenticated"`
	DKIM                  string `json:"dkim"`

	ReceiptDate  *Value    `json:"receiptDate,omitempty"`
	MerchantName *Value    `json:"merchantName,omitempty"`
	OrderNumber  *Value    `json:"ereceiptOrderNumber,omitempty"`
	Currency     *Value    `json:"currencyCode,omitempty"`
	Subtotal     *Value    `json:"subtotal,omitempty"`
	Taxes        *Value    `json:"taxes,omitempty"`
	Total        *Value    `json:"total,omitempty"`
	Products     []Product `json:"products"`

	IsDuplicate              bool     `json:"isDuplicate"`
	DuplicateBlinkReceiptIDs []string `json:"duplicateBlinkReceiptIds"`
	// IsFraudulent flags a forged sender: signatures that do not vouch for
	// the From: domain. Such a receipt's merchant is not trusted.
	IsFraudulent bool `json:"isFraudulent"`

	// Parts lists the e-mails an aggregated order is made of (the
	// confirmation, shipping and delivery e-mails), oldest first.
	Parts []Part `json:"ereceiptParts,omitempty"`
	// EML is the raw e-mail, when the account asks for it (return_eml).
	EML string `json:"eml,omitempty"`
}

// Part is one e-mail of an aggregated order.
type Part struct {
	BlinkReceiptID string `json:"blinkReceiptId"`
	EmailID        string `json:"ereceiptEmailId,omitempty"`
	Subject        string `json:"ereceiptEmailSubject,omitempty"`
	EmailTimestamp *int64 `json:"emailTimestamp,omitempty"`
}

// Confidences. A person's correction is certain; otherwise the engine's
// measured confidence of the field is used. Results of engines that did not
// score single fields get one by where the value came from: a merchant
// template, amounts that add up, or the generic rules alone.
const (
	confidenceUser      = 100
	confidenceTemplate  = 95
	confidenceSender    = 95 // a merchant named by a DKIM-verified sender
	confidenceAddsUp    = 90
	confidenceGeneric   = 70
	confidenceUntrusted = 30 // a merchant named by a forged e-mail
)

// FromDocument renders a document as an EReceipt. jobID is the job's
// number; attempt > 1 marks a reprocessed result, whose id is new and whose
// origBlinkReceiptId names the first.
func FromDocument(d *domain.Document, jobID uint64) EReceipt {
	r := EReceipt{BlinkReceiptID: d.ID, JobID: jobID, Products: []Product{}, DuplicateBlinkReceiptIDs: []string{}, DKIM: "none"}
	if d.Attempt > 1 {
		orig := d.ID
		r.OrigBlinkReceiptID = &orig
		r.BlinkReceiptID = fmt.Sprintf("%s-%d", d.ID, d.Attempt)
	}
	if d.Job != nil {
		r.ClientUserID, r.EmailHash, r.EReceiptEmailProvider = d.Job.ClientUserID, d.Job.EmailHash, d.Job.Provider
	}
	if e := d.Email; e != nil {
		r.EReceiptEmailID, r.EReceiptMerchantEmail, r.EReceiptEmailSubject = e.MessageID, e.From, e.Subject
		r.EmailTimestamp = unix(e.Date)
		r.DKIM = e.Auth.DKIM
		r.EReceiptAuthenticated = e.Auth.DKIM == "verified"
		r.IsFraudulent = e.Auth.SenderForged
	}
	if d.DuplicateOf != "" {
		r.IsDuplicate = true
		r.DuplicateBlinkReceiptIDs = []string{d.DuplicateOf}
	}
	if len(d.Parts) > 0 {
		r.Parts = append(r.Parts, Part{BlinkReceiptID: d.ID, Subject: r.EReceiptEmailSubject, EmailID: r.EReceiptEmailID, EmailTimestamp: r.EmailTimestamp})
		for _, p := range d.Parts {
			r.Parts = append(r.Parts, Part{BlinkReceiptID: p.DocumentID, EmailID: p.MessageID, Subject: p.Subject, EmailTimestamp: unix(p.Date)})
		}
	}
	if d.Fields == nil {
		return r
	}
	f := *d.Fields
	// An order's receipt keeps its first e-mail's values; later parts
	// only fill what it lacks (a shipping e-mail rarely repeats prices).
	for _, p := range d.Parts {
		f = domain.Merge(p.Fields, f)
	}
	conf := func(name, value string) int {
		switch {
		case d.Corrections != nil && corrected(*d.Corrections, name):
			return confidenceUser
		case f.Confidence[name] > 0:
			return f.Confidence[name] // measured by the engine
		case f.TemplateVersion != "":
			return confidenceTemplate
		case isAmount(name) && addsUp(f):
			return confidenceAddsUp
		}
		return confidenceGeneric
	}
	val := func(name, v string, out any) *Value {
		if v == "" {
			return nil
		}
		return &Value{Value: out, Confidence: conf(name, v)}
	}
	if f.Date != "" {
		if t, err := time.Parse("2006-01-02", f.Date); err == nil {
			r.ReceiptDate = val("date", f.Date, t.Format("01/02/2006"))
		}
	}
	r.MerchantName = merchant(d, f, r, val)
	r.OrderNumber = val("invoice_number", f.InvoiceNumber, f.InvoiceNumber)
	r.Currency = val("currency", f.Currency, f.Currency)
	r.Subtotal = val("subtotal", f.Subtotal, json.Number(f.Subtotal))
	r.Taxes = val("tax", f.Tax, json.Number(f.Tax))
	r.Total = val("total", f.Total, json.Number(f.Total))
	for _, li := range f.LineItems {
		p := Product{Description: val("line_items", li.Description, li.Description)}
		if li.Quantity != "" {
			p.Quantity = val("line_items", li.Quantity, json.Number(li.Quantity))
		}
		if li.UnitPrice != "" {
			p.UnitPrice = val("line_items", li.UnitPrice, json.Number(li.UnitPrice))
		}
		if li.Amount != "" {
			p.TotalPrice = val("line_items", li.Amount, json.Number(li.Amount))
		}
		r.Products = append(r.Products, p)
	}
	return r
}

// merchant names the receipt's merchant. A sender whose domain signed the
// e-mail (DKIM, aligned) is the merchant, whatever the body says: its
// display name when extraction took the vendor from it, else its
// organisational domain. A forged sender never names the merchant: a
// vendor taken from it is dropped, and a vendor from the body is kept
// with the confidence of an untrusted e-mail.
func merchant(d *domain.Document, f domain.Fields, r EReceipt, val func(name, v string, out any) *Value) *Value {
	fromSender := f.Sources["vendor"] == domain.FieldSourceSender
	corrected := d.Corrections != nil && d.Corrections.Vendor != ""
	switch {
	case corrected:
	case r.IsFraudulent && fromSender:
		return nil
	case r.EReceiptAuthenticated && !r.IsFraudulent && d.Email != nil:
		name := f.Vendor
		if !fromSender {
			name = extract.SenderOrganisation(d.Email.From)
		}
		if name != "" {
			return &Value{Value: name, Confidence: confidenceSender}
		}
	}
	v := val("vendor", f.Vendor, f.Vendor)
	if v != nil && r.IsFraudulent && !corrected {
		v.Confidence = confidenceUntrusted
	}
	return v
}

func unix(t *time.Time) *int64 {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

func isAmount(name string) bool { return name == "subtotal" || name == "tax" || name == "total" }

func corrected(c domain.Fields, name string) bool {
	switch name {
	case "vendor":
		return c.Vendor != ""
	case "date":
		return c.Date != ""
	case "invoice_number":
		return c.InvoiceNumber != ""
	case "currency":
		return c.Currency != ""
	case "subtotal":
		return c.Subtotal != ""
	case "tax":
		return c.Tax != ""
	case "total":
		return c.Total != ""
	}
	return false
}

// addsUp reports whether subtotal + tax = total, the strongest evidence
// that all three amounts were read right.
func addsUp(f domain.Fields) bool {
	sub, ok1 := new(big.Rat).SetString(f.Subtotal)
	tax, ok2 := new(big.Rat).SetString(f.Tax)
	total, ok3 := new(big.Rat).SetString(f.Total)
	return ok1 && ok2 && ok3 && new(big.Rat).Add(sub, tax).Cmp(total) == 0
}

// Documents loads a document's current state and history, and tells
// which order a document is part of.
type Documents interface {
	Load(ctx context.Context, tenant, docID string) (*domain.Document, error)
	History(ctx context.Context, tenant, docID string) ([]domain.Envelope, error)
	OrderOf(ctx context.Context, d *domain.Document) (string, error)
}

// Renderer turns a document's result events into the body posted to an
// e-receipt results endpoint: a JSON array of EReceipt objects. Documents
// that are not e-receipt jobs are not delivered there.
type Renderer struct {
	Docs     Documents
	Blobs    blob.Store
	Settings *Store
	// Users opens the documents' Private (subject, email_hash,
	// client_user_id), sealed with their users' keys; without it they
	// are left out.
	Users personal.Opener
	// MaxEML bounds the raw e-mail included with return_eml.
	MaxEML int64
}

// Render builds the delivery for one event. deliver is false for events
// and documents the results endpoint does not take.
func (r *Renderer) Render(ctx context.Context, e domain.Envelope) ([]byte, bool, error) {
	if e.AggregateType != domain.AggregateDocument {
		return nil, false, nil
	}
	switch e.Type {
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised, domain.TypeOrderPartAdded:
	default:
		return nil, false, nil
	}
	d, err := r.Docs.Load(ctx, e.Tenant, e.AggregateID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if d.Source != domain.SourceEReceipt {
		return nil, false, nil
	}
	d, err = asOf(ctx, r.Docs, d, e)
	if err != nil {
		return nil, false, err
	}
	if e.Type != domain.TypeOrderPartAdded {
		// A later e-mail of an order is delivered as part of the order's
		// receipt (on its OrderPartAdded), not on its own.
		order, err := r.Docs.OrderOf(ctx, d)
		if err != nil {
			return nil, false, err
		}
		if order != "" {
			return nil, false, nil
		}
	}
	jobID, err := r.Settings.JobID(ctx, e.Tenant, d.UploadSequence)
	if err != nil {
		return nil, false, err
	}
	if r.Users != nil {
		if _, err := personal.OpenDocument(ctx, r.Users, d); err != nil {
			return nil, false, err
		}
	}
	rec := FromDocument(d, jobID)
	settings, err := r.Settings.Get(ctx, e.Tenant)
	if err != nil && !errors.Is(err, ErrNotConfigured) {
		return nil, false, err
	}
	if settings.ReturnEML && !d.Purged {
		// A file that is gone (purged after a deletion) leaves the result
		// without its e-mail rather than holding the delivery up for ever.
		if rec.EML, err = r.readEML(ctx, d.BlobKey); errors.Is(err, blob.ErrNotFound) {
			rec.EML = ""
		} else if err != nil {
			return nil, false, err
		}
	}
	body, err := json.Marshal([]EReceipt{rec})
	return body, true, err
}

// asOf is the document as it stood right after e: a delivery always
// carries the result of its own event, even when a later one exists.
func asOf(ctx context.Context, docs Documents, d *domain.Document, e domain.Envelope) (*domain.Document, error) {
	if d.Version == e.Sequence {
		return d, nil
	}
	history, err := docs.History(ctx, e.Tenant, e.AggregateID)
	if err != nil {
		return nil, err
	}
	var upTo []domain.Envelope
	for _, x := range history {
		if x.Sequence <= e.Sequence {
			upTo = append(upTo, x)
		}
	}
	return domain.Fold(upTo)
}

func (r *Renderer) readEML(ctx context.Context, key string) (string, error) {
	rc, err := r.Blobs.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read e-mail for results: %w", err)
	}
	defer rc.Close()
	limit := r.MaxEML
	if limit <= 0 {
		limit = 10 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return "", fmt.Errorf("read e-mail for results: %w", err)
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD"), nil
}
