package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	stdhttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"tally/apikeys"
	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/ereceipts"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	tallyhttp "tally/http"
	"tally/mailauth"
	"tally/mailauth/mailauthtest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/webhooks"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

type harness struct {
	t      testing.TB
	srv    *httptest.Server
	events *eventstore.Store
	pool   *pgxpool.Pool
	cmds   *commands.Handler
	keys   map[string]string // tenant -> key
	dns    *mailauthtest.DNS
}

type failingBlobs struct{ blob.Store }

func (failingBlobs) Put(context.Context, string, io.Reader, int64, string) error {
	return errors.New("dial tcp: connection refused")
}

// newHarness starts an API on a fresh database and stream; options change
// its dependencies before it is built.
func newHarness(t testing.TB, blobs blob.Store, options ...func(*tallyhttp.Deps)) *harness {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	dsn, projectorPool := pgtest.New(t)
	// The API gets its own pool so a test can take the database away from
	// it while the projectors keep theirs.
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if blobs == nil {
		local, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		blobs = local
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.DiscardHandler)
	dns := mailauthtest.Start(t)
	verifier := &mailauth.Verifier{Resolver: dns.Resolver(), Timeout: 2 * time.Second}
	people := personal.New(pool)
	cmds := commands.New(events, blobs, log, commands.WithPeople(people), commands.WithEmailVerifier(verifier.Judge))
	hooks, err := webhooks.Open(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	deps := tallyhttp.Deps{
		Commands: cmds, Pool: pool, Redis: rdb, Keys: apikeys.New(pool), Webhooks: hooks, EReceipts: ereceipts.NewStore(pool),
		Personal: people,
		Checks: []tallyhttp.Check{
			{Name: "database", Critical: true, Ping: func(ctx context.Context) error { return pool.Ping(ctx) }},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
		MaxFileSize: 1 << 20, DeletionGrace: time.Hour, Version: "test", Log: log,
		// A dry run's preview: what a newer engine would find, here a
		// different total, so the outcome has a change to show.
		Preview: func(ctx context.Context, tenant, docID string) (domain.Fields, error) {
			d, err := cmds.Documents().Load(ctx, tenant, docID)
			if err != nil || d.Machine == nil {
				return domain.Fields{}, fmt.Errorf("no result to compare: %v", err)
			}
			f := *d.Machine
			f.Total = "99.99"
			return f, nil
		},
	}
	for _, o := range options {
		o(&deps)
	}
	api := tallyhttp.New(deps)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, events: events, pool: pool, cmds: cmds, keys: map[string]string{}, dns: dns}
	// Tenants are unique per test so that Redis, shared by all tests, never
	// mixes their idempotency keys.
	for _, name := range []string{"a", "b"} {
		tenant := name + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		key, err := apikeys.New(pool).Create(context.Background(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		h.keys[name] = key
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, p := range projections.All() {
		go projections.NewRunner(projectorPool, events, p, log).RunForever(ctx)
	}
	return h
}

type form map[string]string

func multipartBody(t testing.TB, file []byte, fields form) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != nil {
		fw, err := w.CreateFormFile("file", "invoice.pdf")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func (h *harness) do(method, path, tenant string, body io.Reader, contentType string, headers ...string) (int, map[string]any) {
	h.t.Helper()
	req, _ := stdhttp.NewRequest(method, h.srv.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tenant != "" {
		req.Header.Set("Authorization", "Bearer "+h.keys[tenant])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

func (h *harness) upload(path, tenant string, file []byte, fields form, headers ...string) (int, map[string]any) {
	body, ct := multipartBody(h.t, file, fields)
	return h.do("POST", path, tenant, body, ct, headers...)
}

// eventually polls until check passes: reads trail writes by a moment.
func (h *harness) eventually(what string, check func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if check() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

func TestUploadRoutesAndReads(t *testing.T) {
	h := newHarness(t, nil)
	user := form{"name": "Ann", "email": "ann@example.com"}
	code, doc := h.upload("/v1/documents", "a", []byte(pdf), user)
	if code != 202 || doc["status"] != "PENDING" || doc["id"] == nil {
		t.Fatalf("upload: %d %v", code, doc)
	}
	id := doc["id"].(string)
	code, billify := h.upload("/upload-invoice", "a", []byte(pdf), user)
	if code != 202 {
		t.Fatalf("billify: %d %v", code, billify)
	}
	code, ingest := h.upload("/api/v1/ingest/upload", "a", []byte(pdf), nil)
	if code != 202 || ingest["message"] != "File uploaded successfully, processing started" || ingest["request_id"] == nil {
		t.Fatalf("ingest: %d %v", code, ingest)
	}
	email := "From: Shop <s@shop.example>\r\nTo: Ann <ann@example.com>\r\nSubject: Receipt\r\n\r\nTotal 3.00\r\n"
	code, er := h.do("POST", "/v1/receipts/email", "a", strings.NewReader(email), "message/rfc822")
	if code != 202 {
		t.Fatalf("email: %d %v", code, er)
	}

	h.eventually("four documents in stats and the list", func() bool {
		// Each read model has its own projector; wait for both.
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		code, _ := h.do("GET", "/v1/documents/"+id, "a", nil, "")
		return st["total"] == 4.0 && st["pending"] == 4.0 && code == 200
	})
	// Each read model follows the stream on its own: wait for documents too.
	h.eventually("the ingested document in the documents read model", func() bool {
		code, _ := h.do("GET", "/api/v1/ingest/status/"+ingest["request_id"].(string), "a", nil, "")
		return code == 200
	})
	code, got := h.do("GET", "/v1/documents/"+id, "a", nil, "")
	if code != 200 || got["status"] != "PENDING" || got["user"].(map[string]any)["email"] != "ann@example.com" {
		t.Fatalf("get: %d %v", code, got)
	}
	code, status := h.do("GET", "/api/v1/ingest/status/"+ingest["request_id"].(string), "a", nil, "")
	if code != 200 || status["s3_key"] == "" || status["filename"] != "invoice.pdf" {
		t.Fatalf("ingest status: %d %v", code, status)
	}
	code, istats := h.do("GET", "/api/v1/ingest/stats", "a", nil, "")
	if code != 200 || istats["total"] != 4.0 || len(istats) != 5 {
		t.Fatalf("ingest stats: %d %v", code, istats)
	}

	// The worker's events, appended directly, move status and totals.
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	if _, err := h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
		Fields: domain.Fields{Vendor: "ACME", Date: "2026-10-03", Currency: "EUR", Total: "12.50"}}); err != nil {
		t.Fatal(err)
	}
	h.eventually("monthly total", func() bool {
		_, mt := h.do("GET", "/v1/monthly-totals?email=ann@example.com&month=2026-10", "a", nil, "")
		items, _ := mt["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["total"] == "12.50" && items[0].(map[string]any)["currency"] == "EUR"
	})
	// Each read model follows the stream on its own: wait for each.
	h.eventually("document COMPLETED", func() bool {
		_, got = h.do("GET", "/v1/documents/"+id, "a", nil, "")
		return got["status"] == "COMPLETED"
	})
	if got["fields"].(map[string]any)["vendor"] != "ACME" {
		t.Fatalf("completed doc: %v", got)
	}
	h.eventually("stats after extraction", func() bool {
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		return st["completed"] == 1.0 && st["pending"] == 3.0
	})

	// List: filters and pagination.
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/v1/documents?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		_, list := h.do("GET", path, "a", nil, "")
		for _, it := range list["items"].([]any) {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		if list["next_cursor"] == nil {
			break
		}
		cursor = list["next_cursor"].(string)
	}
	if len(seen) != 4 {
		t.Fatalf("pagination saw %d documents, want 4", len(seen))
	}
	_, list := h.do("GET", "/v1/documents?status=COMPLETED", "a", nil, "")
	if n := len(list["items"].([]any)); n != 1 {
		t.Fatalf("status filter: %d items", n)
	}
	_, list = h.do("GET", "/v1/documents?email=nobody@example.com", "a", nil, "")
	if n := len(list["items"].([]any)); n != 0 {
		t.Fatalf("email filter: %d items", n)
	}
	if code, _ := h.do("GET", "/v1/documents?from=yesterday", "a", nil, ""); code != 400 {
		t.Fatalf("bad from: %d", code)
	}

	// Reprocess goes back to PENDING with attempt 2.
	code, rep := h.do("POST", "/v1/documents/"+id+"/reprocess", "a", nil, "")
	if code != 202 || rep["status"] != "PENDING" {
		t.Fatalf("reprocess: %d %v", code, rep)
	}
	if code, _ := h.do("POST", "/v1/documents/"+id+"/reprocess", "a", nil, ""); code != 409 {
		t.Fatalf("second reprocess while pending: %d, want 409", code)
	}
}

func tenantOf(h *harness, name string) string {
	var tenant string
	if err := h.pool.QueryRow(context.Background(), "SELECT tenant FROM api_keys WHERE key_prefix = $1", h.keys[name][:10]).Scan(&tenant); err != nil {
		h.t.Fatal(err)
	}
	return tenant
}

func TestTenantsAreIsolated(t *testing.T) {
	h := newHarness(t, nil)
	_, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	id := doc["id"].(string)
	h.eventually("document visible to its tenant", func() bool {
		code, _ := h.do("GET", "/v1/documents/"+id, "a", nil, "")
		return code == 200
	})
	for _, path := range []string{"/v1/documents/" + id, "/api/v1/ingest/status/" + id} {
		if code, body := h.do("GET", path, "b", nil, ""); code != 404 {
			t.Fatalf("%s as another tenant: %d %v, want 404", path, code, body)
		}
	}
	if code, _ := h.do("POST", "/v1/documents/"+id+"/reprocess", "b", nil, ""); code != 404 {
		t.Fatalf("reprocess as another tenant: %d", code)
	}
	_, list := h.do("GET", "/v1/documents", "b", nil, "")
	if n := len(list["items"].([]any)); n != 0 {
		t.Fatalf("other tenant lists %d documents", n)
	}
	_, st := h.do("GET", "/v1/stats", "b", nil, "")
	if st["total"] != 0.0 {
		t.Fatalf("other tenant stats: %v", st)
	}
	if code, _ := h.do("GET", "/v1/documents/"+id, "", nil, ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	req, _ := stdhttp.NewRequest("GET", h.srv.URL+"/v1/stats", nil)
	req.Header.Set("Authorization", "Bearer tly_forged")
	resp, _ := stdhttp.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("forged key: %d", resp.StatusCode)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t, nil)
	key := uuid.NewString()
	user := form{"email": "ann@example.com"}
	c1, first := h.upload("/v1/documents", "a", []byte(pdf), user, "Idempotency-Key", key)
	c2, second := h.upload("/v1/documents", "a", []byte(pdf), user, "Idempotency-Key", key)
	if c1 != 202 || c2 != 202 || first["id"] != second["id"] {
		t.Fatalf("same key and body: %d %v / %d %v", c1, first, c2, second)
	}
	other := []byte(strings.Replace(pdf, "Catalog", "Catalog2", 1))
	if code, body := h.upload("/v1/documents", "a", other, user, "Idempotency-Key", key); code != 422 {
		t.Fatalf("same key, other body: %d %v, want 422", code, body)
	}
	// Another tenant's identical key is its own.
	_, theirs := h.upload("/v1/documents", "b", []byte(pdf), user, "Idempotency-Key", key)
	if theirs["id"] == first["id"] {
		t.Fatal("idempotency keys leak across tenants")
	}
	h.eventually("one document for tenant a", func() bool {
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		return st["total"] == 1.0
	})
}

func TestBadUploads(t *testing.T) {
	h := newHarness(t, nil)
	user := form{"email": "ann@example.com"}
	big := append([]byte(pdf), bytes.Repeat([]byte("x"), 2<<20)...)
	cases := []struct {
		name, path string
		file       []byte
		fields     form
		want       int
		detail     string
	}{
		{"empty file", "/v1/documents", []byte{}, user, 400, "empty"},
		{"no file", "/v1/documents", nil, user, 400, "no file"},
		{"text file", "/v1/documents", []byte("plain text"), user, 400, "not a PDF, PNG or JPEG"},
		{"truncated pdf", "/v1/documents", []byte(pdf[:40]), user, 400, "truncated"},
		{"missing email", "/v1/documents", []byte(pdf), form{"name": "Ann"}, 400, "email"},
		{"bad email", "/upload-invoice", []byte(pdf), form{"email": "ann"}, 400, "not an e-mail address"},
		{"too large", "/v1/documents", big, user, 413, "limit"},
		{"too large (ingest)", "/api/v1/ingest/upload", big, nil, 400, "limit"},
		{"png on ingest", "/api/v1/ingest/upload", pngBytes(), nil, 400, "only PDF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.upload(c.path, "a", c.file, c.fields)
			if code != c.want || !strings.Contains(fmt.Sprint(body["detail"]), c.detail) {
				t.Fatalf("got %d %v, want %d mentioning %q", code, body, c.want, c.detail)
			}
		})
	}
	if code, body := h.do("POST", "/v1/documents", "a", strings.NewReader("{}"), "application/json"); code != 400 {
		t.Fatalf("json body: %d %v", code, body)
	}
	if code, body := h.do("POST", "/v1/receipts/email", "a", strings.NewReader("no headers at all"), "message/rfc822"); code != 400 {
		t.Fatalf("not an e-mail: %d %v", code, body)
	}
	if code, _ := h.do("GET", "/v1/documents/not-a-uuid", "a", nil, ""); code != 404 {
		t.Fatalf("bad id: %d", code)
	}
	// Nothing of the above was recorded.
	if last, _ := h.events.LastSequence(context.Background()); last != 0 {
		t.Fatalf("%d events after only bad uploads", last)
	}
}

func TestDependencyFailures(t *testing.T) {
	h := newHarness(t, failingBlobs{})
	code, body := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	if code != 502 {
		t.Fatalf("blob store down: %d %v, want 502", code, body)
	}
	code, body = h.upload("/api/v1/ingest/upload", "a", []byte(pdf), nil)
	if code != 502 {
		t.Fatalf("blob store down (ingest): %d %v, want 502", code, body)
	}
	if last, _ := h.events.LastSequence(context.Background()); last != 0 {
		t.Fatal("an event was appended without its blob")
	}
	code, health := h.do("GET", "/api/v1/ingest/health", "", nil, "")
	if code != 200 || health["service"] != "healthy" {
		t.Fatalf("health: %d %v", code, health)
	}
	// Database down: reads answer 503, health says unhealthy, readyz 500.
	h.pool.Close()
	if code, _ := h.do("GET", "/v1/stats", "a", nil, ""); code != 503 {
		t.Fatalf("database down: %d, want 503", code)
	}
	// Health checks are cached for a second: poll until the cache ages.
	h.eventually("health to see the database down", func() bool {
		code, health = h.do("GET", "/api/v1/ingest/health", "", nil, "")
		return code == 503
	})
	if health["service"] != "unhealthy" || health["dependencies"].(map[string]any)["database"] != "unhealthy" {
		t.Fatalf("health with database down: %d %v", code, health)
	}
	if code, _ := h.do("GET", "/readyz", "", nil, ""); code != 500 {
		t.Fatalf("readyz with database down: %d", code)
	}
	if code, _ := h.do("GET", "/healthz", "", nil, ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

func TestOpenAPIAndDocs(t *testing.T) {
	h := newHarness(t, nil)
	code, spec := h.do("GET", "/openapi.json", "", nil, "")
	if code != 200 || spec["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %d", code)
	}
	paths := spec["paths"].(map[string]any)
	for _, p := range []string{"/v1/documents", "/v1/documents/export", "/v1/documents/{id}", "/v1/receipts/email", "/v1/stats", "/v1/monthly-totals",
		"/api/v1/ingest/upload", "/api/v1/ingest/status/{request_id}", "/api/v1/ingest/stats", "/api/v1/ingest/health",
		"/upload-invoice", "/healthz", "/readyz"} {
		if paths[p] == nil {
			t.Errorf("openapi lacks %s", p)
		}
	}
	// The fields say where each value came from and how sure it is.
	fields, _ := spec["components"].(map[string]any)["schemas"].(map[string]any)["Fields"].(map[string]any)
	props, _ := fields["properties"].(map[string]any)
	for name, want := range map[string]string{"sources": "learned", "confidence": "calibrated", "learned_from": "correction"} {
		p, _ := props[name].(map[string]any)
		if d, _ := p["description"].(string); !strings.Contains(d, want) {
			t.Errorf("openapi: Fields.%s says %q, want it to mention %q", name, d, want)
		}
	}
	resp, err := stdhttp.Get(h.srv.URL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(page, []byte("unpkg.com")) || !bytes.Contains(page, []byte("/openapi.json")) {
		t.Fatalf("docs page: %d", resp.StatusCode)
	}
}

func TestAuditHistoryAndAsOf(t *testing.T) {
	h := newHarness(t, nil)
	_, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	id := doc["id"].(string)
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	if _, err := h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	between := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	if _, err := h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
		Fields: domain.Fields{Total: "9.99", Currency: "EUR"}}); err != nil {
		t.Fatal(err)
	}
	code, hist := h.do("GET", "/v1/documents/"+id+"/events", "a", nil, "")
	items, _ := hist["items"].([]any)
	if code != 200 || len(items) != 3 {
		t.Fatalf("history: %d %v", code, hist)
	}
	first := items[0].(map[string]any)
	if first["type"] != "DocumentUploaded" || first["schema_version"] != 3.0 || first["correlation_id"] == "" || first["sequence"] == nil {
		t.Fatalf("first event: %v", first)
	}
	// The history shows the user sealed, never in the clear.
	if data := first["data"].(map[string]any); data["user_id"] == nil || data["user_sealed"] == nil || data["user"] != nil ||
		data["private_sealed"] == nil || data["filename"] != "" {
		t.Fatalf("first event's user: %v", data)
	}
	if raw, _ := json.Marshal(hist); strings.Contains(string(raw), "ann@example.com") {
		t.Fatalf("the history shows the address: %s", raw)
	}
	if code, _ := h.do("GET", "/v1/documents/"+id+"/events", "b", nil, ""); code != 404 {
		t.Fatalf("another tenant's history: %d", code)
	}
	code, then := h.do("GET", "/v1/documents/"+id+"?as_of="+between, "a", nil, "")
	if code != 200 || then["status"] != "PROCESSING" || then["fields"] != nil {
		t.Fatalf("as of %s: %d %v", between, code, then)
	}
	code, now := h.do("GET", "/v1/documents/"+id+"/as-of?as_of="+time.Now().UTC().Format(time.RFC3339Nano), "a", nil, "")
	if code != 200 || now["status"] != "COMPLETED" || now["user"].(map[string]any)["email"] != "ann@example.com" || now["user_id"] == "" ||
		now["filename"] != "invoice.pdf" {
		t.Fatalf("as of now: %d %v", code, now)
	}
	if code, _ := h.do("GET", "/v1/documents/"+id+"?as_of=2000-01-01T00:00:00Z", "a", nil, ""); code != 404 {
		t.Fatalf("before the upload: %d", code)
	}
	if code, _ := h.do("GET", "/v1/documents/"+id+"?as_of=yesterday", "a", nil, ""); code != 400 {
		t.Fatalf("bad as_of: %d", code)
	}
}

func TestCorrectDeleteRestore(t *testing.T) {
	h := newHarness(t, nil)
	_, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	id := doc["id"].(string)
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1})
	h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
		Fields: domain.Fields{Vendor: "ACME", Date: "2026-10-03", Currency: "EUR", Total: "12.50"}})
	total := func() string {
		_, mt := h.do("GET", "/v1/monthly-totals?email=ann@example.com", "a", nil, "")
		items, _ := mt["items"].([]any)
		if len(items) == 0 {
			return ""
		}
		it := items[0].(map[string]any)
		return fmt.Sprint(it["month"], " ", it["total"])
	}
	h.eventually("machine total", func() bool { return total() == "2026-10 12.50" })

	code, got := h.do("PATCH", "/v1/documents/"+id, "a", strings.NewReader(`{"total": "15.00", "date": "2026-09-30"}`), "application/json")
	if code != 200 || got["fields"].(map[string]any)["total"] != "15.00" || got["machine_fields"].(map[string]any)["total"] != "12.50" {
		t.Fatalf("correct: %d %v", code, got)
	}
	h.eventually("corrected total in its new month", func() bool { return total() == "2026-09 15.00" })
	// A later reprocess does not undo the user's value.
	h.cmds.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id})
	h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 2,
		Fields: domain.Fields{Vendor: "ACME", Date: "2026-10-03", Currency: "EUR", Total: "99.00"}})
	time.Sleep(100 * time.Millisecond)
	h.eventually("correction kept after reprocess", func() bool { return total() == "2026-09 15.00" })
	if code, _ := h.do("PATCH", "/v1/documents/"+id, "a", strings.NewReader(`{"total": "12,50"}`), "application/json"); code != 400 {
		t.Fatalf("malformed correction: %d", code)
	}
	if code, _ := h.do("PATCH", "/v1/documents/"+id, "b", strings.NewReader(`{"total": "1.00"}`), "application/json"); code != 404 {
		t.Fatalf("correction by another tenant: %d", code)
	}

	code, got = h.do("DELETE", "/v1/documents/"+id, "a", nil, "")
	if code != 200 || got["deleted"] != true || got["purge_after"] == "" {
		t.Fatalf("delete: %d %v", code, got)
	}
	h.eventually("deleted document out of totals, stats and lists", func() bool {
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		_, list := h.do("GET", "/v1/documents", "a", nil, "")
		return total() == "" && st["total"] == 0.0 && len(list["items"].([]any)) == 0
	})
	if code, got := h.do("GET", "/v1/documents/"+id, "a", nil, ""); code != 200 || got["deleted"] != true {
		t.Fatalf("a deleted document can still be read by id: %d %v", code, got)
	}
	code, got = h.do("POST", "/v1/documents/"+id+"/restore", "a", nil, "")
	if code != 200 || got["deleted"] == true {
		t.Fatalf("restore: %d %v", code, got)
	}
	h.eventually("restored document back in totals", func() bool { return total() == "2026-09 15.00" })
	code, hist := h.do("GET", "/v1/documents/"+id+"/events", "a", nil, "")
	types := []string{}
	for _, it := range hist["items"].([]any) {
		types = append(types, it.(map[string]any)["type"].(string))
	}
	if code != 200 || !strings.Contains(strings.Join(types, ","), "DocumentCorrected,ExtractionRequested,ExtractionRevised,DocumentDeleted,DocumentRestored") {
		t.Fatalf("history: %v", types)
	}
}

func TestReprocessSelection(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	for i, vendor := range []string{"Old Shop", "Old Shop", "New Shop"} {
		_, doc := h.upload("/v1/documents", "a", []byte(strings.Replace(pdf, "Catalog", fmt.Sprint("Catalog", i), 1)), form{"email": "ann@example.com"})
		id := doc["id"].(string)
		h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1})
		h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
			Fields: domain.Fields{Vendor: vendor, Total: "1.00", EngineVersion: fmt.Sprintf("tally-extract/0.%d", i+1)}})
	}
	// The selection reads the documents read model, which has its own
	// projector: wait for it, not only for the counts.
	h.eventually("three COMPLETED documents", func() bool {
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		_, list := h.do("GET", "/v1/documents?status=COMPLETED", "a", nil, "")
		items, _ := list["items"].([]any)
		return st["completed"] == 3.0 && len(items) == 3
	})
	before, _ := h.events.LastSequence(ctx)
	code, dry := h.do("POST", "/v1/reprocess", "a", strings.NewReader(`{"engine_older_than": "0.3", "dry_run": true}`), "application/json")
	if code != 200 || dry["selected"] != 2.0 || dry["requested"] != 0.0 {
		t.Fatalf("dry run: %d %v", code, dry)
	}
	for _, d := range dry["documents"].([]any) {
		change, _ := d.(map[string]any)["changes"].(map[string]any)["total"].(map[string]any)
		if change["from"] != "1.00" || change["to"] != "99.99" {
			t.Fatalf("dry run shows no field change: %v", d)
		}
	}
	if last, _ := h.events.LastSequence(ctx); last != before {
		t.Fatalf("a dry run appended events: stream at %d, was %d", last, before)
	}
	code, res := h.do("POST", "/v1/reprocess", "a", strings.NewReader(`{"vendor": "old%"}`), "application/json")
	if code != 200 || res["requested"] != 2.0 {
		t.Fatalf("reprocess by vendor: %d %v", code, res)
	}
	h.eventually("two documents PENDING again", func() bool {
		_, st := h.do("GET", "/v1/stats", "a", nil, "")
		return st["pending"] == 2.0 && st["completed"] == 1.0
	})
	if code, _ := h.do("POST", "/v1/reprocess", "a", strings.NewReader(`{"document_ids": ["nope"]}`), "application/json"); code != 400 {
		t.Fatalf("bad id: %d", code)
	}
}
