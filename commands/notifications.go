package commands

import (
	"context"
	"errors"
	"tally/domain"
	"tally/eventstore"
)

// RecordNotification appends NotificationSent or NotificationFailed for
// one source event of a document, once: the command id is derived from
// the source event.
func (h *Handler) RecordNotification(ctx context.Context, meta Meta, docID string, payload any) (Result, error) {
	var source, eventType string
	switch p := payload.(type) {
	case domain.NotificationSent:
		source, eventType = p.SourceEventID, domain.TypeNotificationSent
	case domain.NotificationFailed:
		source, eventType = p.SourceEventID, domain.TypeNotificationFailed
	default:
		return Result{}, domain.Invalid("%T is not a notification", payload)
	}
	meta.CommandID = NotificationCommandID(source)
	return h.docs.Update(ctx, meta, docID, func(*domain.Document) (Event, error) {
		return Event{eventType, payload}, nil
	})
}

// NotificationCommandID names the command that records the e-mail about
// a source event; a notifier checks for it before sending.
func NotificationCommandID(sourceEventID string) string { return "notify:" + sourceEventID }

// ReportSent reports whether a report aggregate has its event already.
func (h *Handler) ReportSent(ctx context.Context, tenant, reportID string) (bool, error) {
	history, err := h.events.LoadAggregate(ctx, tenant, domain.AggregateReport, reportID)
	if err != nil {
		return false, ErrEventStore.Wrap(err)
	}
	return len(history) > 0, nil
}

// RecordMonthlyReport appends MonthlyReportSent to a new report
// aggregate. A report already recorded is not an error: Replayed says so.
func (h *Handler) RecordMonthlyReport(ctx context.Context, meta Meta, reportID string, p domain.MonthlyReportSent) (Result, error) {
	if err := validateMeta(meta); err != nil {
		return Result{}, err
	}
	e, err := h.envelope(meta, reportID, domain.TypeMonthlyReportSent, p)
	if err != nil {
		return Result{}, err
	}
	e.AggregateType = domain.AggregateReport
	seq, err := h.events.Append(ctx, e, 0)
	if errors.Is(err, eventstore.ErrConflict) {
		return Result{DocumentID: reportID, Replayed: true}, nil
	}
	if err != nil {
		return Result{}, ErrEventStore.Wrap(err)
	}
	return Result{DocumentID: reportID, Sequence: seq}, nil
}
