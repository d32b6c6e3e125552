package http

import (
	"context"
	"encoding/json"
	stdhttp "net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"tally/domain"
	"tally/personal"
)

// Event is one event of a document's history, as stored.
type Event struct {
	Sequence      uint64          `json:"sequence" doc:"Position in the stream."`
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredAt    string          `json:"occurred_at" format:"date-time"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	CommandID     string          `json:"command_id,omitempty"`
	Data          json.RawMessage `json:"data"`
}

type historyOutput struct {
	Body struct {
		DocumentID string  `json:"document_id"`
		Items      []Event `json:"items"`
	}
}

type asOfInput struct {
	ID   string `path:"id"`
	AsOf string `query:"as_of" required:"true" doc:"RFC 3339 time: the document as it stood then, computed from its events."`
}

func (s *Server) registerAudit() {
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "document-history", Method: stdhttp.MethodGet, Path: "/v1/documents/{id}/events", Tags: []string{"Audit"},
		Summary:     "A document's full history",
		Description: "Every event of the document, in order, read from the event stream (not a read model).",
		Errors:      []int{404, 502},
	}), func(ctx context.Context, in *documentIDInput) (*historyOutput, error) {
		history, err := s.history(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		out := &historyOutput{}
		out.Body.DocumentID = in.ID
		if history, err = s.redactErased(ctx, history); err != nil {
			return nil, s.fail(ctx, err)
		}
		for _, e := range history {
			out.Body.Items = append(out.Body.Items, Event{Sequence: e.Sequence, ID: e.ID, Type: e.Type,
				SchemaVersion: e.SchemaVersion, OccurredAt: formatTime(e.OccurredAt), CorrelationID: e.CorrelationID,
				CausationID: e.CausationID, CommandID: e.CommandID, Data: e.Data})
		}
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "document-as-of", Method: stdhttp.MethodGet, Path: "/v1/documents/{id}/as-of", Tags: []string{"Audit"},
		Summary: "A document as it stood at a past time",
		Description: "Folds the document's events up to as_of. `GET /v1/documents/{id}?as_of=` answers the same. " +
			"404 when the document did not exist yet.",
		Errors: []int{400, 404, 502},
	}), func(ctx context.Context, in *asOfInput) (*documentOutput, error) {
		return s.documentAsOf(ctx, in.ID, in.AsOf)
	})
}

func (s *Server) history(ctx context.Context, id string) ([]domain.Envelope, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, huma.Error404NotFound("document not found")
	}
	history, err := s.deps.Commands.Documents().History(ctx, tenantOf(ctx), id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return history, nil
}

// documentAsOf folds the events that had happened by asOf.
func (s *Server) documentAsOf(ctx context.Context, id, asOf string) (*documentOutput, error) {
	at, err := time.Parse(time.RFC3339Nano, asOf)
	if err != nil {
		return nil, huma.Error400BadRequest("as_of must be an RFC 3339 time, e.g. 2026-11-01T12:00:00Z")
	}
	history, err := s.history(ctx, id)
	if err != nil {
		return nil, err
	}
	var upTo []domain.Envelope
	for _, e := range history {
		if e.OccurredAt.After(at) {
			break
		}
		upTo = append(upTo, e)
	}
	if len(upTo) == 0 {
		return nil, huma.Error404NotFound("the document did not exist at " + asOf)
	}
	d, err := domain.Fold(upTo)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return s.aggregateOutput(ctx, d)
}

// aggregateOutput shows a document folded from its events, with its user
// and Private opened (blank once erased).
func (s *Server) aggregateOutput(ctx context.Context, d *domain.Document) (*documentOutput, error) {
	if !d.Owner.Named() || s.deps.Personal == nil {
		return &documentOutput{Body: fromAggregate(d)}, nil
	}
	owner, err := personal.OpenDocument(ctx, s.deps.Personal, d)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := fromAggregate(d)
	out.User, out.UserID = owner.User, owner.ID
	return &documentOutput{Body: out}, nil
}

// fromAggregate leaves the user out: it is sealed in the events.
func fromAggregate(d *domain.Document) Document {
	return Document{ID: d.ID, Status: string(d.Status), Source: d.Source, Filename: d.Filename,
		ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256, UserID: d.Owner.ID, Attempt: int32(d.Attempt),
		CreatedAt: formatTime(d.UploadedAt), UpdatedAt: formatTime(d.UpdatedAt), Fields: d.Fields,
		Machine: d.Machine, Corrections: d.Corrections, FailureReason: d.FailureReason,
		Deleted: d.Deleted, PurgeAfter: purgeAfter(d.PurgeAfter),
		DuplicateOf: d.DuplicateOf, DuplicateReason: d.DuplicateReason, Email: d.Email}
}
