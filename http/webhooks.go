package http

import (
	"context"
	stdhttp "net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"tally/webhooks"
)

type createWebhookInput struct {
	Body struct {
		URL    string   `json:"url" maxLength:"2000" doc:"Absolute http:// or https:// URL that receives the POSTs."`
		Events []string `json:"events" maxItems:"10" doc:"Event types to receive: document.completed, document.failed, document.revised."`
		Format string   `json:"format,omitempty" maxLength:"50" doc:"Body format: event (the default; the event envelope) or ereceipt (e-receipt results, an array of EReceipt objects, for e-receipt documents only)."`
		// Description is the tenant's own note.
		Description string `json:"description,omitempty" maxLength:"500"`
	}
}

// WebhookCreated is a new endpoint with its signing secret, shown this
// once.
type WebhookCreated struct {
	webhooks.Endpoint
	Secret string `json:"secret" doc:"Signing secret (whsec_<base64>); shown only now. Verify deliveries with it."`
}

type webhookCreatedOutput struct{ Body WebhookCreated }

type webhookIDInput struct {
	ID string `path:"id" doc:"Webhook endpoint id (UUID)."`
}

type webhookOutput struct{ Body webhooks.Endpoint }

type webhookListOutput struct {
	Body struct {
		Items []webhooks.Endpoint `json:"items"`
	}
}

type deliveriesInput struct {
	ID     string `path:"id" doc:"Webhook endpoint id (UUID)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" maxLength:"30" doc:"next_cursor of the previous page."`
}

type deliveriesOutput struct {
	Body struct {
		Items      []webhooks.Delivery `json:"items"`
		NextCursor *string             `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page."`
	}
}

type webhookTestOutput struct {
	Body struct {
		DeliveryID int64  `json:"delivery_id"`
		EventID    string `json:"event_id"`
	}
}

func (s *Server) registerWebhooks() {
	tags := []string{"Webhooks"}
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "create-webhook", Method: stdhttp.MethodPost, Path: "/v1/webhooks", Tags: tags,
		Summary:       "Register a webhook endpoint",
		Description:   "Deliveries are signed as in Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature. The secret is in this answer only.",
		DefaultStatus: stdhttp.StatusCreated, Errors: []int{422, 503},
	}), func(ctx context.Context, in *createWebhookInput) (*webhookCreatedOutput, error) {
		store, err := s.webhookStore()
		if err != nil {
			return nil, err
		}
		ep, secret, err := store.Create(ctx, tenantOf(ctx), webhooks.EndpointSpec{
			URL: in.Body.URL, Events: in.Body.Events, Format: in.Body.Format, Description: in.Body.Description})
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return &webhookCreatedOutput{Body: WebhookCreated{Endpoint: ep, Secret: secret}}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "list-webhooks", Method: stdhttp.MethodGet, Path: "/v1/webhooks", Tags: tags,
		Summary: "The tenant's webhook endpoints", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*webhookListOutput, error) {
		store, err := s.webhookStore()
		if err != nil {
			return nil, err
		}
		eps, err := store.List(ctx, tenantOf(ctx))
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &webhookListOutput{}
		out.Body.Items = eps
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-webhook", Method: stdhttp.MethodGet, Path: "/v1/webhooks/{id}", Tags: tags,
		Summary: "One webhook endpoint", Errors: []int{404, 503},
	}), func(ctx context.Context, in *webhookIDInput) (*webhookOutput, error) {
		ep, err := s.webhookEndpoint(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &webhookOutput{Body: ep}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "delete-webhook", Method: stdhttp.MethodDelete, Path: "/v1/webhooks/{id}", Tags: tags,
		Summary:       "Remove a webhook endpoint; its pending deliveries are cancelled",
		DefaultStatus: stdhttp.StatusNoContent, Errors: []int{404, 503},
	}), func(ctx context.Context, in *webhookIDInput) (*struct{}, error) {
		store, err := s.webhookStore()
		if err != nil {
			return nil, err
		}
		id, err := uuid.Parse(in.ID)
		if err != nil {
			return nil, huma.Error404NotFound("webhook endpoint not found")
		}
		if err := store.Delete(ctx, tenantOf(ctx), id); err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "list-webhook-deliveries", Method: stdhttp.MethodGet, Path: "/v1/webhooks/{id}/deliveries", Tags: tags,
		Summary:     "An endpoint's deliveries with every attempt, newest first",
		Description: "state is pending, succeeded, failed (retried until WEBHOOK_RETRY_PERIOD was over) or cancelled (the endpoint was deleted).",
		Errors:      []int{400, 404, 503},
	}), func(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
		ep, err := s.webhookEndpoint(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		var before int64
		if in.Cursor != "" {
			before, err = strconv.ParseInt(in.Cursor, 10, 64)
			if err != nil || before <= 0 {
				return nil, huma.Error400BadRequest("cursor is not one this API returned")
			}
		}
		items, err := s.deps.Webhooks.Deliveries(ctx, ep.ID, before, in.Limit+1)
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &deliveriesOutput{}
		if len(items) > in.Limit {
			items = items[:in.Limit]
			c := strconv.FormatInt(items[len(items)-1].ID, 10)
			out.Body.NextCursor = &c
		}
		out.Body.Items = items
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "test-webhook", Method: stdhttp.MethodPost, Path: "/v1/webhooks/{id}/test", Tags: tags,
		Summary:       "Send a webhook.test delivery to the endpoint",
		Description:   "Signed and retried like any delivery, and listed among the endpoint's deliveries.",
		DefaultStatus: stdhttp.StatusAccepted, Errors: []int{404, 429, 503},
	}), func(ctx context.Context, in *webhookIDInput) (*webhookTestOutput, error) {
		ep, err := s.webhookEndpoint(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		d, err := s.deps.Webhooks.SendTest(ctx, ep)
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &webhookTestOutput{}
		out.Body.DeliveryID, out.Body.EventID = d.ID, d.EventID
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "rotate-webhook-secret", Method: stdhttp.MethodPost, Path: "/v1/webhooks/{id}/rotate-secret", Tags: tags,
		Summary:     "Give the endpoint a new signing secret",
		Description: "Answers the new secret, shown this once. Every attempt from now on, retries included, is signed with it.",
		Errors:      []int{404, 503},
	}), func(ctx context.Context, in *webhookIDInput) (*webhookSecretOutput, error) {
		ep, err := s.webhookEndpoint(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		secret, err := s.deps.Webhooks.RotateSecret(ctx, tenantOf(ctx), ep.ID)
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &webhookSecretOutput{}
		out.Body.ID, out.Body.Secret = ep.ID.String(), secret
		return out, nil
	})
}

type webhookSecretOutput struct {
	Body struct {
		ID     string `json:"id"`
		Secret string `json:"secret" doc:"The new signing secret (whsec_...), shown once."`
	}
}

// webhookStore is the store, or a 503 in a process built without one
// (such as `tally openapi`).
func (s *Server) webhookStore() (*webhooks.Store, error) {
	if s.deps.Webhooks == nil {
		return nil, huma.Error503ServiceUnavailable("webhooks are not available in this process")
	}
	return s.deps.Webhooks, nil
}

// webhookEndpoint is the caller's endpoint id; another tenant's is a 404,
// as is a malformed id.
func (s *Server) webhookEndpoint(ctx context.Context, raw string) (webhooks.Endpoint, error) {
	store, err := s.webhookStore()
	if err != nil {
		return webhooks.Endpoint{}, err
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return webhooks.Endpoint{}, huma.Error404NotFound("webhook endpoint not found")
	}
	ep, err := store.Get(ctx, tenantOf(ctx), id)
	if err != nil {
		return webhooks.Endpoint{}, s.storeFail(ctx, err)
	}
	return ep, nil
}
