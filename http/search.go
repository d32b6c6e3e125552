package http

import (
	"context"
	"errors"
	"io"
	stdhttp "net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"tally/domain"
	"tally/readmodel"
	"tally/search"
)

// SearchParams are the filters of the search read model that
// GET /v1/documents and its export share. They arrive as strings and are
// checked here and in package search, so every bad value gets a 400 that
// names it (rather than a schema error per parameter).
type SearchParams struct {
	Q           string `query:"q" maxLength:"500" doc:"Words to find (each as a word's beginning) in the vendor, file name, invoice number, line items and the document's extracted text; all of them must occur."`
	Vendor      string `query:"vendor" maxLength:"200" doc:"Only vendors containing this, in any case."`
	DateFrom    string `query:"date_from" doc:"The document's own date on or after this (YYYY-MM-DD)."`
	DateTo      string `query:"date_to" doc:"The document's own date on or before this (YYYY-MM-DD)."`
	MinTotal    string `query:"min_total" doc:"Total at least this (decimal, e.g. 12.50)."`
	MaxTotal    string `query:"max_total" doc:"Total at most this (decimal)."`
	Currency    string `query:"currency" doc:"ISO 4217 code of the total's currency."`
	NeedsReview string `query:"needs_review" doc:"true: only documents whose vendor, date or total is missing or doubtful and not corrected; false: only the others."`
	Sort        string `query:"sort" maxLength:"20" doc:"created_at (upload time; created also works), date, total or vendor, ascending; with a leading - descending. Default -created_at, newest first."`
}

// any says whether a search filter was given: without one, the list keeps
// reading the documents read model as it always did.
func (p SearchParams) any() bool {
	return p.Q != "" || p.Vendor != "" || p.DateFrom != "" || p.DateTo != "" || p.MinTotal != "" || p.MaxTotal != "" ||
		p.Currency != "" || p.NeedsReview != "" || p.Sort != ""
}

// filter builds the search filter of a request, reporting every bad value
// at once.
func (s *Server) filter(ctx context.Context, p SearchParams, status, email, from, to string) (search.Filter, error) {
	f := search.Filter{Tenant: tenantOf(ctx), Text: p.Q, Vendor: p.Vendor, MinTotal: p.MinTotal, MaxTotal: p.MaxTotal,
		Currency: p.Currency, Status: status}
	f.Sort, f.Ascending = search.ParseSort(p.Sort)
	var bad []string
	day := func(name, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			bad = append(bad, name+" must be a date like 2026-11-30")
		}
		return t
	}
	f.DateFrom, f.DateTo = day("date_from", p.DateFrom), day("date_to", p.DateTo)
	switch strings.ToLower(p.NeedsReview) {
	case "":
	case "true", "1":
		f.NeedsReview = new(true)
	case "false", "0":
		f.NeedsReview = new(false)
	default:
		bad = append(bad, "needs_review must be true or false")
	}
	for _, b := range []struct {
		name, v string
		into    *time.Time
	}{{"from", from, &f.UploadedFrom}, {"to", to, &f.UploadedTo}} {
		t, err := parseBound(b.name, b.v)
		if err != nil {
			bad = append(bad, b.name+" must be an RFC 3339 time or a YYYY-MM-DD date")
		}
		*b.into = t.Time
	}
	if err := f.Validate(); err != nil {
		bad = append(bad, strings.TrimPrefix(domain.PublicMessage(err), "invalid filter: "))
	}
	if len(bad) > 0 {
		return f, search.ErrInvalidFilter.Newf("invalid filter: %s", strings.Join(bad, "; "))
	}
	if email != "" {
		if s.deps.Personal == nil {
			return f, huma.Error400BadRequest("email cannot be combined with search filters on this server")
		}
		ids, err := s.deps.Personal.UserIDs(ctx, f.Tenant, email)
		if err != nil {
			return f, s.dbFail(ctx, err)
		}
		f.UserIDs = append([]string{}, ids...)
	}
	return f, nil
}

// searchDocuments answers GET /v1/documents with search filters: the
// search read model finds the page, the documents read model fills it.
// A document the documents read model does not hold yet (the two
// projections move separately) is left out of that page.
func (s *Server) searchDocuments(ctx context.Context, in *listInput) (*listOutput, error) {
	f, err := s.filter(ctx, in.SearchParams, in.Status, in.Email, in.From, in.To)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	hits, next, err := s.search.Find(ctx, f, in.Cursor, in.Limit)
	if errors.Is(err, search.ErrInvalidFilter) {
		return nil, s.fail(ctx, err)
	}
	if err != nil {
		return nil, s.dbFail(ctx, err)
	}
	ids := make([]uuid.UUID, 0, len(hits))
	for _, h := range hits {
		if id, err := uuid.Parse(h.ID); err == nil {
			ids = append(ids, id)
		}
	}
	rows, err := s.queries.GetDocumentsByIDs(ctx, readmodel.GetDocumentsByIDsParams{Tenant: f.Tenant, Ids: ids})
	if err != nil {
		return nil, s.dbFail(ctx, err)
	}
	byID := make(map[uuid.UUID]readmodel.GetDocumentsByIDsRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := &listOutput{}
	out.Body.Items = []Document{}
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out.Body.Items = append(out.Body.Items, toDocument(readmodel.GetDocumentRow(r)))
		}
	}
	if next != "" {
		out.Body.NextCursor = &next
	}
	return out, nil
}

type exportInput struct {
	SearchParams
	Format string `query:"format" doc:"csv (a header row, then one row per document; cells made safe for spreadsheets) or json (an array)." default:"csv"`
	Status string `query:"status" doc:"Only documents in this status (PENDING, PROCESSING, COMPLETED, FAILED)."`
	Email  string `query:"email" maxLength:"254" doc:"Only this user's documents."`
	From   string `query:"from" doc:"Uploaded at or after (RFC 3339 time or YYYY-MM-DD)."`
	To     string `query:"to" doc:"Uploaded before (RFC 3339 time or YYYY-MM-DD, exclusive)."`
}

func (s *Server) registerExport() {
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "export-documents", Method: stdhttp.MethodGet, Path: "/v1/documents/export", Tags: []string{"Documents"},
		Summary: "Every document matching the filters, as CSV or JSON",
		Description: "Streams every match of the same filters as GET /v1/documents, in the chosen sort, however many there are. " +
			"A CSV cell that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe; plain negative amounts stay numbers.",
		Errors: []int{400, 503},
		Responses: map[string]*huma.Response{"200": {Description: "The documents.", Content: map[string]*huma.MediaType{
			"text/csv": {Schema: &huma.Schema{Type: "string"}}, "application/json": {Schema: &huma.Schema{Type: "array"}}}}},
	}), func(ctx context.Context, in *exportInput) (*huma.StreamResponse, error) {
		format := strings.ToLower(in.Format)
		if format != search.FormatCSV && format != search.FormatJSON {
			return nil, huma.Error400BadRequest("format must be csv or json")
		}
		f, err := s.filter(ctx, in.SearchParams, in.Status, in.Email, in.From, in.To)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			name, ctype := "documents.csv", "text/csv; charset=utf-8"
			if format == search.FormatJSON {
				name, ctype = "documents.json", "application/json"
			}
			hc.SetHeader("Content-Type", ctype)
			hc.SetHeader("Content-Disposition", `attachment; filename="`+name+`"`)
			hc.SetStatus(stdhttp.StatusOK)
			// The status is sent: a failure from here on can only cut the
			// body short, which a client sees as a truncated download.
			if err := s.search.Export(hc.Context(), flushWriter{hc.BodyWriter()}, f, format); err != nil &&
				!errors.Is(err, context.Canceled) {
				s.logError(ctx, "document export failed", err)
			}
		}}, nil
	})
}

// flushWriter passes every write on; the exporter buffers, so a flush
// happens per 32 KiB.
type flushWriter struct{ w io.Writer }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(stdhttp.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
