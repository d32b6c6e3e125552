package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	stdhttp "net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"tally/webhooks"
)

// TestWebhookEndToEnd: with `tally all`, an endpoint registered through
// the API receives document.completed, signed with its secret, once.
func TestWebhookEndToEnd(t *testing.T) {
	type received struct {
		header stdhttp.Header
		body   []byte
	}
	var mu sync.Mutex
	var got []received
	rcv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), body})
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	in := startAll(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"})
	code, ep := in.call("POST", "/v1/webhooks", strings.NewReader(`{"url": "`+rcv.URL+`", "events": ["document.completed"]}`), "application/json")
	if code != 201 {
		t.Fatalf("register: %d %v", code, ep)
	}
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	if doc := in.waitStatus(id, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("upload: %v", doc)
	}
	waitFor(t, "the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d webhooks, want 1", len(got))
	}
	h := got[0].header
	if err := webhooks.Verify(ep["secret"].(string), h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"),
		got[0].body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var p webhooks.Payload
	if err := json.Unmarshal(got[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "document.completed" || p.Data.DocumentID != id || p.Data.Fields == nil || p.Data.Fields.Total != "78.60" {
		t.Fatalf("payload %s", got[0].body)
	}
	waitFor(t, "the delivery recorded as succeeded", func() bool {
		_, deliveries := in.call("GET", "/v1/webhooks/"+ep["id"].(string)+"/deliveries", nil, "")
		items, _ := deliveries["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["state"] == "succeeded"
	})

	// The operator's view: the same delivery, from the command line.
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"webhooks", "deliveries", ep["id"].(string)}, &stdout, io.Discard); err != nil {
		t.Fatalf("tally webhooks deliveries: %v", err)
	}
	var ds []webhooks.Delivery
	if err := json.Unmarshal(stdout.Bytes(), &ds); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if len(ds) != 1 || ds[0].State != webhooks.StateSucceeded || len(ds[0].Log) != 1 || ds[0].DocumentID != id {
		t.Fatalf("tool output %s", stdout.String())
	}
	if err := run(context.Background(), []string{"webhooks", "deliveries", "nope"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "is not an endpoint id") {
		t.Fatalf("bad id: %v", err)
	}
}
