// Package ereceipts serves the e-receipt API in the BlinkReceipt shapes:
// an `api-key` header (a Tally API key), answers wrapped in
// {"success", "error": {"code", "message"}}, its field names. Every
// answer, errors included, has that envelope, so these routes check the
// key and parse bodies themselves instead of leaving it to the
// problem-details machinery of /v1. The key is resolved once, by route,
// before a handler runs; errors map onto envelope codes by their
// domain.Kind, as /v1 maps them onto status codes.
package ereceipts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	stdhttp "net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"tally/apikeys"
	"tally/commands"
	"tally/domain"
	store "tally/ereceipts"
	"tally/http/rawbody"
	"tally/personal"
	"tally/webhooks"
)

// Error codes of the e-receipt API. 101 is the vendor's; the rest are
// Tally's and documented in the README.
const (
	codeBadKey        = 101
	codeBadRequest    = 102
	codeNotFound      = 103
	codeNotConfigured = 104
	codeTooLarge      = 105
	codeUnavailable   = 106
	codeInternal      = 107
)

// Results keeps the webhook that carries a tenant's results to its
// results_endpoint in step with the settings.
type Results = store.ResultsEndpoints

// failure is an answer other than success: its HTTP status, envelope
// code and message.
type failure struct {
	status, code int
	msg          string
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type envelope struct {
	Success bool      `json:"success"`
	Error   *apiError `json:"error,omitempty"`
}

func (e *envelope) setError(x *apiError) { e.Success, e.Error = false, x }

type reply interface{ setError(*apiError) }

type output[T any] struct {
	Status int
	Body   T
}

func fail[T any, PT interface {
	*T
	reply
}](status, code int, format string, args ...any) *output[T] {
	var body T
	PT(&body).setError(&apiError{Code: code, Message: fmt.Sprintf(format, args...)})
	return &output[T]{Status: status, Body: body}
}

// failAs answers f in the envelope of reply R.
func failAs[R any, PR interface {
	*R
	reply
}](f failure) *output[R] {
	return fail[R, PR](f.status, f.code, "%s", f.msg)
}

// IsRoute says whether op is one of these routes, whose every answer is
// the envelope, never problem details: the clients of this API read
// only the envelope.
func IsRoute(op *huma.Operation) bool {
	return op != nil && strings.HasPrefix(op.OperationID, "ereceipts-")
}

// WriteTooMany answers 429 in the envelope, for the rate limit that runs
// before the routes do.
func WriteTooMany(ctx huma.Context, msg string) {
	ctx.SetHeader("Content-Type", "application/json")
	ctx.SetStatus(stdhttp.StatusTooManyRequests)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(envelope{Error: &apiError{Code: codeBadRequest, Message: msg}})
}

func success[T any](body T) *output[T] {
	return &output[T]{Status: stdhttp.StatusOK, Body: body}
}

// Deps are what the e-receipt routes need.
type Deps struct {
	Keys *apikeys.Keys
	// Settings holds each tenant's e-receipt settings and job numbers.
	Settings *store.Store
	// Results, when set, keeps the results webhook in step with the
	// settings.
	Results  Results
	Commands *commands.Handler
	// Users opens a job's Private (subject, email_hash, client_user_id),
	// sealed with its user's key; without it they are left out.
	Users personal.Opener
	// MaxFileSize is the largest accepted e-mail in bytes.
	MaxFileSize int64
	// RequestID names the request in answers and logs.
	RequestID func(context.Context) string
	Log       *slog.Logger
}

type routes struct{ Deps }

func (r *routes) logError(ctx context.Context, msg string, err error) {
	r.Log.ErrorContext(ctx, msg, "err", err, "request_id", r.RequestID(ctx))
}

// Inputs of the e-receipt routes. Each names its own parameters (huma
// reads no parameters from embedded structs); the body is read raw, so
// that even a malformed one is answered in the envelope.
type configInput struct {
	APIKey string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	raw    rawbody.Body
}

type jobInput struct {
	APIKey         string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	IdempotencyKey string `header:"Idempotency-Key" doc:"Makes create_job safe to retry: the same key and e-mail give the same job."`
	raw            rawbody.Body
}

type statusInput struct {
	APIKey string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	JobID  string `query:"job_id" doc:"The job, as create_job returned it."`
}

type retailersInput struct {
	APIKey string   `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	Email  []string `query:"email" doc:"Sender addresses to remove; or send {\"retailers\": [...]}."`
	raw    rawbody.Body
}

func (i *configInput) Resolve(ctx huma.Context) []error    { i.raw.Capture(ctx); return nil }
func (i *jobInput) Resolve(ctx huma.Context) []error       { i.raw.Capture(ctx); return nil }
func (i *retailersInput) Resolve(ctx huma.Context) []error { i.raw.Capture(ctx); return nil }

// tenant resolves the api-key header to its tenant, or to the failure
// to answer.
func (r *routes) tenant(ctx context.Context, key string) (string, *failure) {
	key = strings.TrimSpace(key)
	if key == "" {
		return "", &failure{stdhttp.StatusUnauthorized, codeBadKey, "missing api-key header"}
	}
	tenant, err := r.Keys.Tenant(ctx, key)
	if errors.Is(err, apikeys.ErrUnknownKey) {
		return "", &failure{stdhttp.StatusUnauthorized, codeBadKey, "unknown or revoked api-key"}
	}
	if err != nil {
		r.logError(ctx, "api key lookup failed", err)
		return "", &failure{stdhttp.StatusServiceUnavailable, codeUnavailable, "database unavailable"}
	}
	return tenant, nil
}

// keyed is an input that carries the api-key header.
type keyed interface{ apiKey() string }

func (i *configInput) apiKey() string    { return i.APIKey }
func (i *jobInput) apiKey() string       { return i.APIKey }
func (i *statusInput) apiKey() string    { return i.APIKey }
func (i *retailersInput) apiKey() string { return i.APIKey }

// handle registers an operation whose handler runs only for a known key,
// with the key's tenant; every other request is answered in the envelope
// here, once for all routes.
func handle[I any, PI interface {
	*I
	keyed
}, R any, PR interface {
	*R
	reply
}](api huma.API, r *routes, op huma.Operation, fn func(ctx context.Context, tenant string, in *I) *output[R]) {
	huma.Register(api, op, func(ctx context.Context, in *I) (*output[R], error) {
		tenant, f := r.tenant(ctx, PI(in).apiKey())
		if f != nil {
			return failAs[R, PR](*f), nil
		}
		return fn(ctx, tenant, in), nil
	})
}

// Settings as the e-receipt API sends and shows them.
type retailer struct {
	Email      string `json:"email"`
	DayCutoff  *int   `json:"day_cutoff,omitempty"`
	DateCutoff *int64 `json:"date_cutoff,omitempty" doc:"UNIX time."`
}

type settings struct {
	ResultsEndpoint string      `json:"results_endpoint"`
	DayCutoff       *int        `json:"day_cutoff,omitempty"`
	DateCutoff      *int64      `json:"date_cutoff,omitempty" doc:"UNIX time."`
	UseAggregation  bool        `json:"use_aggregation"`
	ReturnEML       bool        `json:"return_eml"`
	Retailers       *[]retailer `json:"retailers,omitempty"`
}

type configReply struct {
	envelope
	settings
	UpdatedAt string `json:"updated_at,omitempty"`
	// The results travel as a Tally webhook: its deliveries are at
	// GET /v1/webhooks/{id}/deliveries, and the secret that signs them is
	// shown once, when the endpoint is first set.
	ResultsWebhookID string `json:"results_webhook_id,omitempty"`
	ResultsSecret    string `json:"results_secret,omitempty" doc:"Signing secret of the results (webhook-signature header), shown once."`
}

type retailersReply struct {
	envelope
	Retailers []retailer `json:"retailers"`
	Deleted   *int64     `json:"deleted,omitempty"`
}

type jobReply struct {
	envelope
	JobID uint64 `json:"job_id,omitempty"`
}

type statusReply struct {
	envelope
	JobID          uint64          `json:"job_id,omitempty"`
	Status         string          `json:"status,omitempty" enum:"queued,executing,completed,error"`
	BlinkReceiptID string          `json:"blinkReceiptId,omitempty" doc:"The Tally document id."`
	ErrorMessage   string          `json:"error_message,omitempty"`
	EReceipt       *store.EReceipt `json:"ereceipt,omitempty" doc:"The result, once completed (the same object the results endpoint receives)."`
}

func cutoffOut(c store.Cutoff) (*int, *int64) {
	if c.Date != nil {
		t := c.Date.Unix()
		return nil, &t
	}
	if c.Days > 0 {
		d := c.Days
		return &d, nil
	}
	return nil, nil
}

func cutoffIn(days *int, date *int64) store.Cutoff {
	var c store.Cutoff
	if days != nil {
		c.Days = *days
		if c.Days == 0 {
			c.Days = -1 // zero days is not a cutoff; let validation say so
		}
	}
	if date != nil {
		t := time.Unix(*date, 0).UTC()
		c.Date = &t
	}
	return c
}

func retailersOut(rs []store.Retailer) []retailer {
	out := make([]retailer, 0, len(rs))
	for _, r := range rs {
		days, date := cutoffOut(r.Cutoff)
		out = append(out, retailer{Email: r.Email, DayCutoff: days, DateCutoff: date})
	}
	return out
}

const maxSettingsBytes = 1 << 20

// Register adds the /ereceipts routes to api.
func Register(api huma.API, d Deps) {
	r := &routes{d}
	tags := []string{"E-receipts (BlinkReceipt compatible)"}
	note := " Send the header `api-key: <Tally API key>`. Every answer is `{\"success\": bool, \"error\": {\"code\", \"message\"}}` plus its fields; " +
		"error codes: 101 missing or wrong key, 102 invalid request, 103 no such job, 104 no results_endpoint configured, 105 too large, 106 unavailable, 107 internal."

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-set-config", Method: stdhttp.MethodPost, Path: "/ereceipts/config", Tags: tags,
		Summary: "Set the e-receipt settings",
		Description: "JSON: `results_endpoint` (required; parsed receipts are POSTed there as an array of EReceipt objects, signed like every Tally webhook), " +
			"exactly one of `day_cutoff` (days) or `date_cutoff` (UNIX time), `use_aggregation` (one receipt per order from its several e-mails), " +
			"`return_eml` (include the raw e-mail in results), `retailers` (`[{email, day_cutoff | date_cutoff}]`; left out = keep the current list)." + note,
		MaxBodyBytes: maxSettingsBytes,
	}, func(ctx context.Context, tenant string, in *configInput) *output[configReply] {
		body, err := io.ReadAll(in.raw.Reader)
		if rawbody.TooLarge(err) {
			return fail[configReply](413, codeTooLarge, "the settings are larger than %d bytes", maxSettingsBytes)
		}
		if err != nil {
			return fail[configReply](400, codeBadRequest, "reading the body: %v", err)
		}
		var req settings
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return fail[configReply](400, codeBadRequest, "the body must be a JSON object of settings: %v", err)
		}
		cfg := store.Config{ResultsEndpoint: strings.TrimSpace(req.ResultsEndpoint), Cutoff: cutoffIn(req.DayCutoff, req.DateCutoff),
			UseAggregation: req.UseAggregation, ReturnEML: req.ReturnEML}
		if req.Retailers != nil {
			for _, r := range *req.Retailers {
				cfg.Retailers = append(cfg.Retailers, store.Retailer{Email: strings.TrimSpace(r.Email), Cutoff: cutoffIn(r.DayCutoff, r.DateCutoff)})
			}
		} else if cfg.Retailers, err = r.Settings.Retailers(ctx, tenant); err != nil {
			r.logError(ctx, "load retailers", err)
			return fail[configReply](503, codeUnavailable, "database unavailable")
		}
		webhookID, secret, err := r.Settings.Configure(ctx, tenant, cfg, r.Results)
		switch {
		case errors.Is(err, store.ErrInvalid):
			return fail[configReply](400, codeBadRequest, "%s", strings.ReplaceAll(domain.PublicMessage(err), "\n", "; "))
		case errors.Is(err, webhooks.ErrInvalid):
			return fail[configReply](400, codeBadRequest, "results_endpoint: %s", domain.PublicMessage(err))
		case errors.Is(err, store.ErrResultsEndpoint):
			r.logError(ctx, "set results webhook", err)
			return fail[configReply](503, codeUnavailable, "could not register the results endpoint; retry")
		case err != nil:
			r.logError(ctx, "store e-receipt settings", err)
			return fail[configReply](503, codeUnavailable, "database unavailable")
		}
		out := r.config(ctx, tenant)
		out.Body.ResultsWebhookID, out.Body.ResultsSecret = webhookID, secret
		return out
	})

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-get-config", Method: stdhttp.MethodGet, Path: "/ereceipts/config", Tags: tags,
		Summary: "Show the e-receipt settings", Description: "The active settings, retailers included." + note,
	}, func(ctx context.Context, tenant string, in *configInput) *output[configReply] {
		return r.config(ctx, tenant)
	})

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-get-retailers", Method: stdhttp.MethodGet, Path: "/ereceipts/retailers", Tags: tags,
		Summary: "List the retailers", Description: "The sender addresses whose e-mails are receipts, with their own cutoffs." + note,
	}, func(ctx context.Context, tenant string, in *configInput) *output[retailersReply] {
		rs, err := r.Settings.Retailers(ctx, tenant)
		if err != nil {
			r.logError(ctx, "load retailers", err)
			return fail[retailersReply](503, codeUnavailable, "database unavailable")
		}
		return success(retailersReply{envelope: envelope{Success: true}, Retailers: retailersOut(rs)})
	})

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-delete-retailers", Method: stdhttp.MethodDelete, Path: "/ereceipts/retailers", Tags: tags,
		Summary: "Remove retailers",
		Description: "By sender address: `?email=a@shop.example&email=...` or a JSON body `{\"retailers\": [\"a@shop.example\"]}`. " +
			"Answers the remaining retailers and how many were removed." + note,
		MaxBodyBytes: maxSettingsBytes,
	}, func(ctx context.Context, tenant string, in *retailersInput) *output[retailersReply] {
		emails := in.Email
		body, err := io.ReadAll(in.raw.Reader)
		if rawbody.TooLarge(err) {
			return fail[retailersReply](413, codeTooLarge, "the body is larger than %d bytes", maxSettingsBytes)
		}
		if err != nil {
			return fail[retailersReply](400, codeBadRequest, "reading the body: %v", err)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			var req struct {
				Retailers []json.RawMessage `json:"retailers"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				return fail[retailersReply](400, codeBadRequest, "the body must be {\"retailers\": [addresses]}: %v", err)
			}
			for _, raw := range req.Retailers {
				var email string
				var obj struct {
					Email string `json:"email"`
				}
				if json.Unmarshal(raw, &email) != nil {
					if json.Unmarshal(raw, &obj) != nil {
						return fail[retailersReply](400, codeBadRequest, "retailers must be addresses or {\"email\": address} objects")
					}
					email = obj.Email
				}
				emails = append(emails, email)
			}
		}
		var list []string
		for _, e := range emails {
			for _, part := range strings.Split(e, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
		}
		if len(list) == 0 {
			return fail[retailersReply](400, codeBadRequest, "name the retailers to remove by sender address")
		}
		n, err := r.Settings.DeleteRetailers(ctx, tenant, list)
		if err != nil {
			r.logError(ctx, "delete retailers", err)
			return fail[retailersReply](503, codeUnavailable, "database unavailable")
		}
		rs, err := r.Settings.Retailers(ctx, tenant)
		if err != nil {
			r.logError(ctx, "load retailers", err)
			return fail[retailersReply](503, codeUnavailable, "database unavailable")
		}
		return success(retailersReply{envelope: envelope{Success: true}, Retailers: retailersOut(rs), Deleted: &n})
	})

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-create-job", Method: stdhttp.MethodPost, Path: "/ereceipts/create_job", Tags: tags,
		Summary: "Submit an e-mail for parsing",
		Description: "Form fields (multipart/form-data or application/x-www-form-urlencoded): `eml_data` (the raw e-mail, required), " +
			"`email_hash` (SHA-256 hex of the user's address), `provider` (gmail, outlook, ...), `client_user_id`. Answers `job_id`; " +
			"poll GET /ereceipts/status or wait for the results endpoint. The user is the e-mail's To: address." + note,
		// The e-mail may be MAX_FILE_SIZE_MB, and URL-encoding can triple
		// it; past that the body is refused, never cut short.
		MaxBodyBytes: 3*r.MaxFileSize + 64<<10,
	}, func(ctx context.Context, tenant string, in *jobInput) *output[jobReply] {
		current, err := r.Settings.Get(ctx, tenant)
		if errors.Is(err, store.ErrNotConfigured) {
			return fail[jobReply](400, codeNotConfigured, "set results_endpoint with POST /ereceipts/config before creating jobs, or results have nowhere to go")
		} else if err != nil {
			r.logError(ctx, "load e-receipt settings", err)
			return fail[jobReply](503, codeUnavailable, "database unavailable")
		}
		form, f := r.readJobForm(in.raw)
		if f != nil {
			return failAs[jobReply](*f)
		}
		if len(in.IdempotencyKey) > 200 {
			return fail[jobReply](400, codeBadRequest, "Idempotency-Key longer than 200 characters")
		}
		meta := commands.Meta{Tenant: tenant, CorrelationID: r.RequestID(ctx)}
		if in.IdempotencyKey != "" {
			meta.CommandID = "ereceipt:" + in.IdempotencyKey
		}
		form.job.Aggregate = current.UseAggregation
		res, err := r.Commands.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: meta, Raw: form.eml, Job: &form.job})
		if err != nil {
			return failAs[jobReply](r.commandError(ctx, err))
		}
		if res.Replayed {
			// The same key names the same job only for the same e-mail.
			doc, err := r.Commands.Documents().Load(ctx, tenant, res.DocumentID)
			if err != nil {
				return failAs[jobReply](r.commandError(ctx, err))
			}
			if sum := sha256.Sum256(form.eml); doc.SHA256 != hex.EncodeToString(sum[:]) {
				return fail[jobReply](400, codeBadRequest, "this Idempotency-Key was already used for another e-mail; use a new key for a new job")
			}
		}
		jobID, err := r.Settings.JobID(ctx, tenant, res.Sequence)
		if err != nil {
			r.logError(ctx, "number e-receipt job", err)
			return fail[jobReply](503, codeUnavailable, "database unavailable")
		}
		return success(jobReply{envelope: envelope{Success: true}, JobID: jobID})
	})

	handle(api, r, huma.Operation{
		OperationID: "ereceipts-status", Method: stdhttp.MethodGet, Path: "/ereceipts/status", Tags: tags,
		Summary:     "A job's state",
		Description: "`?job_id=N`: queued, executing, completed or error; with the EReceipt once completed." + note,
	}, func(ctx context.Context, tenant string, in *statusInput) *output[statusReply] {
		jobID, err := strconv.ParseUint(strings.TrimSpace(in.JobID), 10, 64)
		if err != nil || jobID == 0 {
			return fail[statusReply](400, codeBadRequest, "job_id must be the positive number create_job answered, not %q", in.JobID)
		}
		seq, err := r.Settings.JobSequence(ctx, tenant, jobID)
		if errors.Is(err, store.ErrNoSuchJob) {
			return fail[statusReply](404, codeNotFound, "no job %d", jobID)
		}
		if err != nil {
			r.logError(ctx, "number e-receipt job", err)
			return fail[statusReply](503, codeUnavailable, "database unavailable")
		}
		doc, err := r.Commands.Documents().Job(ctx, tenant, seq)
		if errors.Is(err, domain.ErrNotFound) {
			return fail[statusReply](404, codeNotFound, "no job %d", jobID)
		}
		if err != nil {
			return failAs[statusReply](r.commandError(ctx, err))
		}
		reply := statusReply{envelope: envelope{Success: true}, JobID: jobID,
			Status: store.State(doc.Status), BlinkReceiptID: doc.ID}
		if doc.Status == domain.StatusFailed {
			reply.ErrorMessage = doc.FailureReason
		}
		if doc.Status == domain.StatusCompleted {
			if r.Users != nil {
				if _, err := personal.OpenDocument(ctx, r.Users, doc); err != nil {
					r.logError(ctx, "open e-receipt job", err)
					return fail[statusReply](503, codeUnavailable, "database unavailable")
				}
			}
			r := store.FromDocument(doc, jobID)
			reply.EReceipt = &r
		}
		return success(reply)
	})
}

func (r *routes) config(ctx context.Context, tenant string) *output[configReply] {
	cfg, err := r.Settings.Get(ctx, tenant)
	if errors.Is(err, store.ErrNotConfigured) {
		return fail[configReply](404, codeNotConfigured, "no settings yet: POST /ereceipts/config")
	}
	if err != nil {
		r.logError(ctx, "load e-receipt settings", err)
		return fail[configReply](503, codeUnavailable, "database unavailable")
	}
	days, date := cutoffOut(cfg.Cutoff)
	retailers := retailersOut(cfg.Retailers)
	return success(configReply{envelope: envelope{Success: true},
		settings: settings{ResultsEndpoint: cfg.ResultsEndpoint, DayCutoff: days, DateCutoff: date,
			UseAggregation: cfg.UseAggregation, ReturnEML: cfg.ReturnEML, Retailers: &retailers},
		UpdatedAt: cfg.UpdatedAt.UTC().Format(time.RFC3339Nano)})
}

type jobForm struct {
	eml []byte
	job domain.EReceiptJob
}

var (
	emailHashPattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	providerPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,50}$`)
)

// readJobForm parses create_job's form, multipart or URL-encoded, as a
// stream: only the decoded e-mail and the small fields are kept, never the
// encoded body (the operation's MaxBodyBytes, held by rawbody.Limit,
// bounds what is read).
func (r *routes) readJobForm(raw rawbody.Body) (jobForm, *failure) {
	mediaType, _, _ := mime.ParseMediaType(raw.ContentType)
	var form rawbody.Form
	var err error
	switch mediaType {
	case "multipart/form-data":
		form, err = raw.Multipart("eml_data", r.MaxFileSize)
	case "application/x-www-form-urlencoded":
		form, err = raw.URLEncoded("eml_data", r.MaxFileSize)
	default:
		return jobForm{}, &failure{400, codeBadRequest, "send the job as multipart/form-data or application/x-www-form-urlencoded with an eml_data field"}
	}
	if rawbody.TooLarge(err) {
		return jobForm{}, &failure{413, codeTooLarge, fmt.Sprintf("eml_data is larger than the e-mail limit of %d bytes", r.MaxFileSize)}
	}
	if err != nil {
		return jobForm{}, &failure{400, codeBadRequest, fmt.Sprintf("the form cannot be read: %v", err)}
	}
	f := jobForm{eml: form.File}
	if len(bytes.TrimSpace(f.eml)) == 0 {
		return jobForm{}, &failure{400, codeBadRequest, "eml_data (the raw e-mail) is required"}
	}
	f.job = domain.EReceiptJob{EmailHash: strings.ToLower(strings.TrimSpace(form.Fields["email_hash"])),
		Provider: strings.TrimSpace(form.Fields["provider"]), ClientUserID: strings.TrimSpace(form.Fields["client_user_id"])}
	var problems []string
	if f.job.EmailHash != "" && !emailHashPattern.MatchString(f.job.EmailHash) {
		problems = append(problems, "email_hash must be the 64 hex digits of a SHA-256")
	}
	if f.job.Provider != "" && !providerPattern.MatchString(f.job.Provider) {
		problems = append(problems, "provider must be 1-50 letters, digits, '.', '_' or '-'")
	}
	if len(f.job.ClientUserID) > 200 {
		problems = append(problems, "client_user_id is longer than 200 characters")
	}
	if len(problems) > 0 {
		return jobForm{}, &failure{400, codeBadRequest, strings.Join(problems, "; ")}
	}
	return f, nil
}

// ereceiptCommandError maps a command error onto the envelope's codes by
// its kind, as problem does for the /v1 routes.
func (r *routes) commandError(ctx context.Context, err error) failure {
	switch domain.KindOf(err) {
	case domain.KindInvalid:
		return failure{400, codeBadRequest, domain.PublicMessage(err)}
	case domain.KindTooMany:
		return failure{429, codeBadRequest, domain.PublicMessage(err)}
	case domain.KindForbidden:
		return failure{403, codeBadRequest, domain.PublicMessage(err)}
	case domain.KindUnavailable:
		r.logError(ctx, "e-receipt job not recorded", err)
		return failure{503, codeUnavailable, domain.PublicMessage(err)}
	case domain.KindUpstream:
		r.logError(ctx, "e-receipt job not recorded", err)
		return failure{503, codeUnavailable, "the job could not be recorded: storage is unavailable; nothing was accepted, retry with the same Idempotency-Key"}
	case domain.KindConflict:
		// Only an upload under a key another job holds conflicts here.
		return failure{400, codeBadRequest, "this Idempotency-Key was already used for another job"}
	}
	r.logError(ctx, "e-receipt request failed", err)
	return failure{500, codeInternal, "internal error; see the server log for request " + r.RequestID(ctx)}
}
