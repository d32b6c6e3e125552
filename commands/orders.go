package commands

import (
	"context"
	"fmt"

	"tally/domain"
)

// claimOrder claims the order key of an aggregating e-receipt job's result.
// When another document holds the order already, it returns that order's
// id and this document as a part to join to it.
func (h *Handler) claimOrder(ctx context.Context, cmd RecordExtraction) (string, *domain.OrderPartAdded) {
	doc, err := h.load(ctx, cmd.Tenant, cmd.DocumentID)
	// A copy of another e-mail (the same message twice) is no new part of
	// its order.
	if err != nil || !doc.Exists() || doc.Job == nil || !doc.Job.Aggregate || doc.Attempt != cmd.Attempt || doc.DuplicateOf != "" {
		return "", nil
	}
	with := *doc
	with.Fields = &cmd.Fields
	key, ok := domain.OrderKey(with.Merchant(), cmd.Fields)
	if !ok {
		return "", nil
	}
	first, err := h.claim(ctx, cmd.Tenant, doc.ID, fingerprint{domain.DuplicateSameOrder, ownerKey(doc) + "\x00" + key})
	if err != nil {
		h.log.WarnContext(ctx, "order claim failed", "doc_id", doc.ID, "err", err)
		return "", nil
	}
	if first == doc.ID {
		return "", nil
	}
	part := &domain.OrderPartAdded{DocumentID: doc.ID, Fields: cmd.Fields}
	if doc.Email != nil {
		part.MessageID, part.Subject, part.Date = doc.Email.MessageID, doc.Email.Subject, doc.Email.Date
		part.Part = domain.PartOf(doc.Email.Subject)
	}
	return first, part
}

// joinOrder adds the part to its order's receipt, then marks the part's own
// document as a duplicate of the order, in that order: a crash between the
// two leaves a part shown twice, never one lost. A retried result joins
// again harmlessly (both steps are idempotent).
func (h *Handler) joinOrder(ctx context.Context, meta Meta, orderID string, part *domain.OrderPartAdded) {
	if err := h.joinOrderErr(ctx, meta, orderID, part); err != nil {
		h.log.WarnContext(ctx, "joining an order failed; the duplicates consumer will retry", "doc_id", part.DocumentID, "order", orderID, "err", err)
	}
}

func (h *Handler) joinOrderErr(ctx context.Context, meta Meta, orderID string, part *domain.OrderPartAdded) error {
	om := meta
	om.CommandID = "part:" + part.DocumentID
	if _, err := h.decide(ctx, om, orderID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideAddPart(*part)
		if p == nil || err != nil {
			return "", nil, err
		}
		return domain.TypeOrderPartAdded, *p, nil
	}); err != nil {
		return fmt.Errorf("join order %s: %w", orderID, err)
	}
	dm := meta
	dm.CommandID = "duplicate:" + domain.DuplicateSameOrder
	if _, err := h.decide(ctx, dm, part.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideDuplicate(orderID, domain.DuplicateSameOrder)
		if p == nil || err != nil {
			return "", nil, err
		}
		return domain.TypeDuplicateDetected, *p, nil
	}); err != nil {
		return fmt.Errorf("mark order part: %w", err)
	}
	return nil
}

// OrderOf returns the document holding the order a document's result
// belongs to, or "" when it is not part of an aggregated order.
func (h *Handler) OrderOf(ctx context.Context, d *domain.Document) (string, error) {
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
	history, err := h.events.LoadAggregate(ctx, d.Tenant, domain.AggregateFingerprint, id)
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
