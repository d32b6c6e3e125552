package http_test

import (
	"context"
	"io"
	"log/slog"
	stdhttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tally/webhooks"
)

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

// TestWebhookRoutes: register, list, read, test-send, read the deliveries
// and delete; the secret shows once; every bad input is refused with a
// reason.
func TestWebhookRoutes(t *testing.T) {
	h := newHarness(t, nil)
	var mu sync.Mutex
	var got []*stdhttp.Request
	var bodies [][]byte
	rcv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		body, _ := io.ReadAll(r.Body) // kept for the signature checks
		mu.Lock()
		got = append(got, r)
		bodies = append(bodies, body)
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	store, err := webhooks.Open(context.Background(), h.pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sender := webhooks.NewSender(store, webhooks.SenderConfig{PollInterval: 20 * time.Millisecond, AllowPrivate: true}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); _ = sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	code, created := h.do("POST", "/v1/webhooks", "a", jsonBody(`{"url": "`+rcv.URL+`/in", "events": ["document.failed", "document.completed"], "description": "books"}`), "application/json")
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id, _ := created["id"].(string)
	secret, _ := created["secret"].(string)
	if id == "" || !strings.HasPrefix(secret, "whsec_") || created["format"] != "event" || created["url"] != rcv.URL+"/in" {
		t.Fatalf("create: %v", created)
	}
	code, one := h.do("GET", "/v1/webhooks/"+id, "a", nil, "")
	if code != 200 || one["id"] != id || one["secret"] != nil || one["description"] != "books" {
		t.Fatalf("get: %d %v", code, one)
	}
	if evs, _ := one["events"].([]any); len(evs) != 2 || evs[0] != "document.completed" {
		t.Fatalf("events: %v", one["events"])
	}
	code, list := h.do("GET", "/v1/webhooks", "a", nil, "")
	if items, _ := list["items"].([]any); code != 200 || len(items) != 1 || items[0].(map[string]any)["secret"] != nil {
		t.Fatalf("list: %d %v", code, list)
	}

	code, sent := h.do("POST", "/v1/webhooks/"+id+"/test", "a", nil, "")
	if code != 202 || sent["event_id"] == nil {
		t.Fatalf("test: %d %v", code, sent)
	}
	var deliveries map[string]any
	h.eventually("the test delivery to succeed", func() bool {
		_, deliveries = h.do("GET", "/v1/webhooks/"+id+"/deliveries", "a", nil, "")
		items, _ := deliveries["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["state"] == "succeeded"
	})
	d := deliveries["items"].([]any)[0].(map[string]any)
	log, _ := d["attempt_log"].([]any)
	if d["event_type"] != "webhook.test" || d["attempts"] != 1.0 || len(log) != 1 || log[0].(map[string]any)["status_code"] != 200.0 ||
		deliveries["next_cursor"] != nil {
		t.Fatalf("deliveries: %v", deliveries)
	}
	mu.Lock()
	req, reqBody := got[0], bodies[0]
	mu.Unlock()
	if req.Header.Get("webhook-id") != sent["event_id"] || req.URL.Path != "/in" || req.Header.Get("webhook-signature") == "" {
		t.Fatalf("received %v %v", req.URL, req.Header)
	}

	if err := webhooks.Verify(secret, req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"),
		req.Header.Get("webhook-signature"), reqBody, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature with the first secret: %v", err)
	}

	// A new secret, shown once, signs what is sent from now on.
	code, rotated := h.do("POST", "/v1/webhooks/"+id+"/rotate-secret", "a", nil, "")
	newSecret, _ := rotated["secret"].(string)
	if code != 200 || !strings.HasPrefix(newSecret, "whsec_") || newSecret == secret {
		t.Fatalf("rotate: %d %v", code, rotated)
	}
	h.do("POST", "/v1/webhooks/"+id+"/test", "a", nil, "")
	h.eventually("a delivery after the rotation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	mu.Lock()
	after, afterBody := got[1], bodies[1]
	mu.Unlock()
	if err := webhooks.Verify(newSecret, after.Header.Get("webhook-id"), after.Header.Get("webhook-timestamp"),
		after.Header.Get("webhook-signature"), afterBody, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature with the new secret: %v", err)
	}
	if webhooks.Verify(secret, after.Header.Get("webhook-id"), after.Header.Get("webhook-timestamp"),
		after.Header.Get("webhook-signature"), afterBody, time.Now(), time.Minute) == nil {
		t.Fatal("the old secret still verifies after the rotation")
	}

	// Pages: a third test delivery, one per page, newest first.
	h.do("POST", "/v1/webhooks/"+id+"/test", "a", nil, "")
	var pages [][]any
	cursor := ""
	for range 3 {
		path := "/v1/webhooks/" + id + "/deliveries?limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		_, page := h.do("GET", path, "a", nil, "")
		items, _ := page["items"].([]any)
		pages = append(pages, items)
		cursor, _ = page["next_cursor"].(string)
	}
	if len(pages[0]) != 1 || len(pages[1]) != 1 || len(pages[2]) != 1 || cursor != "" ||
		pages[2][0].(map[string]any)["event_id"] != sent["event_id"] {
		t.Fatalf("pages: %v", pages)
	}

	// Another tenant sees none of it.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/webhooks/" + id}, {"GET", "/v1/webhooks/" + id + "/deliveries"},
		{"POST", "/v1/webhooks/" + id + "/test"}, {"POST", "/v1/webhooks/" + id + "/rotate-secret"}, {"DELETE", "/v1/webhooks/" + id},
	} {
		if code, out := h.do(c.method, c.path, "b", nil, ""); code != 404 || out["detail"] != "webhook endpoint not found" {
			t.Errorf("tenant b %s %s: %d %v", c.method, c.path, code, out)
		}
	}
	if _, list := h.do("GET", "/v1/webhooks", "b", nil, ""); len(list["items"].([]any)) != 0 {
		t.Errorf("tenant b lists %v", list)
	}
	if code, _ := h.do("GET", "/v1/webhooks", "", nil, ""); code != 401 {
		t.Errorf("no key: %d", code)
	}

	if code, out := h.do("DELETE", "/v1/webhooks/"+id, "a", nil, ""); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, _ := h.do("GET", "/v1/webhooks/"+id, "a", nil, ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
	if code, _ := h.do("DELETE", "/v1/webhooks/"+id, "a", nil, ""); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
}

func TestWebhookBadInputs(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		method, path, body string
		code               int
		detail             string
	}{
		{"POST", "/v1/webhooks", `{"url": "ftp://x.example/", "events": ["document.completed"]}`, 422, `url must be an absolute http:// or https:// URL (got scheme "ftp")`},
		{"POST", "/v1/webhooks", `{"url": "example.com/hook", "events": ["document.completed"]}`, 422, "url must be an absolute http:// or https:// URL"},
		{"POST", "/v1/webhooks", `{"url": "https://x.example/", "events": []}`, 422, "events must name at least one of document.completed, document.failed, document.revised"},
		{"POST", "/v1/webhooks", `{"url": "https://x.example/", "events": ["document.deleted", "document.completed"]}`, 422, `event "document.deleted" is not one of`},
		{"POST", "/v1/webhooks", `{"url": "https://x.example/", "events": ["document.completed"], "format": "csv"}`, 422, `format "csv" is not one of event`},
		{"POST", "/v1/webhooks", `{"url": "https://x.example/"}`, 422, "validation failed"},
		{"POST", "/v1/webhooks", `{"url": `, 400, ""},
		{"GET", "/v1/webhooks/not-a-uuid", "", 404, "webhook endpoint not found"},
		{"GET", "/v1/webhooks/0192f0c4-0000-7000-8000-000000000000/deliveries", "", 404, "webhook endpoint not found"},
	}
	for _, tc := range tests {
		var body io.Reader
		ct := ""
		if tc.body != "" {
			body, ct = jsonBody(tc.body), "application/json"
		}
		code, out := h.do(tc.method, tc.path, "a", body, ct)
		detail, _ := out["detail"].(string)
		if code != tc.code || !strings.Contains(detail, tc.detail) {
			t.Errorf("%s %s %s: %d %v, want %d %q", tc.method, tc.path, tc.body, code, out, tc.code, tc.detail)
		}
	}
	code, created := h.do("POST", "/v1/webhooks", "a", jsonBody(`{"url": "https://x.example/", "events": ["document.completed"]}`), "application/json")
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	for _, q := range []string{"cursor=abc", "cursor=-5"} {
		if code, out := h.do("GET", "/v1/webhooks/"+id+"/deliveries?"+q, "a", nil, ""); code != 400 || out["detail"] != "cursor is not one this API returned" {
			t.Errorf("%s: %d %v", q, code, out)
		}
	}
	if code, out := h.do("GET", "/v1/webhooks/"+id+"/deliveries?limit=0", "a", nil, ""); code != 422 {
		t.Errorf("limit=0: %d %v", code, out)
	}
}

// Each test delivery makes Tally connect to a host the tenant chose; the
// route used to queue as many as it was asked for.
func TestWebhookTestRouteIsRateLimited(t *testing.T) {
	h := newHarness(t, nil)
	code, created := h.do("POST", "/v1/webhooks", "a", jsonBody(`{"url": "https://hooks.example/in", "events": ["document.completed"]}`), "application/json")
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	path := "/v1/webhooks/" + created["id"].(string) + "/test"
	for i := range webhooks.TestsPerWindow {
		if code, body := h.do("POST", path, "a", nil, ""); code != 202 {
			t.Fatalf("test %d: %d %v", i+1, code, body)
		}
	}
	req, _ := stdhttp.NewRequest("POST", h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.keys["a"])
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || retry < 1 || retry > 60 {
		t.Fatalf("one test too many: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another tenant has its own budget.
	code, created = h.do("POST", "/v1/webhooks", "b", jsonBody(`{"url": "https://hooks.example/b", "events": ["document.completed"]}`), "application/json")
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	if code, body := h.do("POST", "/v1/webhooks/"+created["id"].(string)+"/test", "b", nil, ""); code != 202 {
		t.Fatalf("tenant b's test: %d %v", code, body)
	}
}
