package http

import (
	"context"
	stdhttp "net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"tally/commands"
	"tally/reprocess"
)

type reprocessSelectionInput struct {
	Body struct {
		DocumentIDs       []string `json:"document_ids,omitempty" maxItems:"10000" doc:"Only these documents."`
		From              string   `json:"from,omitempty" doc:"Uploaded at or after (RFC 3339 or YYYY-MM-DD)."`
		To                string   `json:"to,omitempty" doc:"Uploaded before (RFC 3339 or YYYY-MM-DD)."`
		Vendor            string   `json:"vendor,omitempty" maxLength:"200" doc:"Vendor, case-insensitive; % is a wildcard."`
		FailedOnly        bool     `json:"failed_only,omitempty"`
		EngineOlderThan   string   `json:"engine_older_than,omitempty" maxLength:"100" doc:"Fields from an engine version before this one."`
		TemplateOlderThan string   `json:"template_older_than,omitempty" maxLength:"100" doc:"Fields from a template bundle before this version."`
		Reason            string   `json:"reason,omitempty" maxLength:"500"`
		DryRun            bool     `json:"dry_run,omitempty" doc:"List what would be reprocessed; change nothing."`
	}
}

type reprocessSelectionOutput struct {
	Body struct {
		DryRun    bool                `json:"dry_run"`
		Selected  int                 `json:"selected"`
		Requested int                 `json:"requested"`
		Documents []reprocess.Outcome `json:"documents"`
	}
}

func (s *Server) registerReprocess() {
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "reprocess-selection", Method: stdhttp.MethodPost, Path: "/v1/reprocess", Tags: []string{"Documents"},
		Summary: "Request new extractions for a selection of documents",
		Description: "Selects by ids, upload dates, vendor, failure, or the engine or template version that produced the " +
			"fields. Each new result is recorded as ExtractionRevised with what changed; a user's corrections stay. " +
			"dry_run lists the documents without changing anything and, where the server can extract, the fields a new " +
			"extraction of each (the first 100) would change, and the user-corrected fields that would keep their value. " +
			"A tenant runs one dry run at a time (429 while one runs), for at most two minutes.",
		Errors: []int{400, 429, 502, 503},
	}), func(ctx context.Context, in *reprocessSelectionInput) (*reprocessSelectionOutput, error) {
		b := in.Body
		from, err := parseBound("from", b.From)
		if err != nil {
			return nil, err
		}
		to, err := parseBound("to", b.To)
		if err != nil {
			return nil, err
		}
		sel := reprocess.Selection{DocumentIDs: b.DocumentIDs, From: from.Time, To: to.Time, Vendor: b.Vendor,
			FailedOnly: b.FailedOnly, EngineOlderThan: b.EngineOlderThan, TemplateOlderThan: b.TemplateOlderThan}
		if !from.Valid {
			sel.From = time.Time{}
		}
		if !to.Valid {
			sel.To = time.Time{}
		}
		opts := reprocess.Options{Reason: b.Reason, DryRun: b.DryRun}
		meta := commands.Meta{Tenant: tenantOf(ctx), CorrelationID: requestID(ctx)}
		var outcomes []reprocess.Outcome
		if b.DryRun {
			// A dry run may extract documents again: one at a time per
			// tenant, off the request's goroutine (http/dryrun.go).
			opts.Preview = s.deps.Preview
			outcomes, err = s.dryRuns.run(ctx, meta.Tenant, func(ctx context.Context) ([]reprocess.Outcome, error) {
				return reprocess.Run(ctx, s.queries, s.deps.Commands, meta, sel, opts)
			})
		} else {
			outcomes, err = reprocess.Run(ctx, s.queries, s.deps.Commands, meta, sel, opts)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &reprocessSelectionOutput{}
		out.Body.DryRun, out.Body.Selected, out.Body.Documents = b.DryRun, len(outcomes), outcomes
		if out.Body.Documents == nil {
			out.Body.Documents = []reprocess.Outcome{}
		}
		for _, o := range outcomes {
			if o.Result == "requested" {
				out.Body.Requested++
			}
		}
		return out, nil
	})
}
