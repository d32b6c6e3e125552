package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"tally/domain"
	"tally/eventstore"
)

// TestUsersEraseCommand runs every role in one process, erases a user from
// the command line, replays the read models and finds no trace of them.
func TestUsersEraseCommand(t *testing.T) {
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"NATS_EMBEDDED_LISTEN": natsAddr, "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"})
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	ann, bob := in.upload("a.pdf", example, "ann.gone@example.com"), in.upload("b.pdf", example, "bob.stays@example.com")
	t.Setenv("NATS_URL", "nats://"+natsAddr)
	ctx := context.Background()
	// A document uploaded before users were sealed: the user in the clear.
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	old := uuid.Must(uuid.NewV7()).String()
	e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), "e2e", old, domain.TypeDocumentUploaded, time.Now(),
		domain.DocumentUploaded{Source: domain.SourceUpload, Filename: "old.pdf", ContentType: "application/pdf", Size: 1,
			SHA256: strings.Repeat("0", 64), BlobKey: "e2e/old.pdf", User: &domain.User{Name: "Ann Gone", Email: "ann.gone@example.com"},
			UploadedAt: time.Now().UTC(), Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.SchemaVersion = 1
	if _, err := store.Append(ctx, e, 0); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "all three documents listed", func() bool {
		_, list := in.call("GET", "/v1/documents", nil, "")
		items, _ := list["items"].([]any)
		return len(items) == 3
	})
	var out bytes.Buffer
	if err := run(ctx, []string{"users", "erase", "--tenant", "e2e", "Ann.Gone@example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var erased struct {
		Tenant string   `json:"tenant"`
		IDs    []string `json:"erased_user_ids"`
	}
	if err := json.Unmarshal(out.Bytes(), &erased); err != nil || erased.Tenant != "e2e" || len(erased.IDs) == 0 ||
		strings.Contains(out.String(), "ann.gone") {
		t.Fatalf("users erase printed %q (%v)", out.String(), err)
	}
	if err := run(ctx, []string{"users", "erase", "--tenant", "e2e", "nobody@example.com"}, io.Discard, io.Discard); err == nil {
		t.Fatal("erasing an unknown address succeeded")
	}
	if err := run(ctx, []string{"users", "erase"}, io.Discard, io.Discard); err == nil {
		t.Fatal("users erase without an address succeeded")
	}
	if err := run(ctx, []string{"replay", "--projection", "all"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, path := range []string{"/v1/documents", "/v1/documents/" + ann, "/v1/documents/" + ann + "/events"} {
		code, body := in.call("GET", path, nil, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
		raw, _ := json.Marshal(body)
		seen = append(seen, string(raw))
	}
	for _, id := range []string{ann, old} {
		var show bytes.Buffer
		if err := run(ctx, []string{"events", "show", "--tenant", "e2e", id}, &show, io.Discard); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, show.String())
	}
	tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var tail bytes.Buffer
	if err := run(tctx, []string{"events", "tail", "--from", "1"}, &tail, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tail.String(), old) || !strings.Contains(tail.String(), "UserErased") {
		t.Fatalf("events tail:\n%s", tail.String())
	}
	seen = append(seen, tail.String())
	all := strings.Join(seen, "\n")
	if strings.Contains(all, "ann.gone") || strings.Contains(all, "Ann Gone") {
		t.Fatalf("the erased address is still shown:\n%s", all)
	}
	if _, doc := in.call("GET", "/v1/documents/"+bob, nil, ""); doc["user"].(map[string]any)["email"] != "bob.stays@example.com" {
		t.Fatalf("the other user's document: %v", doc)
	}
}
