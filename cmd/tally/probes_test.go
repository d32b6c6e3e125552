package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"tally/config"
	"tally/metrics"
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
