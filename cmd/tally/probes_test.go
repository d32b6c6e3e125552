package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/config"
	"tally/metrics"
	"tally/migrations/pgtest"
)

// TestProbePortTakenNamesTheSetting: a role whose probe port is taken (a
// second process of the same role on one host) stops with an error that
// says which setting to change.
func TestProbePortTakenNamesTheSetting(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := config.Load(func(name string) string {
		if name == "PROBE_PORT" {
			return strings.TrimPrefix(l.Addr().String(), "[::]:")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := start(slog.New(slog.DiscardHandler), cfg, "worker")
	err = serveProbes(context.Background(), rt, metrics.New(), nil)
	if err == nil || !strings.Contains(err.Error(), "PROBE_PORT") || !strings.Contains(err.Error(), "worker") {
		t.Fatalf("probe port taken: %v", err)
	}
}

// TestRoleStopsWhenItsProbePortIsTaken: the role itself returns the error
// (and its goroutines stop) instead of running on without probes.
func TestRoleStopsWhenItsProbePortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dsn, _ := pgtest.New(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("NATS_URL", "")
	t.Setenv("NATS_EMBEDDED_LISTEN", "")
	t.Setenv("PROBE_PORT", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), []string{"projector"}, io.Discard, io.Discard) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "PROBE_PORT") {
			t.Fatalf("projector with its probe port taken: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the projector kept running with its probe port taken")
	}
}
