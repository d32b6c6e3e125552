package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEventsCommands(t *testing.T) {
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"NATS_EMBEDDED_LISTEN": natsAddr, "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"})
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := in.upload("invoice.pdf", example, "ann@example.com")
	t.Setenv("NATS_URL", "nats://"+natsAddr)

	var show bytes.Buffer
	if err := run(context.Background(), []string{"events", "show", "--tenant", "e2e", id}, &show, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show.String(), `"type": "DocumentUploaded"`) || !strings.Contains(show.String(), `"sequence": 1`) {
		t.Fatalf("events show:\n%s", show.String())
	}
	if err := run(context.Background(), []string{"events", "show", "--tenant", "e2e", "0192f000-0000-7000-8000-000000000000"}, io.Discard, io.Discard); err == nil {
		t.Fatal("events show of an unknown document succeeded")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var tail bytes.Buffer
	if err := run(ctx, []string{"events", "tail", "--from", "1", "--type", "DocumentUploaded"}, &tail, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(tail.String(), "\n"); n != 1 || !strings.Contains(tail.String(), id) {
		t.Fatalf("events tail printed %d lines:\n%s", n, tail.String())
	}
}

func TestReplayCommand(t *testing.T) {
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"NATS_EMBEDDED_LISTEN": natsAddr, "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"})
	example, _ := os.ReadFile("../../examples/invoice.pdf")
	ids := []string{in.upload("a.pdf", example, "ann@example.com"), in.upload("b.pdf", example, "bob@example.com")}
	t.Setenv("NATS_URL", "nats://"+natsAddr)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"replay", "--projection", "all"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Two uploads and their two fingerprint claims.
	if !strings.Contains(out.String(), "rebuilt all from 4 events") {
		t.Fatalf("replay output:\n%s", out.String())
	}
	// The API serves from the swapped tables.
	for _, id := range ids {
		if code, doc := in.call("GET", "/v1/documents/"+id, nil, ""); code != 200 || doc["status"] != "PENDING" {
			t.Fatalf("after the swap: %d %v", code, doc)
		}
	}
	if err := run(context.Background(), []string{"replay", "--projection", "nope"}, io.Discard, io.Discard); err == nil {
		t.Fatal("an unknown projection was accepted")
	}
}

func TestReprocessCommand(t *testing.T) {
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"NATS_EMBEDDED_LISTEN": natsAddr})
	example, _ := os.ReadFile("../../examples/invoice.pdf")
	id := in.upload("a.pdf", example, "ann@example.com")
	if doc := in.waitStatus(id, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("upload: %v", doc)
	}
	t.Setenv("NATS_URL", "nats://"+natsAddr)
	var dry bytes.Buffer
	if err := run(context.Background(), []string{"reprocess", "--tenant", "e2e", "--vendor", "acme%", "--dry-run"}, &dry, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The dry run extracts again: the same engine finds the same fields.
	if !strings.Contains(dry.String(), `"result":"would request"`) || !strings.Contains(dry.String(), id) ||
		strings.Contains(dry.String(), "preview_error") || strings.Contains(dry.String(), `"changes":{"`) {
		t.Fatalf("dry run:\n%s", dry.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reprocess", "--tenant", "e2e", "--ids", id}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"result":"requested"`) {
		t.Fatalf("reprocess:\n%s", out.String())
	}
	// The worker extracts again; the same result is recorded as a revision.
	waitFor(t, "the revision", func() bool {
		_, hist := in.call("GET", "/v1/documents/"+id+"/events", nil, "")
		items, _ := hist["items"].([]any)
		return len(items) > 0 && items[len(items)-1].(map[string]any)["type"] == "ExtractionRevised"
	})
}
