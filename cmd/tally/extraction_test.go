package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	stdhttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/migrations/pgtest"
)

// instance is a `tally all` started in this process for a test.
type instance struct {
	t    *testing.T
	base string
	key  string
	dsn  string
	// dataDir is the instance's DATA_DIR.
	dataDir string
}

// startAll runs `tally all` with a fresh database, data directory and
// scrape queue, plus the extra environment given.
func startAll(t *testing.T, env map[string]string) *instance {
	t.Helper()
	return startAllLogging(t, env, io.Discard)
}

// startAllLogging is startAll with the process's log lines written to
// logs (which must be safe for concurrent writes).
func startAllLogging(t *testing.T, env map[string]string, logs io.Writer) *instance {
	t.Helper()
	dsn, _ := pgtest.New(t)
	dataDir := t.TempDir()
	port := freePort(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", dataDir)
	t.Setenv("PORT", fmt.Sprint(port))
	t.Setenv("NATS_URL", "")
	t.Setenv("NATS_EMBEDDED_LISTEN", "")
	t.Setenv("SMTP_URL", "")
	t.Setenv("DEFAULT_TENANT", "e2e")
	t.Setenv("LOG_LEVEL", "warn")
	queueName := "test_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Setenv("SCRAPE_QUEUE", queueName)
	t.Cleanup(func() { deleteQueues(t, queueName) })
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"all"}, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tally all stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("tally all did not stop within 30s")
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "readiness", func() bool {
		resp, err := stdhttp.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	key, err := os.ReadFile(filepath.Join(dataDir, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	return &instance{t: t, base: base, key: strings.TrimSpace(string(key)), dsn: dsn, dataDir: dataDir}
}

func (in *instance) call(method, path string, body io.Reader, contentType string) (int, map[string]any) {
	in.t.Helper()
	return in.request(method, path, body, contentType, "Authorization", "Bearer "+in.key)
}

// request sends one request with the given header pairs and decodes the
// JSON answer.
func (in *instance) request(method, path string, body io.Reader, contentType string, headers ...string) (int, map[string]any) {
	in.t.Helper()
	req, _ := stdhttp.NewRequest(method, in.base+path, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (in *instance) upload(name string, content []byte, email string) string {
	in.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("email", email)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	code, out := in.call("POST", "/v1/documents", &buf, w.FormDataContentType())
	if code != 202 {
		in.t.Fatalf("upload %s: %d %v", name, code, out)
	}
	return out["id"].(string)
}

// waitStatus polls a document until it reaches a final status.
func (in *instance) waitStatus(id string, timeout time.Duration) map[string]any {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, doc := in.call("GET", "/v1/documents/"+id, nil, "")
		if s := doc["status"]; s == "COMPLETED" || s == "FAILED" {
			return doc
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.t.Fatalf("document %s did not finish within %s", id, timeout)
	return nil
}

// TestUploadIsExtracted follows two text PDFs of different layouts from
// upload through the bridge, RabbitMQ and a worker to COMPLETED, and checks
// that stats and monthly totals agree with the documents.
func TestUploadIsExtracted(t *testing.T) {
	in := startAll(t, nil)
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	doc := in.waitStatus(id, 30*time.Second)
	fields, _ := doc["fields"].(map[string]any)
	if doc["status"] != "COMPLETED" || fields["total"] != "78.60" || fields["currency"] != "EUR" || fields["date"] != "2026-11-03" {
		t.Fatalf("example invoice: %v", doc)
	}

	cloud, err := os.ReadFile("testdata/cloud-invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id2 := in.upload("cloud-invoice.pdf", cloud, "ann@example.com")
	doc2 := in.waitStatus(id2, 30*time.Second)
	f2, _ := doc2["fields"].(map[string]any)
	if doc2["status"] != "COMPLETED" || f2["total"] != "4.11" || f2["currency"] != "USD" || f2["date"] != "2026-10-31" {
		t.Fatalf("cloud invoice: %v", doc2)
	}

	waitFor(t, "stats to count both", func() bool {
		_, st := in.call("GET", "/v1/stats", nil, "")
		return st["completed"] == 2.0 && st["total"] == 2.0
	})
	// Monthly totals hold exactly the documents' totals, each once. They
	// have their own projector, which may trail the stats by a moment.
	var mt map[string]any
	var count float64
	deadline := time.Now().Add(20 * time.Second)
	for count != 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_, mt = in.call("GET", "/v1/monthly-totals?email=ann@example.com", nil, "")
		count = 0
		for _, it := range mt["items"].([]any) {
			count += it.(map[string]any)["documents"].(float64)
		}
	}
	if count != 2 {
		t.Fatalf("monthly totals count %v documents, want 2: %v", count, mt)
	}
}

// TestPoisonedJobFails: a corrupt PDF that passes the upload check ends
// FAILED with a reason after the configured attempts, and a good document
// uploaded after it is not held up.
func TestPoisonedJobFails(t *testing.T) {
	in := startAll(t, map[string]string{"CPP_RETRY_MAX_ATTEMPTS": "3", "RETRY_DELAY_MS": "50"})
	poison := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\nthis is not a real pdf body\n%%EOF\n")
	bad := in.upload("broken.pdf", poison, "ann@example.com")
	example, _ := os.ReadFile("../../examples/invoice.pdf")
	good := in.upload("invoice.pdf", example, "ann@example.com")
	if doc := in.waitStatus(good, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("good document after a poisoned one: %v", doc)
	}
	doc := in.waitStatus(bad, 60*time.Second)
	if doc["status"] != "FAILED" || doc["failure_reason"] == "" || doc["attempt"] != 3.0 {
		t.Fatalf("poisoned document: %v", doc)
	}
	t.Logf("poisoned document failed after %v attempts: %v", doc["attempt"], doc["failure_reason"])
}

// deleteQueues removes a test's scrape queues from the shared broker.
func deleteQueues(t *testing.T, name string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Logf("delete test queues: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	defer ch.Close()
	// The scrape queue and the mailbox-scrape queue beside it, each with
	// its dead-letter and delay queues.
	for _, base := range []string{name, name + ".mailbox"} {
		for _, q := range []string{base, base + ".dead", base + ".delay"} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	}
}
