package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"tally/domain"
)

const (
	// statusEvery is how often a status stream reads the document again:
	// as often as the upload page polled.
	statusEvery = time.Second
	// streamFor bounds one status stream well inside the server's write
	// timeout, and so the time a shutdown waits for it; the browser's
	// EventSource connects again after the retry the stream names.
	streamFor = 30 * time.Second
)

// statusOf is what the upload page shows of a document's progress.
func statusOf(doc *domain.Document) map[string]string {
	out := map[string]string{"status": string(doc.Status), "failure_reason": doc.FailureReason}
	if doc.Fields != nil {
		out["vendor"], out["total"], out["currency"] = doc.Fields.Vendor, doc.Fields.Total, doc.Fields.Currency
	}
	return out
}

// documentEvents streams a document's status to the upload page as
// server-sent events: a "status" event now and at each change, until
// the document is COMPLETED or FAILED, when the stream ends. The document
// is loaded for the signed-in member each time, so another tenant's
// document, or another member's, is a 404 like everywhere else.
func (s *Server) documentEvents(w http.ResponseWriter, r *http.Request) {
	v, id := viewerOf(r), r.PathValue("id")
	d, ok := s.loadForScript(w, r, v, id)
	if !ok {
		return
	}
	var err error
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	// A buffering reverse proxy would hold the events back.
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return
	}
	deadline := time.NewTimer(streamFor)
	defer deadline.Stop()
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	last := ""
	for {
		raw, _ := json.Marshal(statusOf(d.doc))
		if string(raw) != last {
			last = string(raw)
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", raw); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if d.doc.Status == domain.StatusCompleted || d.doc.Status == domain.StatusFailed {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
		if d, err = s.load(r.Context(), v, id); err != nil {
			// The browser connects again, or polls if that fails too.
			s.deps.Log.WarnContext(r.Context(), "status stream: load failed", "document_id", id, "err", err)
			return
		}
	}
}
