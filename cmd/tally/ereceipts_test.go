package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	stdhttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tally/webhooks"
)

// ereceipt calls an e-receipt route the way a BlinkReceipt client does:
// api-key header, form or JSON body.
func (in *instance) ereceipt(method, path, body, contentType string) (int, map[string]any) {
	in.t.Helper()
	return in.request(method, path, strings.NewReader(body), contentType, "api-key", in.key)
}

// TestEReceiptRoundTrip: a BlinkReceipt client configures a results
// endpoint, creates a job from an e-mail, polls its status, and receives
// the parsed receipt at its endpoint, signed, as an array of EReceipts.
func TestEReceiptRoundTrip(t *testing.T) {
	type delivery struct {
		header stdhttp.Header
		body   []byte
	}
	var mu sync.Mutex
	var got []delivery
	rcv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), body})
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	in := startAll(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "DKIM_VERIFY": "false"})

	code, cfg := in.ereceipt("POST", "/ereceipts/config",
		`{"results_endpoint": "`+rcv.URL+`/results", "day_cutoff": 30, "retailers": [{"email": "orders@shop.example"}]}`, "application/json")
	if code != 200 || cfg["success"] != true || cfg["results_secret"] == nil {
		t.Fatalf("config: %d %v", code, cfg)
	}
	eml := strings.ReplaceAll(`From: Shop <orders@shop.example>
To: Ann <ann@example.com>
Subject: Your receipt for order 5531
Date: Tue, 03 Nov 2026 09:30:00 +0000
Message-ID: <5531@shop.example>
Content-Type: text/plain; charset=utf-8

Shop Example Ltd
Order number: 5531
Date: 2026-11-03

Coffee beans 1kg      18.90
Subtotal              18.90
VAT                    3.59
Total EUR             22.49
`, "\n", "\r\n")
	form := url.Values{"eml_data": {eml}, "provider": {"gmail"}, "client_user_id": {"client-7"},
		"email_hash": {"b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"}}
	code, job := in.ereceipt("POST", "/ereceipts/create_job", form.Encode(), "application/x-www-form-urlencoded")
	if code != 200 || job["success"] != true || job["job_id"] == nil {
		t.Fatalf("create_job: %d %v", code, job)
	}
	jobID := int64(job["job_id"].(float64))
	var status map[string]any
	waitFor(t, "the job to complete", func() bool {
		_, status = in.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", jobID), "", "")
		return status["status"] == "completed" || status["status"] == "error"
	})
	if status["status"] != "completed" || status["ereceipt"] == nil {
		t.Fatalf("status: %v", status)
	}
	waitFor(t, "the results delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	h := got[0].header
	if err := webhooks.Verify(cfg["results_secret"].(string), h.Get("webhook-id"), h.Get("webhook-timestamp"),
		h.Get("webhook-signature"), got[0].body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var recs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(got[0].body))
	dec.UseNumber()
	if err := dec.Decode(&recs); err != nil || len(recs) != 1 {
		t.Fatalf("results body %s: %v", got[0].body, err)
	}
	r := recs[0]
	if r["blinkReceiptId"] != status["blinkReceiptId"] || r["jobId"] != json.Number(fmt.Sprint(jobID)) ||
		r["ereceiptEmailId"] != "5531@shop.example" || r["ereceiptMerchantEmail"] != "orders@shop.example" ||
		r["ereceiptEmailProvider"] != "gmail" || r["clientUserId"] != "client-7" || r["isDuplicate"] != false {
		t.Fatalf("ereceipt identity: %s", got[0].body)
	}
	total, _ := r["total"].(map[string]any)
	if total["value"] != json.Number("22.49") || total["confidence"] == nil {
		t.Fatalf("ereceipt total: %s", got[0].body)
	}
	// The results endpoint is an ordinary webhook with its audit trail.
	_, deliveries := in.call("GET", "/v1/webhooks/"+cfg["results_webhook_id"].(string)+"/deliveries", nil, "")
	if items, _ := deliveries["items"].([]any); len(items) != 1 {
		t.Fatalf("deliveries of the results webhook: %v", deliveries)
	}
}
