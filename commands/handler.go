package commands

import (
	"context"
	"log/slog"
	"sync"
	"tally/blob"
	"tally/domain"
	"tally/eventstore"
	"time"
)

// Errors that callers (the HTTP layer, workers) branch on, each a
// domain.Error whose kind and message say how to answer it. Domain errors
// (domain.ErrNotFound, domain.ErrInvalidTransition, domain.ErrStaleAttempt)
// pass through wrapped.
var (
	// ErrInvalidInput: the command itself is wrong; retrying cannot help.
	ErrInvalidInput = domain.ErrInvalid
	// ErrBlobStore: the file could not be stored; nothing was recorded.
	ErrBlobStore = domain.NewError(domain.KindUpstream,
		"could not store the file: the blob store is unavailable; nothing was recorded, retry later")
	// ErrEventStore: the event could not be appended or read.
	ErrEventStore = domain.NewError(domain.KindUpstream,
		"could not record the document: the event store is unavailable; retry with the same Idempotency-Key")
)

// Handler runs Tally's commands: each decides with the domain's pure
// functions and changes its document through the repository (Documents).
type Handler struct {
	docs     *Documents
	events   *eventstore.Store
	blobs    blob.Store
	people   People
	log      *slog.Logger
	now      func() time.Time
	verifier EmailVerifier
	quota    Quota

	// deferred counts the checks running after their command answered
	// (at most cap(deferred)); wg waits for them.
	deferred chan struct{}
	wg       sync.WaitGroup
}

// maxDeferred bounds the checks running after their commands answered.
// Past it a check is left to the duplicates consumer, which runs every
// check again from the stream anyway.
const maxDeferred = 64

// deferredTimeout bounds one check that runs after its command answered.
const deferredTimeout = 30 * time.Second

// Quota says whether a tenant may add a document of size bytes; its error
// (a domain error of kind too-many or forbidden) refuses the upload.
type Quota func(ctx context.Context, tenant string, size int64) error

// WithQuota makes every new upload pass q before its file is stored.
// Retries of an upload that was accepted are not counted again.
func WithQuota(q Quota) Option { return func(h *Handler) { h.quota = q } }

// EmailVerifier judges an e-mail's sender at intake (DKIM). The verdict
// is recorded with the document, so it is taken once, not on every replay.
type EmailVerifier func(ctx context.Context, raw []byte) domain.EmailAuth

// Option configures a Handler beyond its required dependencies.
type Option func(*Handler)

// WithPeople gives the handler the user keys that uploads seal users with
// and erasures destroy (personal.Keys). Without it, uploads that name a
// user and EraseUser fail: a user is never written in the clear.
func WithPeople(p People) Option { return func(h *Handler) { h.people = p } }

// WithEmailVerifier makes the handler verify every e-mail it accepts.
// Without one, e-mails are recorded with the verdict "none".
func WithEmailVerifier(v EmailVerifier) Option { return func(h *Handler) { h.verifier = v } }

// New returns a command handler.
func New(events *eventstore.Store, blobs blob.Store, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{docs: NewDocuments(events, log), events: events, blobs: blobs, log: log, now: time.Now,
		deferred: make(chan struct{}, maxDeferred)}
	for _, o := range opts {
		o(h)
	}
	return h
}

// later runs f once the command has answered, on a goroutine of its own
// that outlives the request (Wait waits for it). When maxDeferred are
// already running, f is skipped: what it would do must be made up for
// elsewhere.
func (h *Handler) later(ctx context.Context, f func(ctx context.Context)) {
	select {
	case h.deferred <- struct{}{}:
	default:
		return
	}
	h.wg.Add(1)
	go func() {
		defer func() { <-h.deferred; h.wg.Done() }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deferredTimeout)
		defer cancel()
		f(ctx)
	}()
}

// Wait blocks until the work that commands left to run after answering
// (the duplicate check of a new upload) is done: for a clean shutdown and
// for tests that look at the stream right after a command.
func (h *Handler) Wait() { h.wg.Wait() }

// Documents returns the repository the handler changes documents through,
// for readers of documents.
func (h *Handler) Documents() *Documents { return h.docs }

// envelope wraps an event of an aggregate other than a document (a
// fingerprint, a report, a user) or of a new document.
func (h *Handler) envelope(meta Meta, aggregateID, eventType string, payload any) (domain.Envelope, error) {
	return newEnvelope(h.now(), meta, aggregateID, eventType, payload)
}

// Meta is what every command carries besides its own fields.
type Meta struct {
	Tenant string
	// CommandID makes the command idempotent: the same id, retried any
	// time later, yields the first result and appends nothing.
	CommandID string
	// CorrelationID ties together the log lines and events of one request.
	CorrelationID string
}

// Result says what a command did to a document.
type Result struct {
	DocumentID string
	Status     domain.Status
	Attempt    int
	CreatedAt  time.Time
	BlobKey    string
	// Sequence is the stream sequence of the event the command appended
	// (or had appended the first time).
	Sequence uint64
	// Replayed is true when the command had already run and this is its
	// earlier result.
	Replayed bool
}
