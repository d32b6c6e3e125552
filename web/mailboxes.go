package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"tally/domain"
	"tally/mailbox"
)

// mailboxesPage is the admin's page of linked IMAP mailboxes and of the
// addresses that forward e-receipts to the tenant's forwarding address.
type mailboxesPage struct {
	Links   []mailbox.Link
	Senders []mailbox.Sender
	// Forwarding is the tenant's forwarding address; empty when this
	// server has no forwarding mailbox (FORWARD_IMAP_URL).
	Forwarding  string
	RequireDKIM bool
	Form        url.Values
}

func (s *Server) mailboxService(w http.ResponseWriter, r *http.Request) *mailbox.Service {
	if s.deps.Mailboxes == nil {
		s.errorPage(w, r, http.StatusNotFound, "Mailboxes are not managed on this server's pages.")
	}
	return s.deps.Mailboxes
}

func (s *Server) mailboxesPage(w http.ResponseWriter, r *http.Request) {
	s.renderMailboxes(w, r, http.StatusOK, url.Values{}, r.URL.Query().Get("done"), "")
}

func (s *Server) renderMailboxes(w http.ResponseWriter, r *http.Request, status int, form url.Values, flash, errMsg string) {
	mb := s.mailboxService(w, r)
	if mb == nil {
		return
	}
	tenant := viewerOf(r).Tenant
	data := mailboxesPage{Form: form}
	links, err := mb.List(r.Context(), tenant)
	if err == nil {
		data.Links = links
		data.Senders, err = mb.Senders(r.Context(), tenant)
	}
	if err == nil {
		var addr mailbox.ForwardingAddress
		addr, err = mb.Address(r.Context(), tenant)
		if errors.Is(err, mailbox.ErrNoForwarding) {
			err = nil
		}
		data.Forwarding, data.RequireDKIM = addr.Address, addr.RequireDKIM
	}
	if err != nil {
		s.failed(w, r, err, "list the mailboxes", nil)
		return
	}
	s.render(w, r, status, "mailboxes", page{Title: "Mailboxes", Nav: "settings", Flash: flash, Error: errMsg, Data: data})
}

// linkMailbox links an IMAP mailbox through the service POST /v1/mailboxes
// uses; it logs in first unless the admin unticked the check.
func (s *Server) linkMailbox(w http.ResponseWriter, r *http.Request) {
	mb := s.mailboxService(w, r)
	if mb == nil {
		return
	}
	_ = r.ParseForm()
	f := r.PostForm
	port, err := strconv.Atoi(f.Get("port"))
	if err != nil {
		port = 0 // the service says what a port must be
	}
	_, err = mb.Create(r.Context(), viewerOf(r).Tenant, mailbox.NewLink{Host: f.Get("host"), Port: port, TLS: f.Get("tls"),
		Username: f.Get("username"), Password: f.Get("password"), Folder: f.Get("folder"),
		User: domain.User{Email: f.Get("user_email"), Name: f.Get("user_name")}, Verify: f.Get("verify") != ""})
	if err != nil {
		f.Del("password") // never sent back into a page
		s.failed(w, r, err, "link the mailbox", func(status int, msg string) {
			s.renderMailboxes(w, r, status, f, "", msg)
		})
		return
	}
	http.Redirect(w, r, "/settings/mailboxes?done="+url.QueryEscape("Mailbox linked."), http.StatusSeeOther)
}

// mailboxAction runs act on the path's mailbox of the viewer's tenant.
func (s *Server) mailboxAction(w http.ResponseWriter, r *http.Request, what, done string,
	act func(mb *mailbox.Service, tenant string, id uuid.UUID) error) {
	mb := s.mailboxService(w, r)
	if mb == nil {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "No such mailbox.")
		return
	}
	if err := act(mb, viewerOf(r).Tenant, id); err != nil {
		s.failed(w, r, err, what, nil)
		return
	}
	http.Redirect(w, r, "/settings/mailboxes?done="+url.QueryEscape(done), http.StatusSeeOther)
}

func (s *Server) scrapeMailbox(w http.ResponseWriter, r *http.Request) {
	s.mailboxAction(w, r, "queue the scrape", "Scrape queued; its result shows here once it ran.",
		func(mb *mailbox.Service, tenant string, id uuid.UUID) error {
			return mb.RequestScrape(r.Context(), tenant, id)
		})
}

func (s *Server) unlinkMailbox(w http.ResponseWriter, r *http.Request) {
	s.mailboxAction(w, r, "unlink the mailbox", "Mailbox unlinked; its password is deleted, its documents stay.",
		func(mb *mailbox.Service, tenant string, id uuid.UUID) error {
			return mb.Delete(r.Context(), tenant, id)
		})
}

// registerSender registers a forwarding sender, which mails the address a
// confirmation link (POST /v1/forwarding-senders).
func (s *Server) registerSender(w http.ResponseWriter, r *http.Request) {
	mb := s.mailboxService(w, r)
	if mb == nil {
		return
	}
	_ = r.ParseForm()
	if _, err := mb.RegisterSender(r.Context(), viewerOf(r).Tenant, r.PostFormValue("email"), r.PostFormValue("name")); err != nil {
		s.failed(w, r, err, "register the sender", func(status int, msg string) {
			s.renderMailboxes(w, r, status, r.PostForm, "", msg)
		})
		return
	}
	http.Redirect(w, r, "/settings/mailboxes?done="+url.QueryEscape(
		"Sender registered. Their forwards count once they follow the link just mailed to them."), http.StatusSeeOther)
}

func (s *Server) removeSender(w http.ResponseWriter, r *http.Request) {
	mb := s.mailboxService(w, r)
	if mb == nil {
		return
	}
	if err := mb.DeleteSender(r.Context(), viewerOf(r).Tenant, r.PostFormValue("email")); err != nil {
		s.failed(w, r, err, "remove the sender", nil)
		return
	}
	http.Redirect(w, r, "/settings/mailboxes?done="+url.QueryEscape("Sender removed."), http.StatusSeeOther)
}
