package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The event contract (docs/events.md in Tally's repository). This program
// reads only the fields it needs and ignores everything else, as the
// contract asks.
const (
	typeDocumentUploaded    = "DocumentUploaded"
	typeExtractionRequested = "ExtractionRequested"
	typeReceiptExtracted    = "ReceiptExtracted"
	typeExtractionRevised   = "ExtractionRevised"
	typeDocumentCorrected   = "DocumentCorrected"
	typeDocumentDeleted     = "DocumentDeleted"
	typeDocumentRestored    = "DocumentRestored"
	typeDocumentPurged      = "DocumentPurged"
	typeDuplicateDetected   = "DuplicateDetected"

	aggregateDocument = "document"

	// schemaVersion is the newest payload version this program knows of
	// the types it reads: 3 for DocumentUploaded (sealed user, then sealed
	// file name and e-mail fields, none of which it reads), 1 for the
	// others.
	schemaVersion = 1
	uploadVersion = 3

	// noCurrency is ISO 4217's "no currency", for totals found without one.
	noCurrency = "XXX"
)

var (
	decimalAmount = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)
	isoDate       = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

type envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Tenant        string          `json:"tenant"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Data          json.RawMessage `json:"data"`
}

type documentUploaded struct {
	// UserID is the user's pseudonym (schema version 2). The name and
	// e-mail beside it are sealed with a key only Tally holds, and the
	// totals do not need them.
	UserID string `json:"user_id"`
	// User is schema version 1's user, in the clear.
	User struct {
		Email string `json:"email"`
	} `json:"user"`
	UploadedAt time.Time `json:"uploaded_at"`
	Attempt    int       `json:"attempt"`
}

type extractionRequested struct {
	Attempt int `json:"attempt"`
}

// receiptExtracted is the payload of ReceiptExtracted, and of
// ExtractionRevised, which carries the same attempt and fields.
type receiptExtracted struct {
	Attempt int    `json:"attempt"`
	Fields  values `json:"fields"`
}

type documentCorrected struct {
	Corrections values `json:"corrections"`
}

// values are the fields of a document that the totals depend on.
type values struct {
	Date     string `json:"date,omitempty"`
	Currency string `json:"currency,omitempty"`
	Total    string `json:"total,omitempty"`
}

// over returns v with every field that o has in its place: a user's
// correction wins over the machine's value, field by field.
func (v values) over(o values) values {
	if o.Date != "" {
		v.Date = o.Date
	}
	if o.Currency != "" {
		v.Currency = o.Currency
	}
	if o.Total != "" {
		v.Total = o.Total
	}
	return v
}

// Key names one monthly total. User is the user's pseudonymous id
// (user_id), as Tally keys its own totals; for a document uploaded before
// Tally sealed users (schema version 1) it is "email:" and the address, the
// only name such an event has. Empty for documents without a user.
type Key struct {
	Tenant   string `json:"tenant"`
	User     string `json:"user_id"`
	Month    string `json:"month"`
	Currency string `json:"currency"`
}

// Row is one monthly total: what a user spent in a month in a currency,
// over how many documents.
type Row struct {
	Key
	Total     string `json:"total"`
	Documents int64  `json:"documents"`
}

// document is what the totals need to remember per document.
type document struct {
	User       string    `json:"user_id"`
	UploadedAt time.Time `json:"uploaded_at"`
	// Attempt is the extraction attempt currently asked for; only its
	// result counts.
	Attempt int `json:"attempt"`
	// Machine holds the fields of the latest result that counted,
	// Corrections the user's values (all of them, as the newest
	// DocumentCorrected has them). The document counts with Corrections
	// over Machine.
	Machine     values `json:"machine"`
	Corrections values `json:"corrections"`
	// Deleted documents count nowhere until they are restored.
	Deleted bool `json:"deleted,omitempty"`
	// Duplicate documents copy an earlier one, which already counts; they
	// never count again.
	Duplicate bool `json:"duplicate,omitempty"`
	// Counted is what the document adds to the totals now, nil when it
	// adds nothing.
	Counted *contribution `json:"counted,omitempty"`
}

type contribution struct {
	Month    string `json:"month"`
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

type sum struct {
	total     decimal
	documents int64
}

// State is the subscriber's own read model: monthly totals, the
// per-document facts behind them, and the last stream sequence applied.
// It is safe for concurrent use.
type State struct {
	mu     sync.Mutex
	filter string
	// stream names the incarnation of the stream the sequences belong to.
	stream  string
	lastSeq uint64
	docs    map[string]*document
	totals  map[Key]*sum
}

// NewState returns an empty state for events matching filter.
func NewState(filter string) *State {
	return &State{filter: filter, docs: map[string]*document{}, totals: map[Key]*sum{}}
}

// LastSeq is the stream sequence of the last event applied.
func (s *State) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq
}

// Bind ties the State to one incarnation of the stream, named by its
// name and creation time. Sequences of a stream that was recreated (an
// operator restored Tally on an empty server) start again at 1, so a
// State built from another incarnation is emptied; reset says so.
func (s *State) Bind(stream string) (reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.stream {
	case stream:
		return false
	case "":
		s.stream = stream // a new State
		return false
	}
	s.stream, s.lastSeq = stream, 0
	s.docs, s.totals = map[string]*document{}, map[Key]*sum{}
	return true
}

// ErrNewerSchema means Tally wrote an event in a schema version this
// program does not know: it must be upgraded, not guess.
var ErrNewerSchema = errors.New("event schema version newer than this subscriber understands")

// Apply applies the event stored at stream sequence seq. An event at or
// below the last sequence applied is a redelivery and changes nothing
// (applied is false). An event that cannot be read is an error and
// changes nothing either; the caller must not acknowledge it.
func (s *State) Apply(seq uint64, body []byte) (applied bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.lastSeq {
		return false, nil
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return false, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	if err := s.apply(e); err != nil {
		return false, fmt.Errorf("%s %s at sequence %d: %w", e.Type, e.ID, seq, err)
	}
	s.lastSeq = seq
	return true, nil
}

func (s *State) apply(e envelope) error {
	if e.AggregateType != aggregateDocument {
		return nil
	}
	switch e.Type {
	case typeDocumentUploaded, typeExtractionRequested, typeReceiptExtracted, typeExtractionRevised,
		typeDocumentCorrected, typeDocumentDeleted, typeDocumentRestored, typeDocumentPurged, typeDuplicateDetected:
		known := schemaVersion
		if e.Type == typeDocumentUploaded {
			known = uploadVersion
		}
		if e.SchemaVersion > known {
			return fmt.Errorf("version %d: %w", e.SchemaVersion, ErrNewerSchema)
		}
	default:
		return nil // a type the totals do not depend on, or one added later
	}
	id := e.Tenant + "/" + e.AggregateID
	doc := s.docs[id]
	switch e.Type {
	case typeDocumentUploaded:
		var p documentUploaded
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return err
		}
		if doc != nil {
			return nil // the first upload event of a document is the one
		}
		at := p.UploadedAt
		if at.IsZero() {
			at = e.OccurredAt
		}
		user := p.UserID
		if user == "" && p.User.Email != "" {
			user = "email:" + p.User.Email
		}
		s.docs[id] = &document{User: user, UploadedAt: at.UTC(), Attempt: max(p.Attempt, 1)}
	case typeExtractionRequested:
		var p extractionRequested
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return err
		}
		if doc != nil && p.Attempt > doc.Attempt {
			doc.Attempt = p.Attempt
		}
	case typeReceiptExtracted, typeExtractionRevised:
		var p receiptExtracted
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return err
		}
		if doc == nil || p.Attempt != doc.Attempt {
			return nil // a document never seen uploaded, or a stale attempt
		}
		doc.Machine = p.Fields // replaces the earlier result as a whole
		s.recount(e.Tenant, doc)
	case typeDocumentCorrected:
		var p documentCorrected
		if err := json.Unmarshal(e.Data, &p); err != nil {
			return err
		}
		if doc == nil {
			return nil
		}
		doc.Corrections = p.Corrections // cumulative: all of the user's values
		s.recount(e.Tenant, doc)
	case typeDocumentDeleted, typeDocumentRestored:
		if doc == nil {
			return nil
		}
		doc.Deleted = e.Type == typeDocumentDeleted
		s.recount(e.Tenant, doc)
	case typeDuplicateDetected:
		if doc == nil {
			return nil
		}
		doc.Duplicate = true
		s.recount(e.Tenant, doc)
	case typeDocumentPurged:
		// Nothing brings a purged document back, so what the state keeps
		// about it (an address, amounts) can go. It counts nowhere already.
		if doc != nil && doc.Deleted {
			delete(s.docs, id)
		}
	}
	return nil
}

// recount replaces what doc adds to the totals with what its values call
// for now: nothing when it is deleted or has no total. It takes back and
// adds again even when nothing changed, as Tally does, since that restarts
// a total the document was alone in (and so the decimals it shows).
func (s *State) recount(tenant string, doc *document) {
	if c := doc.Counted; c != nil {
		amount, _ := parseDecimal(c.Amount)
		s.add(Key{tenant, doc.User, c.Month, c.Currency}, amount.neg(), -1)
		doc.Counted = nil
	}
	if doc.Deleted || doc.Duplicate {
		return
	}
	eff := doc.Machine.over(doc.Corrections)
	amount, ok := parseDecimal(eff.Total)
	if !ok {
		return // no total, no contribution
	}
	month := doc.UploadedAt.UTC().Format("2006-01")
	if isoDate.MatchString(eff.Date) {
		month = eff.Date[:7]
	}
	currency := eff.Currency
	if currency == "" {
		currency = noCurrency
	}
	s.add(Key{tenant, doc.User, month, currency}, amount, 1)
	doc.Counted = &contribution{Month: month, Currency: currency, Amount: eff.Total}
}

func (s *State) add(k Key, amount decimal, documents int64) {
	t := s.totals[k]
	if t == nil {
		t = &sum{total: zero()}
		s.totals[k] = t
	}
	t.total = t.total.add(amount)
	t.documents += documents
	if t.documents == 0 {
		delete(s.totals, k)
	}
}

// Rows returns the totals of tenant (all tenants when empty) and month
// (all months when empty), sorted by tenant, user, month and currency.
func (s *State) Rows(tenant, month string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rows(tenant, month)
}

func (s *State) rows(tenant, month string) []Row {
	rows := []Row{}
	for k, t := range s.totals {
		if (tenant == "" || k.Tenant == tenant) && (month == "" || k.Month == month) {
			rows = append(rows, Row{Key: k, Total: t.total.String(), Documents: t.documents})
		}
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return strings.Compare(
			a.Tenant+"\x00"+a.User+"\x00"+a.Month+"\x00"+a.Currency,
			b.Tenant+"\x00"+b.User+"\x00"+b.Month+"\x00"+b.Currency)
	})
	return rows
}

// stateFile is the JSON form of State.
type stateFile struct {
	Version   int                  `json:"version"`
	Filter    string               `json:"filter"`
	Stream    string               `json:"stream"`
	LastSeq   uint64               `json:"last_seq"`
	Documents map[string]*document `json:"documents"`
	Totals    []Row                `json:"totals"`
}

// stateVersion is the version of the state file. Version 1 (before
// corrections and deletions) lacks the per-document values a correction
// needs, so such a file is not loaded: the totals are built again from
// the stream.
// Version 2 keyed totals by e-mail address; version 3 keys them by the
// user's pseudonymous id, so an older file is rebuilt from the stream.
const stateVersion = 3

// Save writes the state to path atomically: a crash leaves the old file
// or the new one, never half of one.
func (s *State) Save(path string) error {
	s.mu.Lock()
	data, err := json.Marshal(stateFile{Version: stateVersion, Filter: s.filter, Stream: s.stream, LastSeq: s.lastSeq,
		Documents: s.docs, Totals: s.rows("", "")})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadState reads the state saved at path, or returns an empty one when
// there is no file yet. A file made for another filter is refused: its
// totals would mix two selections of events.
func LoadState(path, filter string) (*State, error) {
	s := NewState(filter)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if f.Filter != filter {
		return nil, fmt.Errorf("state file %s was built from %q, not %q: use another state file and durable name", path, f.Filter, filter)
	}
	switch {
	case f.Version < stateVersion:
		return s, nil // an older format: start over from the stream
	case f.Version > stateVersion:
		return nil, fmt.Errorf("state file %s: version %d, newer than this program's %d", path, f.Version, stateVersion)
	}
	s.stream, s.lastSeq = f.Stream, f.LastSeq
	if f.Documents != nil {
		s.docs = f.Documents
	}
	for _, r := range f.Totals {
		d, ok := parseDecimal(r.Total)
		if !ok {
			return nil, fmt.Errorf("state file %s: total %q is not a decimal", path, r.Total)
		}
		s.totals[r.Key] = &sum{total: d, documents: r.Documents}
	}
	return s, nil
}

// decimal is an exact decimal number: unscaled × 10^-scale. Sums keep the
// largest scale of their terms, so "10.50" + "1" prints as "11.50", the
// way PostgreSQL's numeric (and so Tally's own totals) prints it.
type decimal struct {
	unscaled *big.Int
	scale    int
}

func zero() decimal { return decimal{unscaled: new(big.Int)} }

// parseDecimal reads a decimal string as Tally writes amounts; ok is false
// for anything else, which then counts nowhere.
func parseDecimal(s string) (decimal, bool) {
	if !decimalAmount.MatchString(s) {
		return decimal{}, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	u, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return decimal{}, false
	}
	return decimal{unscaled: u, scale: len(frac)}, true
}

func (d decimal) rescale(scale int) *big.Int {
	return new(big.Int).Mul(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
}

func (d decimal) add(o decimal) decimal {
	scale := max(d.scale, o.scale)
	return decimal{unscaled: new(big.Int).Add(d.rescale(scale), o.rescale(scale)), scale: scale}
}

func (d decimal) neg() decimal {
	return decimal{unscaled: new(big.Int).Neg(d.unscaled), scale: d.scale}
}

func (d decimal) String() string {
	digits := new(big.Int).Abs(d.unscaled).String()
	if d.scale > 0 {
		if len(digits) <= d.scale {
			digits = strings.Repeat("0", d.scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d.scale] + "." + digits[len(digits)-d.scale:]
	}
	if d.unscaled.Sign() < 0 {
		return "-" + digits
	}
	return digits
}
