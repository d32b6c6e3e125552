// Command learning measures learning from corrections on a labelled
// benchdata split, as one tenant would live it: for every vendor with at
// least -min documents, the first (in manifest order) is corrected to its
// labels, and the vendor's other documents are extracted before and after
// the lessons of all those corrections exist. A later document finds its
// lesson by its own fingerprint keys only (it is never told its vendor),
// so a lesson that matches another vendor's documents shows up as a loss.
//
//	go run ./bench/extraction/learning -manifest DIR -before before.jsonl -after after.jsonl
//	python3 bench/extraction/learning.py DIR before.jsonl after.jsonl
//
// Output lines are {"id", "group", "fields"} under the benchmark's field
// names ("address" for the vendor's address).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"

	"tally/config"
	"tally/domain"
	"tally/extract"
	"tally/learning"
	"tally/ppocr"
)

type item struct {
	ID     string            `json:"id"`
	Input  string            `json:"input"`
	Fields map[string]string `json:"-"`
	Raw    map[string]any    `json:"fields"`
	group  string
	got    domain.Fields
	text   string
	err    error
}

func main() {
	manifest := flag.String("manifest", "", "benchdata split directory (manifest.jsonl with labels)")
	before := flag.String("before", "before.jsonl", "extractions without lessons")
	after := flag.String("after", "after.jsonl", "extractions with the lessons")
	minDocs := flag.Int("min", 3, "vendors with at least this many documents take part")
	workers := flag.Int("workers", 2, "documents extracted at a time")
	flag.Parse()
	if err := run(*manifest, *before, *after, *minDocs, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "learning:", err)
		os.Exit(1)
	}
}

func run(dir, beforePath, afterPath string, minDocs, workers int) error {
	items, err := readManifest(dir)
	if err != nil {
		return err
	}
	groups := map[string][]*item{}
	var order []string
	for _, it := range items {
		if it.group == "" {
			continue
		}
		if groups[it.group] == nil {
			order = append(order, it.group)
		}
		groups[it.group] = append(groups[it.group], it)
	}
	var todo []*item
	for _, g := range order {
		if len(groups[g]) >= minDocs {
			todo = append(todo, groups[g]...)
		}
	}
	// Images are read as the worker reads them: with the OCR models when
	// they are installed (OCR_MODELS_DIR or the default), else Tesseract.
	engine := extract.New(extract.Limits{})
	if ocr, err := ppocr.Open(ppocr.Config{Dir: config.OCRModelsDirFromEnv()}); err == nil {
		engine = engine.WithNeuralOCR(ocr)
	} else {
		fmt.Fprintf(os.Stderr, "images read with Tesseract alone: %v\n", err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(workers, 1))
	for _, it := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			content, err := os.ReadFile(filepath.Join(dir, it.Input))
			if err != nil {
				it.err = err
				return
			}
			it.got, it.text, it.err = engine.ExtractText(ctx, content, extract.TypeOfFile(it.Input))
		}()
	}
	wg.Wait()

	// One tenant's lessons, kept as the learned_issuers read model keeps
	// them: one per fingerprint key, the latest correction of a key wins,
	// a lookup takes the strongest kind of key.
	type stored struct {
		lesson learning.Lesson
		from   domain.LearnedFrom
	}
	lessons := map[string]stored{}
	for _, g := range order {
		if len(groups[g]) < minDocs {
			continue
		}
		first := groups[g][0]
		if first.err != nil {
			continue
		}
		corrected := domain.Fields{Vendor: first.Fields["vendor"], VendorAddress: first.Fields["address"],
			Date: first.Fields["date"], InvoiceNumber: first.Fields["invoice_number"], Currency: first.Fields["currency"],
			Subtotal: first.Fields["subtotal"], Tax: first.Fields["tax"], Total: first.Fields["total"]}
		l, ok := learning.Learn(first.got, corrected)
		if !ok {
			continue
		}
		for _, k := range first.got.Issuer.Keys {
			lessons[k] = stored{l, domain.LearnedFrom{DocumentID: first.ID, EventID: "correction-of-" + first.ID}}
		}
	}
	bf, err := os.Create(beforePath)
	if err != nil {
		return err
	}
	defer bf.Close()
	af, err := os.Create(afterPath)
	if err != nil {
		return err
	}
	defer af.Close()
	for _, g := range order {
		if len(groups[g]) < minDocs {
			continue
		}
		for _, it := range groups[g][1:] {
			f := it.got
			if err := write(bf, it, f); err != nil {
				return err
			}
			if it.err == nil && f.Issuer != nil {
				keys := append([]string(nil), f.Issuer.Keys...)
				sort.SliceStable(keys, func(a, b int) bool { return learning.Priority(keys[a]) < learning.Priority(keys[b]) })
				for _, k := range keys {
					if s, ok := lessons[k]; ok {
						f = learning.Apply(f, it.text, s.lesson, s.from)
						break
					}
				}
			}
			if err := write(af, it, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func write(w *os.File, it *item, f domain.Fields) error {
	out := map[string]any{"id": it.ID, "group": it.group}
	if it.err != nil {
		out["error"] = it.err.Error()
		out["fields"] = map[string]any{}
	} else {
		out["fields"] = map[string]any{"vendor": f.Vendor, "address": f.VendorAddress, "date": f.Date,
			"invoice_number": f.InvoiceNumber, "currency": f.Currency, "subtotal": f.Subtotal, "tax": f.Tax,
			"total": f.Total, "sources": f.Sources, "confidence": f.Confidence}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func readManifest(dir string) ([]*item, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []*item
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		it := &item{Fields: map[string]string{}}
		if err := json.Unmarshal(sc.Bytes(), it); err != nil {
			return nil, err
		}
		for k, v := range it.Raw {
			if s, ok := v.(string); ok {
				it.Fields[k] = s
			}
		}
		it.group = groupOf(it.Fields["vendor"])
		items = append(items, it)
	}
	return items, sc.Err()
}

// groupOf is a vendor label compared loosely: lower case, letters and
// digits, single spaces.
func groupOf(v string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}
