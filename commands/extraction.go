package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tally/domain"
)

// RequestReprocess asks for a new extraction of a finished document.
type RequestReprocess struct {
	Meta
	DocumentID string
	Reason     string
}

// RequestReprocess appends ExtractionRequested with the next attempt.
func (h *Handler) RequestReprocess(ctx context.Context, cmd RequestReprocess) (Result, error) {
	reason := firstNonEmpty(cmd.Reason, domain.ReasonReprocess)
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideReprocess(domain.Truncate(reason))
		return Event{domain.TypeExtractionRequested, p}, err
	})
}

// StartExtraction is a worker taking an attempt.
type StartExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Worker     string
}

// StartExtraction appends ExtractionStarted once per attempt; a redelivered
// job finds the attempt started and appends nothing.
func (h *Handler) StartExtraction(ctx context.Context, cmd StartExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("start:%d", cmd.Attempt)
	}
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideStart(cmd.Attempt, cmd.Worker)
		if p == nil {
			return Event{}, err
		}
		return Event{domain.TypeExtractionStarted, p}, err
	})
}

// RecordExtraction is a worker's result for an attempt.
type RecordExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Fields     domain.Fields
	// Text is the document's extracted text; the event keeps its first
	// domain.MaxResultText bytes, for full-text search.
	Text string
}

// RecordExtraction appends ReceiptExtracted. One result per attempt: a
// second report of the same attempt is answered with the first.
func (h *Handler) RecordExtraction(ctx context.Context, cmd RecordExtraction) (Result, error) {
	if err := domain.ValidateFields(cmd.Fields); err != nil {
		return Result{}, err
	}
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	doc, err := h.docs.fold(ctx, cmd.Tenant, cmd.DocumentID)
	if err != nil {
		return Result{}, err
	}
	// A later e-mail of an order learns so before its result is stored,
	// so that whoever reads the result can already tell it is a part.
	order, part, err := h.claimOrder(ctx, doc, cmd.Attempt, cmd.Fields)
	if err != nil {
		h.log.WarnContext(ctx, "order claim failed; the duplicates consumer will retry", "doc_id", cmd.DocumentID, "err", err)
	}
	text, err := h.resultText(ctx, doc, cmd.Text)
	if err != nil {
		return Result{}, err
	}
	res, err := h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		if err := d.DecideResult(cmd.Attempt); err != nil {
			return Event{}, err
		}
		eventType, payload := d.ResultEventWithText(cmd.Attempt, cmd.Fields, text)
		return Event{eventType, payload}, nil
	})
	if err == nil {
		if err := h.afterResult(ctx, cmd.Meta, doc, cmd.Fields, order, part); err != nil {
			h.log.WarnContext(ctx, "duplicate check failed; the duplicates consumer will retry", "doc_id", cmd.DocumentID, "err", err)
		}
	}
	return res, err
}

// FailExtraction ends an attempt without a result.
type FailExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Reason     string
}

// FailExtraction appends ExtractionFailed, under the same command id as a
// result would have, so an attempt ends once.
func (h *Handler) FailExtraction(ctx context.Context, cmd FailExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	reason := domain.Truncate(firstNonEmpty(cmd.Reason, "extraction failed"))
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		return Event{domain.TypeExtractionFailed, domain.ExtractionFailed{Attempt: cmd.Attempt, Reason: reason}}, d.DecideResult(cmd.Attempt)
	})
}

// RetryExtraction ends an attempt that failed for a reason that may pass
// and asks for the next one after a backoff.
type RetryExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	LastError  string
	NotBefore  time.Time
}

// RetryExtraction appends ExtractionRequested for attempt+1, under the
// attempt's result command id: an attempt ends once, by a result, a
// failure or a retry.
func (h *Handler) RetryExtraction(ctx context.Context, cmd RetryExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	return h.docs.Update(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (Event, error) {
		p, err := d.DecideRetry(cmd.Attempt, cmd.LastError, cmd.NotBefore)
		return Event{domain.TypeExtractionRequested, p}, err
	})
}

// resultText is how a result carries the document's text: sealed with
// its user's key when the upload named a user by pseudonym, so that
// erasing them reaches the text in the stream too; dropped when that
// user is erased already; in the clear for a document without a user (or
// one named by a schema-1 upload, which Redact blanks on erasure).
func (h *Handler) resultText(ctx context.Context, doc *domain.Document, text string) (domain.ResultText, error) {
	text = domain.TruncateText(text)
	if text == "" || doc.Owner.ID == "" {
		return domain.ResultText{Text: text}, nil
	}
	if h.people == nil {
		return domain.ResultText{}, ErrNoPeople
	}
	sealed, err := h.people.SealPrivate(ctx, doc.Tenant, doc.Owner.ID, domain.Private{Text: text})
	switch {
	case errors.Is(err, domain.ErrUserErased):
		return domain.ResultText{}, nil
	case err != nil:
		return domain.ResultText{}, fmt.Errorf("seal the result's text: %w", err)
	}
	return domain.ResultText{UserID: doc.Owner.ID, PrivateSealed: sealed}, nil
}
