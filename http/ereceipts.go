package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"tally/ereceipts"
	"tally/webhooks"
)

// The e-receipt API in the BlinkReceipt shapes: an `api-key` header (a
// Tally API key), answers wrapped in {"success", "error": {"code",
// "message"}}, its field names. Every answer, errors included, has that
// envelope, so these routes check the key and parse bodies themselves
// instead of leaving it to the problem-details machinery of /v1.

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

// EReceiptResults keeps the webhook that carries a tenant's results to
// its results_endpoint in step with the settings.
type EReceiptResults interface {
	// SetResultsEndpoint returns the webhook endpoint's id, and its
	// signing secret when the endpoint is new.
	SetResultsEndpoint(ctx context.Context, tenant, url string) (id, secret string, err error)
}

type ereceiptError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type ereceiptEnvelope struct {
	Success bool           `json:"success"`
	Error   *ereceiptError `json:"error,omitempty"`
}

func (e *ereceiptEnvelope) setError(x *ereceiptError) { e.Success, e.Error = false, x }

type ereceiptReply interface{ setError(*ereceiptError) }

type ereceiptOutput[T any] struct {
	Status int
	Body   T
}

func ereceiptFail[T any, PT interface {
	*T
	ereceiptReply
}](status, code int, format string, args ...any) *ereceiptOutput[T] {
	var body T
	PT(&body).setError(&ereceiptError{Code: code, Message: fmt.Sprintf(format, args...)})
	return &ereceiptOutput[T]{Status: status, Body: body}
}

func ereceiptOK[T any](body T) *ereceiptOutput[T] {
	return &ereceiptOutput[T]{Status: stdhttp.StatusOK, Body: body}
}

// Inputs of the e-receipt routes. Each names its own parameters (huma
// reads no parameters from embedded structs); the body is read raw, so
// that even a malformed one is answered in the envelope.
type ereceiptInput struct {
	APIKey string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	raw    rawBody
}

type ereceiptJobInput struct {
	APIKey         string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	IdempotencyKey string `header:"Idempotency-Key" doc:"Makes create_job safe to retry: the same key and e-mail give the same job."`
	raw            rawBody
}

type ereceiptStatusInput struct {
	APIKey string `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	JobID  string `query:"job_id" doc:"The job, as create_job returned it."`
}

type ereceiptRetailersInput struct {
	APIKey string   `header:"api-key" doc:"A Tally API key (tally apikey create)."`
	Email  []string `query:"email" doc:"Sender addresses to remove; or send {\"retailers\": [...]}."`
	raw    rawBody
}

func (i *ereceiptInput) Resolve(ctx huma.Context) []error          { i.raw.capture(ctx); return nil }
func (i *ereceiptJobInput) Resolve(ctx huma.Context) []error       { i.raw.capture(ctx); return nil }
func (i *ereceiptRetailersInput) Resolve(ctx huma.Context) []error { i.raw.capture(ctx); return nil }

// tenantFor checks the api-key header; ok is false with the answer to send.
func (s *Server) ereceiptTenant(ctx context.Context, key string) (string, int, int, string) {
	key = strings.TrimSpace(key)
	if key == "" {
		return "", stdhttp.StatusUnauthorized, codeBadKey, "missing api-key header"
	}
	tenant, err := s.deps.Keys.Tenant(ctx, key)
	if errors.Is(err, apikeys.ErrUnknownKey) {
		return "", stdhttp.StatusUnauthorized, codeBadKey, "unknown or revoked api-key"
	}
	if err != nil {
		s.logError(ctx, "api key lookup failed", err)
		return "", stdhttp.StatusServiceUnavailable, codeUnavailable, "database unavailable"
	}
	return tenant, 0, 0, ""
}

// Settings as the e-receipt API sends and shows them.
type ereceiptRetailer struct {
	Email      string `json:"email"`
	DayCutoff  *int   `json:"day_cutoff,omitempty"`
	DateCutoff *int64 `json:"date_cutoff,omitempty" doc:"UNIX time."`
}

type ereceiptSettings struct {
	ResultsEndpoint string              `json:"results_endpoint"`
	DayCutoff       *int                `json:"day_cutoff,omitempty"`
	DateCutoff      *int64              `json:"date_cutoff,omitempty" doc:"UNIX time."`
	UseAggregation  bool                `json:"use_aggregation"`
	ReturnEML       bool                `json:"return_eml"`
	Retailers       *[]ereceiptRetailer `json:"retailers,omitempty"`
}

type ereceiptConfigReply struct {
	ereceiptEnvelope
	ereceiptSettings
	UpdatedAt string `json:"updated_at,omitempty"`
	// The results travel as a Tally webhook: its deliveries are at
	// GET /v1/webhooks/{id}/deliveries, and the secret that signs them is
	// shown once, when the endpoint is first set.
	ResultsWebhookID string `json:"results_webhook_id,omitempty"`
	ResultsSecret    string `json:"results_secret,omitempty" doc:"Signing secret of the results (webhook-signature header), shown once."`
}

type ereceiptRetailersReply struct {
	ereceiptEnvelope
	Retailers []ereceiptRetailer `json:"retailers"`
	Deleted   *int64             `json:"deleted,omitempty"`
}

type ereceiptJobReply struct {
	ereceiptEnvelope
	JobID uint64 `json:"job_id,omitempty"`
}

type ereceiptStatusReply struct {
	ereceiptEnvelope
	JobID          uint64              `json:"job_id,omitempty"`
	Status         string              `json:"status,omitempty" enum:"queued,executing,completed,error"`
	BlinkReceiptID string              `json:"blinkReceiptId,omitempty" doc:"The Tally document id."`
	ErrorMessage   string              `json:"error_message,omitempty"`
	EReceipt       *ereceipts.EReceipt `json:"ereceipt,omitempty" doc:"The result, once completed (the same object the results endpoint receives)."`
}

func cutoffOut(c ereceipts.Cutoff) (*int, *int64) {
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

func cutoffIn(days *int, date *int64) ereceipts.Cutoff {
	var c ereceipts.Cutoff
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

func retailersOut(rs []ereceipts.Retailer) []ereceiptRetailer {
	out := make([]ereceiptRetailer, 0, len(rs))
	for _, r := range rs {
		days, date := cutoffOut(r.Cutoff)
		out = append(out, ereceiptRetailer{Email: r.Email, DayCutoff: days, DateCutoff: date})
	}
	return out
}

const maxSettingsBytes = 1 << 20

func (s *Server) registerEReceipts() {
	if s.deps.EReceipts == nil {
		return
	}
	tags := []string{"E-receipts (BlinkReceipt compatible)"}
	note := " Send the header `api-key: <Tally API key>`. Every answer is `{\"success\": bool, \"error\": {\"code\", \"message\"}}` plus its fields; " +
		"error codes: 101 missing or wrong key, 102 invalid request, 103 no such job, 104 no results_endpoint configured, 105 too large, 106 unavailable, 107 internal."

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-set-config", Method: stdhttp.MethodPost, Path: "/ereceipts/config", Tags: tags,
		Summary: "Set the e-receipt settings",
		Description: "JSON: `results_endpoint` (required; parsed receipts are POSTed there as an array of EReceipt objects, signed like every Tally webhook), " +
			"exactly one of `day_cutoff` (days) or `date_cutoff` (UNIX time), `use_aggregation` (one receipt per order from its several e-mails), " +
			"`return_eml` (include the raw e-mail in results), `retailers` (`[{email, day_cutoff | date_cutoff}]`; left out = keep the current list)." + note,
	}, func(ctx context.Context, in *ereceiptInput) (*ereceiptOutput[ereceiptConfigReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptConfigReply](status, code, "%s", msg), nil
		}
		body, err := io.ReadAll(io.LimitReader(in.raw.body, maxSettingsBytes+1))
		if err != nil {
			return ereceiptFail[ereceiptConfigReply](400, codeBadRequest, "reading the body: %v", err), nil
		}
		if len(body) > maxSettingsBytes {
			return ereceiptFail[ereceiptConfigReply](413, codeTooLarge, "the settings are larger than %d bytes", maxSettingsBytes), nil
		}
		var req ereceiptSettings
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return ereceiptFail[ereceiptConfigReply](400, codeBadRequest, "the body must be a JSON object of settings: %v", err), nil
		}
		cfg := ereceipts.Config{ResultsEndpoint: strings.TrimSpace(req.ResultsEndpoint), Cutoff: cutoffIn(req.DayCutoff, req.DateCutoff),
			UseAggregation: req.UseAggregation, ReturnEML: req.ReturnEML}
		if req.Retailers != nil {
			for _, r := range *req.Retailers {
				cfg.Retailers = append(cfg.Retailers, ereceipts.Retailer{Email: strings.TrimSpace(r.Email), Cutoff: cutoffIn(r.DayCutoff, r.DateCutoff)})
			}
		} else if cfg.Retailers, err = s.deps.EReceipts.Retailers(ctx, tenant); err != nil {
			s.logError(ctx, "load retailers", err)
			return ereceiptFail[ereceiptConfigReply](503, codeUnavailable, "database unavailable"), nil
		}
		if err := cfg.Validate(); err != nil {
			return ereceiptFail[ereceiptConfigReply](400, codeBadRequest, "%s", strings.ReplaceAll(domain.PublicMessage(err), "\n", "; ")), nil
		}
		// The webhook first: settings that point at an endpoint no
		// delivery goes to would be worse than an error.
		var webhookID, secret string
		if s.deps.EReceiptResults != nil {
			if webhookID, secret, err = s.deps.EReceiptResults.SetResultsEndpoint(ctx, tenant, cfg.ResultsEndpoint); err != nil {
				if errors.Is(err, webhooks.ErrInvalid) {
					return ereceiptFail[ereceiptConfigReply](400, codeBadRequest, "results_endpoint: %s", domain.PublicMessage(err)), nil
				}
				s.logError(ctx, "set results webhook", err)
				return ereceiptFail[ereceiptConfigReply](503, codeUnavailable, "could not register the results endpoint; retry"), nil
			}
		}
		if err := s.deps.EReceipts.Put(ctx, tenant, cfg); err != nil {
			s.logError(ctx, "store e-receipt settings", err)
			return ereceiptFail[ereceiptConfigReply](503, codeUnavailable, "database unavailable"), nil
		}
		out := s.ereceiptConfig(ctx, tenant)
		out.Body.ResultsWebhookID, out.Body.ResultsSecret = webhookID, secret
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-get-config", Method: stdhttp.MethodGet, Path: "/ereceipts/config", Tags: tags,
		Summary: "Show the e-receipt settings", Description: "The active settings, retailers included." + note,
	}, func(ctx context.Context, in *ereceiptInput) (*ereceiptOutput[ereceiptConfigReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptConfigReply](status, code, "%s", msg), nil
		}
		return s.ereceiptConfig(ctx, tenant), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-get-retailers", Method: stdhttp.MethodGet, Path: "/ereceipts/retailers", Tags: tags,
		Summary: "List the retailers", Description: "The sender addresses whose e-mails are receipts, with their own cutoffs." + note,
	}, func(ctx context.Context, in *ereceiptInput) (*ereceiptOutput[ereceiptRetailersReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptRetailersReply](status, code, "%s", msg), nil
		}
		rs, err := s.deps.EReceipts.Retailers(ctx, tenant)
		if err != nil {
			s.logError(ctx, "load retailers", err)
			return ereceiptFail[ereceiptRetailersReply](503, codeUnavailable, "database unavailable"), nil
		}
		return ereceiptOK(ereceiptRetailersReply{ereceiptEnvelope: ereceiptEnvelope{Success: true}, Retailers: retailersOut(rs)}), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-delete-retailers", Method: stdhttp.MethodDelete, Path: "/ereceipts/retailers", Tags: tags,
		Summary: "Remove retailers",
		Description: "By sender address: `?email=a@shop.example&email=...` or a JSON body `{\"retailers\": [\"a@shop.example\"]}`. " +
			"Answers the remaining retailers and how many were removed." + note,
	}, func(ctx context.Context, in *ereceiptRetailersInput) (*ereceiptOutput[ereceiptRetailersReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptRetailersReply](status, code, "%s", msg), nil
		}
		emails := in.Email
		body, _ := io.ReadAll(io.LimitReader(in.raw.body, maxSettingsBytes))
		if len(bytes.TrimSpace(body)) > 0 {
			var req struct {
				Retailers []json.RawMessage `json:"retailers"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				return ereceiptFail[ereceiptRetailersReply](400, codeBadRequest, "the body must be {\"retailers\": [addresses]}: %v", err), nil
			}
			for _, raw := range req.Retailers {
				var email string
				var obj struct {
					Email string `json:"email"`
				}
				if json.Unmarshal(raw, &email) != nil {
					if json.Unmarshal(raw, &obj) != nil {
						return ereceiptFail[ereceiptRetailersReply](400, codeBadRequest, "retailers must be addresses or {\"email\": address} objects"), nil
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
			return ereceiptFail[ereceiptRetailersReply](400, codeBadRequest, "name the retailers to remove by sender address"), nil
		}
		n, err := s.deps.EReceipts.DeleteRetailers(ctx, tenant, list)
		if err != nil {
			s.logError(ctx, "delete retailers", err)
			return ereceiptFail[ereceiptRetailersReply](503, codeUnavailable, "database unavailable"), nil
		}
		rs, err := s.deps.EReceipts.Retailers(ctx, tenant)
		if err != nil {
			s.logError(ctx, "load retailers", err)
			return ereceiptFail[ereceiptRetailersReply](503, codeUnavailable, "database unavailable"), nil
		}
		return ereceiptOK(ereceiptRetailersReply{ereceiptEnvelope: ereceiptEnvelope{Success: true}, Retailers: retailersOut(rs), Deleted: &n}), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-create-job", Method: stdhttp.MethodPost, Path: "/ereceipts/create_job", Tags: tags,
		Summary: "Submit an e-mail for parsing",
		Description: "Form fields (multipart/form-data or application/x-www-form-urlencoded): `eml_data` (the raw e-mail, required), " +
			"`email_hash` (SHA-256 hex of the user's address), `provider` (gmail, outlook, ...), `client_user_id`. Answers `job_id`; " +
			"poll GET /ereceipts/status or wait for the results endpoint. The user is the e-mail's To: address." + note,
		MaxBodyBytes: s.bodyLimit(),
	}, func(ctx context.Context, in *ereceiptJobInput) (*ereceiptOutput[ereceiptJobReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptJobReply](status, code, "%s", msg), nil
		}
		settings, err := s.deps.EReceipts.Get(ctx, tenant)
		if errors.Is(err, ereceipts.ErrNotConfigured) {
			return ereceiptFail[ereceiptJobReply](400, codeNotConfigured, "set results_endpoint with POST /ereceipts/config before creating jobs, or results have nowhere to go"), nil
		} else if err != nil {
			s.logError(ctx, "load e-receipt settings", err)
			return ereceiptFail[ereceiptJobReply](503, codeUnavailable, "database unavailable"), nil
		}
		form, status, code, msg := s.readJobForm(in.raw)
		if code != 0 {
			return ereceiptFail[ereceiptJobReply](status, code, "%s", msg), nil
		}
		if len(in.IdempotencyKey) > 200 {
			return ereceiptFail[ereceiptJobReply](400, codeBadRequest, "Idempotency-Key longer than 200 characters"), nil
		}
		meta := commands.Meta{Tenant: tenant, CorrelationID: requestID(ctx)}
		if in.IdempotencyKey != "" {
			meta.CommandID = "ereceipt:" + in.IdempotencyKey
		}
		form.job.Aggregate = settings.UseAggregation
		res, err := s.deps.Commands.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: meta, Raw: form.eml, Job: &form.job})
		if err != nil {
			status, code, msg := s.ereceiptCommandError(ctx, err)
			return ereceiptFail[ereceiptJobReply](status, code, "%s", msg), nil
		}
		if res.Replayed {
			// The same key names the same job only for the same e-mail.
			doc, err := s.deps.Commands.Documents().Load(ctx, tenant, res.DocumentID)
			if err != nil {
				status, code, msg := s.ereceiptCommandError(ctx, err)
				return ereceiptFail[ereceiptJobReply](status, code, "%s", msg), nil
			}
			if sum := sha256.Sum256(form.eml); doc.SHA256 != hex.EncodeToString(sum[:]) {
				return ereceiptFail[ereceiptJobReply](400, codeBadRequest, "this Idempotency-Key was already used for another e-mail; use a new key for a new job"), nil
			}
		}
		jobID, err := s.deps.EReceipts.JobID(ctx, tenant, res.Sequence)
		if err != nil {
			s.logError(ctx, "number e-receipt job", err)
			return ereceiptFail[ereceiptJobReply](503, codeUnavailable, "database unavailable"), nil
		}
		return ereceiptOK(ereceiptJobReply{ereceiptEnvelope: ereceiptEnvelope{Success: true}, JobID: jobID}), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "ereceipts-status", Method: stdhttp.MethodGet, Path: "/ereceipts/status", Tags: tags,
		Summary:     "A job's state",
		Description: "`?job_id=N`: queued, executing, completed or error; with the EReceipt once completed." + note,
	}, func(ctx context.Context, in *ereceiptStatusInput) (*ereceiptOutput[ereceiptStatusReply], error) {
		tenant, status, code, msg := s.ereceiptTenant(ctx, in.APIKey)
		if code != 0 {
			return ereceiptFail[ereceiptStatusReply](status, code, "%s", msg), nil
		}
		jobID, err := strconv.ParseUint(strings.TrimSpace(in.JobID), 10, 64)
		if err != nil || jobID == 0 {
			return ereceiptFail[ereceiptStatusReply](400, codeBadRequest, "job_id must be the positive number create_job answered, not %q", in.JobID), nil
		}
		seq, err := s.deps.EReceipts.JobSequence(ctx, tenant, jobID)
		if errors.Is(err, ereceipts.ErrNoSuchJob) {
			return ereceiptFail[ereceiptStatusReply](404, codeNotFound, "no job %d", jobID), nil
		}
		if err != nil {
			s.logError(ctx, "number e-receipt job", err)
			return ereceiptFail[ereceiptStatusReply](503, codeUnavailable, "database unavailable"), nil
		}
		doc, err := s.deps.Commands.Documents().Job(ctx, tenant, seq)
		if errors.Is(err, domain.ErrNotFound) {
			return ereceiptFail[ereceiptStatusReply](404, codeNotFound, "no job %d", jobID), nil
		}
		if err != nil {
			status, code, msg := s.ereceiptCommandError(ctx, err)
			return ereceiptFail[ereceiptStatusReply](status, code, "%s", msg), nil
		}
		reply := ereceiptStatusReply{ereceiptEnvelope: ereceiptEnvelope{Success: true}, JobID: jobID,
			Status: ereceipts.State(doc.Status), BlinkReceiptID: doc.ID}
		if doc.Status == domain.StatusFailed {
			reply.ErrorMessage = doc.FailureReason
		}
		if doc.Status == domain.StatusCompleted {
			r := ereceipts.FromDocument(doc, jobID)
			reply.EReceipt = &r
		}
		return ereceiptOK(reply), nil
	})
}

func (s *Server) ereceiptConfig(ctx context.Context, tenant string) *ereceiptOutput[ereceiptConfigReply] {
	cfg, err := s.deps.EReceipts.Get(ctx, tenant)
	if errors.Is(err, ereceipts.ErrNotConfigured) {
		return ereceiptFail[ereceiptConfigReply](404, codeNotConfigured, "no settings yet: POST /ereceipts/config")
	}
	if err != nil {
		s.logError(ctx, "load e-receipt settings", err)
		return ereceiptFail[ereceiptConfigReply](503, codeUnavailable, "database unavailable")
	}
	days, date := cutoffOut(cfg.Cutoff)
	retailers := retailersOut(cfg.Retailers)
	return ereceiptOK(ereceiptConfigReply{ereceiptEnvelope: ereceiptEnvelope{Success: true},
		ereceiptSettings: ereceiptSettings{ResultsEndpoint: cfg.ResultsEndpoint, DayCutoff: days, DateCutoff: date,
			UseAggregation: cfg.UseAggregation, ReturnEML: cfg.ReturnEML, Retailers: &retailers},
		UpdatedAt: formatTime(cfg.UpdatedAt)})
}

type jobForm struct {
	eml []byte
	job domain.EReceiptJob
}

var (
	emailHashPattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	providerPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,50}$`)
)

// readJobForm parses create_job's form, multipart or URL-encoded.
func (s *Server) readJobForm(raw rawBody) (jobForm, int, int, string) {
	// The e-mail may be MAX_FILE_SIZE_MB, and URL-encoding can triple it;
	// past that the body is refused, never cut short.
	limit := 3*s.deps.MaxFileSize + 64<<10
	req, _ := stdhttp.NewRequest(stdhttp.MethodPost, "/", nil)
	req.Body = stdhttp.MaxBytesReader(nil, io.NopCloser(raw.body), limit)
	req.Header.Set("Content-Type", raw.contentType)
	mediaType, _, _ := mime.ParseMediaType(raw.contentType)
	var err error
	switch mediaType {
	case "multipart/form-data":
		err = req.ParseMultipartForm(limit)
	case "application/x-www-form-urlencoded":
		err = req.ParseForm()
	default:
		return jobForm{}, 400, codeBadRequest, "send the job as multipart/form-data or application/x-www-form-urlencoded with an eml_data field"
	}
	var tooLarge *stdhttp.MaxBytesError
	if errors.As(err, &tooLarge) || (err != nil && strings.Contains(err.Error(), "too large")) {
		return jobForm{}, 413, codeTooLarge, fmt.Sprintf("the request is larger than the e-mail limit of %d bytes allows", s.deps.MaxFileSize)
	}
	if err != nil {
		return jobForm{}, 400, codeBadRequest, fmt.Sprintf("the form cannot be read: %v", err)
	}
	if req.MultipartForm != nil {
		defer req.MultipartForm.RemoveAll()
	}
	var f jobForm
	f.eml = []byte(req.PostFormValue("eml_data"))
	if req.MultipartForm != nil && len(f.eml) == 0 {
		// eml_data may come as a file part too.
		if files := req.MultipartForm.File["eml_data"]; len(files) > 0 {
			file, err := files[0].Open()
			if err == nil {
				f.eml, err = io.ReadAll(io.LimitReader(file, s.deps.MaxFileSize+1))
				file.Close()
			}
			if err != nil {
				return jobForm{}, 400, codeBadRequest, fmt.Sprintf("eml_data cannot be read: %v", err)
			}
		}
	}
	switch {
	case len(bytes.TrimSpace(f.eml)) == 0:
		return jobForm{}, 400, codeBadRequest, "eml_data (the raw e-mail) is required"
	case int64(len(f.eml)) > s.deps.MaxFileSize:
		return jobForm{}, 413, codeTooLarge, fmt.Sprintf("eml_data is larger than %d bytes", s.deps.MaxFileSize)
	}
	f.job = domain.EReceiptJob{EmailHash: strings.ToLower(strings.TrimSpace(req.PostFormValue("email_hash"))),
		Provider: strings.TrimSpace(req.PostFormValue("provider")), ClientUserID: strings.TrimSpace(req.PostFormValue("client_user_id"))}
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
		return jobForm{}, 400, codeBadRequest, strings.Join(problems, "; ")
	}
	return f, 0, 0, ""
}

// ereceiptCommandError maps a command error onto the envelope's codes by
// its kind, as problem does for the /v1 routes.
func (s *Server) ereceiptCommandError(ctx context.Context, err error) (int, int, string) {
	switch domain.KindOf(err) {
	case domain.KindInvalid:
		return 400, codeBadRequest, domain.PublicMessage(err)
	case domain.KindUpstream:
		s.logError(ctx, "e-receipt job not recorded", err)
		return 503, codeUnavailable, "the job could not be recorded: storage is unavailable; nothing was accepted, retry with the same Idempotency-Key"
	case domain.KindConflict:
		// Only an upload under a key another job holds conflicts here.
		return 400, codeBadRequest, "this Idempotency-Key was already used for another job"
	}
	s.logError(ctx, "e-receipt request failed", err)
	return 500, codeInternal, "internal error; see the server log for request " + requestID(ctx)
}
