package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"tally/domain"
)

// Webhook event types: what a tenant subscribes to. They are part of the
// public contract and never renamed.
const (
	// EventCompleted: a document's first extraction result
	// (ReceiptExtracted).
	EventCompleted = "document.completed"
	// EventFailed: extraction failed for good (ExtractionFailed, appended
	// only once the retries are over or the failure cannot pass).
	EventFailed = "document.failed"
	// EventRevised: a new result for a document that had one
	// (ExtractionRevised, after a reprocess).
	EventRevised = "document.revised"
)

// EventTypes lists every webhook event type.
func EventTypes() []string { return []string{EventCompleted, EventFailed, EventRevised} }

// TypeOf maps a stream event type to the webhook event type it becomes, or
// "" when it becomes none.
func TypeOf(streamType string) string {
	switch streamType {
	case domain.TypeReceiptExtracted:
		return EventCompleted
	case domain.TypeExtractionFailed:
		return EventFailed
	case domain.TypeExtractionRevised, domain.TypeOrderPartAdded:
		// A later e-mail joined to an order changes the order's receipt.
		return EventRevised
	}
	return ""
}

// FormatEvent is the default body format; see Payload.
const FormatEvent = "event"

// Renderer turns an event into the body sent to an endpoint of one format.
// deliver false means this format has nothing to send for the event (no
// delivery is made). An error means the event cannot be rendered now; the
// dispatcher hands it back to the stream and tries again later.
type Renderer interface {
	Render(ctx context.Context, e domain.Envelope) (body []byte, deliver bool, err error)
}

// Payload is the body of format "event":
//
//	{"type": "document.completed", "timestamp": "2026-11-22T05:00:00Z",
//	 "data": {"event_id": "…", "sequence": 42, "document_id": "…",
//	          "tenant": "acme", "status": "COMPLETED", "attempt": 1,
//	          "fields": {"vendor": "…", "total": "78.60", …}}}
//
// Timestamp is when the event happened. data.sequence is the event's
// position in the stream: deliveries can arrive out of order (a retry
// overtakes nothing, but a later event may succeed first), so a receiver
// that cares orders by it. data.event_id equals the webhook-id header.
type Payload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData is what happened to which document. Personal data (the
// user's name and e-mail) is left out; receivers that need it look the
// document up.
type PayloadData struct {
	EventID       string `json:"event_id"`
	Sequence      uint64 `json:"sequence"`
	DocumentID    string `json:"document_id"`
	Tenant        string `json:"tenant"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// Status is COMPLETED (completed, revised) or FAILED.
	Status  domain.Status `json:"status"`
	Attempt int           `json:"attempt"`
	// Fields are what this extraction found (completed, revised). A user's
	// corrections are not applied to them.
	Fields *domain.Fields `json:"fields,omitempty"`
	// Changes lists the fields a revision changed, with old and new value.
	Changes map[string]domain.FieldChange `json:"changes,omitempty"`
	// Reason says why extraction failed (failed); it never holds document
	// text.
	Reason string `json:"reason,omitempty"`
}

// EventRenderer renders format "event".
type EventRenderer struct{}

// Render implements Renderer.
func (EventRenderer) Render(_ context.Context, e domain.Envelope) ([]byte, bool, error) {
	t := TypeOf(e.Type)
	if t == "" || e.Type == domain.TypeOrderPartAdded {
		// Order parts reach only the e-receipt format, which renders the
		// whole order; this format reports extraction results.
		return nil, false, nil
	}
	p := Payload{Type: t, Timestamp: e.OccurredAt.UTC(), Data: PayloadData{
		EventID: e.ID, Sequence: e.Sequence, DocumentID: e.AggregateID, Tenant: e.Tenant, CorrelationID: e.CorrelationID,
	}}
	switch e.Type {
	case domain.TypeReceiptExtracted:
		var r domain.ReceiptExtracted
		if err := e.Decode(&r); err != nil {
			return nil, false, err
		}
		p.Data.Status, p.Data.Attempt, p.Data.Fields = domain.StatusCompleted, r.Attempt, &r.Fields
	case domain.TypeExtractionRevised:
		var r domain.ExtractionRevised
		if err := e.Decode(&r); err != nil {
			return nil, false, err
		}
		p.Data.Status, p.Data.Attempt, p.Data.Fields, p.Data.Changes = domain.StatusCompleted, r.Attempt, &r.Fields, r.Changes
	case domain.TypeExtractionFailed:
		var r domain.ExtractionFailed
		if err := e.Decode(&r); err != nil {
			return nil, false, err
		}
		p.Data.Status, p.Data.Attempt, p.Data.Reason = domain.StatusFailed, r.Attempt, r.Reason
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, false, fmt.Errorf("render %s: %w", t, err)
	}
	return body, true, nil
}
