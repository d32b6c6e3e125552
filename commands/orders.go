package commands

import (
	"context"
	"fmt"

	"tally/domain"
)

// claimOrder claims the order key of an aggregating e-receipt job's result
// (doc is the document as it was before the result). When another document
// holds the order already, it returns that order's id and this document as
// a part to join to it.
func (h *Handler) claimOrder(ctx context.Context, doc *domain.Document, attempt int, fields domain.Fields) (string, *domain.OrderPartAdded, error) {
	// A copy of another e-mail (the same message twice) is no new part of
	// its order.
	if !doc.Exists() || doc.Job == nil || !doc.Job.Aggregate || doc.Attempt != attempt || doc.DuplicateOf != "" {
		return "", nil, nil
	}
	with := *doc
	with.Fields = &fields
	key, ok := domain.OrderKey(with.Merchant(), fields)
	if !ok {
		return "", nil, nil
	}
	first, err := h.claim(ctx, doc.Tenant, doc.ID, fingerprint{domain.DuplicateSameOrder, ownerKey(doc) + "\x00" + key})
	if err != nil || first == doc.ID {
		return "", nil, err
	}
	part := &domain.OrderPartAdded{DocumentID: doc.ID, Fields: fields}
	if doc.Email != nil {
		// The subject goes as the part's upload has it: sealed with its
		// user's key (copied as it is, for the reader to open), or in
		// the clear in an upload from before subjects were sealed.
		part.MessageID, part.Subject, part.Date = doc.Email.MessageID, doc.Email.Subject, doc.Email.Date
		if doc.Owner.Private != "" {
			part.UserID, part.PrivateSealed = doc.Owner.ID, doc.Owner.Private
		}
		part.Part = doc.Email.Part
		if part.Part == "" {
			part.Part = domain.PartOf(doc.Email.Subject)
		}
	}
	return first, part, nil
}

// afterResult runs the checks a stored result calls for: a part joins its
// order, anything else claims its invoice key.
func (h *Handler) afterResult(ctx context.Context, meta Meta, doc *domain.Document, fields domain.Fields, order string, part *domain.OrderPartAdded) error {
	if part != nil {
		return h.joinOrder(ctx, meta, order, part)
	}
	if key, ok := domain.InvoiceKey(fields); ok {
		return h.duplicatesOf(ctx, meta, doc, []fingerprint{{domain.DuplicateSameInvoice, key}})
	}
	return nil
}

// joinOrder adds the part to its order's receipt, then marks the part's own
// document as a duplicate of the order, in that order: a crash between the
// two leaves a part shown twice, never one lost. A retried result joins
// again harmlessly (both steps are idempotent).
func (h *Handler) joinOrder(ctx context.Context, meta Meta, orderID string, part *domain.OrderPartAdded) error {
	om := meta
	om.CommandID = "part:" + part.DocumentID
	if _, err := h.docs.Update(ctx, om, orderID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideAddPart(*part)
		if p == nil || err != nil {
			return Event{}, err
		}
		return Event{domain.TypeOrderPartAdded, *p}, nil
	}); err != nil {
		return fmt.Errorf("join order %s: %w", orderID, err)
	}
	dm := meta
	dm.CommandID = "duplicate:" + domain.DuplicateSameOrder
	if _, err := h.docs.Update(ctx, dm, part.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideDuplicate(orderID, domain.DuplicateSameOrder)
		if p == nil || err != nil {
			return Event{}, err
		}
		return Event{domain.TypeDuplicateDetected, *p}, nil
	}); err != nil {
		return fmt.Errorf("mark order part: %w", err)
	}
	return nil
}

// OrderOf returns the document holding the order a document's result
// belongs to, or "" when it is not part of an aggregated order.
func (r *Documents) OrderOf(ctx context.Context, d *domain.Document) (string, error) {
	if d.DuplicateReason == domain.DuplicateSameOrder {
		return d.DuplicateOf, nil
	}
	if d.Job == nil || !d.Job.Aggregate || d.Machine == nil {
		return "", nil
	}
	key, ok := domain.OrderKey(d.Merchant(), *d.Machine)
	if !ok {
		return "", nil
	}
	id := domain.FingerprintID(domain.DuplicateSameOrder, ownerKey(d)+"\x00"+key)
	history, err := r.events.LoadAggregate(ctx, d.Tenant, domain.AggregateFingerprint, id)
	if err != nil || len(history) == 0 {
		return "", err
	}
	var p domain.FingerprintClaimed
	if err := history[0].Decode(&p); err != nil {
		return "", err
	}
	if p.DocumentID == d.ID {
		return "", nil
	}
	return p.DocumentID, nil
}
