package http

import (
	"context"
	stdhttp "net/http"

	"github.com/danielgtaylor/huma/v2"

	"tally/commands"
	"tally/domain"
	"tally/intake"
)

// The InvoiceFlow seed's ingestion endpoints, with its shapes and codes.

type ingestAccepted struct {
	RequestID string `json:"request_id"`
	Status    string `json:"status" enum:"PENDING,PROCESSING,FAILED,COMPLETED"`
	Message   string `json:"message"`
}

type ingestUploadOutput struct {
	Body ingestAccepted
}

type ingestStatus struct {
	RequestID string `json:"request_id"`
	Filename  string `json:"filename"`
	Status    string `json:"status" enum:"PENDING,PROCESSING,FAILED,COMPLETED"`
	CreatedAt string `json:"created_at" format:"date-time"`
	UpdatedAt string `json:"updated_at" format:"date-time"`
	S3Key     string `json:"s3_key"`
}

type ingestStatusInput struct {
	RequestID string `path:"request_id"`
}

type ingestStatusOutput struct{ Body ingestStatus }

func (s *Server) registerIngest() {
	op := secured(huma.Operation{
		OperationID: "ingest-upload", Method: stdhttp.MethodPost, Path: "/api/v1/ingest/upload", Tags: []string{"Ingest"},
		Summary: "Upload a PDF invoice (InvoiceFlow)",
		Description: "multipart/form-data with `file` (PDF, up to MAX_FILE_SIZE_MB) and optional `email` and `name`. " +
			"400 for a non-PDF, empty, corrupt or too large file; 502 when the blob or event store is down.",
		DefaultStatus: stdhttp.StatusAccepted,
		MaxBodyBytes:  s.bodyLimit(),
		Errors:        []int{400, 502, 503},
	})
	huma.Register(s.api, op, func(ctx context.Context, in *uploadInput) (*ingestUploadOutput, error) {
		u, err := readUpload(in.raw, s.deps.MaxFileSize)
		if err != nil {
			// The seed answers every file problem, size included, with 400.
			if se, ok := err.(huma.StatusError); ok && se.GetStatus() == stdhttp.StatusRequestEntityTooLarge {
				return nil, huma.Error400BadRequest(se.Error())
			}
			return nil, err
		}
		if typ, err := intake.Document(u.file); err == nil && typ != intake.PDF {
			return nil, huma.Error400BadRequest("only PDF files are accepted here; use POST /v1/documents for images")
		}
		user := domain.User{Name: u.fields["name"], Email: u.fields["email"]}
		hash := hashRequest(u.file, []byte(u.filename), []byte(user.Name), []byte(user.Email))
		answer, err := idempotently(ctx, s, in.IdempotencyKey, hash, func(commandID string) (ingestAccepted, error) {
			res, err := s.deps.Commands.UploadInvoice(ctx, commands.UploadInvoice{
				Meta:   commands.Meta{Tenant: tenantOf(ctx), CommandID: commandID, CorrelationID: requestID(ctx)},
				Source: domain.SourceIngest, Filename: u.filename, Content: u.file, User: user,
			})
			if err != nil {
				return ingestAccepted{}, s.fail(ctx, err)
			}
			return ingestAccepted{RequestID: res.DocumentID, Status: string(res.Status),
				Message: "File uploaded successfully, processing started"}, nil
		})
		if err != nil {
			return nil, err
		}
		return &ingestUploadOutput{Body: answer}, nil
	})
	s.api.OpenAPI().Paths["/api/v1/ingest/upload"].Post.RequestBody = multipartBody(false)

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "ingest-status", Method: stdhttp.MethodGet, Path: "/api/v1/ingest/status/{request_id}", Tags: []string{"Ingest"},
		Summary: "Status of one upload (InvoiceFlow)", Errors: []int{404, 503},
	}), func(ctx context.Context, in *ingestStatusInput) (*ingestStatusOutput, error) {
		d, err := s.document(ctx, in.RequestID)
		if err != nil {
			return nil, err
		}
		return &ingestStatusOutput{Body: ingestStatus{RequestID: d.ID.String(), Filename: d.Filename, Status: d.Status,
			CreatedAt: formatTime(d.CreatedAt.Time), UpdatedAt: formatTime(d.UpdatedAt.Time), S3Key: d.BlobKey}}, nil
	})

	huma.Register(s.api, secured(huma.Operation{
		OperationID: "ingest-stats", Method: stdhttp.MethodGet, Path: "/api/v1/ingest/stats", Tags: []string{"Ingest"},
		Summary: "Counts per status (InvoiceFlow)", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*statsOutput, error) {
		st, err := s.stats(ctx)
		if err != nil {
			return nil, err
		}
		return &statsOutput{Body: st}, nil
	})
}
