package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"tally/blob"
	"tally/eventstore"
	"tally/migrations/pgtest"
	"tally/templates"
)

func copyBundle(t *testing.T, dir, from, to string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../templates/testdata", from))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateCronAndTemplatesCommands runs `tally update-cron` (as a
// subcommand and as ROLE=UPDATE_CRON) on a bundle directory and on S3, and
// `tally templates list|rollback`, against the real PostgreSQL and a
// JetStream server.
func TestUpdateCronAndTemplatesCommands(t *testing.T) {
	dsn, _ := pgtest.New(t)
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), Listen: natsAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"DATABASE_URL": dsn, "DATA_DIR": t.TempDir(), "NATS_URL": "nats://" + natsAddr, "LOG_LEVEL": "warn", "ROLE": "",
		"DB_UPDATE_DIR": dir, "DB_UPDATE_S3_BUCKET": "", "DB_UPDATE_S3_PREFIX": "", "DB_UPDATE_INTERVAL": "",
		"S3_BUCKET": "", "S3_ENDPOINT": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
		"TEMPLATE_SIGNING_KEYS": "", "TEMPLATE_ALLOW_UNSIGNED": "",
	} {
		t.Setenv(k, v)
	}
	ctx := t.Context()
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}

	// Nothing published: fine.
	if _, err := cmd("update-cron"); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	copyBundle(t, dir, "bundle-2026.11.1.json", "2026.11.1.json")
	// Unsigned: refused, unless the operator allows unsigned local bundles.
	if _, err := cmd("update-cron"); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("unsigned bundle: %v", err)
	}
	t.Setenv("TEMPLATE_ALLOW_UNSIGNED", "true")
	if _, err := cmd("update-cron"); err != nil {
		t.Fatal(err)
	}
	copyBundle(t, dir, "bundle-2026.11.2.json", "2026.11.2.json")
	t.Setenv("ROLE", "update_cron")
	if _, err := cmd(); err != nil {
		t.Fatalf("ROLE=UPDATE_CRON: %v", err)
	}
	t.Setenv("ROLE", "")
	copyBundle(t, dir, "bundle-2026.11.10-broken.json", "2026.11.10.json")
	if _, err := cmd("update-cron"); err == nil || !strings.Contains(err.Error(), "template bundle 2026.11.10 refused") ||
		!strings.Contains(err.Error(), "RE2") {
		t.Fatalf("broken bundle: %v", err)
	}
	// Repeating, a refusal is logged and the cron keeps going.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := run(short, []string{"update-cron", "--every", "50ms"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("--every: %v", err)
	}

	out, err := cmd("templates", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexpLine(out, `^\*\s+2026\.11\.2\s+2\s`) || !regexpLine(out, `^\s+2026\.11\.1\s+1\s`) || strings.Contains(out, "2026.11.10") {
		t.Fatalf("templates list:\n%s", out)
	}
	if out, err := cmd("templates", "rollback"); err != nil || out != "active: 2026.11.1 (was 2026.11.2, 1 templates)\n" {
		t.Fatalf("rollback: %q %v", out, err)
	}
	if out, err := cmd("templates", "rollback", "--to", "2026.11.2"); err != nil || !strings.HasPrefix(out, "active: 2026.11.2 ") {
		t.Fatalf("rollback --to: %q %v", out, err)
	}
	if _, err := cmd("templates", "rollback", "--to", "1.0"); err == nil || !strings.Contains(err.Error(), `version "1.0" is not stored`) {
		t.Fatalf("rollback to an unknown version: %v", err)
	}
	if out, err := cmd("templates", "check", "../../templates/testdata/bundle-2026.11.2.json"); err != nil || !strings.Contains(out, "ok, version 2026.11.2, 2 templates") {
		t.Fatalf("check: %q %v", out, err)
	}

	// From S3 (the blob settings' endpoint and credentials).
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3srv.Close)
	s3cfg := blob.S3Config{Bucket: "bundles", Region: "us-east-1", Endpoint: s3srv.URL, AccessKeyID: "k", SecretAccessKey: "s"}
	up, err := blob.NewS3(ctx, s3cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	v3 := bytes.Replace(mustRead(t, "../../templates/testdata/bundle-2026.11.2.json"), []byte(`"version": "2026.11.2"`), []byte(`"version": "2026.12.1"`), 1)
	if err := up.Put(ctx, "ota/2026.12.1.json", bytes.NewReader(v3), int64(len(v3)), "application/json"); err != nil {
		t.Fatal(err)
	}
	// From S3 a bundle must be signed, whatever TEMPLATE_ALLOW_UNSIGNED.
	keyFile, v3File := filepath.Join(t.TempDir(), "signing.key"), filepath.Join(t.TempDir(), "2026.12.1.json")
	pub, err := cmd("templates", "keygen", "--out", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v3File, v3, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("templates", "sign", "--key", keyFile, v3File); err != nil || !strings.Contains(out, "signed with key") {
		t.Fatalf("templates sign: %q %v", out, err)
	}
	t.Setenv("TEMPLATE_SIGNING_KEYS", strings.TrimSpace(pub))
	if out, err := cmd("templates", "check", v3File); err != nil || !strings.Contains(out, "signature verified") {
		t.Fatalf("templates check of a signed bundle: %q %v", out, err)
	}
	sig := mustRead(t, v3File+".sig")
	t.Setenv("TEMPLATE_SIGNING_KEYS", strings.TrimSpace(pub))
	for k, v := range map[string]string{
		"DB_UPDATE_DIR": "", "DB_UPDATE_S3_BUCKET": "bundles", "DB_UPDATE_S3_PREFIX": "ota",
		"S3_BUCKET": "blobs", "S3_ENDPOINT": s3srv.URL, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
	} {
		t.Setenv(k, v)
	}
	if _, err := cmd("update-cron"); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("unsigned bundle from S3: %v", err)
	}
	if err := up.Put(ctx, "ota/2026.12.1.json.sig", bytes.NewReader(sig), int64(len(sig)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd("update-cron"); err != nil {
		t.Fatalf("update from S3: %v", err)
	}

	// The activations are events on the templates aggregate.
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	events, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	store := templates.NewStore(nil, events)
	history, err := store.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range history {
		got = append(got, h.Reason+" "+h.Version)
	}
	want := "update 2026.11.1,update 2026.11.2,rollback 2026.11.1,rollback 2026.11.2,update 2026.12.1"
	if strings.Join(got, ",") != want {
		t.Fatalf("activations %v, want %s", got, want)
	}
	if !strings.HasPrefix(history[4].Source, "s3://bundles/ota/2026.12.1.json") {
		t.Errorf("source %q", history[4].Source)
	}

	// Settings problems are reported before anything is opened.
	t.Setenv("DB_UPDATE_DIR", dir)
	if _, err := cmd("update-cron"); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("two sources: %v", err)
	}
	t.Setenv("DB_UPDATE_DIR", "")
	t.Setenv("DB_UPDATE_S3_BUCKET", "")
	t.Setenv("DB_UPDATE_INTERVAL", "daily")
	if _, err := cmd("update-cron"); err == nil || !strings.Contains(err.Error(), "DB_UPDATE_S3_BUCKET or DB_UPDATE_DIR") ||
		!strings.Contains(err.Error(), `DB_UPDATE_INTERVAL: "daily"`) {
		t.Fatalf("no source: %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func regexpLine(text, expr string) bool {
	for _, l := range strings.Split(text, "\n") {
		if ok, _ := regexp.MatchString(expr, l); ok {
			return true
		}
	}
	return false
}
