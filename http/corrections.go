package http

import (
	"context"
	stdhttp "net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"tally/commands"
	"tally/domain"
)

type correctInput struct {
	ID   string        `path:"id"`
	Body domain.Fields `doc:"The fields to correct; fields left out keep their values. Amounts as decimal strings, dates as YYYY-MM-DD."`
}

type deleteInput struct {
	ID     string `path:"id"`
	Reason string `query:"reason" maxLength:"500"`
}

func (s *Server) registerCorrections() {
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "correct-document", Method: stdhttp.MethodPatch, Path: "/v1/documents/{id}", Tags: []string{"Documents"},
		Summary: "Correct extracted fields",
		Description: "Records DocumentCorrected. The user's values win over every extraction result, later reprocessing " +
			"included; stats and monthly totals follow. The history keeps the machine's and the user's values.",
		Errors: []int{400, 404, 409, 502},
	}), func(ctx context.Context, in *correctInput) (*documentOutput, error) {
		return s.documentCommand(ctx, in.ID, func(meta commands.Meta) (commands.Result, error) {
			return s.deps.Commands.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: in.ID, Fields: in.Body})
		})
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "delete-document", Method: stdhttp.MethodDelete, Path: "/v1/documents/{id}", Tags: []string{"Documents"},
		Summary: "Delete a document",
		Description: "Records DocumentDeleted: the document leaves lists, stats and monthly totals at once; its file is purged " +
			"after the grace period (DELETION_GRACE_DAYS) unless it is restored before. Deleting twice is harmless.",
		Errors: []int{404, 502},
	}), func(ctx context.Context, in *deleteInput) (*documentOutput, error) {
		return s.documentCommand(ctx, in.ID, func(meta commands.Meta) (commands.Result, error) {
			return s.deps.Commands.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: in.ID,
				Reason: in.Reason, Grace: s.deps.DeletionGrace})
		})
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "restore-document", Method: stdhttp.MethodPost, Path: "/v1/documents/{id}/restore", Tags: []string{"Documents"},
		Summary: "Restore a deleted document within its grace period",
		Errors:  []int{404, 409, 502},
	}), func(ctx context.Context, in *documentIDInput) (*documentOutput, error) {
		return s.documentCommand(ctx, in.ID, func(meta commands.Meta) (commands.Result, error) {
			return s.deps.Commands.RestoreDocument(ctx, meta, in.ID)
		})
	})
}

// documentCommand runs a command on one of the caller's documents and
// answers with the document as its events now say (the read models follow
// a moment later).
func (s *Server) documentCommand(ctx context.Context, id string, run func(commands.Meta) (commands.Result, error)) (*documentOutput, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, huma.Error404NotFound("document not found")
	}
	if _, err := run(commands.Meta{Tenant: tenantOf(ctx), CorrelationID: requestID(ctx)}); err != nil {
		return nil, s.fail(ctx, err)
	}
	d, err := s.deps.Commands.Documents().Load(ctx, tenantOf(ctx), id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return s.aggregateOutput(ctx, d)
}

func purgeAfter(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}
