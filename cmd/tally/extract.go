package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"tally/domain"
	"tally/extract"
)

// manifestItem is one line of a benchdata manifest.jsonl; only the input
// is read, never the gold fields or the auxiliary inputs.
type manifestItem struct {
	ID    string `json:"id"`
	Input string `json:"input"`
}

type extraction struct {
	ID     string          `json:"id,omitempty"`
	File   string          `json:"file,omitempty"`
	Fields benchmarkFields `json:"fields"`
	Error  string          `json:"error,omitempty"`
}

// benchmarkFields are domain.Fields under the benchmark's field names
// (the vendor's address is "address" there).
type benchmarkFields struct {
	domain.Fields
	VendorAddress string `json:"vendor_address,omitempty"`
	Address       string `json:"address,omitempty"`
}

func toBenchmark(f domain.Fields) benchmarkFields {
	return benchmarkFields{Fields: f, Address: f.VendorAddress}
}

// runExtract extracts documents from the command line: the files named,
// or every item of a benchdata split with --manifest DIR, one JSON object
// per line.
func runExtract(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	manifest := fs.String("manifest", "", "directory with a manifest.jsonl of items to extract")
	if err := fs.Parse(args); err != nil {
		return err
	}
	engine := extract.New(extract.Limits{})
	out := json.NewEncoder(stdout)
	one := func(id, path string) error {
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		res := extraction{ID: id}
		if id == "" {
			res.File = path
		}
		f, err := engine.Extract(ctx, content, contentTypeOf(path))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Error = err.Error()
		} else {
			res.Fields = toBenchmark(f)
		}
		return out.Encode(res)
	}
	if *manifest == "" {
		if fs.NArg() == 0 {
			return errors.New("usage: tally extract [--manifest DIR] [FILE...]")
		}
		for _, path := range fs.Args() {
			if err := one("", path); err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(filepath.Join(*manifest, "manifest.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; scanner.Scan(); line++ {
		if strings.TrimSpace(scanner.Text()) == "" {
			continue
		}
		var item manifestItem
		if err := json.Unmarshal(scanner.Bytes(), &item); err != nil {
			return fmt.Errorf("manifest line %d: %w", line, err)
		}
		if err := one(item.ID, filepath.Join(*manifest, item.Input)); err != nil {
			return fmt.Errorf("item %s: %w", item.ID, err)
		}
	}
	return scanner.Err()
}

// contentTypeOf maps a file name to the type the engine reads; an unknown
// extension is left to the engine's own sniffing.
func contentTypeOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		return "application/pdf"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".eml":
		return "message/rfc822"
	case ".html", ".htm":
		return "text/html"
	case ".txt":
		return "text/plain"
	}
	return ""
}
