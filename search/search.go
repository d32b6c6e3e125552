package search

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
)

// ErrInvalidFilter: a filter or cursor a caller sent is malformed; the
// message says which.
var ErrInvalidFilter = domain.NewError(domain.KindInvalid, "invalid filter")

// Sort orders.
const (
	SortCreated = "created" // upload time (the default)
	SortDate    = "date"    // the document's own date
	SortTotal   = "total"
	SortVendor  = "vendor"
)

// ParseSort reads a sort as GET /v1/documents and the documents page
// write it: a key, ascending, or -key, descending; created_at names
// SortCreated. "" is the default (newest first). Validate checks the key.
func ParseSort(v string) (key string, ascending bool) {
	if v == "" {
		return "", false
	}
	key, descending := strings.CutPrefix(v, "-")
	if key == "" {
		return v, false // "-" alone names no key: Validate refuses it
	}
	if key == "created_at" {
		key = SortCreated
	}
	return key, !descending
}

// sortKeys are the SQL expressions of each order, as the migration
// indexes them, and the type their cursor value is cast to.
var sortKeys = map[string]struct{ expr, cast string }{
	SortCreated: {"created_at", "timestamptz"},
	SortDate:    {"COALESCE(document_date, DATE '0001-01-01')", "date"},
	SortTotal:   {"COALESCE(total, -1e15)", "numeric"},
	SortVendor:  {"COALESCE(lower(vendor), '')", "text"},
}

// MaxLimit is the largest page.
const MaxLimit = 200

// Filter selects documents. Zero values filter nothing.
type Filter struct {
	Tenant string
	// Text is what people type: every word must occur (as a word's
	// beginning) in the vendor, file name, invoice number or line items.
	Text string
	// Vendor matches vendors containing it, in any case.
	Vendor string
	// DateFrom and DateTo bound the document's own date (inclusive).
	DateFrom, DateTo time.Time
	// MinTotal and MaxTotal bound the total (decimal strings, inclusive).
	MinTotal, MaxTotal string
	Currency           string
	Status             string
	// UserIDs keeps the documents of these users (pseudonymous ids); nil
	// keeps everyone's, empty keeps nobody's.
	UserIDs []string
	// NeedsReview, when set, keeps the documents whose extraction looks
	// doubtful (true) or does not (false); see projections.NeedsReview.
	NeedsReview *bool
	// UploadedFrom (inclusive) and UploadedTo (exclusive) bound the upload
	// time.
	UploadedFrom, UploadedTo time.Time
	// Deleted selects deleted documents instead of the others.
	Deleted bool
	// Sort is one of the Sort constants; Ascending reverses the default
	// newest/largest first.
	Sort      string
	Ascending bool

	// only, when set, keeps these documents alone: the few a selective
	// text query matches (Find). commonText says the text matches many
	// (Find).
	only       []uuid.UUID
	commonText bool
}

// Hit is one document found.
type Hit struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"`
	Source        string    `json:"source"`
	Filename      string    `json:"filename"`
	UserID        string    `json:"user_id,omitempty"`
	Vendor        string    `json:"vendor,omitempty"`
	InvoiceNumber string    `json:"invoice_number,omitempty"`
	Date          string    `json:"date,omitempty"`
	Currency      string    `json:"currency,omitempty"`
	Total         string    `json:"total,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Deleted       bool      `json:"deleted,omitempty"`
	NeedsReview   bool      `json:"needs_review,omitempty"`
}

// Searcher queries the search read model.
type Searcher struct {
	pool *pgxpool.Pool
}

// New returns a Searcher on pool.
func New(pool *pgxpool.Pool) *Searcher { return &Searcher{pool: pool} }

var decimal = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)

// currencyCode is ISO 4217's shape.
var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// TextQuery turns what a person typed into a tsquery: each run of letters
// and digits a prefix term, all of them required. Empty when nothing is
// left.
func TextQuery(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 16 {
		words = words[:16]
	}
	for i, w := range words {
		if len(w) > 64 {
			w = w[:64]
			w = strings.ToValidUTF8(w, "")
		}
		words[i] = w + ":*"
	}
	return strings.Join(words, " & ")
}

// where builds the filter's conditions and their arguments.
func (f Filter) where() (string, []any, error) {
	var errs []error
	conds := []string{"tenant = $1"}
	args := []any{f.Tenant}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	conds = append(conds, "deleted = "+arg(f.Deleted))
	if q := TextQuery(f.Text); q != "" {
		if f.commonText {
			// PostgreSQL's estimate of a prefix query's matches can be
			// a hundred times too low, and then it reads every match
			// to sort them. Hidden in COALESCE, the condition gets a
			// neutral estimate: walking the sort key's index finds a
			// page among many matches quickly.
			conds = append(conds, "COALESCE(tsv @@ to_tsquery('simple', "+arg(q)+"), false)")
		} else {
			conds = append(conds, "tsv @@ to_tsquery('simple', "+arg(q)+")")
		}
	}
	if v := strings.TrimSpace(f.Vendor); v != "" {
		if len(v) > 200 {
			errs = append(errs, errors.New("vendor is longer than 200 characters"))
		}
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
		conds = append(conds, "vendor ILIKE "+arg("%"+esc+"%"))
	}
	// Bounds are given on the sort keys' expressions too (the same rows:
	// a bound leaves out documents without the value either way), so that
	// the indexes of those keys serve a range sorted by its own key.
	if !f.DateFrom.IsZero() {
		a := arg(f.DateFrom)
		conds = append(conds, "document_date >= "+a+"::date", sortKeys[SortDate].expr+" >= "+a+"::date")
	}
	if !f.DateTo.IsZero() {
		a := arg(f.DateTo)
		conds = append(conds, "document_date <= "+a+"::date", sortKeys[SortDate].expr+" <= "+a+"::date")
	}
	for _, b := range []struct{ name, v, op string }{{"min_total", f.MinTotal, ">="}, {"max_total", f.MaxTotal, "<="}} {
		if b.v == "" {
			continue
		}
		if !decimal.MatchString(b.v) {
			errs = append(errs, fmt.Errorf("%s must be a decimal number like 12.50", b.name))
			continue
		}
		a := arg(b.v)
		conds = append(conds, "total "+b.op+" "+a+"::numeric", sortKeys[SortTotal].expr+" "+b.op+" "+a+"::numeric")
	}
	if f.Currency != "" {
		c := strings.ToUpper(f.Currency)
		if !currencyCode.MatchString(c) {
			errs = append(errs, errors.New("currency must be a three-letter ISO 4217 code"))
		}
		conds = append(conds, "currency = "+arg(c))
	}
	if f.Status != "" {
		switch f.Status {
		case "PENDING", "PROCESSING", "COMPLETED", "FAILED":
		default:
			errs = append(errs, errors.New("status must be PENDING, PROCESSING, COMPLETED or FAILED"))
		}
		conds = append(conds, "status = "+arg(f.Status))
	}
	if f.NeedsReview != nil {
		conds = append(conds, "needs_review = "+arg(*f.NeedsReview))
	}
	if !f.UploadedFrom.IsZero() {
		conds = append(conds, "created_at >= "+arg(f.UploadedFrom))
	}
	if !f.UploadedTo.IsZero() {
		conds = append(conds, "created_at < "+arg(f.UploadedTo))
	}
	if f.UserIDs != nil {
		conds = append(conds, "user_id = ANY("+arg(f.UserIDs)+"::text[])")
	}
	if f.only != nil {
		conds = append(conds, "id = ANY("+arg(f.only)+"::uuid[])")
	}
	if f.Sort != "" {
		if _, ok := sortKeys[f.Sort]; !ok {
			errs = append(errs, errors.New("sort must be created, date, total or vendor"))
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return "", nil, ErrInvalidFilter.Newf("invalid filter: %s", strings.Join(msgs, "; "))
	}
	return strings.Join(conds, " AND "), args, nil
}

const columns = `id, status, source, filename, user_id, COALESCE(vendor, ''), COALESCE(invoice_number, ''),
	COALESCE(to_char(document_date, 'YYYY-MM-DD'), ''), COALESCE(currency, ''), COALESCE(total::text, ''),
	created_at, updated_at, deleted, needs_review`

// query is the statement of one page (limit > 0) or of every match.
func (f Filter) query(cursor string, limit int) (string, []any, error) {
	where, args, err := f.where()
	if err != nil {
		return "", nil, err
	}
	sort := f.Sort
	if sort == "" {
		sort = SortCreated
	}
	key := sortKeys[sort]
	dir, cmp := "DESC", "<"
	if f.Ascending {
		dir, cmp = "ASC", ">"
	}
	if cursor != "" {
		c, err := decodeCursor(cursor)
		if err != nil || c.sort != sort || c.asc != f.Ascending {
			return "", nil, ErrInvalidFilter.Newf("invalid filter: the cursor is not one this search returned")
		}
		args = append(args, c.key, c.id)
		where += fmt.Sprintf(" AND (%s, id) %s ($%d::%s, $%d::uuid)", key.expr, cmp, len(args)-1, key.cast, len(args))
	}
	sql := fmt.Sprintf("SELECT %s, (%s)::text AS sort_key FROM search_documents WHERE %s ORDER BY %s %s, id %s",
		columns, key.expr, where, key.expr, dir, dir)
	if limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", limit)
	}
	return sql, args, nil
}

func scan(rows pgx.Rows) (Hit, string, error) {
	var h Hit
	var id uuid.UUID
	var key string
	err := rows.Scan(&id, &h.Status, &h.Source, &h.Filename, &h.UserID, &h.Vendor, &h.InvoiceNumber, &h.Date,
		&h.Currency, &h.Total, &h.CreatedAt, &h.UpdatedAt, &h.Deleted, &h.NeedsReview, &key)
	h.ID = id.String()
	return h, key, err
}

// Validate reports what is wrong with the filter, all of it at once.
func (f Filter) Validate() error {
	_, _, err := f.where()
	return err
}

// Find returns one page of matches and the cursor of the next page (empty
// on the last).
func (s *Searcher) Find(ctx context.Context, f Filter, cursor string, limit int) ([]Hit, string, error) {
	limit = min(max(limit, 1), MaxLimit)
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	only, err := s.fewTextMatches(ctx, f)
	if err != nil {
		return nil, "", err
	}
	f.only, f.commonText = only, only == nil && TextQuery(f.Text) != ""
	sql, args, err := f.query(cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search documents: %w", err)
	}
	defer rows.Close()
	hits := []Hit{}
	var keys []string
	for rows.Next() {
		h, key, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("search documents: %w", err)
		}
		hits, keys = append(hits, h), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("search documents: %w", err)
	}
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		sort := f.Sort
		if sort == "" {
			sort = SortCreated
		}
		next = encodeCursor(cursorValue{sort: sort, asc: f.Ascending, key: keys[limit-1], id: hits[limit-1].ID})
	}
	return hits, next, nil
}

// textProbe is how many text matches count as few.
const textProbe = 1000

// fewTextMatches returns the documents the text query matches when they
// are at most textProbe, or nil (no text, or more). PostgreSQL cannot tell
// how many documents a prefix query matches, and walking a sort key's
// index until a page is full is fast for a common word but reads the
// whole index for a rare one, while reading every match to sort them is
// fast for a rare word and slow for a common one. Asking the full-text
// index first, with a limit, costs a few milliseconds; a page among a few
// matches is then read by their ids, and one among many by the walk.
func (s *Searcher) fewTextMatches(ctx context.Context, f Filter) ([]uuid.UUID, error) {
	q := TextQuery(f.Text)
	if q == "" {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM search_documents
		WHERE tenant = $1 AND deleted = $2 AND tsv @@ to_tsquery('simple', $3) LIMIT $4`, f.Tenant, f.Deleted, q, textProbe+1)
	if err != nil {
		return nil, fmt.Errorf("search documents: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("search documents: %w", err)
	}
	if len(ids) > textProbe {
		return nil, nil
	}
	return append([]uuid.UUID{}, ids...), nil // none is still a restriction
}

// Each calls fn with every match in order, reading them from the database
// as fn consumes them, so memory stays flat however many there are. An
// error from fn stops the walk and is returned.
func (s *Searcher) Each(ctx context.Context, f Filter, fn func(Hit) error) error {
	sql, args, err := f.query("", 0)
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("export documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		h, _, err := scan(rows)
		if err != nil {
			return fmt.Errorf("export documents: %w", err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export documents: %w", err)
	}
	return nil
}

type cursorValue struct {
	sort string
	asc  bool
	key  string
	id   string
}

func encodeCursor(c cursorValue) string {
	dir := "d"
	if c.asc {
		dir = "a"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.sort + "\x00" + dir + "\x00" + c.key + "\x00" + c.id))
}

func decodeCursor(s string) (cursorValue, error) {
	if len(s) > 400 {
		return cursorValue{}, errors.New("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursorValue{}, err
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 {
		return cursorValue{}, errors.New("malformed cursor")
	}
	if _, err := uuid.Parse(parts[3]); err != nil {
		return cursorValue{}, err
	}
	return cursorValue{sort: parts[0], asc: parts[1] == "a", key: parts[2], id: parts[3]}, nil
}
