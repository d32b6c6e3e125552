package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"tally/domain"
	"tally/eventstore"
	"tally/supervise"
)

// maxConflictRetries bounds re-reads when other writers keep moving the
// same document; each retry decides again on fresh state.
const maxConflictRetries = 10

// conflictBackoff spreads writers that lost a race on one document, so
// they do not collide again on the next try.
var conflictBackoff = supervise.Backoff{First: 2 * time.Millisecond, Max: 25 * time.Millisecond}

// Event is what a decision appends: a type and its payload. The zero Event
// means "nothing to do".
type Event struct {
	Type    string
	Payload any
}

// Documents is the document repository: documents are folded from their
// events in the stream, and every change is one appended event. Commands
// change documents through Update; readers (bridges, the e-receipt
// renderer, the notifier, the HTTP reads) use Load, History, Job and
// OrderOf. It knows the stream's expected-sequence and command-id rules so
// that nothing else has to.
type Documents struct {
	events *eventstore.Store
	log    *slog.Logger
	now    func() time.Time
}

// NewDocuments returns the repository over an event store.
func NewDocuments(events *eventstore.Store, log *slog.Logger) *Documents {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Documents{events: events, log: log, now: time.Now}
}

// Load returns a document folded from its events; an unknown document (or
// another tenant's) is domain.ErrNotFound.
func (r *Documents) Load(ctx context.Context, tenant, docID string) (*domain.Document, error) {
	doc, err := r.fold(ctx, tenant, docID)
	if err != nil {
		return nil, err
	}
	if !doc.Exists() {
		return nil, fmt.Errorf("load doc %s: %w", docID, domain.ErrNotFound)
	}
	return doc, nil
}

// History returns a document's events in order; an unknown document (or
// another tenant's) is domain.ErrNotFound.
func (r *Documents) History(ctx context.Context, tenant, docID string) ([]domain.Envelope, error) {
	history, err := r.events.Load(ctx, tenant, docID)
	if err != nil {
		return nil, ErrEventStore.Wrap(err)
	}
	if len(history) == 0 {
		return nil, fmt.Errorf("history of doc %s: %w", docID, domain.ErrNotFound)
	}
	return history, nil
}

// fold returns the document as its events make it, which may be none.
func (r *Documents) fold(ctx context.Context, tenant, docID string) (*domain.Document, error) {
	history, err := r.events.Load(ctx, tenant, docID)
	if err != nil {
		return nil, ErrEventStore.Wrap(err)
	}
	return domain.Fold(history)
}

// Update runs one command on an existing document: load it, answer a
// command id it has seen with that command's earlier result, otherwise
// decide and append the event expecting the sequence it was decided on. A
// conflict (another writer appended in between) is retried by loading and
// deciding again. decide returns the zero Event for "nothing to do".
func (r *Documents) Update(ctx context.Context, meta Meta, docID string, decide func(*domain.Document) (Event, error)) (Result, error) {
	if err := validateMeta(meta); err != nil {
		return Result{}, err
	}
	if _, err := uuid.Parse(docID); err != nil {
		return Result{}, domain.Invalid("document id %q is not a UUID", docID)
	}
	for try := 0; ; try++ {
		doc, err := r.fold(ctx, meta.Tenant, docID)
		if err != nil {
			return Result{}, err
		}
		if !doc.Exists() {
			return Result{}, fmt.Errorf("doc %s: %w", docID, domain.ErrNotFound)
		}
		if e, ok := doc.EventOf(meta.CommandID); ok {
			return resultOf(doc, e.Sequence, true), nil
		}
		ev, err := decide(doc)
		if err != nil {
			return Result{}, err
		}
		if ev.Type == "" {
			return resultOf(doc, doc.Version, true), nil
		}
		e, err := newEnvelope(r.now(), meta, docID, ev.Type, ev.Payload)
		if err != nil {
			return Result{}, err
		}
		seq, err := r.events.Append(ctx, e, doc.Version)
		if errors.Is(err, eventstore.ErrConflict) && try < maxConflictRetries {
			r.log.DebugContext(ctx, "conflict, deciding again", "doc_id", docID, "event", ev.Type, "try", try+1)
			if !supervise.Sleep(ctx, conflictBackoff.Next(try+1)) {
				return Result{}, ctx.Err()
			}
			continue
		}
		if err != nil {
			return Result{}, ErrEventStore.Wrap(err)
		}
		e.Sequence = seq
		if err := doc.Apply(e); err != nil {
			return Result{}, err
		}
		r.log.InfoContext(ctx, "event appended", "doc_id", docID, "event", ev.Type, "seq", seq, "correlation_id", meta.CorrelationID)
		return resultOf(doc, seq, false), nil
	}
}

// earlierResult looks for the outcome of commandID in the document's
// history.
func (r *Documents) earlierResult(ctx context.Context, tenant, docID, commandID string) (Result, bool, error) {
	doc, err := r.fold(ctx, tenant, docID)
	if err != nil {
		return Result{}, false, err
	}
	e, ok := doc.EventOf(commandID)
	if !ok {
		return Result{}, false, nil
	}
	return resultOf(doc, e.Sequence, true), true, nil
}

func resultOf(d *domain.Document, seq uint64, replayed bool) Result {
	return Result{DocumentID: d.ID, Status: d.Status, Attempt: d.Attempt, CreatedAt: d.UploadedAt,
		BlobKey: d.BlobKey, Sequence: seq, Replayed: replayed}
}

// newEnvelope wraps a command's event for the stream, naming the command
// that caused it.
func newEnvelope(now time.Time, meta Meta, aggregateID, eventType string, payload any) (domain.Envelope, error) {
	e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), meta.Tenant, aggregateID, eventType, now, payload)
	if err != nil {
		return e, err
	}
	e.CommandID = meta.CommandID
	e.CorrelationID = meta.CorrelationID
	e.CausationID = meta.CommandID
	return e, nil
}
