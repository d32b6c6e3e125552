package commands

import (
	"context"
	"fmt"
	"tally/domain"
	"time"
)

// CorrectDocument is a user fixing extracted fields.
type CorrectDocument struct {
	Meta
	DocumentID string
	Fields     domain.Fields
}

// CorrectDocument appends DocumentCorrected; the user's values then win
// over every extraction result, later reprocessing included.
func (h *Handler) CorrectDocument(ctx context.Context, cmd CorrectDocument) (Result, error) {
	if err := domain.ValidateCorrection(cmd.Fields); err != nil {
		return Result{}, err
	}
	if cmd.Fields.IsZero() {
		return Result{}, domain.Invalid("no field to correct")
	}
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideCorrect(cmd.Fields)
		if p == nil {
			return Event{}, err
		}
		if err := domain.ValidateCorrectedEvent(p); err != nil {
			return Event{}, err
		}
		return Event{domain.TypeDocumentCorrected, p}, err
	})
}

// DeleteDocument takes a document out of lists and totals; its file goes
// after Grace.
type DeleteDocument struct {
	Meta
	DocumentID string
	Reason     string
	Grace      time.Duration
}

// DeleteDocument appends DocumentDeleted; deleting twice is a no-op.
func (h *Handler) DeleteDocument(ctx context.Context, cmd DeleteDocument) (Result, error) {
	purgeAfter := h.now().Add(cmd.Grace)
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideDelete(cmd.Reason, purgeAfter)
		if p == nil {
			return Event{}, err
		}
		return Event{domain.TypeDocumentDeleted, p}, err
	})
}

// RestoreDocument brings back a deleted document within its grace period.
func (h *Handler) RestoreDocument(ctx context.Context, meta Meta, docID string) (Result, error) {
	now := h.now()
	return h.docs.Update(ctx, meta, docID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideRestore(now)
		if p == nil {
			return Event{}, err
		}
		return Event{domain.TypeDocumentRestored, p}, err
	})
}

// PurgeDocument deletes a deleted document's file once its grace period
// is over, then records it. The file goes first: a crash in between leaves
// a purge to record again, never a record of a file that still exists.
func (h *Handler) PurgeDocument(ctx context.Context, meta Meta, docID string) (Result, error) {
	now := h.now()
	return h.docs.Update(ctx, meta, docID, func(d *domain.Document) (Event, error) {
		p, err := d.DecidePurge(now)
		if p == nil || err != nil {
			return Event{}, err
		}
		if err := h.blobs.Delete(ctx, p.BlobKey); err != nil {
			return Event{}, fmt.Errorf("purge doc %s: %w", docID, ErrBlobStore.Wrap(err))
		}
		return Event{domain.TypeDocumentPurged, p}, nil
	})
}
