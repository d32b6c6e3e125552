package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	stdhttp "net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/redis/go-redis/v9"

	"tally/commands"
	"tally/domain"
	"tally/http/rawbody"
)

type uploadInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the upload safe to retry: the same key and body give the same answer and one document."`
	raw            rawbody.Body
}

func (i *uploadInput) Resolve(ctx huma.Context) []error { i.raw.Capture(ctx); return nil }

type emailInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the submission safe to retry."`
	Email          string `query:"email" maxLength:"254" doc:"The user the receipt belongs to; default the message's first To: address."`
	Name           string `query:"name" maxLength:"200" doc:"The user's name."`
	raw            rawbody.Body
}

func (i *emailInput) Resolve(ctx huma.Context) []error { i.raw.Capture(ctx); return nil }

// DocumentAccepted answers an upload.
type DocumentAccepted struct {
	ID        string `json:"id" doc:"Document id; poll GET /v1/documents/{id}."`
	Status    string `json:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED"`
	CreatedAt string `json:"created_at" format:"date-time"`
	Filename  string `json:"filename"`
	Replayed  bool   `json:"replayed,omitempty" doc:"True when an earlier request with the same Idempotency-Key made this document."`
}

type acceptedOutput struct {
	Location string `header:"Location"`
	Body     DocumentAccepted
}

// upload is a parsed multipart upload.
type upload struct {
	file     []byte
	filename string
	fields   map[string]string
}

// readUpload streams a multipart/form-data body: the "file" part up to
// maxFile bytes, small text fields, nothing else kept.
func readUpload(raw rawbody.Body, maxFile int64) (upload, error) {
	f, err := raw.Multipart("file", maxFile)
	switch {
	case rawbody.TooLarge(err):
		return upload{}, tooLarge(maxFile)
	case err != nil:
		return upload{}, huma.Error400BadRequest(err.Error())
	case !f.Found:
		return upload{}, huma.Error400BadRequest("no file: send the document in a form field named \"file\"")
	case len(f.File) == 0:
		return upload{}, huma.Error400BadRequest("the file is empty")
	}
	return upload{file: f.File, filename: f.Filename, fields: f.Fields}, nil
}

// readRaw reads a whole body that is the document itself.
func readRaw(raw rawbody.Body, maxFile int64) ([]byte, error) {
	b, err := rawbody.ReadAll(raw.Reader, maxFile, raw.Size)
	if rawbody.TooLarge(err) || int64(len(b)) > maxFile {
		return nil, tooLarge(maxFile)
	}
	if err != nil {
		return nil, huma.Error400BadRequest("reading the body failed: " + err.Error())
	}
	return b, nil
}

func tooLarge(maxFile int64) error {
	return huma.NewError(stdhttp.StatusRequestEntityTooLarge,
		fmt.Sprintf("the file is larger than the %d MB limit (MAX_FILE_SIZE_MB)", maxFile>>20))
}

// bodyLimit bounds a whole upload request: the file plus room for fields
// and multipart framing.
func (s *Server) bodyLimit() int64 { return s.deps.MaxFileSize + 1<<20 }

// idempotencyTTL is how long Redis remembers a key's answer; after it the
// event store still finds the document, but a changed body is no longer
// told apart.
const idempotencyTTL = 24 * time.Hour

type rememberedAnswer struct {
	RequestHash string          `json:"request_hash"`
	Answer      json.RawMessage `json:"answer"`
}

// idempotently runs an upload once per (tenant, Idempotency-Key). The key
// also becomes the command id, so even without Redis a retry lands on the
// same document; Redis adds the check that the body is the same.
func idempotently[T any](ctx context.Context, s *Server, key, requestHash string, run func(commandID string) (T, error)) (T, error) {
	var zero T
	if key == "" {
		return run("")
	}
	redisKey := "tally:idempotency:" + tenantOf(ctx) + ":" + key
	if s.deps.Redis != nil {
		raw, err := s.deps.Redis.Get(ctx, redisKey).Bytes()
		switch {
		case err == nil:
			var prev rememberedAnswer
			if json.Unmarshal(raw, &prev) == nil {
				if prev.RequestHash != requestHash {
					return zero, huma.Error422UnprocessableEntity("this Idempotency-Key was already used with a different request; use a new key for a new document")
				}
				var answer T
				if json.Unmarshal(prev.Answer, &answer) == nil {
					return answer, nil
				}
			}
		case !isRedisNil(err):
			s.deps.Log.WarnContext(ctx, "idempotency cache unavailable, relying on the event store", "err", err, "request_id", requestID(ctx))
		}
	}
	answer, err := run("idempotency:" + key)
	if err != nil {
		return zero, err
	}
	if s.deps.Redis != nil {
		body, _ := json.Marshal(answer)
		record, _ := json.Marshal(rememberedAnswer{RequestHash: requestHash, Answer: body})
		if err := s.deps.Redis.Set(ctx, redisKey, record, idempotencyTTL).Err(); err != nil {
			s.deps.Log.WarnContext(ctx, "could not remember idempotency key", "err", err, "request_id", requestID(ctx))
		}
	}
	return answer, nil
}

// hashRequest identifies what an upload asked for, independent of
// multipart framing.
func hashRequest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) registerUploads() {
	uploadDoc := func(op huma.Operation) huma.Operation {
		op = secured(op)
		op.MaxBodyBytes = s.bodyLimit()
		op.DefaultStatus = stdhttp.StatusAccepted
		op.Errors = append(op.Errors, 400, 413, 422, 502, 503)
		return op
	}
	handleUpload := func(source string) func(ctx context.Context, in *uploadInput) (*acceptedOutput, error) {
		return func(ctx context.Context, in *uploadInput) (*acceptedOutput, error) {
			u, err := readUpload(in.raw, s.deps.MaxFileSize)
			if err != nil {
				return nil, err
			}
			user := domain.User{Name: u.fields["name"], Email: u.fields["email"]}
			if user.Email == "" {
				return nil, huma.Error400BadRequest("the form field \"email\" is required: it names the user the expense belongs to")
			}
			hash := hashRequest(u.file, []byte(u.filename), []byte(user.Name), []byte(user.Email))
			answer, err := idempotently(ctx, s, in.IdempotencyKey, hash, func(commandID string) (DocumentAccepted, error) {
				res, err := s.deps.Commands.UploadInvoice(ctx, commands.UploadInvoice{
					Meta:   commands.Meta{Tenant: tenantOf(ctx), CommandID: commandID, CorrelationID: requestID(ctx)},
					Source: source, Filename: u.filename, Content: u.file, User: user,
				})
				if err != nil {
					return DocumentAccepted{}, s.fail(ctx, err)
				}
				return accepted(res, u.filename), nil
			})
			if err != nil {
				return nil, err
			}
			return &acceptedOutput{Location: "/v1/documents/" + answer.ID, Body: answer}, nil
		}
	}
	huma.Register(s.api, uploadDoc(huma.Operation{
		OperationID: "upload-document", Method: stdhttp.MethodPost, Path: "/v1/documents", Tags: []string{"Documents"},
		Summary: "Upload an invoice or receipt (PDF, PNG, JPEG)",
		Description: "multipart/form-data with `file`, `email` (required) and `name`. The file is stored, then one " +
			"DocumentUploaded event is appended, which also requests its extraction. Type is checked by content, not name.",
	}), handleUpload(domain.SourceUpload))
	huma.Register(s.api, uploadDoc(huma.Operation{
		OperationID: "billify-upload-invoice", Method: stdhttp.MethodPost, Path: "/upload-invoice", Tags: []string{"Billify"},
		Summary:     "Upload an invoice with the user's name and e-mail (Billify)",
		Description: "Same as POST /v1/documents: multipart/form-data with `file`, `name` and `email`.",
	}), handleUpload(domain.SourceBillify))
	for _, path := range []string{"/v1/documents", "/upload-invoice"} {
		s.api.OpenAPI().Paths[path].Post.RequestBody = multipartBody(true)
	}

	huma.Register(s.api, uploadDoc(huma.Operation{
		OperationID: "submit-email-receipt", Method: stdhttp.MethodPost, Path: "/v1/receipts/email", Tags: []string{"Documents"},
		Summary: "Submit an e-receipt e-mail (RFC 5322)",
		Description: "The raw message as the body with Content-Type message/rfc822, or as the `file` field of a " +
			"multipart/form-data body. The user is `email` (query or form field) or the message's first To: address.",
	}), func(ctx context.Context, in *emailInput) (*acceptedOutput, error) {
		user := domain.User{Name: in.Name, Email: in.Email}
		var raw []byte
		mediaType, _, _ := mime.ParseMediaType(in.raw.ContentType)
		switch mediaType {
		case "message/rfc822", "text/plain", "application/octet-stream":
			b, err := readRaw(in.raw, s.deps.MaxFileSize)
			if err != nil {
				return nil, err
			}
			raw = b
		case "multipart/form-data":
			u, err := readUpload(in.raw, s.deps.MaxFileSize)
			if err != nil {
				return nil, err
			}
			raw = u.file
			user.Email = firstOf(user.Email, u.fields["email"])
			user.Name = firstOf(user.Name, u.fields["name"])
		default:
			return nil, huma.Error400BadRequest("send the e-mail as message/rfc822 or as the file field of multipart/form-data")
		}
		if len(raw) == 0 {
			return nil, huma.Error400BadRequest("the e-mail is empty")
		}
		hash := hashRequest(raw, []byte(user.Name), []byte(user.Email))
		answer, err := idempotently(ctx, s, in.IdempotencyKey, hash, func(commandID string) (DocumentAccepted, error) {
			res, err := s.deps.Commands.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{
				Meta: commands.Meta{Tenant: tenantOf(ctx), CommandID: commandID, CorrelationID: requestID(ctx)},
				Raw:  raw, User: user,
			})
			if err != nil {
				return DocumentAccepted{}, s.fail(ctx, err)
			}
			return accepted(res, "receipt.eml"), nil
		})
		if err != nil {
			return nil, err
		}
		return &acceptedOutput{Location: "/v1/documents/" + answer.ID, Body: answer}, nil
	})
	s.api.OpenAPI().Paths["/v1/receipts/email"].Post.RequestBody = &huma.RequestBody{
		Required: true,
		Content: map[string]*huma.MediaType{
			"message/rfc822":      {Schema: &huma.Schema{Type: "string", Format: "binary"}},
			"multipart/form-data": multipartBody(false).Content["multipart/form-data"],
		},
	}
}

func accepted(res commands.Result, filename string) DocumentAccepted {
	return DocumentAccepted{ID: res.DocumentID, Status: string(res.Status), CreatedAt: formatTime(res.CreatedAt),
		Filename: filename, Replayed: res.Replayed}
}

// multipartBody documents an upload form; the body itself is parsed by
// readUpload, not by huma.
func multipartBody(emailRequired bool) *huma.RequestBody {
	required := []string{"file"}
	if emailRequired {
		required = append(required, "email")
	}
	return &huma.RequestBody{
		Required: true,
		Content: map[string]*huma.MediaType{
			"multipart/form-data": {Schema: &huma.Schema{
				Type:     "object",
				Required: required,
				Properties: map[string]*huma.Schema{
					"file":  {Type: "string", Format: "binary", Description: "The document."},
					"email": {Type: "string", Format: "email", Description: "The user the expense belongs to."},
					"name":  {Type: "string", Description: "The user's name."},
				},
			}},
		},
	}
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func isRedisNil(err error) bool { return errors.Is(err, redis.Nil) }
