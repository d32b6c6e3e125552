package http

import (
	"context"
	"errors"
	"log/slog"
	stdhttp "net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"tally/apikeys"
	"tally/commands"
	"tally/docsui"
	"tally/domain"
	"tally/ereceipts"
	ereceiptapi "tally/http/ereceipts"
	"tally/http/rawbody"
	"tally/mailbox"
	"tally/metrics"
	"tally/notify"
	"tally/personal"
	"tally/probe"
	"tally/ratelimit"
	"tally/readmodel"
	"tally/reprocess"
	"tally/search"
	"tally/tracing"
	"tally/webhooks"
)

// Check is one dependency the health endpoints report on.
type Check = probe.Check

// Deps are what the API needs. All are required except Redis, without
// which Idempotency-Key still holds (through the event store) but a reused
// key with a different body is no longer detected.
type Deps struct {
	// Metrics, when set, counts requests by route and status.
	Metrics  *metrics.Metrics
	Commands *commands.Handler
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Keys     *apikeys.Keys
	Checks   []Check
	// Links and Reports serve e-mail preferences, unsubscribe links and
	// monthly reports; without them those routes are absent.
	Links   *notify.Links
	Reports *notify.Reporter
	// EReceipts holds the e-receipt API's settings; without it the
	// /ereceipts routes are absent. EReceiptResults, when set, keeps the
	// results webhook in step with the settings.
	EReceipts       *ereceipts.Store
	EReceiptResults ereceiptapi.Results
	// Preview, when set, lets a reprocess dry run show field-level
	// changes by extracting the documents again.
	Preview reprocess.Previewer
	// Webhooks keeps tenants' webhook endpoints; without it their routes
	// answer 503.
	Webhooks *webhooks.Store
	// Mailboxes serves linked mailboxes and forwarding senders; without it
	// those routes are absent.
	Mailboxes *mailbox.Service
	// Personal opens users for the as-of view and erases them
	// (DELETE /v1/users/{email}); without it that route is absent.
	Personal *personal.Keys
	// Pages, when set, is the web app for people, mounted on its own paths
	// beside the API (package web).
	Pages interface{ Mount(*stdhttp.ServeMux) }
	// DeletionGrace is how long a deleted document can be restored.
	DeletionGrace time.Duration
	// MaxFileSize is the largest accepted file in bytes.
	MaxFileSize int64
	// RateLimits, when set, bounds calls per API key and client address
	// (http/ratelimit.go); ClientIPHeader names the header a reverse proxy
	// puts the client's address in, or "" to use the peer's.
	RateLimits     *ratelimit.Limiter
	ClientIPHeader string
	Version        string
	Log            *slog.Logger
	// Tracing, when set, makes a span of every request in the trace of
	// its request id (http/tracing.go).
	Tracing *tracing.Tracer
}

// Server is Tally's HTTP API.
type Server struct {
	deps    Deps
	queries *readmodel.Queries
	api     huma.API
	mux     *stdhttp.ServeMux
	dryRuns *dryRuns
	search  *search.Searcher
}

type ctxKey int

const (
	tenantKey ctxKey = iota
	requestIDKey
)

// bearerAuth names the security scheme in the OpenAPI document.
const bearerAuth = "bearer"

// New builds the API and registers every operation.
func New(deps Deps) *Server {
	mux := stdhttp.NewServeMux()
	cfg := huma.DefaultConfig("Tally API", deps.Version)
	cfg.Info.Description = "Self-hosted invoice and e-receipt processing. Every change is an event in JetStream; " +
		"reads come from PostgreSQL read models built from those events, so a read can trail a write by a moment."
	// No $schema links in bodies: the seed endpoints keep their exact shapes.
	cfg.CreateHooks = nil
	cfg.DocsPath = "" // huma's page loads scripts from a CDN; docsui serves an offline one
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerAuth: {Type: "http", Scheme: "bearer", Description: "An API key made with `tally apikey create --tenant NAME`."},
	}
	api := humago.New(mux, cfg)
	// Health routes are public: their checks ping each dependency at most
	// once per probe.CheckTTL however often they are called.
	deps.Checks = probe.Cached(deps.Checks, probe.CheckTTL)
	s := &Server{deps: deps, queries: readmodel.New(deps.Pool), api: api, mux: mux, dryRuns: newDryRuns(deps.Redis),
		search: search.New(deps.Pool)}
	api.UseMiddleware(rawbody.Limit, s.rateLimit, s.authenticate)
	docs := docsui.Handler("/docs", "/openapi.json", "Tally API")
	mux.Handle("/docs", docs)
	mux.Handle("/docs/", docs)
	s.registerHealth()
	s.registerExport()
	s.registerDocuments()
	s.registerUploads()
	s.registerIngest()
	s.registerUsers()
	s.registerConsent()
	s.registerAudit()
	s.registerCorrections()
	s.registerReprocess()
	if deps.EReceipts != nil {
		ed := ereceiptapi.Deps{Keys: deps.Keys, Settings: deps.EReceipts, Results: deps.EReceiptResults,
			Commands: deps.Commands, MaxFileSize: deps.MaxFileSize, RequestID: requestID, Log: deps.Log}
		if deps.Personal != nil {
			ed.Users = deps.Personal
		}
		ereceiptapi.Register(api, ed)
	}
	s.registerWebhooks()
	s.registerMailboxes()
	s.registerErasure()
	if deps.Pages != nil {
		deps.Pages.Mount(mux)
	}
	return s
}

// Handler is the root handler with request ids and access logs.
func (s *Server) Handler() stdhttp.Handler {
	return stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 100 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		start := time.Now()
		ctx, traced := s.traceRequest(ctx, id, r)
		req := r.WithContext(ctx)
		s.mux.ServeHTTP(rec, req)
		traced(req, rec.status)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		took := time.Since(start)
		s.deps.Log.Log(ctx, level, "http request", "request_id", id, "method", r.Method, "path", loggedPath(req),
			"status", rec.status, "duration_ms", took.Milliseconds())
		if m := s.deps.Metrics; m != nil {
			// The pattern alone: paths carry ids and addresses, and an
			// unmatched path would make a series per scanner's guess.
			route := req.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
			m.HTTPSeconds.WithLabelValues(route).Observe(took.Seconds())
		}
	})
}

type statusRecorder struct {
	stdhttp.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() stdhttp.ResponseWriter { return r.ResponseWriter }

// authenticate resolves the bearer key of operations that declare the
// security scheme and puts the tenant in the context.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	auth := ctx.Header("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="tally"`)
		_ = huma.WriteErr(s.api, ctx, stdhttp.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <api key>")
		return
	}
	tenant, err := s.deps.Keys.Tenant(ctx.Context(), strings.TrimSpace(key))
	if errors.Is(err, apikeys.ErrUnknownKey) {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="tally", error="invalid_token"`)
		_ = huma.WriteErr(s.api, ctx, stdhttp.StatusUnauthorized, "unknown or revoked API key")
		return
	}
	if err != nil {
		s.deps.Log.ErrorContext(ctx.Context(), "api key lookup failed", "err", err, "request_id", requestID(ctx.Context()))
		_ = huma.WriteErr(s.api, ctx, stdhttp.StatusServiceUnavailable, "database unavailable")
		return
	}
	next(huma.WithValue(ctx, tenantKey, tenant))
}

func tenantOf(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey).(string)
	return t
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// secured marks an operation as needing a bearer key.
func secured(op huma.Operation) huma.Operation {
	op.Security = []map[string][]string{{bearerAuth: {}}}
	op.Errors = append(op.Errors, stdhttp.StatusUnauthorized)
	return op
}

// fail answers an error from the commands or the read side as problem
// details. An error without a kind is Tally's own fault (500).
func (s *Server) fail(ctx context.Context, err error) error {
	return s.problem(ctx, err, domain.KindInternal)
}

// storeFail answers an error from a store that only the database backs
// (webhooks, mailboxes): one without a kind means the database is down.
func (s *Server) storeFail(ctx context.Context, err error) error {
	return s.problem(ctx, err, domain.KindUnavailable)
}

// problem maps an error onto RFC 9457 problem details by its kind and
// public message (domain.Error). This is the one place where errors meet
// status codes; the e-receipt routes (http/ereceipts) map the same kinds
// onto their envelope codes.
func (s *Server) problem(ctx context.Context, err error, fallback domain.Kind) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	kind, msg := domain.KindOf(err), domain.PublicMessage(err)
	if msg == "" {
		if errors.Is(err, context.Canceled) {
			return huma.NewError(499, "request cancelled")
		}
		kind = fallback
	}
	switch kind {
	case domain.KindInvalid:
		return huma.Error400BadRequest(msg)
	case domain.KindUnprocessable:
		return huma.Error422UnprocessableEntity(msg)
	case domain.KindNotFound:
		return huma.Error404NotFound(msg)
	case domain.KindConflict:
		return huma.Error409Conflict(msg)
	case domain.KindForbidden:
		return huma.Error403Forbidden(msg)
	case domain.KindTooMany:
		return withRetryAfter(huma.Error429TooManyRequests(msg), err)
	case domain.KindUpstream:
		s.logError(ctx, "a store failed", err)
		return huma.Error502BadGateway(msg)
	case domain.KindUnavailable:
		if msg == "" {
			return s.dbFail(ctx, err)
		}
		s.logError(ctx, "a dependency is unavailable", err)
		return withRetryAfter(huma.Error503ServiceUnavailable(msg), err)
	default:
		s.logError(ctx, "request failed", err)
		return huma.Error500InternalServerError("internal error; see the server log for request " + requestID(ctx))
	}
}

// withRetryAfter adds the Retry-After header when the error says how long
// to wait.
func withRetryAfter(se huma.StatusError, err error) error {
	var e *domain.Error
	if !errors.As(err, &e) || e.RetryAfter <= 0 {
		return se
	}
	return huma.ErrorWithHeaders(se, stdhttp.Header{"Retry-After": {strconv.Itoa(int(e.RetryAfter.Seconds()))}})
}

// dbFail answers a failed read-model query: the database is the only thing
// a read touches, so a failure means it is unavailable.
func (s *Server) dbFail(ctx context.Context, err error) error {
	s.logError(ctx, "read model query failed", err)
	return huma.Error503ServiceUnavailable("database unavailable")
}

func (s *Server) logError(ctx context.Context, msg string, err error) {
	s.deps.Log.ErrorContext(ctx, msg, "err", err, "request_id", requestID(ctx))
}

// Close stops the work the server runs beside its requests (reprocess
// dry runs) and waits for it; call it after the HTTP server has shut down.
func (s *Server) Close() { s.dryRuns.Close() }

// OpenAPI returns the generated document, for tests and `tally openapi`.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
