package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"tally/commands"
	"tally/domain"
)

// ereceipt calls an e-receipt route with the api-key header of tenant.
func (h *harness) ereceipt(method, path, tenant string, body string, contentType string) (int, map[string]any) {
	h.t.Helper()
	key := "wrong"
	if tenant != "" {
		key = h.keys[tenant]
	}
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	return h.do(method, path, "", r, contentType, "api-key", key)
}

func errorCode(t *testing.T, reply map[string]any) float64 {
	t.Helper()
	if reply["success"] != false {
		t.Fatalf("an error reply without success false: %v", reply)
	}
	e, ok := reply["error"].(map[string]any)
	if !ok || e["message"] == "" {
		t.Fatalf("an error reply without error.message: %v", reply)
	}
	return e["code"].(float64)
}

func emlFrom(sender, messageID, body string) string {
	return strings.ReplaceAll("From: Shop <"+sender+">\nTo: Ann <ann@example.com>\nSubject: Your order\n"+
		"Date: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <"+messageID+">\n\n"+body+"\n", "\n", "\r\n")
}

func TestEReceiptRoutes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()

	// The key check answers in the envelope with the vendor's code 101.
	code, reply := h.ereceipt("GET", "/ereceipts/config", "", "", "")
	if code != 401 || errorCode(t, reply) != 101 {
		t.Fatalf("wrong key: %d %v", code, reply)
	}
	code, reply = h.do("GET", "/ereceipts/config", "", nil, "")
	if code != 401 || errorCode(t, reply) != 101 {
		t.Fatalf("missing key: %d %v", code, reply)
	}

	// No jobs before there is somewhere to send results.
	job := url.Values{"eml_data": {emlFrom("orders@shop.example", "m1@shop.example", "Order 77\nTotal: 12.50 EUR")}}
	code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", job.Encode(), "application/x-www-form-urlencoded")
	if code != 400 || errorCode(t, reply) != 104 {
		t.Fatalf("job before config: %d %v", code, reply)
	}

	for _, bad := range []string{
		`{}`,
		`{"results_endpoint": "ftp://x", "day_cutoff": 10}`,
		`{"results_endpoint": "https://hooks.example/r"}`,
		`{"results_endpoint": "https://hooks.example/r", "day_cutoff": 10, "date_cutoff": 1700000000}`,
		`{"results_endpoint": "https://hooks.example/r", "day_cutoff": 10, "retailers": [{"email": "not an address"}]}`,
		`{"results_endpoint": "https://hooks.example/r", "day_cutoff": 10, "surprise": 1}`,
		`not json`,
	} {
		code, reply = h.ereceipt("POST", "/ereceipts/config", "a", bad, "application/json")
		if code != 400 || errorCode(t, reply) != 102 {
			t.Fatalf("config %s: %d %v", bad, code, reply)
		}
	}
	code, reply = h.ereceipt("POST", "/ereceipts/config", "a", `{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30,
		"use_aggregation": true, "retailers": [{"email": "orders@shop.example", "day_cutoff": 7}, {"email": "news@store.example", "date_cutoff": 1767225600}]}`, "application/json")
	if code != 200 || reply["success"] != true || reply["day_cutoff"] != 30.0 || len(reply["retailers"].([]any)) != 2 {
		t.Fatalf("config: %d %v", code, reply)
	}
	// A new config without retailers keeps the list.
	code, reply = h.ereceipt("POST", "/ereceipts/config", "a", `{"results_endpoint": "https://hooks.example/r2", "date_cutoff": 1760000000}`, "application/json")
	if code != 200 || reply["date_cutoff"] != 1760000000.0 || reply["day_cutoff"] != nil || len(reply["retailers"].([]any)) != 2 {
		t.Fatalf("config update: %d %v", code, reply)
	}
	code, reply = h.ereceipt("DELETE", "/ereceipts/retailers?email=NEWS@store.example", "a", "", "")
	if code != 200 || reply["deleted"] != 1.0 || len(reply["retailers"].([]any)) != 1 {
		t.Fatalf("delete retailer: %d %v", code, reply)
	}
	code, reply = h.ereceipt("GET", "/ereceipts/retailers", "a", "", "")
	if r := reply["retailers"].([]any); code != 200 || len(r) != 1 || r[0].(map[string]any)["email"] != "orders@shop.example" {
		t.Fatalf("retailers: %d %v", code, reply)
	}
	// Tenant b sees none of it.
	code, reply = h.ereceipt("GET", "/ereceipts/config", "b", "", "")
	if code != 404 || errorCode(t, reply) != 104 {
		t.Fatalf("other tenant's config: %d %v", code, reply)
	}

	// A job: signed by the sender's domain, so authenticated.
	h.dns.AddKey(t, "shop.example")
	signed := string(h.dns.Sign(t, "shop.example", []byte(emlFrom("orders@shop.example", "m1@shop.example", "Order 77\r\nTotal: 12.50 EUR"))))
	hash := fmt.Sprintf("%064x", 7)
	job = url.Values{"eml_data": {signed}, "email_hash": {hash}, "provider": {"gmail"}, "client_user_id": {"u-1"}}
	code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", job.Encode(), "application/x-www-form-urlencoded")
	if code != 200 || reply["success"] != true || reply["job_id"] == nil {
		t.Fatalf("create_job: %d %v", code, reply)
	}
	jobID := int(reply["job_id"].(float64))
	status := func(tenant string, id int) (int, map[string]any) {
		return h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", id), tenant, "", "")
	}
	code, reply = status("a", jobID)
	if code != 200 || reply["status"] != "queued" || reply["blinkReceiptId"] == nil {
		t.Fatalf("status: %d %v", code, reply)
	}
	docID := reply["blinkReceiptId"].(string)
	if code, reply = status("b", jobID); code != 404 || errorCode(t, reply) != 103 {
		t.Fatalf("other tenant's job: %d %v", code, reply)
	}
	if code, reply = status("a", jobID+1000); code != 404 || errorCode(t, reply) != 103 {
		t.Fatalf("unknown job: %d %v", code, reply)
	}
	if code, reply = h.ereceipt("GET", "/ereceipts/status?job_id=abc", "a", "", ""); code != 400 || errorCode(t, reply) != 102 {
		t.Fatalf("bad job id: %d %v", code, reply)
	}

	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	if _, err := h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: docID, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if code, reply = status("a", jobID); reply["status"] != "executing" {
		t.Fatalf("status while extracting: %d %v", code, reply)
	}
	if _, err := h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: docID, Attempt: 1,
		Fields: domain.Fields{Vendor: "Shop", Date: "2026-11-02", InvoiceNumber: "77", Currency: "EUR", Subtotal: "10.50", Tax: "2.00", Total: "12.50",
			LineItems: []domain.LineItem{{Description: "Mug", Quantity: "1", UnitPrice: "10.50", Amount: "10.50"}}}}); err != nil {
		t.Fatal(err)
	}
	code, reply = status("a", jobID)
	rec, _ := reply["ereceipt"].(map[string]any)
	if code != 200 || reply["status"] != "completed" || rec == nil {
		t.Fatalf("completed: %d %v", code, reply)
	}
	want := map[string]any{"blinkReceiptId": docID, "ereceiptEmailId": "m1@shop.example", "ereceiptMerchantEmail": "orders@shop.example",
		"ereceiptEmailProvider": "gmail", "clientUserId": "u-1", "emailHash": hash, "ereceiptAuthenticated": true,
		"isDuplicate": false, "isFraudulent": false, "dkim": "verified"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("ereceipt.%s = %v, want %v", k, rec[k], v)
		}
	}
	if total := rec["total"].(map[string]any); total["value"] != 12.5 || total["confidence"] != 90.0 {
		t.Errorf("total = %v, want 12.50 with the confidence of amounts that add up", total)
	}
	if d := rec["receiptDate"].(map[string]any); d["value"] != "11/02/2026" {
		t.Errorf("receiptDate = %v", d)
	}
	if p := rec["products"].([]any); len(p) != 1 || p[0].(map[string]any)["productDescription"].(map[string]any)["value"] != "Mug" {
		t.Errorf("products = %v", p)
	}

	// The same e-mail again: accepted, flagged as a duplicate of the first.
	code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", job.Encode(), "application/x-www-form-urlencoded")
	if code != 200 {
		t.Fatalf("second create_job: %d %v", code, reply)
	}
	second := int(reply["job_id"].(float64))
	_, reply = status("a", second)
	h.cmds.Wait() // the duplicate check runs after create_job answered
	dup, err := h.cmds.Documents().Load(ctx, meta.Tenant, reply["blinkReceiptId"].(string))
	if err != nil || dup.DuplicateOf != docID {
		t.Fatalf("second job's document: duplicate of %q (%v), want %s", dup.DuplicateOf, err, docID)
	}

	// A forged sender: the From: is the bank's, the signature the shop's.
	forged := strings.Replace(signed, "orders@shop.example", "billing@bank.example", 1)
	code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", url.Values{"eml_data": {forged}}.Encode(), "application/x-www-form-urlencoded")
	if code != 200 {
		t.Fatalf("forged create_job: %d %v", code, reply)
	}
	_, reply = status("a", int(reply["job_id"].(float64)))
	forgedDoc, err := h.cmds.Documents().Load(ctx, meta.Tenant, reply["blinkReceiptId"].(string))
	if err != nil || forgedDoc.Email == nil || !forgedDoc.Email.Auth.SenderForged || forgedDoc.Email.Auth.DKIM != "failed" {
		t.Fatalf("forged e-mail recorded as %+v (%v)", forgedDoc.Email, err)
	}
	h.eventually("the forged e-mail flagged in the documents API", func() bool {
		_, d := h.do("GET", "/v1/documents/"+forgedDoc.ID, "a", nil, "")
		e, _ := d["email"].(map[string]any)
		a, _ := e["auth"].(map[string]any)
		return a["sender_forged"] == true && a["dkim"] == "failed"
	})

	// An Idempotency-Key names one job for one e-mail: the same e-mail
	// again gets the same job, another e-mail is refused.
	keyed := func(eml string) (int, map[string]any) {
		return h.do("POST", "/ereceipts/create_job", "", strings.NewReader(url.Values{"eml_data": {eml}}.Encode()),
			"application/x-www-form-urlencoded", "api-key", h.keys["a"], "Idempotency-Key", "job-key-1")
	}
	code, first := keyed(emlFrom("orders@shop.example", "k1@shop.example", "Total: 1.00"))
	code2, again := keyed(emlFrom("orders@shop.example", "k1@shop.example", "Total: 1.00"))
	if code != 200 || code2 != 200 || first["job_id"] != again["job_id"] {
		t.Fatalf("retried job: %d %v, %d %v", code, first, code2, again)
	}
	if code, reply = keyed(emlFrom("orders@shop.example", "k2@shop.example", "Total: 2.00")); code != 400 || errorCode(t, reply) != 102 {
		t.Fatalf("a reused key with another e-mail: %d %v", code, reply)
	}
	// Too large is refused whole, never cut short, in either form encoding.
	big := multipartJob(t, strings.Repeat("x", 4<<20))
	if code, reply = h.do("POST", "/ereceipts/create_job", "", big.body, big.contentType, "api-key", h.keys["a"]); code != 413 || errorCode(t, reply) != 105 {
		t.Fatalf("oversized multipart job: %d %v", code, reply)
	}
	huge := url.Values{"eml_data": {strings.Repeat("é", 2<<20)}, "email_hash": {hash}}.Encode()
	if code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", huge, "application/x-www-form-urlencoded"); code != 413 || errorCode(t, reply) != 105 {
		t.Fatalf("oversized URL-encoded job: %d %v", code, reply)
	}

	// Bad jobs.
	for _, c := range []struct {
		body, contentType string
		status            int
	}{
		{"", "application/x-www-form-urlencoded", 400},
		{url.Values{"eml_data": {"not an e-mail"}}.Encode(), "application/x-www-form-urlencoded", 400},
		{url.Values{"eml_data": {signed}, "email_hash": {"abc"}}.Encode(), "application/x-www-form-urlencoded", 400},
		{`{"eml_data": "x"}`, "application/json", 400},
		{url.Values{"eml_data": {strings.Repeat("x", 2<<20)}}.Encode(), "application/x-www-form-urlencoded", 413},
	} {
		code, reply = h.ereceipt("POST", "/ereceipts/create_job", "a", c.body, c.contentType)
		if code != c.status || reply["success"] != false {
			t.Fatalf("bad job %.40q: %d %v, want %d", c.body, code, reply, c.status)
		}
	}
}

type formBody struct {
	body        io.Reader
	contentType string
}

func multipartJob(t *testing.T, eml string) formBody {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("eml_data", eml); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return formBody{&buf, w.FormDataContentType()}
}

// Job numbers used to be stream positions: the gap between two of a
// tenant's jobs counted everything all other tenants did meanwhile. They
// are now opaque, and still integers that status takes back.
func TestEReceiptJobIDsTellNothingOfOtherTenants(t *testing.T) {
	h := newHarness(t, nil)
	for _, tenant := range []string{"a", "b"} {
		if code, reply := h.ereceipt("POST", "/ereceipts/config", tenant, `{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30}`, "application/json"); code != 200 {
			t.Fatalf("config: %d %v", code, reply)
		}
	}
	create := func(tenant, messageID string) int {
		t.Helper()
		job := url.Values{"eml_data": {emlFrom("orders@shop.example", messageID, "Order\nTotal: 1.00 EUR")}}
		code, reply := h.ereceipt("POST", "/ereceipts/create_job", tenant, job.Encode(), "application/x-www-form-urlencoded")
		if code != 200 {
			t.Fatalf("create_job: %d %v", code, reply)
		}
		return int(reply["job_id"].(float64))
	}
	first := create("a", "j1@shop.example")
	for i := range 3 {
		create("b", fmt.Sprintf("b%d@shop.example", i))
	}
	second := create("a", "j2@shop.example")
	if d := second - first; d > 0 && d < 100 {
		t.Fatalf("job numbers %d and %d: their gap counts the other tenant's jobs", first, second)
	}
	for _, id := range []int{first, second} {
		if code, reply := h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", id), "a", "", ""); code != 200 || reply["job_id"] != float64(id) {
			t.Fatalf("status of %d: %d %v", id, code, reply)
		}
		if code, _ := h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", id), "b", "", ""); code != 404 {
			t.Fatalf("tenant b reads a's job %d: %d", id, code)
		}
	}
}
