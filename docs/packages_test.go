package docs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPackageIsListed keeps the package lists of the README and of
// docs/architecture.md in step with the tree: a newcomer finds where a
// change goes from those lists, so a package missing from them is a
// package nobody finds. Test-support packages (named *test) and the
// commands under bench/ and examples/ are left out.
func TestEveryPackageIsListed(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	arch, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var packages []string
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		if d.IsDir() {
			switch {
			case strings.HasPrefix(d.Name(), ".") && rel != ".", rel == "bench", rel == "examples", d.Name() == "testdata",
				d.Name() == "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." || strings.HasSuffix(dir, "test") || !strings.HasSuffix(d.Name(), ".go") || strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		if !seen[dir] {
			seen[dir] = true
			packages = append(packages, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(packages) < 20 {
		t.Fatalf("found only %d packages: %v", len(packages), packages)
	}
	for _, pkg := range packages {
		name := "`" + pkg + "`"
		if !strings.Contains(string(readme), name) {
			t.Errorf("README.md: the package list does not name %s", name)
		}
		if !strings.Contains(string(arch), name) {
			t.Errorf("docs/architecture.md: no layer table names %s", name)
		}
	}
}
