package http

import (
	"context"
	"encoding/base64"
	"errors"
	stdhttp "net/http"
	"regexp"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/commands"
	"tally/domain"
	"tally/readmodel"
)

// Document is a document as the read model holds it.
type Document struct {
	ID              string            `json:"id"`
	Status          string            `json:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED"`
	Source          string            `json:"source" enum:"upload,email,ingest,billify,ereceipt"`
	Filename        string            `json:"filename"`
	ContentType     string            `json:"content_type"`
	Size            int64             `json:"size"`
	SHA256          string            `json:"sha256"`
	User            domain.User       `json:"user" doc:"The user named at upload; empty once the user is erased."`
	UserID          string            `json:"user_id,omitempty" doc:"The user's pseudonymous id (as in the events)."`
	Attempt         int32             `json:"attempt" doc:"Extraction attempt; grows with each reprocess."`
	CreatedAt       string            `json:"created_at" format:"date-time"`
	UpdatedAt       string            `json:"updated_at" format:"date-time"`
	Fields          *domain.Fields    `json:"fields" doc:"The effective values: extraction's, with the user's corrections over them; null until there are any."`
	Machine         *domain.Fields    `json:"machine_fields,omitempty" doc:"What extraction found, before corrections."`
	Corrections     *domain.Fields    `json:"corrections,omitempty" doc:"The fields a user corrected."`
	FailureReason   string            `json:"failure_reason,omitempty"`
	Deleted         bool              `json:"deleted,omitempty"`
	PurgeAfter      string            `json:"purge_after,omitempty" doc:"When a deleted document's file goes; restore it before."`
	DuplicateOf     string            `json:"duplicate_of,omitempty" doc:"The earlier document this one copies; a duplicate is not counted in totals."`
	DuplicateReason string            `json:"duplicate_reason,omitempty" enum:"same_message_id,same_content,same_invoice,same_order"`
	Email           *domain.EmailInfo `json:"email,omitempty" doc:"For e-mails: message id, sender, subject and the DKIM verdict (verified, failed, none, temperror); a forged sender is flagged and never trusted as the merchant."`
}

func toDocument(d readmodel.GetDocumentRow) Document {
	out := Document{
		ID: d.ID.String(), Status: d.Status, Source: d.Source, Filename: d.Filename, ContentType: d.ContentType,
		Size: d.SizeBytes, SHA256: d.Sha256, User: domain.User{Name: d.UserName, Email: d.UserEmail}, UserID: d.UserID,
		Attempt: d.Attempt, CreatedAt: formatTime(d.CreatedAt.Time), UpdatedAt: formatTime(d.UpdatedAt.Time),
		FailureReason: d.FailureReason.String,
	}
	out.Fields, out.Machine, out.Corrections = jsonFields(d.Fields), jsonFields(d.MachineFields), jsonFields(d.Corrections)
	if d.DeletedAt.Valid {
		out.Deleted, out.PurgeAfter = true, formatTime(d.PurgeAfter.Time)
	}
	if d.DuplicateOf.Valid {
		out.DuplicateOf, out.DuplicateReason = d.DuplicateOf.UUID.String(), d.DuplicateReason.String
	}
	if len(d.Email) > 0 {
		var e domain.EmailInfo
		if jsonv1.Unmarshal(d.Email, &e) == nil {
			out.Email = &e
		}
	}
	return out
}

// jsonFields decodes a fields column. A page of documents decodes three
// per document: with encoding/json's semantics, on the decoder of
// encoding/json/v2, which reads the text once where encoding/json reads
// it twice (validation, then decoding).
func jsonFields(raw []byte) *domain.Fields {
	if len(raw) == 0 {
		return nil
	}
	var f domain.Fields
	if jsonv1.Unmarshal(raw, &f) != nil {
		return nil
	}
	return &f
}

type documentIDInput struct {
	ID string `path:"id" doc:"Document id (UUID)."`
}

type getDocumentInput struct {
	ID   string `path:"id" doc:"Document id (UUID)."`
	AsOf string `query:"as_of" doc:"Optional RFC 3339 time: the document as it stood then, computed from its events."`
}

type documentOutput struct {
	Body Document
}

type listInput struct {
	SearchParams
	Status string `query:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED" doc:"Only documents in this status."`
	Email  string `query:"email" maxLength:"254" doc:"Only this user's documents."`
	From   string `query:"from" doc:"Uploaded at or after (RFC 3339 time or YYYY-MM-DD)."`
	To     string `query:"to" doc:"Uploaded before (RFC 3339 time or YYYY-MM-DD, exclusive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" maxLength:"400" doc:"next_cursor of the previous page."`
}

type listOutput struct {
	Body struct {
		Items      []Document `json:"items"`
		NextCursor *string    `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page."`
	}
}

// Stats are document counts per status for the caller's tenant.
type Stats struct {
	Pending    int64 `json:"pending"`
	Processing int64 `json:"processing"`
	Failed     int64 `json:"failed"`
	Completed  int64 `json:"completed"`
	Total      int64 `json:"total"`
}

type statsOutput struct{ Body Stats }

type monthlyInput struct {
	Email string `query:"email" maxLength:"254" doc:"Only this user."`
	Month string `query:"month" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"YYYY-MM."`
}

// MonthlyTotal is one user's spending in one month and currency.
type MonthlyTotal struct {
	Email     string `json:"email" doc:"Empty for documents without a user and for erased users."`
	UserID    string `json:"user_id,omitempty" doc:"The user's pseudonymous id: totals are kept per id."`
	Month     string `json:"month" example:"2026-11"`
	Currency  string `json:"currency" doc:"ISO 4217; XXX when extraction found no currency."`
	Total     string `json:"total" doc:"Decimal string." example:"123.45"`
	Documents int64  `json:"documents"`
}

type monthlyOutput struct {
	Body struct {
		Items []MonthlyTotal `json:"items"`
	}
}

type reprocessInput struct {
	ID             string `path:"id"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200"`
	// Body is optional: a pointer makes huma accept an empty request.
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"500"`
	}
}

func (s *Server) registerDocuments() {
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-document", Method: stdhttp.MethodGet, Path: "/v1/documents/{id}", Tags: []string{"Documents"},
		Summary: "A document's status and extracted fields", Errors: []int{404, 503},
	}), func(ctx context.Context, in *getDocumentInput) (*documentOutput, error) {
		if in.AsOf != "" {
			return s.documentAsOf(ctx, in.ID, in.AsOf)
		}
		d, err := s.document(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &documentOutput{Body: toDocument(d)}, nil
	})

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "list-documents", Method: stdhttp.MethodGet, Path: "/v1/documents", Tags: []string{"Documents"},
		Summary: "List and search documents, newest first",
		Description: "Without search filters (q, vendor, date_from, date_to, min_total, max_total, currency, needs_review, sort) " +
			"the documents read model is listed by upload time. With any of them the search read model answers: full text " +
			"and filters, sorted by sort, paged with its own cursor. Deleted documents are left out either way.",
		Errors: []int{400, 503},
	}), func(ctx context.Context, in *listInput) (*listOutput, error) {
		if in.SearchParams.any() {
			return s.searchDocuments(ctx, in)
		}
		params := readmodel.ListDocumentsParams{Tenant: tenantOf(ctx), RowLimit: int32(in.Limit) + 1}
		if in.Status != "" {
			params.Status = pgtype.Text{String: in.Status, Valid: true}
		}
		if in.Email != "" {
			params.UserEmail = pgtype.Text{String: strings.ToLower(in.Email), Valid: true}
		}
		var err error
		if params.CreatedFrom, err = parseBound("from", in.From); err != nil {
			return nil, err
		}
		if params.CreatedTo, err = parseBound("to", in.To); err != nil {
			return nil, err
		}
		if in.Cursor != "" {
			at, id, err := decodeCursor(in.Cursor)
			if err != nil {
				return nil, huma.Error400BadRequest("cursor is not one this API returned")
			}
			params.AfterCreated = pgtype.Timestamptz{Time: at, Valid: true}
			params.AfterID = uuid.NullUUID{UUID: id, Valid: true}
		}
		rows, err := s.queries.ListDocuments(ctx, params)
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		out := &listOutput{}
		out.Body.Items = []Document{}
		for i, r := range rows {
			if i == in.Limit {
				last := rows[i-1]
				c := encodeCursor(last.CreatedAt.Time, last.ID)
				out.Body.NextCursor = &c
				break
			}
			out.Body.Items = append(out.Body.Items, toDocument(readmodel.GetDocumentRow(r)))
		}
		return out, nil
	})

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-stats", Method: stdhttp.MethodGet, Path: "/v1/stats", Tags: []string{"Documents"},
		Summary: "Document counts per status", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*statsOutput, error) {
		st, err := s.stats(ctx)
		if err != nil {
			return nil, err
		}
		return &statsOutput{Body: st}, nil
	})

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-monthly-totals", Method: stdhttp.MethodGet, Path: "/v1/monthly-totals", Tags: []string{"Documents"},
		Summary: "Spending per user, month and currency",
		Description: "A document counts in the month of its own date, or of its upload when none was found. " +
			"Only COMPLETED documents with a total count.",
		Errors: []int{400, 503},
	}), func(ctx context.Context, in *monthlyInput) (*monthlyOutput, error) {
		params := readmodel.ListMonthlyTotalsParams{Tenant: tenantOf(ctx)}
		if in.Email != "" {
			params.UserEmail = pgtype.Text{String: strings.ToLower(in.Email), Valid: true}
		}
		if in.Month != "" {
			params.Month = pgtype.Text{String: in.Month, Valid: true}
		}
		rows, err := s.queries.ListMonthlyTotals(ctx, params)
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		out := &monthlyOutput{}
		out.Body.Items = []MonthlyTotal{}
		for _, r := range rows {
			out.Body.Items = append(out.Body.Items, MonthlyTotal{Email: r.UserEmail, UserID: r.UserID, Month: r.Month, Currency: r.Currency,
				Total: r.Total, Documents: r.Documents})
		}
		return out, nil
	})

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "reprocess-document", Method: stdhttp.MethodPost, Path: "/v1/documents/{id}/reprocess", Tags: []string{"Documents"},
		Summary:       "Request a new extraction of a COMPLETED or FAILED document",
		DefaultStatus: stdhttp.StatusAccepted,
		Errors:        []int{400, 404, 409, 502},
	}), func(ctx context.Context, in *reprocessInput) (*acceptedOutput, error) {
		if _, err := uuid.Parse(in.ID); err != nil {
			return nil, huma.Error404NotFound("document not found")
		}
		reason := ""
		if in.Body != nil {
			reason = in.Body.Reason
		}
		commandID := ""
		if in.IdempotencyKey != "" {
			commandID = "idempotency:" + in.IdempotencyKey
		}
		res, err := s.deps.Commands.RequestReprocess(ctx, commands.RequestReprocess{
			Meta:       commands.Meta{Tenant: tenantOf(ctx), CommandID: commandID, CorrelationID: requestID(ctx)},
			DocumentID: in.ID, Reason: reason,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &acceptedOutput{Location: "/v1/documents/" + res.DocumentID, Body: accepted(res, "")}, nil
	})
}

// document reads one of the caller's documents. Another tenant's document
// is "not found", never "forbidden": its existence is not the caller's to
// know.
func (s *Server) document(ctx context.Context, id string) (readmodel.GetDocumentRow, error) {
	docID, err := uuid.Parse(id)
	if err != nil {
		return readmodel.GetDocumentRow{}, huma.Error404NotFound("document not found")
	}
	row, err := s.queries.GetDocument(ctx, readmodel.GetDocumentParams{Tenant: tenantOf(ctx), ID: docID})
	if errors.Is(err, pgx.ErrNoRows) {
		return readmodel.GetDocumentRow{}, huma.Error404NotFound("document not found")
	}
	if err != nil {
		return readmodel.GetDocumentRow{}, s.dbFail(ctx, err)
	}
	return row, nil
}

func (s *Server) stats(ctx context.Context) (Stats, error) {
	rows, err := s.queries.ListStatusCounts(ctx, tenantOf(ctx))
	if err != nil {
		return Stats{}, s.dbFail(ctx, err)
	}
	var st Stats
	for _, r := range rows {
		switch domain.Status(r.Status) {
		case domain.StatusPending:
			st.Pending = r.Count
		case domain.StatusProcessing:
			st.Processing = r.Count
		case domain.StatusCompleted:
			st.Completed = r.Count
		case domain.StatusFailed:
			st.Failed = r.Count
		}
		st.Total += r.Count
	}
	return st, nil
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func parseBound(name, v string) (pgtype.Timestamptz, error) {
	if v == "" {
		return pgtype.Timestamptz{}, nil
	}
	layout := time.RFC3339
	if dateOnly.MatchString(v) {
		layout = "2006-01-02"
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return pgtype.Timestamptz{}, huma.Error400BadRequest(name + " must be an RFC 3339 time or a YYYY-MM-DD date")
	}
	return pgtype.Timestamptz{Time: t, Valid: true}, nil
}

func encodeCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func decodeCursor(c string) (time.Time, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.UUID{}, err
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, uuid.UUID{}, errors.New("no separator")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, uuid.UUID{}, err
	}
	u, err := uuid.Parse(id)
	return t, u, err
}
