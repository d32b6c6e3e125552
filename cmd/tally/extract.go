package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	"tally/config"
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

// job is one document to extract: a manifest item (id set) or a file named
// on the command line (id empty).
type job struct {
	id   string
	path string
}

// runExtract extracts documents from the command line: the files named,
// or every item of a benchdata split with --manifest DIR, one JSON object
// per line. Documents are extracted concurrently (GOMAXPROCS at a time, or
// --workers) and printed in input order.
func runExtract(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	manifest := fs.String("manifest", "", "directory with a manifest.jsonl of items to extract")
	workers := fs.Int("workers", goruntime.GOMAXPROCS(0), "documents extracted at once")
	ocrDir := fs.String("ocr-models", config.OCRModelsDirFromEnv(), "directory of the OCR models (OCR_MODELS_DIR); Tesseract alone reads images without them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var jobs []job
	if *manifest == "" {
		if fs.NArg() == 0 {
			return errors.New("usage: tally extract [--workers N] [--manifest DIR] [FILE...]")
		}
		for _, path := range fs.Args() {
			jobs = append(jobs, job{path: path})
		}
	} else {
		var err error
		if jobs, err = readManifest(*manifest); err != nil {
			return err
		}
	}
	engine := extract.New(extract.Limits{})
	// Loading the models takes a tenth of a second or more; a run
	// without images does without.
	if anyImage(jobs) {
		engine = engine.WithNeuralOCR(openOCRModels(*ocrDir, slog.Default()))
	}
	return extractAll(ctx, engine, jobs, *workers, stdout)
}

// anyImage reports whether a job may be an image, by the type extractOne
// passes the engine for its file: an image type, or none (the engine
// sniffs the content then).
func anyImage(jobs []job) bool {
	for _, j := range jobs {
		if t := extract.TypeOfFile(j.path); t == "" || strings.HasPrefix(t, "image/") {
			return true
		}
	}
	return false
}

// readManifest lists the items of a benchdata split.
func readManifest(dir string) ([]job, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no benchmark split at %s (manifest.jsonl not found; the benchmark data is not part of the repository): %w", dir, err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var jobs []job
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; scanner.Scan(); line++ {
		if strings.TrimSpace(scanner.Text()) == "" {
			continue
		}
		var item manifestItem
		if err := json.Unmarshal(scanner.Bytes(), &item); err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", line, err)
		}
		jobs = append(jobs, job{id: item.ID, path: filepath.Join(dir, item.Input)})
	}
	return jobs, scanner.Err()
}

// result is a finished job: the line to print, or an error that stops the
// run (a file that cannot be read, a cancelled context). A document the
// engine cannot extract is not an error: its line carries the message.
type result struct {
	res extraction
	err error
}

// extractAll runs jobs on up to workers goroutines and prints their results
// in job order as soon as each one and all before it are done. The first
// failing job (in order) stops the run; jobs not yet started are skipped.
func extractAll(ctx context.Context, engine *extract.Engine, jobs []job, workers int, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers = max(1, min(workers, len(jobs)))
	results := make([]chan result, len(jobs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				r, err := extractOne(ctx, engine, jobs[i])
				results[i] <- result{r, err}
			}
		})
	}
	go func() {
		defer close(next)
		for i := range jobs {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()

	out := json.NewEncoder(stdout)
	for i, j := range jobs {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			if j.id != "" {
				return fmt.Errorf("item %s: %w", j.id, r.err)
			}
			return r.err
		}
		if err := out.Encode(r.res); err != nil {
			return err
		}
	}
	return nil
}

func extractOne(ctx context.Context, engine *extract.Engine, j job) (extraction, error) {
	content, err := os.ReadFile(j.path)
	if err != nil {
		return extraction{}, err
	}
	res := extraction{ID: j.id}
	if j.id == "" {
		res.File = j.path
	}
	f, err := engine.Extract(ctx, content, extract.TypeOfFile(j.path))
	if err != nil {
		if ctx.Err() != nil {
			return extraction{}, ctx.Err()
		}
		res.Error = err.Error()
	} else {
		res.Fields = toBenchmark(f)
	}
	return res, nil
}
