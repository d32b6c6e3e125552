package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"tally/webhooks"
)

// webhookEvents are the events an endpoint may receive, as the API names
// them.
var webhookEvents = []string{webhooks.EventCompleted, webhooks.EventFailed, webhooks.EventRevised}

// webhooksPage is the admin's list of the tenant's webhook endpoints.
type webhooksPage struct {
	Endpoints []webhooks.Endpoint
	Events    []string
	// Secret is a new endpoint's signing secret, shown this once.
	Secret   string
	SecretOf string
	// Form keeps what was typed when it was refused.
	Form url.Values
}

func (s *Server) webhookStore(w http.ResponseWriter, r *http.Request) *webhooks.Store {
	if s.deps.Webhooks == nil {
		s.errorPage(w, r, http.StatusNotFound, "Webhooks are not managed on this server's pages.")
	}
	return s.deps.Webhooks
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, webhooksPage{}, r.URL.Query().Get("done"), "")
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, data webhooksPage, flash, errMsg string) {
	store := s.webhookStore(w, r)
	if store == nil {
		return
	}
	eps, err := store.List(r.Context(), viewerOf(r).Tenant)
	if err != nil {
		s.failed(w, r, err, "list the webhooks", nil)
		return
	}
	data.Endpoints, data.Events = eps, webhookEvents
	if data.Form == nil {
		data.Form = url.Values{}
	}
	s.render(w, r, status, "webhooks", page{Title: "Webhooks", Nav: "settings", Flash: flash, Error: errMsg, Data: data})
}

// createWebhook registers an endpoint through the store the API's
// POST /v1/webhooks uses, and shows its secret once.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	store := s.webhookStore(w, r)
	if store == nil {
		return
	}
	_ = r.ParseForm()
	ep, secret, err := store.Create(r.Context(), viewerOf(r).Tenant, webhooks.EndpointSpec{
		URL: strings.TrimSpace(r.PostFormValue("url")), Events: r.PostForm["events"],
		Description: strings.TrimSpace(r.PostFormValue("description"))})
	if err != nil {
		s.failed(w, r, err, "register the webhook", func(status int, msg string) {
			s.renderWebhooks(w, r, status, webhooksPage{Form: r.PostForm}, "", msg)
		})
		return
	}
	s.renderWebhooks(w, r, http.StatusOK, webhooksPage{Secret: secret, SecretOf: ep.URL},
		"Webhook registered. Copy its signing secret now: it is shown only this once.", "")
}

// webhookPage is one endpoint with its delivery log, newest first, paged
// by the id of the last delivery shown (before).
type webhookPage struct {
	Endpoint   webhooks.Endpoint
	Deliveries []webhooks.Delivery
	Older      string
}

const deliveriesPerPage = 25

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request) {
	ep, ok := s.endpoint(w, r)
	if !ok {
		return
	}
	var before int64
	if c := r.URL.Query().Get("before"); c != "" {
		var err error
		if before, err = strconv.ParseInt(c, 10, 64); err != nil || before <= 0 {
			s.errorPage(w, r, http.StatusBadRequest, "before must be a delivery number from this page's links.")
			return
		}
	}
	items, err := s.deps.Webhooks.Deliveries(r.Context(), ep.ID, before, deliveriesPerPage+1)
	if err != nil {
		s.failed(w, r, err, "read the delivery log", nil)
		return
	}
	data := webhookPage{Endpoint: ep}
	if len(items) > deliveriesPerPage {
		items = items[:deliveriesPerPage]
		data.Older = "/settings/webhooks/" + ep.ID.String() + "?before=" + strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	data.Deliveries = items
	s.render(w, r, http.StatusOK, "webhook", page{Title: "Webhook deliveries", Nav: "settings",
		Flash: r.URL.Query().Get("done"), Data: data})
}

// endpoint is the path's endpoint of the viewer's tenant; another
// tenant's, or a malformed id, is no endpoint of this page's.
func (s *Server) endpoint(w http.ResponseWriter, r *http.Request) (webhooks.Endpoint, bool) {
	store := s.webhookStore(w, r)
	if store == nil {
		return webhooks.Endpoint{}, false
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "No such webhook.")
		return webhooks.Endpoint{}, false
	}
	ep, err := store.Get(r.Context(), viewerOf(r).Tenant, id)
	if errors.Is(err, webhooks.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "No such webhook.")
		return webhooks.Endpoint{}, false
	}
	if err != nil {
		s.failed(w, r, err, "read the webhook", nil)
		return webhooks.Endpoint{}, false
	}
	return ep, true
}

// testWebhook sends a webhook.test delivery, as POST /v1/webhooks/{id}/test.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	ep, ok := s.endpoint(w, r)
	if !ok {
		return
	}
	if _, err := s.deps.Webhooks.SendTest(r.Context(), ep); err != nil {
		s.failed(w, r, err, "send the test delivery", nil)
		return
	}
	http.Redirect(w, r, "/settings/webhooks/"+ep.ID.String()+"?done="+
		url.QueryEscape("Test delivery queued; it shows below once sent."), http.StatusSeeOther)
}

// deleteWebhook removes an endpoint; its pending deliveries are cancelled.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	ep, ok := s.endpoint(w, r)
	if !ok {
		return
	}
	if err := s.deps.Webhooks.Delete(r.Context(), viewerOf(r).Tenant, ep.ID); err != nil {
		s.failed(w, r, err, "remove the webhook", nil)
		return
	}
	http.Redirect(w, r, "/settings/webhooks?done="+url.QueryEscape("Webhook removed; its pending deliveries are cancelled."), http.StatusSeeOther)
}
