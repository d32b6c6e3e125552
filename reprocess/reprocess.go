// Package reprocess selects documents for a new extraction (by id, upload
// date, vendor, failure, or the engine or template version that produced
// their fields) and requests it for each; a dry run only lists them.
package reprocess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/commands"
	"tally/domain"
	"tally/readmodel"
)

// MaxDocuments bounds one request; select again for more.
const MaxDocuments = 10_000

// Selection says which documents to reprocess; empty parts select all.
type Selection struct {
	DocumentIDs []string
	// From and To bound the upload time, To exclusive.
	From, To time.Time
	// Vendor matches the document's vendor, case-insensitively; % is a
	// wildcard.
	Vendor string
	// FailedOnly selects FAILED documents.
	FailedOnly bool
	// EngineOlderThan selects documents whose fields came from an engine
	// version before this one ("0.3" or "tally-extract/0.3").
	EngineOlderThan string
	// TemplateOlderThan selects documents whose fields came from a
	// template bundle version before this one.
	TemplateOlderThan string
}

// Outcome is what happened to one selected document.
type Outcome struct {
	DocumentID string `json:"document_id"`
	Status     string `json:"status"`
	// Result is "requested", "would request" (dry run) or why it was
	// skipped.
	Result string `json:"result"`
	// Changes are the fields a new extraction would move (dry run with a
	// preview); Kept are fields it would find different that the user has
	// corrected, whose values stay.
	Changes      map[string]domain.FieldChange `json:"changes,omitempty"`
	Kept         []string                      `json:"kept_corrections,omitempty"`
	PreviewError string                        `json:"preview_error,omitempty"`
}

// Previewer extracts a document again without recording anything.
type Previewer func(ctx context.Context, tenant, docID string) (domain.Fields, error)

// MaxPreview bounds the documents a dry run extracts again: a preview costs
// a full extraction each, which a request should not multiply without end.
const MaxPreview = 100

// Options say how to run a selection.
type Options struct {
	// Reason is recorded in the history.
	Reason string
	// DryRun lists the selection and changes nothing.
	DryRun bool
	// Preview, on a dry run, extracts the first MaxPreview selected
	// documents again so their outcomes show which fields would change.
	Preview Previewer
}

// Run selects and, unless opts.DryRun, requests a new extraction of each.
func Run(ctx context.Context, q *readmodel.Queries, cmds *commands.Handler, meta commands.Meta, sel Selection, opts Options) ([]Outcome, error) {
	reason, dryRun := opts.Reason, opts.DryRun
	previews := 0
	params := readmodel.SelectForReprocessParams{Tenant: meta.Tenant, FailedOnly: sel.FailedOnly, RowLimit: MaxDocuments}
	for _, id := range sel.DocumentIDs {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, domain.Invalid("document id %q is not a UUID", id)
		}
		params.Ids = append(params.Ids, u)
	}
	if !sel.From.IsZero() {
		params.CreatedFrom = pgtype.Timestamptz{Time: sel.From, Valid: true}
	}
	if !sel.To.IsZero() {
		params.CreatedTo = pgtype.Timestamptz{Time: sel.To, Valid: true}
	}
	if sel.Vendor != "" {
		params.Vendor = pgtype.Text{String: sel.Vendor, Valid: true}
	}
	rows, err := q.SelectForReprocess(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("select documents: %w", err)
	}
	var out []Outcome
	for _, r := range rows {
		var f domain.Fields
		_ = json.Unmarshal(r.MachineFields, &f)
		if sel.EngineOlderThan != "" && !Older(f.EngineVersion, sel.EngineOlderThan) {
			continue
		}
		if sel.TemplateOlderThan != "" {
			bundle, _, _ := strings.Cut(f.TemplateVersion, "/")
			if !Older(bundle, sel.TemplateOlderThan) {
				continue
			}
		}
		o := Outcome{DocumentID: r.ID.String(), Status: r.Status}
		switch {
		case r.Status == string(domain.StatusPending) || r.Status == string(domain.StatusProcessing):
			o.Result = "skipped: extraction already under way"
		case dryRun:
			o.Result = "would request"
			if opts.Preview != nil && previews < MaxPreview {
				previews++
				var effective domain.Fields
				_ = json.Unmarshal(r.Fields, &effective)
				preview(ctx, opts.Preview, meta.Tenant, &o, f, effective)
			}
		default:
			_, err := cmds.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: o.DocumentID, Reason: reason})
			switch {
			case err == nil:
				o.Result = "requested"
			case errors.Is(err, domain.ErrInvalidTransition):
				o.Result = "skipped: " + err.Error()
			default:
				return out, err
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// preview fills in what a new extraction would change: fields whose
// effective value differs from the machine's were corrected by the user and
// keep their value.
func preview(ctx context.Context, p Previewer, tenant string, o *Outcome, machine, effective domain.Fields) {
	fresh, err := p(ctx, tenant, o.DocumentID)
	if err != nil {
		o.PreviewError = err.Error()
		return
	}
	corrected := domain.Diff(machine, effective)
	o.Changes = map[string]domain.FieldChange{}
	for name, change := range domain.Diff(machine, fresh) {
		if _, ok := corrected[name]; ok {
			o.Kept = append(o.Kept, name)
			continue
		}
		o.Changes[name] = change
	}
	slices.Sort(o.Kept)
}

// Older reports whether version a is before b, comparing the numbers in
// them one by one ("tally-extract/0.2" < "0.10"); an empty a is older than
// anything.
func Older(a, b string) bool {
	if a == "" {
		return true
	}
	na, nb := numbers(a), numbers(b)
	for i := 0; i < max(len(na), len(nb)); i++ {
		var x, y int
		if i < len(na) {
			x = na[i]
		}
		if i < len(nb) {
			y = nb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func numbers(v string) []int {
	var out []int
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		n, err := strconv.Atoi(part)
		if err == nil {
			out = append(out, n)
		}
	}
	return out
}
