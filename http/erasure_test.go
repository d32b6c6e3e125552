package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/projections"
	"tally/readmodel"
)

// readModelDump is every read-model row of the database as JSON text, and
// the tables of user keys and secrets too: an erased user's name and
// address must be in none of them.
func readModelDump(t *testing.T, h *harness) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"documents", "status_counts", "document_statuses", "monthly_totals",
		"monthly_documents", "notification_preferences", "user_keys", "secrets", "mailbox_links", "forwarding_senders",
		"search_documents"} {
		rows, err := h.pool.Query(context.Background(), "SELECT row_to_json(t)::text FROM "+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(table + " " + line + "\n")
		}
		rows.Close()
	}
	return b.String()
}

// tenantTotals sums the monthly totals of a tenant per month and currency,
// whoever they belong to.
func tenantTotals(t *testing.T, h *harness, tenant string) map[string]string {
	t.Helper()
	rows, err := h.pool.Query(context.Background(),
		"SELECT month || ' ' || currency, sum(total)::text || ' / ' || sum(documents)::text FROM monthly_totals WHERE tenant = $1 GROUP BY 1", tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func mustJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func TestEraseUser(t *testing.T) {
	files, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, files)
	ctx := context.Background()
	tenant := tenantOf(h, "a")
	meta := commands.Meta{Tenant: tenant}
	const annName, annEmail = "Annabel Erasmus", "annabel.erasmus@example.com"
	const bobName, bobEmail = "Bob Keeper", "bob.keeper@example.com"
	const doraName, doraEmail = "Dora Legacy", "dora.legacy@example.com"

	// An invoice's extracted text names its buyer: each result below
	// carries a text with a marker of its own.
	const textMarker, legacyTextMarker, bobTextMarker = "Quillon Road zx5m", "Vexmoor Lane qp4t", "Brackwater Yard wv8k"
	texts := map[string]string{}
	complete := func(id, total, currency, date string) {
		t.Helper()
		if _, err := h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
			Fields: domain.Fields{Vendor: "ACME", Total: total, Currency: currency, Date: date}, Text: texts[id]}); err != nil {
			t.Fatal(err)
		}
	}
	uploads := 0
	upload := func(name, email string) string {
		t.Helper()
		uploads++ // distinct files: the same bytes twice would be a duplicate
		code, doc := h.upload("/v1/documents", "a", fmt.Appendf([]byte(pdf), "%% %d\n", uploads), form{"name": name, "email": email})
		if code != 202 {
			t.Fatalf("upload: %d %v", code, doc)
		}
		return doc["id"].(string)
	}
	// A schema-1 upload, written as Tally wrote them before users were
	// sealed: the user in the clear.
	legacyUpload := func(name, email string) string {
		t.Helper()
		id := uuid.Must(uuid.NewV7()).String()
		e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), tenant, id, domain.TypeDocumentUploaded, time.Now(),
			domain.DocumentUploaded{Source: domain.SourceUpload, Filename: "old.pdf", ContentType: "application/pdf", Size: 10,
				SHA256: strings.Repeat("0", 64), BlobKey: tenant + "/old/" + id + ".pdf", User: &domain.User{Name: name, Email: email},
				UploadedAt: time.Now().UTC(), Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		e.SchemaVersion = 1
		if _, err := h.events.Append(ctx, e, 0); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ann1, ann2, bob := upload(annName, annEmail), upload(annName, annEmail), upload(bobName, bobEmail)
	annOld, doraOld := legacyUpload(annName, annEmail), legacyUpload(doraName, doraEmail)
	// Ann's result seals its text; the schema-1 upload's result holds it
	// in the clear, as results of such uploads do.
	texts[ann1] = "INVOICE\nDeliver to: Annabel, 12 " + textMarker + "\nTotal 10.50"
	texts[annOld] = "INVOICE\nBill to: Annabel, 3 " + legacyTextMarker + "\nTotal 1.00"
	texts[bob] = "INVOICE\nDeliver to: Bob, 7 " + bobTextMarker + "\nTotal 7.00"
	complete(ann1, "10.50", "EUR", "2026-10-03")
	complete(ann2, "4.25", "EUR", "2026-10-09")
	complete(bob, "7.00", "EUR", "2026-10-11")
	complete(annOld, "1.00", "USD", "2026-09-01")
	complete(doraOld, "2.00", "USD", "2026-09-02")

	// What else names Ann (domain.Private): a file's name, an e-mail's
	// subject, and an e-receipt job's hash of her address and the
	// client's id for her. None of the markers below holds her name, so
	// each is looked for on its own.
	const fileMarker, subjectMarker, clientMarker = "payslip-x7q2-october.pdf", "Order for flat 4b zq9v", "crm-client-k3w8"
	emailHash := fmt.Sprintf("%x", sha256.Sum256([]byte(annEmail)))
	markers := []string{fileMarker, subjectMarker, clientMarker, emailHash, textMarker}
	var named bytes.Buffer
	mw := multipart.NewWriter(&named)
	_ = mw.WriteField("name", annName)
	_ = mw.WriteField("email", annEmail)
	fw, _ := mw.CreateFormFile("file", fileMarker)
	fw.Write(fmt.Appendf([]byte(pdf), "%% named\n"))
	mw.Close()
	code, doc := h.do("POST", "/v1/documents", "a", &named, mw.FormDataContentType())
	if code != 202 {
		t.Fatalf("upload with a file name: %d %v", code, doc)
	}
	annNamed := doc["id"].(string)
	eml := strings.ReplaceAll("From: Shop <orders@shop.example>\nTo: "+annName+" <"+annEmail+">\nSubject: "+subjectMarker+
		"\nMessage-ID: <m-erase-1@shop.example>\n\nOrder 12\nTotal: 3.00 EUR\n", "\n", "\r\n")
	code, doc = h.do("POST", "/v1/receipts/email", "a", strings.NewReader(eml), "message/rfc822")
	if code != 202 {
		t.Fatalf("e-mail receipt: %d %v", code, doc)
	}
	annMail := doc["id"].(string)
	if code, reply := h.ereceipt("POST", "/ereceipts/config", "a", `{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30}`,
		"application/json"); code != 200 {
		t.Fatalf("e-receipt config: %d %v", code, reply)
	}
	job := url.Values{"eml_data": {strings.Replace(eml, "m-erase-1@", "m-erase-2@", 1)}, "email_hash": {emailHash},
		"provider": {"gmail"}, "client_user_id": {clientMarker}}
	code, reply := h.ereceipt("POST", "/ereceipts/create_job", "a", job.Encode(), "application/x-www-form-urlencoded")
	if code != 200 || reply["success"] != true {
		t.Fatalf("create_job: %d %v", code, reply)
	}
	jobID := int(reply["job_id"].(float64))
	_, reply = h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", jobID), "a", "", "")
	annJob := reply["blinkReceiptId"].(string)
	complete(annMail, "3.00", "EUR", "2026-10-12")
	complete(annJob, "3.00", "EUR", "2026-10-12")
	// The e-receipt's result shows what it was given while Ann is known.
	_, reply = h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", jobID), "a", "", "")
	if r := mustJSON(reply); !strings.Contains(r, clientMarker) || !strings.Contains(r, emailHash) || !strings.Contains(r, subjectMarker) {
		t.Fatalf("the job's result before the erasure: %s", r)
	}
	// In the stream, they are sealed from the start.
	atRest := func(when string) {
		t.Helper()
		var all bytes.Buffer
		if _, err := h.events.Export(ctx, func(a eventstore.Archived) error {
			all.Write(a.Data)
			all.WriteByte('\n')
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if i := bytes.Index(all.Bytes(), []byte(m)); i >= 0 {
				t.Fatalf("%s: %q is in the stream in the clear: …%s…", when, m, all.Bytes()[max(0, i-200):min(all.Len(), i+100)])
			}
		}
	}
	atRest("before the erasure")
	h.eventually("the read models show what names her before the erasure", func() bool {
		dump := readModelDump(t, h)
		for _, m := range []string{fileMarker, subjectMarker, clientMarker, emailHash, "payslip", textMarker, legacyTextMarker} {
			if !strings.Contains(dump, m) {
				return false
			}
		}
		return true
	})
	// Each is found by its text while she is known.
	for id, word := range map[string]string{ann1: "Quillon", annOld: "Vexmoor", bob: "Brackwater"} {
		_, found := h.do("GET", "/v1/documents?q="+word, "a", nil, "")
		if items, _ := found["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
			t.Fatalf("search for %q before the erasure: %v", word, found)
		}
	}
	if err := readmodel.New(h.pool).SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: annEmail}); err != nil {
		t.Fatal(err)
	}
	h.eventually("seven documents counted", func() bool {
		_, mt := h.do("GET", "/v1/monthly-totals", "a", nil, "")
		n := 0.0
		for _, it := range mt["items"].([]any) {
			n += it.(map[string]any)["documents"].(float64)
		}
		return n == 7
	})
	// Each read model has its own projector: the totals counting five
	// documents says nothing of whether the documents table has them yet.
	h.eventually("the read models show the user before the erasure", func() bool {
		before := readModelDump(t, h)
		return strings.Contains(before, annEmail) && strings.Contains(before, annName)
	})
	totals := tenantTotals(t, h, tenant)
	_, annDoc := h.do("GET", "/v1/documents/"+ann1, "a", nil, "")
	oldID := annDoc["user_id"].(string)

	// A linked mailbox and a forwarding address of Ann's: settings that
	// name her (the link also holds her mailbox login) go with her.
	if _, err := h.pool.Exec(ctx, `INSERT INTO mailbox_links (id, tenant, user_email, user_name, host, port, tls_mode, username, password_sealed)
		VALUES (gen_random_uuid(), $1, $2, $3, 'imap.example.com', 993, 'imaps', $2, '\x00')`, tenant, annEmail, annName); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO forwarding_senders (email, tenant, user_name) VALUES ($1, $2, $3)`, annEmail, tenant, annName); err != nil {
		t.Fatal(err)
	}

	// The uploaded files, and webhook deliveries about the documents whose
	// stored bodies name the user: one sent, one not sent yet, and Bob's.
	fileOf := func(id string) string {
		t.Helper()
		var key string
		if err := h.pool.QueryRow(ctx, "SELECT blob_key FROM documents WHERE id = $1", id).Scan(&key); err != nil {
			t.Fatal(err)
		}
		return key
	}
	exists := func(key string) bool {
		r, err := files.Get(ctx, key)
		if err == nil {
			r.Close()
		}
		return err == nil
	}
	annFiles, bobFile := []string{fileOf(ann1), fileOf(ann2), fileOf(annNamed), fileOf(annMail), fileOf(annJob)}, fileOf(bob)
	for _, k := range append(annFiles, bobFile) {
		if !exists(k) {
			t.Fatalf("file %s missing before the erasure", k)
		}
	}
	endpoint := uuid.New()
	if _, err := h.pool.Exec(ctx, `INSERT INTO webhook_endpoints (id, tenant, url, secret_sealed, events)
		VALUES ($1, $2, 'https://hooks.example.com/', '\x00', '{document.completed}')`, endpoint, tenant); err != nil {
		t.Fatal(err)
	}
	delivery := func(doc, state, body string) {
		t.Helper()
		if _, err := h.pool.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id,
			stream_sequence, body, state) VALUES ($1, $2, $3, 'document.completed', $4, 1, $5, $6)`,
			endpoint, tenant, uuid.NewString(), doc, []byte(body), state); err != nil {
			t.Fatal(err)
		}
	}
	delivery(ann1, "succeeded", `{"user":{"name":"`+annName+`","email":"`+annEmail+`"}}`)
	delivery(annJob, "succeeded", `[{"clientUserId":"`+clientMarker+`","emailHash":"`+emailHash+`","ereceiptEmailSubject":"`+subjectMarker+`"}]`)
	delivery(ann2, "pending", `{"user":{"name":"`+annName+`","email":"`+annEmail+`"}}`)
	delivery(bob, "pending", `{"user":{"name":"`+bobName+`","email":"`+bobEmail+`"}}`)

	// Bad input, another tenant, an unknown address.
	if code, _ := h.do("DELETE", "/v1/users/not-an-address", "a", nil, ""); code != 400 {
		t.Fatalf("erase a non-address: %d", code)
	}
	if code, _ := h.do("DELETE", "/v1/users/"+annEmail, "b", nil, ""); code != 404 {
		t.Fatalf("erase from another tenant: %d", code)
	}
	if code, _ := h.do("DELETE", "/v1/users/nobody@example.com", "a", nil, ""); code != 404 {
		t.Fatalf("erase an unknown address: %d", code)
	}
	if code, _ := h.do("DELETE", "/v1/users/"+annEmail, "", nil, ""); code != 401 {
		t.Fatalf("erase without a key: %d", code)
	}
	if code, body := h.do("DELETE", "/v1/users/"+strings.ToUpper(annEmail), "a", nil, ""); code != 204 {
		t.Fatalf("erase: %d %v", code, body)
	}
	if code, _ := h.do("DELETE", "/v1/users/"+annEmail, "a", nil, ""); code != 204 {
		t.Fatalf("erase again: %d", code)
	}

	// noTrace checks everything a client or an operator can read.
	noTrace := func(when string) {
		t.Helper()
		var seen []string
		dump := readModelDump(t, h)
		seen = append(seen, dump)
		for _, path := range []string{"/v1/documents", "/v1/monthly-totals", "/v1/monthly-totals?email=" + annEmail,
			"/v1/documents?email=" + annEmail} {
			_, body := h.do("GET", path, "a", nil, "")
			seen = append(seen, mustJSON(body))
		}
		_, reply := h.ereceipt("GET", fmt.Sprintf("/ereceipts/status?job_id=%d", jobID), "a", "", "")
		seen = append(seen, mustJSON(reply))
		for _, word := range []string{"payslip", "Quillon", "Vexmoor"} {
			_, found := h.do("GET", "/v1/documents?q="+word, "a", nil, "")
			if items, _ := found["items"].([]any); len(items) != 0 {
				t.Fatalf("%s: found by %q, erased: %v", when, word, found)
			}
		}
		_, found := h.do("GET", "/v1/documents?q=Brackwater", "a", nil, "")
		if items, _ := found["items"].([]any); len(items) != 1 {
			t.Fatalf("%s: another user's document is no longer found by its text: %v", when, found)
		}
		for _, id := range []string{ann1, ann2, annOld, annNamed, annMail, annJob} {
			for _, path := range []string{"/v1/documents/" + id, "/v1/documents/" + id + "/events",
				"/v1/documents/" + id + "?as_of=" + time.Now().UTC().Format(time.RFC3339Nano)} {
				code, body := h.do("GET", path, "a", nil, "")
				if code != 200 {
					t.Fatalf("%s: GET %s: %d %v", when, path, code, body)
				}
				seen = append(seen, mustJSON(body))
			}
		}
		all := strings.Join(seen, "\n")
		for _, secret := range append([]string{annEmail, annName, "Annabel", "annabel", "payslip", legacyTextMarker}, markers...) {
			if strings.Contains(all, secret) {
				i := strings.Index(all, secret)
				t.Fatalf("%s: %q is still shown: …%s…", when, secret, all[max(0, i-300):min(len(all), i+100)])
			}
		}
		for _, kept := range []string{bobEmail, bobName, doraEmail, doraName} {
			if !strings.Contains(dump, kept) {
				t.Fatalf("%s: another user's %q is gone from the read models", when, kept)
			}
		}
		if got := tenantTotals(t, h, tenant); mustJSON(got) != mustJSON(totals) {
			t.Fatalf("%s: tenant totals moved: %v, were %v", when, got, totals)
		}
	}
	noTrace("after the erasure")
	atRest("after the erasure")

	// Ann's files are gone from the blob store, Bob's stays.
	for _, k := range annFiles {
		if exists(k) {
			t.Errorf("the erased user's file %s is still stored", k)
		}
	}
	if !exists(bobFile) {
		t.Error("another user's file was deleted")
	}
	// The stored webhook bodies about Ann's documents are empty, and the
	// one not sent yet will not be; Bob's is untouched.
	rows, err := h.pool.Query(ctx, "SELECT document_id, state, convert_from(body, 'UTF8') FROM webhook_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var doc, state, body string
		if err := rows.Scan(&doc, &state, &body); err != nil {
			t.Fatal(err)
		}
		switch doc {
		case ann1, ann2, annJob:
			if body != "" || (doc == ann2 && state != "cancelled") {
				t.Errorf("delivery about %s after the erasure: %s %q", doc, state, body)
			}
		case bob:
			if !strings.Contains(body, bobEmail) {
				t.Errorf("another user's delivery changed: %s %q", state, body)
			}
		}
	}
	rows.Close()

	// The erasure is on the stream, on the user's own aggregate.
	history, err := h.events.LoadAggregate(ctx, tenant, domain.AggregateUser, oldID)
	if err != nil || len(history) != 1 || history[0].Type != domain.TypeUserErased {
		t.Fatalf("UserErased of %s: %v %v", oldID, history, err)
	}

	// A replay of the whole stream into fresh read models shows no trace
	// either: the key is gone, and the schema-1 upload names an erased
	// address.
	rb := &projections.Rebuild{Pool: h.pool, Store: h.events, Projectors: projections.All(), Log: slog.New(slog.DiscardHandler)}
	if _, err := rb.Run(ctx); err != nil {
		t.Fatal(err)
	}
	h.eventually("the live projectors to pass the rebuild", func() bool {
		_, mt := h.do("GET", "/v1/monthly-totals", "a", nil, "")
		return len(mt["items"].([]any)) > 0
	})
	noTrace("after a replay")

	// The same address uploads again: a new user with a new id, shown.
	again := upload(annName, annEmail)
	h.eventually("the new upload in the read model", func() bool {
		code, doc := h.do("GET", "/v1/documents/"+again, "a", nil, "")
		return code == 200 && doc["user"].(map[string]any)["email"] == annEmail
	})
	_, doc = h.do("GET", "/v1/documents/"+again, "a", nil, "")
	if doc["user_id"] == oldID || doc["user_id"] == "" || doc["user"].(map[string]any)["name"] != annName {
		t.Fatalf("new upload after the erasure: %v (old id %s)", doc, oldID)
	}
	_, list := h.do("GET", "/v1/documents?email="+annEmail, "a", nil, "")
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != again {
		t.Fatalf("documents of the address after a new upload: %v", list)
	}
	// The old documents stay erased.
	_, old := h.do("GET", "/v1/documents/"+ann1, "a", nil, "")
	if old["user"].(map[string]any)["email"] != "" || old["user_id"] != oldID {
		t.Fatalf("an erased document after a new upload: %v", old)
	}
}
