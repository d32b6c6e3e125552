package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"tally/commands"
	"tally/domain"
	"tally/personal"
	"tally/search"
)

// listPage is the documents table's data.
type listPage struct {
	Query   url.Values
	Hits    []search.Hit
	Next    string
	Sort    string
	Asc     bool
	Deleted bool
	All     bool
	Err     string
}

// SortLink is the URL that sorts the table by key, written as the API
// writes it: -key (newest, largest or Z first) on the first click, key
// (ascending) when the table is sorted by -key already.
func (l listPage) SortLink(key string) string {
	q := cloneValues(l.Query)
	q.Del("cursor")
	if l.Sort == key && !l.Asc {
		q.Set("sort", key)
	} else {
		q.Set("sort", "-"+key)
	}
	return "/documents?" + q.Encode()
}

// AriaSort says how the column is sorted, for screen readers.
func (l listPage) AriaSort(key string) string {
	if l.Sort != key {
		return "none"
	}
	if l.Asc {
		return "ascending"
	}
	return "descending"
}

// NextLink is the next page's URL.
func (l listPage) NextLink() string {
	q := cloneValues(l.Query)
	q.Set("cursor", l.Next)
	return "/documents?" + q.Encode()
}

// ExportLink downloads every match.
func (l listPage) ExportLink(format string) string {
	q := cloneValues(l.Query)
	q.Del("cursor")
	q.Set("format", format)
	return "/documents/export?" + q.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if len(vs) > 0 && vs[0] != "" {
			out[k] = []string{vs[0]}
		}
	}
	return out
}

// filterOf reads the table's filters from the query string; the names are
// those of GET /v1/documents.
func (s *Server) filterOf(r *http.Request) (search.Filter, error) {
	v := viewerOf(r)
	q := r.URL.Query()
	f := search.Filter{Tenant: v.Tenant, Text: q.Get("q"), Vendor: q.Get("vendor"), MinTotal: q.Get("min_total"),
		MaxTotal: q.Get("max_total"), Currency: strings.TrimSpace(q.Get("currency")), Status: q.Get("status"),
		Deleted: q.Get("deleted") == "1"}
	f.Sort, f.Ascending = search.ParseSort(q.Get("sort"))
	var errs []error
	if q.Get("needs_review") == "1" {
		f.NeedsReview = new(true)
	}
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{"date_from", &f.DateFrom}, {"date_to", &f.DateTo}} {
		if s := q.Get(d.name); s != "" {
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s must be a date like 2026-11-30", d.name))
			}
			*d.to = t
		}
	}
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	// A member sees their own documents; an admin everyone's unless they
	// ask for their own.
	if !v.IsAdmin() || q.Get("user") == "me" {
		ids, err := s.deps.Personal.UserIDs(r.Context(), v.Tenant, v.Email)
		if err != nil {
			return f, err
		}
		f.UserIDs = ids
	}
	return f, nil
}

func (s *Server) documentsPage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	data := listPage{Query: r.URL.Query(), Deleted: r.URL.Query().Get("deleted") == "1",
		All: v.IsAdmin() && r.URL.Query().Get("user") != "me"}
	data.Sort, data.Asc = search.ParseSort(r.URL.Query().Get("sort"))
	if data.Sort == "" {
		data.Sort = search.SortCreated
	}
	status := http.StatusOK
	f, err := s.filterOf(r)
	if err == nil {
		data.Hits, data.Next, err = s.deps.Search.Find(r.Context(), f, r.URL.Query().Get("cursor"), 25)
	}
	if err != nil {
		status = http.StatusBadRequest
		data.Err = strings.TrimPrefix(err.Error(), "invalid filter: ")
		if !errors.Is(err, search.ErrInvalidFilter) && !strings.Contains(err.Error(), "must be a date") {
			s.deps.Log.ErrorContext(r.Context(), "document search failed", "err", err)
			status, data.Err = http.StatusServiceUnavailable, "The search is unavailable right now."
		}
	}
	s.render(w, r, status, "documents", page{Title: "Documents", Nav: "documents", Flash: r.URL.Query().Get("done"), Data: data})
}

// export streams every match of the table's filters (CSV or JSON).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	f, err := s.filterOf(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = search.FormatCSV
	}
	if format != search.FormatCSV && format != search.FormatJSON {
		s.errorPage(w, r, http.StatusBadRequest, "format must be csv or json")
		return
	}
	ExportHeaders(w, format)
	if err := s.deps.Search.Export(r.Context(), w, f, format); err != nil {
		s.deps.Log.ErrorContext(r.Context(), "export failed", "err", err)
	}
}

// ExportHeaders are the headers of an export download.
func ExportHeaders(w http.ResponseWriter, format string) {
	ct := "text/csv; charset=utf-8"
	if format == search.FormatJSON {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="tally-documents-%s.%s"`,
		time.Now().UTC().Format("2006-01-02"), format))
}

// meta is a command's metadata for the signed-in member. The command id
// names the account, so the history can say who did what.
func meta(r *http.Request) commands.Meta {
	v := viewerOf(r)
	return commands.Meta{Tenant: v.Tenant, CommandID: commandPrefix + v.ID.String() + ":" + uuid.NewString(),
		CorrelationID: r.Header.Get("X-Request-ID")}
}

// commandPrefix starts the command id of every command a member gives in
// the web app: "web:<account id>:<random>".
const commandPrefix = "web:"

// accountOfCommand is the account a web command id names.
func accountOfCommand(commandID string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(commandID, commandPrefix)
	if !ok {
		return uuid.UUID{}, false
	}
	id, _, _ := strings.Cut(rest, ":")
	u, err := uuid.Parse(id)
	return u, err == nil
}

// loaded is one document the viewer may see, with its history.
type loaded struct {
	doc     *domain.Document
	history []domain.Envelope
	email   string
}

// load reads a document from its events and checks the viewer may see
// it: another tenant's or (for a member) another user's document is "not
// found".
func (s *Server) load(ctx context.Context, v *viewer, id string) (loaded, error) {
	if _, err := uuid.Parse(id); err != nil {
		return loaded{}, domain.ErrNotFound
	}
	history, err := s.deps.Commands.Documents().History(ctx, v.Tenant, id)
	if err != nil {
		return loaded{}, err
	}
	doc, err := domain.Fold(history)
	if err != nil {
		return loaded{}, err
	}
	out := loaded{doc: doc, history: history}
	if doc.Owner.Named() {
		owner, err := s.deps.Personal.Open(ctx, v.Tenant, doc.Owner)
		if err != nil {
			return loaded{}, err
		}
		out.email = owner.User.Email
	}
	if !v.IsAdmin() && !strings.EqualFold(out.email, v.Email) {
		return loaded{}, domain.ErrNotFound
	}
	return out, nil
}

// loadForScript is load for the routes a page's script calls: a failure
// is answered in JSON (404 for a document the viewer cannot see) and ok
// is false.
func (s *Server) loadForScript(w http.ResponseWriter, r *http.Request, v *viewer, id string) (loaded, bool) {
	d, err := s.load(r.Context(), v, id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		jsonError(w, http.StatusNotFound, "no such document")
	case err != nil:
		jsonError(w, http.StatusBadGateway, "the event store is unavailable")
	}
	return d, err == nil
}

// commandFailed answers a failed command or load.
func (s *Server) commandFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, domain.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "No such document.")
	case errors.Is(err, commands.ErrInvalidInput):
		s.errorPage(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "invalid input: "))
	case errors.Is(err, domain.ErrInvalidTransition):
		s.errorPage(w, r, http.StatusConflict, "That is not possible in the document's present state.")
	case errors.Is(err, commands.ErrBlobStore), errors.Is(err, commands.ErrEventStore):
		s.deps.Log.ErrorContext(r.Context(), "store unavailable", "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "Storage is unavailable right now; nothing was recorded. Try again shortly.")
	default:
		s.deps.Log.ErrorContext(r.Context(), "document command failed", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong; nothing may have been recorded. Try again.")
	}
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	action := r.PostFormValue("action")
	ids := r.PostForm["ids"]
	if action != "delete" && action != "reprocess" {
		s.errorPage(w, r, http.StatusBadRequest, "Choose delete or reprocess.")
		return
	}
	if len(ids) == 0 || len(ids) > 200 {
		s.errorPage(w, r, http.StatusBadRequest, "Select between 1 and 200 documents.")
		return
	}
	done, failed := 0, 0
	for _, id := range ids {
		if _, err := s.load(r.Context(), v, id); err != nil {
			failed++
			continue
		}
		var err error
		if action == "delete" {
			_, err = s.deps.Commands.DeleteDocument(r.Context(), commands.DeleteDocument{Meta: meta(r), DocumentID: id,
				Reason: "deleted in the web app", Grace: s.deps.DeletionGrace})
		} else {
			_, err = s.deps.Commands.RequestReprocess(r.Context(), commands.RequestReprocess{Meta: meta(r), DocumentID: id,
				Reason: "requested in the web app"})
		}
		if err != nil {
			failed++
			continue
		}
		done++
	}
	msg := fmt.Sprintf("%s: %d done", action, done)
	if failed > 0 {
		msg += fmt.Sprintf(", %d not possible (a document still being processed cannot be reprocessed)", failed)
	}
	http.Redirect(w, r, "/documents?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "upload", page{Title: "Upload", Nav: "upload", Data: s.deps.MaxFileSize >> 20})
}

// uploaded answers one file of the upload page.
type uploaded struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
}

// upload takes one file (the page sends each file in its own request, so
// each has its own progress) as the signed-in member's document.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, s.deps.MaxFileSize+1<<20)
	name, content, err := readFile(r, s.deps.MaxFileSize)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errTooLarge) {
			status, err = http.StatusRequestEntityTooLarge, fmt.Errorf("the file is larger than the %d MB limit", s.deps.MaxFileSize>>20)
		}
		jsonError(w, status, err.Error())
		return
	}
	res, err := s.deps.Commands.UploadInvoice(r.Context(), commands.UploadInvoice{Meta: meta(r), Source: domain.SourceUpload,
		Filename: name, Content: content, User: domain.User{Name: v.Name, Email: v.Email}})
	switch {
	case errors.Is(err, commands.ErrInvalidInput):
		jsonError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "invalid input: "))
		return
	case errors.Is(err, commands.ErrBlobStore), errors.Is(err, commands.ErrEventStore):
		s.deps.Log.ErrorContext(r.Context(), "upload failed", "err", err)
		jsonError(w, http.StatusBadGateway, "storage is unavailable right now; nothing was recorded, try again")
		return
	case err != nil:
		s.deps.Log.ErrorContext(r.Context(), "upload failed", "err", err)
		jsonError(w, http.StatusInternalServerError, "the upload failed; try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(uploaded{ID: res.DocumentID, Status: string(res.Status), Filename: name,
		URL: "/documents/" + res.DocumentID})
}

var errTooLarge = errors.New("file too large")

// readFile reads the one "file" part of a multipart body, up to max bytes,
// as it streams in.
func readFile(r *http.Request, max int64) (string, []byte, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, errors.New("send the file as multipart/form-data in a field named file")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, errors.New("no file: send it in a field named file")
		}
		if err != nil {
			return "", nil, err
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		content, err := io.ReadAll(io.LimitReader(part, max+1))
		if err != nil {
			return "", nil, err
		}
		if int64(len(content)) > max {
			return "", nil, errTooLarge
		}
		if len(content) == 0 {
			return "", nil, errors.New("the file is empty")
		}
		return part.FileName(), content, nil
	}
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// documentStatus answers the upload page's polling (where the browser
// has no EventSource, or the event stream failed).
func (s *Server) documentStatus(w http.ResponseWriter, r *http.Request) {
	d, ok := s.loadForScript(w, r, viewerOf(r), r.PathValue("id"))
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(statusOf(d.doc))
}

// original serves the stored file for the document page. Intake lets in
// PDFs, PNGs and JPEGs (checked by content); e-mails are shown as text, in
// a sandbox, so none of their HTML runs here.
func (s *Server) original(w http.ResponseWriter, r *http.Request) {
	d, err := s.load(r.Context(), viewerOf(r), r.PathValue("id"))
	if err != nil {
		s.commandFailed(w, r, err)
		return
	}
	if d.doc.Purged {
		s.errorPage(w, r, http.StatusGone, "The file was purged after the document's deletion.")
		return
	}
	body, err := s.deps.Blobs.Get(r.Context(), d.doc.BlobKey)
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "read original failed", "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "The file store is unavailable right now.")
		return
	}
	defer body.Close()
	ct := d.doc.ContentType
	switch ct {
	case "application/pdf", "image/png", "image/jpeg":
	default:
		ct = "text/plain; charset=utf-8"
		w.Header().Set("Content-Security-Policy", "sandbox")
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": d.doc.Filename}))
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = io.Copy(w, body)
}

// fieldRow is one field on the document page.
type fieldRow struct {
	Name, Label, Value, Machine string
	Corrected                   bool
	Input                       string
}

var editable = []struct{ name, label, input string }{
	{"vendor", "Vendor", "text"}, {"date", "Date", "date"}, {"due_date", "Due date", "date"},
	{"invoice_number", "Invoice number", "text"}, {"currency", "Currency", "text"},
	{"subtotal", "Subtotal", "text"}, {"tax", "Tax", "text"}, {"total", "Total", "text"},
}

func fieldValue(f *domain.Fields, name string) string {
	if f == nil {
		return ""
	}
	switch name {
	case "vendor":
		return f.Vendor
	case "date":
		return f.Date
	case "due_date":
		return f.DueDate
	case "invoice_number":
		return f.InvoiceNumber
	case "currency":
		return f.Currency
	case "subtotal":
		return f.Subtotal
	case "tax":
		return f.Tax
	case "total":
		return f.Total
	}
	return ""
}

func setField(f *domain.Fields, name, v string) {
	switch name {
	case "vendor":
		f.Vendor = v
	case "date":
		f.Date = v
	case "due_date":
		f.DueDate = v
	case "invoice_number":
		f.InvoiceNumber = v
	case "currency":
		f.Currency = strings.ToUpper(v)
	case "subtotal":
		f.Subtotal = v
	case "tax":
		f.Tax = v
	case "total":
		f.Total = v
	}
}

// docPage is the document page's data.
type docPage struct {
	Doc       *domain.Document
	Email     string
	Fields    []fieldRow
	LineItems []domain.LineItem
	Timeline  []entry
	AsOf      time.Time
	IsPDF     bool
	IsImage   bool
	Engine    string
	Template  string
}

func (s *Server) documentPage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	d, err := s.load(r.Context(), v, r.PathValue("id"))
	if err != nil {
		s.commandFailed(w, r, err)
		return
	}
	data := docPage{Doc: d.doc, Email: d.email, IsPDF: d.doc.ContentType == "application/pdf",
		IsImage: strings.HasPrefix(d.doc.ContentType, "image/")}
	if at := r.URL.Query().Get("as_of"); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "as_of must be an RFC 3339 time, e.g. 2026-11-01T12:00:00Z.")
			return
		}
		var upTo []domain.Envelope
		for _, e := range d.history {
			if !e.OccurredAt.After(t) {
				upTo = append(upTo, e)
			}
		}
		if len(upTo) == 0 {
			s.errorPage(w, r, http.StatusNotFound, "The document did not exist yet at that time.")
			return
		}
		if data.Doc, err = domain.Fold(upTo); err != nil {
			s.commandFailed(w, r, err)
			return
		}
		data.AsOf = t
	}
	for _, f := range editable {
		data.Fields = append(data.Fields, fieldRow{Name: f.name, Label: f.label, Input: f.input,
			Value: fieldValue(data.Doc.Fields, f.name), Machine: fieldValue(data.Doc.Machine, f.name),
			Corrected: fieldValue(data.Doc.Corrections, f.name) != ""})
	}
	if data.Doc.Fields != nil {
		data.LineItems = data.Doc.Fields.LineItems
		data.Engine, data.Template = data.Doc.Fields.EngineVersion, data.Doc.Fields.TemplateVersion
	}
	data.Timeline = s.timeline(r.Context(), v, d.history)
	title := data.Doc.Filename
	if data.Doc.Fields != nil && data.Doc.Fields.Vendor != "" {
		title = data.Doc.Fields.Vendor + " — " + title
	}
	s.render(w, r, http.StatusOK, "document", page{Title: title, Nav: "documents", Flash: r.URL.Query().Get("done"), Data: data})
}

// correct records the member's values for the fields they changed (the
// page's edit form, sent as PATCH by htmx or as a plain POST).
func (s *Server) correct(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	id := r.PathValue("id")
	d, err := s.load(r.Context(), v, id)
	if err != nil {
		s.commandFailed(w, r, err)
		return
	}
	var fields domain.Fields
	changed := 0
	for _, f := range editable {
		val := strings.TrimSpace(r.PostFormValue(f.name))
		if val == "" || val == fieldValue(d.doc.Fields, f.name) {
			continue
		}
		setField(&fields, f.name, val)
		changed++
	}
	if changed == 0 {
		s.afterAction(w, r, id, "Nothing changed.")
		return
	}
	if _, err := s.deps.Commands.CorrectDocument(r.Context(), commands.CorrectDocument{Meta: meta(r), DocumentID: id, Fields: fields}); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	s.afterAction(w, r, id, "Saved.")
}

// afterAction sends the browser back to the document page (htmx follows
// HX-Location without a full reload).
func (s *Server) afterAction(w http.ResponseWriter, r *http.Request, id, msg string) {
	target := "/documents/" + id + "?done=" + url.QueryEscape(msg)
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) reprocess(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.load(r.Context(), viewerOf(r), id); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	if _, err := s.deps.Commands.RequestReprocess(r.Context(), commands.RequestReprocess{Meta: meta(r), DocumentID: id,
		Reason: "requested in the web app"}); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	s.afterAction(w, r, id, "A new extraction is on its way.")
}

func (s *Server) deleteDocument(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.load(r.Context(), viewerOf(r), id); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	if _, err := s.deps.Commands.DeleteDocument(r.Context(), commands.DeleteDocument{Meta: meta(r), DocumentID: id,
		Reason: "deleted in the web app", Grace: s.deps.DeletionGrace}); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	s.afterAction(w, r, id, "Deleted. You can restore it until its file is purged.")
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.load(r.Context(), viewerOf(r), id); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	if _, err := s.deps.Commands.RestoreDocument(r.Context(), meta(r), id); err != nil {
		s.commandFailed(w, r, err)
		return
	}
	s.afterAction(w, r, id, "Restored.")
}

// entry is one event on the document's timeline.
type entry struct {
	At      time.Time
	Type    string
	Title   string
	Who     string
	Changes []change
	Note    string
}

type change struct{ Field, From, To string }

// timeline turns the document's events into what happened, by whom, in
// words; each entry links to the document as of that moment.
func (s *Server) timeline(ctx context.Context, v *viewer, history []domain.Envelope) []entry {
	names := map[uuid.UUID]string{}
	who := func(e domain.Envelope) string {
		id, ok := accountOfCommand(e.CommandID)
		if !ok {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		n := "a former member"
		if a, err := s.deps.Accounts.Get(ctx, id); err == nil && a.Tenant == v.Tenant {
			n = a.Name
		}
		names[id] = n
		return n
	}
	var out []entry
	for _, e := range history {
		en := entry{At: e.OccurredAt, Type: e.Type, Title: e.Type, Who: who(e)}
		switch e.Type {
		case domain.TypeDocumentUploaded:
			var p domain.DocumentUploaded
			_ = e.Decode(&p)
			if s.deps.Personal != nil {
				// The file name is sealed with the user's key, and blank
				// once they are erased.
				if shown, _, err := personal.OpenUpload(ctx, s.deps.Personal, e.Tenant, p); err == nil {
					p = shown
				} else {
					p = p.WithPrivate(domain.Private{})
				}
			}
			en.Title, en.Note = "Uploaded", fmt.Sprintf("%s (%s, %d bytes, by %s)", p.Filename, p.ContentType, p.Size, p.Source)
		case domain.TypeExtractionRequested:
			var p domain.ExtractionRequested
			_ = e.Decode(&p)
			en.Title = fmt.Sprintf("Extraction requested (attempt %d)", p.Attempt)
		case domain.TypeExtractionStarted:
			var p domain.ExtractionStarted
			_ = e.Decode(&p)
			en.Title = fmt.Sprintf("Extraction started (attempt %d)", p.Attempt)
			if p.Worker != "" {
				en.Note = "worker " + p.Worker
			}
		case domain.TypeReceiptExtracted:
			var p domain.ReceiptExtracted
			_ = e.Decode(&p)
			en.Title = "Fields extracted"
			en.Changes = fieldChanges(domain.Fields{}, p.Fields)
			en.Note = engineNote(p.Fields)
		case domain.TypeExtractionRevised:
			var p domain.ExtractionRevised
			_ = e.Decode(&p)
			en.Title = "Extraction revised"
			for f, c := range p.Changes {
				en.Changes = append(en.Changes, change{Field: f, From: c.From, To: c.To})
			}
			sort.Slice(en.Changes, func(i, j int) bool { return en.Changes[i].Field < en.Changes[j].Field })
			en.Note = engineNote(p.Fields)
		case domain.TypeExtractionFailed:
			var p domain.ExtractionFailed
			_ = e.Decode(&p)
			en.Title, en.Note = fmt.Sprintf("Extraction failed (attempt %d)", p.Attempt), p.Reason
		case domain.TypeDocumentCorrected:
			var p domain.DocumentCorrected
			_ = e.Decode(&p)
			en.Title = "Corrected"
			for _, c := range fieldChanges(p.Previous, domain.Merge(p.Previous, p.Corrections)) {
				en.Changes = append(en.Changes, c)
			}
		case domain.TypeDocumentDeleted:
			var p domain.DocumentDeleted
			_ = e.Decode(&p)
			en.Title, en.Note = "Deleted", "file kept until "+p.PurgeAfter.UTC().Format("2006-01-02")
		case domain.TypeDocumentRestored:
			en.Title = "Restored"
		case domain.TypeDocumentPurged:
			en.Title = "File purged"
		case domain.TypeDuplicateDetected:
			var p domain.DuplicateDetected
			_ = e.Decode(&p)
			en.Title, en.Note = "Marked as a duplicate", "of "+p.Of
		case domain.TypeNotificationSent:
			en.Title = "E-mail sent to the user"
		}
		out = append(out, en)
	}
	return out
}

func engineNote(f domain.Fields) string {
	var parts []string
	if f.EngineVersion != "" {
		parts = append(parts, "engine "+f.EngineVersion)
	}
	if f.TemplateVersion != "" {
		parts = append(parts, "template "+f.TemplateVersion)
	}
	return strings.Join(parts, ", ")
}

// fieldChanges lists the editable fields that differ between a and b.
func fieldChanges(a, b domain.Fields) []change {
	var out []change
	for _, f := range editable {
		if x, y := fieldValue(&a, f.name), fieldValue(&b, f.name); x != y {
			out = append(out, change{Field: f.label, From: x, To: y})
		}
	}
	return out
}
