package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/blob"
	"tally/commands"
	"tally/config"
	"tally/readmodel"
)

func TestPurgeAfterGracePeriod(t *testing.T) {
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startAll(t, map[string]string{"NATS_EMBEDDED_LISTEN": natsAddr, "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/",
		"DELETION_GRACE_DAYS": "0"})
	example, _ := os.ReadFile("../../examples/invoice.pdf")
	id := in.upload("a.pdf", example, "ann@example.com")
	if code, doc := in.call("DELETE", "/v1/documents/"+id, nil, ""); code != 200 || doc["deleted"] != true {
		t.Fatalf("delete: %d %v", code, doc)
	}
	t.Setenv("NATS_URL", "nats://"+natsAddr)
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	rt := &runtime{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	defer rt.Close()
	ctx := context.Background()
	if err := rt.openDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rt.openEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rt.openBlobs(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion in the read model", func() bool {
		due, _ := readmodel.New(rt.pool).DocumentsToPurge(ctx, pgtype.Timestamptz{Time: time.Now(), Valid: true})
		return len(due) == 1
	})
	cmds := commands.New(rt.events, rt.blobs, rt.log)
	if err := rt.purger().Due(ctx); err != nil {
		t.Fatal(err)
	}
	history, _ := cmds.Documents().History(ctx, "e2e", id)
	if last := history[len(history)-1]; last.Type != "DocumentPurged" {
		t.Fatalf("last event %s, want DocumentPurged", last.Type)
	}
	d, _ := cmds.Documents().Load(ctx, "e2e", id)
	if _, err := rt.blobs.Get(ctx, d.BlobKey); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("the file is still there: %v", err)
	}
	if code, _ := in.call("POST", "/v1/documents/"+id+"/restore", nil, ""); code != 409 {
		t.Fatalf("restore after purge: %d, want 409", code)
	}
}
