package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"tally/projections"
)

// TestArchitectureListsEveryTableByKind keeps docs/architecture.md's two
// lists true: the read models are exactly the tables of the projectors in
// projections.All(), and every other table the migrations create is in
// the primary list, which an operator reads to know what a backup must
// hold and what replay cannot give back.
func TestArchitectureListsEveryTableByKind(t *testing.T) {
	raw, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	listed := func(kind string) []string {
		t.Helper()
		start, end := "<!-- "+kind+" -->", "<!-- /"+kind+" -->"
		i, j := strings.Index(doc, start), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("architecture.md: no %s … %s list", start, end)
		}
		var names []string
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(doc[i:j], -1) {
			names = append(names, m[1])
		}
		slices.Sort(names)
		return names
	}
	var projected []string
	for _, p := range projections.All() {
		projected = append(projected, p.Tables()...)
	}
	slices.Sort(projected)
	if got := listed("projected"); !slices.Equal(got, projected) {
		t.Errorf("architecture.md lists the read models %v; projections.All() has %v", got, projected)
	}

	files, err := filepath.Glob("../migrations/sql/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	created := regexp.MustCompile(`(?i)CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_]+)`)
	dropped := regexp.MustCompile(`(?i)DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([a-z_]+)`)
	tables := map[string]bool{}
	for _, f := range files {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Only the Up part: a Down section drops what its Up made.
		up, _, _ := strings.Cut(string(sql), "-- +goose Down")
		for _, m := range created.FindAllStringSubmatch(up, -1) {
			tables[m[1]] = true
		}
		for _, m := range dropped.FindAllStringSubmatch(up, -1) {
			delete(tables, m[1])
		}
	}
	var primary []string
	for name := range tables {
		if !slices.Contains(projected, name) && name != "projector_checkpoints" {
			primary = append(primary, name)
		}
	}
	slices.Sort(primary)
	if got := listed("primary"); !slices.Equal(got, primary) {
		t.Errorf("architecture.md lists the primary tables %v; the migrations create %v besides the read models", got, primary)
	}
}
