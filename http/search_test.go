package http_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	stdhttp "net/http"
	"net/url"
	"strings"
	"testing"

	"tally/commands"
	"tally/domain"
)

// searchFixture uploads three documents of tenant a and records what
// extraction found in each, then waits until the search read model and
// the documents read model hold them.
func searchFixture(t *testing.T, h *harness) map[string]string {
	t.Helper()
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	ids := map[string]string{}
	for _, d := range []struct {
		user   string
		fields domain.Fields
	}{
		{"ann@example.com", domain.Fields{Vendor: "ACME Tools GmbH", InvoiceNumber: "INV-2026-001", Date: "2026-10-05",
			Currency: "EUR", Total: "119.00", LineItems: []domain.LineItem{{Description: "Cordless drill"}}}},
		{"ann@example.com", domain.Fields{Vendor: "Bean There", Date: "2026-11-02", Currency: "EUR", Total: "4.50",
			Confidence: map[string]int{"total": 40}}},
		{"bob@example.com", domain.Fields{Vendor: "=HYPERLINK(\"http://evil\")", Date: "2026-11-20", Currency: "USD", Total: "310.00"}},
	} {
		code, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"name": "X", "email": d.user})
		if code != 202 {
			t.Fatalf("upload: %d %v", code, doc)
		}
		id := doc["id"].(string)
		if _, err := h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1, Fields: d.fields}); err != nil {
			t.Fatal(err)
		}
		ids[d.fields.Vendor] = id
	}
	h.eventually("three searchable completed documents", func() bool {
		_, out := h.do("GET", "/v1/documents?status=COMPLETED&sort=created", "a", nil, "")
		items, _ := out["items"].([]any)
		return len(items) == 3
	})
	return ids
}

func vendorsOf(out map[string]any) string {
	var names []string
	items, _ := out["items"].([]any)
	for _, it := range items {
		names = append(names, it.(map[string]any)["fields"].(map[string]any)["vendor"].(string))
	}
	return strings.Join(names, "|")
}

func TestSearchDocuments(t *testing.T) {
	h := newHarness(t, nil)
	searchFixture(t, h)
	for _, c := range []struct{ query, want string }{
		{"q=acme", "ACME Tools GmbH"},
		{"q=2026-001", "ACME Tools GmbH"},
		{"q=drill", "ACME Tools GmbH"},
		{"vendor=bean", "Bean There"},
		{"date_from=2026-11-01&date_to=2026-11-30&sort=-date", "=HYPERLINK(\"http://evil\")|Bean There"},
		{"date_from=2026-11-01&date_to=2026-11-30&sort=date", "Bean There|=HYPERLINK(\"http://evil\")"},
		{"min_total=100&max_total=200", "ACME Tools GmbH"},
		{"currency=usd", "=HYPERLINK(\"http://evil\")"},
		{"needs_review=true", "Bean There"},
		{"sort=-total", "=HYPERLINK(\"http://evil\")|ACME Tools GmbH|Bean There"},
		{"sort=total", "Bean There|ACME Tools GmbH|=HYPERLINK(\"http://evil\")"},
		{"q=acme&email=bob@example.com", ""},
		{"q=nothing-like-this", ""},
	} {
		code, out := h.do("GET", "/v1/documents?"+c.query, "a", nil, "")
		if code != 200 || vendorsOf(out) != c.want {
			t.Errorf("%s: %d %q, want %q (%v)", c.query, code, vendorsOf(out), c.want, out)
		}
	}
	// Another tenant finds nothing of a's.
	if code, out := h.do("GET", "/v1/documents?q=acme", "b", nil, ""); code != 200 || vendorsOf(out) != "" {
		t.Errorf("tenant b: %d %v", code, out)
	}
	// Pages follow the search's cursor, in either direction.
	pages := func(sort string) string {
		var seen []string
		next := ""
		for range 4 {
			path := "/v1/documents?sort=" + sort + "&limit=1"
			if next != "" {
				path += "&cursor=" + url.QueryEscape(next)
			}
			code, out := h.do("GET", path, "a", nil, "")
			if code != 200 {
				t.Fatalf("page of sort=%s: %d %v", sort, code, out)
			}
			seen = append(seen, vendorsOf(out))
			n, _ := out["next_cursor"].(string)
			if next = n; next == "" {
				break
			}
		}
		return strings.Join(seen, ",")
	}
	if got := pages("vendor"); got != "=HYPERLINK(\"http://evil\"),ACME Tools GmbH,Bean There" {
		t.Errorf("pages by vendor, ascending: %s", got)
	}
	if got := pages("created_at"); got != "ACME Tools GmbH,Bean There,=HYPERLINK(\"http://evil\")" {
		t.Errorf("pages by upload time, oldest first: %s", got)
	}
	if got := pages("-created_at"); got != "=HYPERLINK(\"http://evil\"),Bean There,ACME Tools GmbH" {
		t.Errorf("pages by upload time, newest first: %s", got)
	}
	// A cursor belongs to its sort and direction.
	_, first := h.do("GET", "/v1/documents?sort=-vendor&limit=1", "a", nil, "")
	cur, _ := first["next_cursor"].(string)
	if code, _ := h.do("GET", "/v1/documents?sort=vendor&limit=1&cursor="+url.QueryEscape(cur), "a", nil, ""); code != 400 {
		t.Errorf("a descending cursor on an ascending sort: %d, want 400", code)
	}
	for _, bad := range []string{"colour", "--total", "-"} {
		if code, _ := h.do("GET", "/v1/documents?sort="+bad, "a", nil, ""); code != 400 {
			t.Errorf("sort=%s: %d, want 400", bad, code)
		}
	}
	seen := strings.Split(pages("-vendor"), ",")
	if got := strings.Join(seen, ","); got != "Bean There,ACME Tools GmbH,=HYPERLINK(\"http://evil\")" {
		t.Errorf("pages by vendor: %s", got)
	}
	// Every bad value is named, with a 400.
	code, out := h.do("GET", "/v1/documents?min_total=lots&currency=EURO&date_from=05.10.2026&needs_review=maybe", "a", nil, "")
	detail, _ := out["detail"].(string)
	for _, want := range []string{"min_total", "currency", "date_from", "needs_review"} {
		if code != 400 || !strings.Contains(detail, want) {
			t.Errorf("bad filters: %d %q does not name %s", code, detail, want)
		}
	}
	if code, out := h.do("GET", "/v1/documents?q=x&cursor=bm9wZQ", "a", nil, ""); code != 400 {
		t.Errorf("bad cursor: %d %v", code, out)
	}
}

func (h *harness) get(path, tenant string) *stdhttp.Response {
	h.t.Helper()
	req, _ := stdhttp.NewRequest("GET", h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.keys[tenant])
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestExportDocuments(t *testing.T) {
	h := newHarness(t, nil)
	ids := searchFixture(t, h)

	resp := h.get("/v1/documents/export?format=csv&sort=vendor", "a")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "id" {
		t.Fatalf("csv rows: %q", rows)
	}
	found := false
	for _, r := range rows[1:] {
		if r[0] == ids["=HYPERLINK(\"http://evil\")"] {
			found = true
			if r[4] != "'=HYPERLINK(\"http://evil\")" {
				t.Errorf("formula cell not defused: %q", r[4])
			}
		}
	}
	if !found {
		t.Errorf("csv export misses a document: %q", rows)
	}

	resp = h.get("/v1/documents/export?format=json&currency=EUR", "a")
	var docs []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&docs); err != nil || resp.StatusCode != 200 || len(docs) != 2 {
		t.Fatalf("json export: %d %v %v", resp.StatusCode, err, docs)
	}

	for _, bad := range []string{"format=xlsx", "format=csv&max_total=abc", "format=json&status=DONE"} {
		resp := h.get("/v1/documents/export?"+bad, "a")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "must be") {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp := h.get("/v1/documents/export", ""); resp.StatusCode != 401 {
		t.Errorf("export without a key: %d", resp.StatusCode)
	}
}
