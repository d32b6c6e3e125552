package main

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentStatusEvents reads the upload page's status stream: a
// "status" event at each change until COMPLETED, then the stream ends;
// an admin of another tenant gets a 404 for the same document, and
// nobody signed in gets no stream.
func TestDocumentStatusEvents(t *testing.T) {
	in := startAll(t, nil)
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(in.dataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	token := func(body string) string {
		m := csrfInput.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF token: %.300s", body)
		}
		return m[1]
	}
	admin := pageClient()
	_, body, _ := page(t, admin, "GET", in.base+"/login", nil)
	if code, _, _ := page(t, admin, "POST", in.base+"/login", url.Values{"csrf": {token(body)}, "email": {firstAdmin},
		"password": {strings.TrimSpace(string(raw))}}); code != 303 {
		t.Fatalf("signing in answers %d", code)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")

	// The stream ends at COMPLETED or FAILED, or after 30 s.
	code, stream, h := page(t, admin, "GET", in.base+"/documents/"+id+"/events", nil)
	if code != 200 || h.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("the status stream answers %d %s: %.300s", code, h.Get("Content-Type"), stream)
	}
	var statuses []string
	event := ""
	for line := range strings.Lines(stream) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "status":
			var s struct{ Status, Vendor string }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &s); err != nil {
				t.Fatalf("a status event that is not JSON: %q", line)
			}
			statuses = append(statuses, s.Status)
			if s.Status == "COMPLETED" && s.Vendor == "" {
				t.Errorf("the COMPLETED event names no vendor: %q", line)
			}
		}
	}
	if len(statuses) == 0 || statuses[len(statuses)-1] != "COMPLETED" {
		t.Fatalf("the stream's statuses: %v, want them to end at COMPLETED:\n%s", statuses, stream)
	}
	for i := 1; i < len(statuses); i++ {
		if statuses[i] == statuses[i-1] {
			t.Errorf("the status %s was sent twice in a row: %v", statuses[i], statuses)
		}
	}

	t.Logf("statuses streamed: %v", statuses)

	// An admin of another tenant, signed in, asks for the same id.
	var out strings.Builder
	if err := run(context.Background(), []string{"members", "invite", "--tenant", "other", "--role", "admin", "olga@example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(regexp.MustCompile(`https?://\S+/invite/\S+`).FindString(out.String()))
	if err != nil || link.Path == "" {
		t.Fatalf("no invitation link: %q", out.String())
	}
	other := pageClient()
	_, body, _ = page(t, other, "GET", in.base+link.Path, nil)
	if code, _, _ := page(t, other, "POST", in.base+link.Path, url.Values{"csrf": {token(body)}, "name": {"Olga"},
		"password": {"other password 1"}, "password2": {"other password 1"}}); code != 303 {
		t.Fatalf("accepting the invitation answers %d", code)
	}
	if code, _, _ := page(t, other, "GET", in.base+"/documents", nil); code != 200 {
		t.Fatalf("the other tenant's admin is not signed in: /documents answers %d", code)
	}
	if code, _, h := page(t, other, "GET", in.base+"/documents/"+id+"/events", nil); code != 404 || h.Get("Content-Type") == "text/event-stream" {
		t.Errorf("another tenant's admin gets %d %s for the document's stream, want 404", code, h.Get("Content-Type"))
	}

	// Nobody signed in is sent to the sign-in page.
	if code, _, h := page(t, pageClient(), "GET", in.base+"/documents/"+id+"/events", nil); code != 303 || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Errorf("without a session the stream answers %d (Location %q), want a redirect to /login", code, h.Get("Location"))
	}
}
