package http

import (
	"context"
	stdhttp "net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"tally/domain"
	"tally/mailbox"
)

// Mailbox is a linked mailbox as the API shows it; the password is never
// returned.
type Mailbox struct {
	ID               string      `json:"id"`
	Host             string      `json:"host"`
	Port             int         `json:"port"`
	TLS              string      `json:"tls" enum:"imaps,starttls,plain"`
	Username         string      `json:"username"`
	Folder           string      `json:"folder"`
	User             domain.User `json:"user" doc:"The Tally user the receipts belong to."`
	CreatedAt        string      `json:"created_at" format:"date-time"`
	LastScrapeAt     *string     `json:"last_scrape_at" format:"date-time" doc:"Null until the first scrape."`
	LastScrapeResult string      `json:"last_scrape_result" enum:"pending,ok,error"`
	LastScrapeError  string      `json:"last_scrape_error,omitempty"`
	LastScrapeNew    int         `json:"last_scrape_new" doc:"New receipts the last scrape submitted."`
	MessagesFound    int64       `json:"messages_found" doc:"Receipts submitted from this mailbox in all."`
}

func toMailbox(l mailbox.Link) Mailbox {
	m := Mailbox{ID: l.ID.String(), Host: l.Host, Port: l.Port, TLS: l.TLS, Username: l.Username, Folder: l.Folder,
		User: l.User, CreatedAt: formatTime(l.CreatedAt), LastScrapeResult: "pending", LastScrapeError: l.LastScrapeError,
		LastScrapeNew: l.LastScrapeNew, MessagesFound: l.MessagesFound}
	if !l.LastScrapeAt.IsZero() {
		at := formatTime(l.LastScrapeAt)
		m.LastScrapeAt, m.LastScrapeResult = &at, "ok"
		if l.LastScrapeError != "" {
			m.LastScrapeResult = "error"
		}
	}
	return m
}

type linkMailboxInput struct {
	Body struct {
		Host     string `json:"host" doc:"IMAP server, e.g. imap.gmail.com."`
		Port     int    `json:"port" doc:"993 for imaps, 143 for starttls."`
		TLS      string `json:"tls" doc:"imaps (TLS from the start), starttls, or plain (only for a server on Tally's own machine)."`
		Username string `json:"username"`
		Password string `json:"password" doc:"An app password; stored encrypted, never returned." writeOnly:"true"`
		Folder   string `json:"folder,omitempty" doc:"Folder to search; INBOX when empty."`
		User     struct {
			Email string `json:"email" doc:"The Tally user the receipts belong to."`
			Name  string `json:"name,omitempty"`
		} `json:"user"`
		Verify *bool `json:"verify,omitempty" doc:"Log in before linking (default true): a wrong password is a 422 now, not a failed scrape later."`
	}
}

type mailboxOutput struct {
	Location string `header:"Location"`
	Body     Mailbox
}

type mailboxIDInput struct {
	ID string `path:"id" doc:"Mailbox link id (UUID)."`
}

type mailboxListOutput struct {
	Body struct {
		Items []Mailbox `json:"items"`
	}
}

type scrapeOutput struct {
	Body struct {
		Status string `json:"status" enum:"queued"`
	}
}

// ForwardingSender is an address whose forwards belong to a user.
type ForwardingSender struct {
	Email     string `json:"email"`
	Name      string `json:"name,omitempty"`
	Confirmed bool   `json:"confirmed" doc:"The address's owner followed the link mailed to it; until then its forwards are not taken."`
	CreatedAt string `json:"created_at" format:"date-time"`
}

type forwardingAddressOutput struct {
	Body struct {
		Address     string `json:"address" doc:"Where this tenant's users forward e-receipts."`
		RequireDKIM bool   `json:"require_dkim" doc:"A forward counts only when the sender's domain signed it (DKIM); the operator may turn this off per tenant."`
	}
}

type confirmSenderInput struct {
	Token string `query:"token" required:"true" maxLength:"200"`
}

type htmlOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type senderInput struct {
	Body struct {
		Email string `json:"email" doc:"The address the user forwards from; it is also the user's Tally e-mail."`
		Name  string `json:"name,omitempty"`
	}
}

type senderOutput struct{ Body ForwardingSender }

type senderListOutput struct {
	Body struct {
		Items []ForwardingSender `json:"items"`
	}
}

// senderEmailInput names the sender in the query, not the path: request
// paths are logged, and an address is personal data.
type senderEmailInput struct {
	Email string `query:"email" required:"true" maxLength:"254"`
}

func (s *Server) registerMailboxes() {
	// The routes are registered even without the service, so that the
	// OpenAPI document (tally openapi) always describes them.
	mb := s.deps.Mailboxes
	tags := []string{"Mailboxes"}
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "link-mailbox", Method: stdhttp.MethodPost, Path: "/v1/mailboxes", DefaultStatus: 201, Tags: tags,
		Summary:     "Link an IMAP mailbox",
		Description: "Tally searches the mailbox every MAILBOX_SCRAPE_INTERVAL for e-receipts from the configured retailers within the cutoff; each new one becomes a document of the given user, once.",
		Errors:      []int{400, 403, 422, 503},
	}), func(ctx context.Context, in *linkMailboxInput) (*mailboxOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		b := in.Body
		l, err := mb.Create(ctx, tenantOf(ctx), mailbox.NewLink{
			Host: b.Host, Port: b.Port, TLS: b.TLS, Username: b.Username, Password: b.Password, Folder: b.Folder,
			User: domain.User{Email: b.User.Email, Name: b.User.Name}, Verify: b.Verify == nil || *b.Verify,
		})
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return &mailboxOutput{Location: "/v1/mailboxes/" + l.ID.String(), Body: toMailbox(l)}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "list-mailboxes", Method: stdhttp.MethodGet, Path: "/v1/mailboxes", Tags: tags,
		Summary: "Linked mailboxes", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*mailboxListOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		links, err := mb.List(ctx, tenantOf(ctx))
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &mailboxListOutput{}
		out.Body.Items = make([]Mailbox, 0, len(links))
		for _, l := range links {
			out.Body.Items = append(out.Body.Items, toMailbox(l))
		}
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-mailbox", Method: stdhttp.MethodGet, Path: "/v1/mailboxes/{id}", Tags: tags,
		Summary: "A linked mailbox and its last scrape", Errors: []int{404, 503},
	}), func(ctx context.Context, in *mailboxIDInput) (*mailboxOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		id, err := mailboxID(in.ID)
		if err != nil {
			return nil, err
		}
		l, err := mb.Get(ctx, tenantOf(ctx), id)
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return &mailboxOutput{Body: toMailbox(l)}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "unlink-mailbox", Method: stdhttp.MethodDelete, Path: "/v1/mailboxes/{id}", DefaultStatus: 204,
		Tags: tags, Summary: "Unlink a mailbox", Description: "Its password is deleted; documents already made stay.",
		Errors: []int{404, 503},
	}), func(ctx context.Context, in *mailboxIDInput) (*struct{}, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		id, err := mailboxID(in.ID)
		if err != nil {
			return nil, err
		}
		if err := mb.Delete(ctx, tenantOf(ctx), id); err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "scrape-mailbox", Method: stdhttp.MethodPost, Path: "/v1/mailboxes/{id}/scrape", DefaultStatus: 202,
		Tags: tags, Summary: "Scrape a mailbox now", Description: "Queues a scrape; GET the mailbox to see its result.",
		Errors: []int{404, 503},
	}), func(ctx context.Context, in *mailboxIDInput) (*scrapeOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		id, err := mailboxID(in.ID)
		if err != nil {
			return nil, err
		}
		if err := mb.RequestScrape(ctx, tenantOf(ctx), id); err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &scrapeOutput{}
		out.Body.Status = "queued"
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "register-forwarding-sender", Method: stdhttp.MethodPost, Path: "/v1/forwarding-senders",
		DefaultStatus: 202, Tags: tags, Summary: "Register an address that forwards e-receipts",
		Description: "Mails a confirmation link to the address. Once it is followed, messages forwarded from this address to the tenant's forwarding address (GET /v1/forwarding-address) become documents of this user. The answer is the same whether or not other tenants registered the address.",
		Errors:      []int{400, 422, 503},
	}), func(ctx context.Context, in *senderInput) (*senderOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		snd, err := mb.RegisterSender(ctx, tenantOf(ctx), in.Body.Email, in.Body.Name)
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return &senderOutput{Body: toSender(snd)}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-forwarding-address", Method: stdhttp.MethodGet, Path: "/v1/forwarding-address",
		Tags: tags, Summary: "This tenant's forwarding address", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*forwardingAddressOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		addr, err := mb.Address(ctx, tenantOf(ctx))
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &forwardingAddressOutput{}
		out.Body.Address, out.Body.RequireDKIM = addr.Address, addr.RequireDKIM
		return out, nil
	})
	// The link in the confirmation e-mail: GET only shows a button, so
	// that a mail scanner fetching links confirms nothing; POST confirms.
	huma.Register(s.api, huma.Operation{
		OperationID: "confirm-forwarding-sender-page", Method: stdhttp.MethodGet, Path: "/v1/forwarding-senders/confirm",
		Tags: tags, Summary: "The page of a confirmation link (no key needed)", Errors: []int{400},
	}, func(ctx context.Context, in *confirmSenderInput) (*htmlOutput, error) {
		// The form posts to this very URL, token included.
		page := `<!doctype html><title>Confirm forwarding</title><form method="post">` +
			`<p>Take the e-mails this address forwards to Tally as its receipts?</p><button>Confirm</button></form>`
		return &htmlOutput{ContentType: "text/html; charset=utf-8", Body: []byte(page)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "confirm-forwarding-sender", Method: stdhttp.MethodPost, Path: "/v1/forwarding-senders/confirm",
		Tags: tags, Summary: "Confirm a forwarding sender from the link mailed to it (no key needed)", Errors: []int{400, 503},
	}, func(ctx context.Context, in *confirmSenderInput) (*htmlOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		if err := mb.ConfirmSender(ctx, in.Token); err != nil {
			return nil, s.storeFail(ctx, err)
		}
		page := "<!doctype html><title>Confirmed</title><p>Confirmed: receipts you forward to Tally are now taken.</p>"
		return &htmlOutput{ContentType: "text/html; charset=utf-8", Body: []byte(page)}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "list-forwarding-senders", Method: stdhttp.MethodGet, Path: "/v1/forwarding-senders",
		Tags: tags, Summary: "Registered forwarding senders", Errors: []int{503},
	}), func(ctx context.Context, _ *struct{}) (*senderListOutput, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		senders, err := mb.Senders(ctx, tenantOf(ctx))
		if err != nil {
			return nil, s.storeFail(ctx, err)
		}
		out := &senderListOutput{}
		out.Body.Items = make([]ForwardingSender, 0, len(senders))
		for _, snd := range senders {
			out.Body.Items = append(out.Body.Items, toSender(snd))
		}
		return out, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "delete-forwarding-sender", Method: stdhttp.MethodDelete, Path: "/v1/forwarding-senders",
		DefaultStatus: 204, Tags: tags, Summary: "Unregister a forwarding sender", Errors: []int{404, 503},
	}), func(ctx context.Context, in *senderEmailInput) (*struct{}, error) {
		if mb == nil {
			return nil, errNoMailboxes
		}
		if err := mb.DeleteSender(ctx, tenantOf(ctx), in.Email); err != nil {
			return nil, s.storeFail(ctx, err)
		}
		return nil, nil
	})
}

// errNoMailboxes answers in a process built without the mailbox service.
var errNoMailboxes = huma.Error503ServiceUnavailable("mailboxes are not available in this process")

func toSender(snd mailbox.Sender) ForwardingSender {
	return ForwardingSender{Email: snd.Email, Name: snd.Name, Confirmed: snd.Confirmed, CreatedAt: formatTime(snd.CreatedAt)}
}

// mailboxID parses a link id; a malformed one cannot name any link.
func mailboxID(raw string) (uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return id, huma.Error404NotFound("mailbox not found")
	}
	return id, nil
}
