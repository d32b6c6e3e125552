package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractCommandManifest(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.pdf"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "b.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o600)
	manifest := `{"id": "a", "input": "a.pdf", "aux_inputs": {"gold": "never-read.txt"}, "fields": {"total": "1.00"}}
{"id": "b", "input": "b.png"}
`
	os.WriteFile(filepath.Join(dir, "manifest.jsonl"), []byte(manifest), 0o600)
	var out bytes.Buffer
	if err := runExtract(context.Background(), []string{"--manifest", dir}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	var a struct {
		ID     string         `json:"id"`
		Fields map[string]any `json:"fields"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != "a" || a.Fields["total"] != "78.60" || a.Fields["address"] != "12 High Street, Springfield" {
		t.Fatalf("item a: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"id":"b"`) || !strings.Contains(lines[1], `"error"`) {
		t.Fatalf("item b should carry its error: %s", lines[1])
	}
}
