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
	if !strings.Contains(out.String(), "rebuilt all from 2 events") {
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
