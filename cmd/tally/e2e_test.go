package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	stdhttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/migrations/pgtest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestAllRolesEndToEnd starts `tally all` against the real PostgreSQL and
// Redis with an embedded JetStream, uploads an invoice PDF through each
// upload route and follows status, stats and monthly totals.
func TestAllRolesEndToEnd(t *testing.T) {
	const fixture = "testdata/cloud-invoice.pdf"
	file, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dsn, _ := pgtest.New(t)
	dataDir := t.TempDir()
	port, natsPort := freePort(t), freePort(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", dataDir)
	t.Setenv("PORT", fmt.Sprint(port))
	t.Setenv("NATS_URL", "")
	t.Setenv("NATS_EMBEDDED_LISTEN", fmt.Sprintf("127.0.0.1:%d", natsPort))
	t.Setenv("DEFAULT_TENANT", "e2e")
	t.Setenv("LOG_LEVEL", "warn")
	// No broker: no worker takes the jobs, so this test alone appends the
	// extraction events.
	t.Setenv("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/")

	var terminal syncBuffer
	openTerminal = func() (io.WriteCloser, error) { return nopCloser{&terminal}, nil }
	t.Cleanup(func() {
		openTerminal = func() (io.WriteCloser, error) { return nil, errors.New("no terminal in tests") }
	})
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"all"}, &stdout, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tally all stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("tally all did not stop within 30s of cancellation")
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
	// The programs extraction runs are reported with the services.
	resp, err := stdhttp.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Dependencies map[string]string }
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if ready.Dependencies["pdftotext"] != "healthy" || ready.Dependencies["tesseract"] == "" {
		t.Fatalf("/readyz does not report the extraction programs: %v", ready.Dependencies)
	}
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "api-key"))
	if err != nil {
		t.Fatalf("no api-key written on a fresh data dir: %v", err)
	}
	key := strings.TrimSpace(string(keyBytes))
	if info, err := os.Stat(filepath.Join(dataDir, "api-key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("api-key file: %v %v", info, err)
	}
	// Shown once on the terminal, never in the structured logs.
	if !strings.Contains(terminal.String(), key) {
		t.Fatal("the new key was not shown on the terminal")
	}
	if strings.Contains(stdout.String(), key) {
		t.Fatal("the new key is in the logs")
	}

	call := func(method, path string, body io.Reader, contentType string) (int, map[string]any) {
		req, _ := stdhttp.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := stdhttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	upload := func(path string, fields map[string]string) string {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("file", filepath.Base(fixture))
		fw.Write(file)
		w.Close()
		code, out := call("POST", path, &buf, w.FormDataContentType())
		if code != 202 {
			t.Fatalf("%s: %d %v", path, code, out)
		}
		if id, ok := out["id"].(string); ok {
			return id
		}
		return out["request_id"].(string)
	}
	user := map[string]string{"name": "Ann", "email": "ann@example.com"}
	ids := []string{
		upload("/v1/documents", user),
		upload("/upload-invoice", user),
		upload("/api/v1/ingest/upload", nil),
	}
	waitFor(t, "three PENDING documents", func() bool {
		_, st := call("GET", "/v1/stats", nil, "")
		return st["pending"] == 3.0 && st["total"] == 3.0
	})
	for _, id := range ids {
		// The documents read model has its own projector: wait for it too.
		waitFor(t, "document "+id+" PENDING", func() bool {
			code, doc := call("GET", "/v1/documents/"+id, nil, "")
			return code == 200 && doc["status"] == "PENDING"
		})
	}

	// A worker's result, appended directly through the commands package on
	// the same stream, reaches the read models.
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, _ := blob.NewLocal(filepath.Join(dataDir, "blobs"))
	cmds := commands.New(store, blobs, slog.New(slog.DiscardHandler))
	meta := commands.Meta{Tenant: "e2e"}
	if _, err := cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: ids[0], Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: ids[0], Attempt: 1,
		Fields: domain.Fields{Vendor: "Northwind Cloud Services", Date: "2026-10-31", Currency: "USD", Total: "4.11"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "monthly total", func() bool {
		_, mt := call("GET", "/v1/monthly-totals?email=ann@example.com&month=2026-10", nil, "")
		items, _ := mt["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["total"] == "4.11"
	})
	// Each read model follows the stream on its own: wait for each.
	waitFor(t, "stats after extraction", func() bool {
		_, st := call("GET", "/api/v1/ingest/stats", nil, "")
		return st["completed"] == 1.0 && st["pending"] == 2.0 && st["total"] == 3.0
	})
	waitFor(t, "ingest status COMPLETED", func() bool {
		code, status := call("GET", "/api/v1/ingest/status/"+ids[0], nil, "")
		return code == 200 && status["status"] == "COMPLETED"
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// syncBuffer is written by the server's logger and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
