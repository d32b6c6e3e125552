package pdftext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// reader is the tally-pdftext built from this tree's source for the tests
// (a stale installed one would test something else).
var builtReader string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pdftext-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "tally-pdftext")
	build := exec.Command("bash", "../scripts/pdftext.sh")
	build.Env = append(os.Environ(), "PDFTEXT_BIN="+bin)
	out, err := build.CombinedOutput()
	if _, serr := os.Stat(bin); err == nil && serr == nil {
		builtReader = bin
	} else if os.Getenv("TALLY_REQUIRE_PDFTEXT") != "" {
		fmt.Fprintf(os.Stderr, "building tally-pdftext: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needReader(t *testing.T) string {
	t.Helper()
	if builtReader == "" {
		t.Skip("tally-pdftext cannot be built here (g++, pkg-config, libpoppler-private-dev; scripts/setup.sh installs them)")
	}
	return builtReader
}

// textPDF builds a PDF with one page per entry, each line of a page
// printed at its own height, the columns of a line as separate runs.
func textPDF(pages ...[]string) []byte { return buildPDF(false, pages...) }

// pdfaPDF is textPDF with an output intent, as every PDF/A (and so every
// ZUGFeRD or Factur-X invoice) carries one; its ICC profile here is not
// one poppler can use.
func pdfaPDF(pages ...[]string) []byte { return buildPDF(true, pages...) }

func buildPDF(outputIntent bool, pages ...[]string) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n")
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then per page: page, contents; then
	// the output intent's profile.
	if outputIntent {
		obj(fmt.Sprintf("<< /Type /Catalog /Pages 2 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB) /DestOutputProfile %d 0 R >>] >>", 4+2*n))
	} else {
		obj("<< /Type /Catalog /Pages 2 0 R >>")
	}
	var kids []string
	for i := range n {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, lines := range pages {
		var content strings.Builder
		content.WriteString("BT /F1 11 Tf\n")
		for j, line := range lines {
			for k, col := range strings.Split(line, "|") {
				fmt.Fprintf(&content, "1 0 0 1 %d %d Tm (%s) Tj\n", 60+300*k, 760-16*j, col)
			}
		}
		content.WriteString("ET\n")
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()))
	}
	if outputIntent {
		obj("<< /N 3 /Length 16 >>\nstream\nnot an ICC file\nendstream")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

var invoicePages = [][]string{
	{"ACME Supplies Ltd", "Invoice No: 1001|Date: 2026-03-04", "Widget|12.50", "Total|78.60"},
	{"Page two|Terms: 30 days"},
}

func pdftotext(t *testing.T, pdf []byte, maxPages int) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	cmd := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", "-l", fmt.Sprint(maxPages), "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// The reader prints what pdftotext prints, byte for byte: the rules that
// find the fields were written against pdftotext's layout.
func TestTextIsPdftotexts(t *testing.T) {
	pool := New(Config{Program: needReader(t)})
	defer pool.Close()
	inputs := map[string][]byte{"built": textPDF(invoicePages...), "with an output intent": pdfaPDF(invoicePages...)}
	for _, f := range []string{"../examples/invoice.pdf", "../cmd/tally/testdata/cloud-invoice.pdf"} {
		pdf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = pdf
	}
	for name, pdf := range inputs {
		for _, pages := range []int{50, 1} {
			got, err := pool.Text(context.Background(), pdf, pages, 2<<20)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if want := pdftotext(t, pdf, pages); got != want {
				t.Errorf("%s, %d pages: reader printed\n%q\npdftotext printed\n%q", name, pages, got, want)
			}
		}
	}
	got, _ := pool.Text(context.Background(), inputs["built"], 50, 2<<20)
	if !strings.Contains(got, "Total") || !strings.Contains(got, "78.60") || strings.Count(got, "\f") != 2 {
		t.Errorf("two pages with their text expected: %q", got)
	}
}

func TestLimits(t *testing.T) {
	pool := New(Config{Program: needReader(t)})
	defer pool.Close()
	pdf := textPDF(invoicePages...)
	one, err := pool.Text(context.Background(), pdf, 1, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(one, "Page two") || !strings.Contains(one, "ACME") {
		t.Errorf("first page only expected: %q", one)
	}
	cut, err := pool.Text(context.Background(), pdf, 50, 10)
	if err != nil {
		t.Fatal(err)
	}
	if cut != one[:10] {
		t.Errorf("first 10 bytes expected, got %q", cut)
	}
}

// A PDF poppler refuses is unreadable, with poppler's reason; the reader
// goes on to the next document.
func TestUnreadable(t *testing.T) {
	pool := New(Config{Program: needReader(t)})
	defer pool.Close()
	for _, bad := range [][]byte{[]byte("%PDF-1.4\nnot a pdf at all"), {}, bytes.Repeat([]byte{0xff}, 4096)} {
		_, err := pool.Text(context.Background(), bad, 50, 2<<20)
		if !errors.Is(err, ErrUnreadable) || IsStartFailure(err) {
			t.Fatalf("%q: %v, want ErrUnreadable", bad[:min(len(bad), 16)], err)
		}
		if strings.TrimSpace(strings.TrimPrefix(err.Error(), ErrUnreadable.Error()+":")) == "" {
			t.Errorf("no reason given: %v", err)
		}
	}
	if _, err := pool.Text(context.Background(), textPDF(invoicePages...), 50, 2<<20); err != nil {
		t.Fatalf("after the refused ones: %v", err)
	}
}

// Readers are shared by concurrent documents, each one's text its own.
func TestConcurrentReads(t *testing.T) {
	pool := New(Config{Program: needReader(t), Idle: 2, Documents: 7})
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 6 {
		wg.Go(func() {
			for i := range 10 {
				want := fmt.Sprintf("Reference W%dI%d", w, i)
				got, err := pool.Text(context.Background(), textPDF([]string{want}), 50, 2<<20)
				if err != nil {
					errs <- err
					return
				}
				if !strings.Contains(got, want) {
					errs <- fmt.Errorf("asked for %q, got %q", want, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	pool.mu.Lock()
	idle := len(pool.idle)
	pool.mu.Unlock()
	if idle > 2 {
		t.Errorf("%d idle readers kept, want at most 2", idle)
	}
}

// fakeReader writes a shell script standing in for tally-pdftext.
func fakeReader(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-pdftext")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestContextEndKillsTheReader(t *testing.T) {
	pool := New(Config{Program: fakeReader(t, "printf TPT1\nexec sleep 30\n")})
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := pool.Text(ctx, []byte("%PDF-1.4\n"), 50, 1024)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("returned after %s", took)
	}
	if len(pool.idle) != 0 {
		t.Fatal("a killed reader went back to the pool")
	}
}

// A reader that dies on a document (its memory limit, a crash) makes the
// document unreadable, with what it said.
func TestReaderDyingIsUnreadable(t *testing.T) {
	pool := New(Config{Program: fakeReader(t, "printf TPT1\nhead -c 12 >/dev/null\necho 'out of memory' >&2\nexit 134\n")})
	defer pool.Close()
	_, err := pool.Text(context.Background(), []byte("%PDF-1.4\n"), 50, 1024)
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("%v", err)
	}
}

// A reader that is missing, or does not greet, is a start failure: not
// the document's fault, and the caller reads it another way.
func TestStartFailures(t *testing.T) {
	for name, program := range map[string]string{
		"missing":       filepath.Join(t.TempDir(), "no-such-reader"),
		"wrong version": fakeReader(t, "printf TPT9\nexec cat >/dev/null\n"),
		"exits":         fakeReader(t, "echo 'error while loading shared libraries' >&2\nexit 127\n"),
	} {
		pool := New(Config{Program: program})
		_, err := pool.Text(context.Background(), []byte("%PDF-1.4\n"), 50, 1024)
		if !IsStartFailure(err) || errors.Is(err, ErrUnreadable) {
			t.Errorf("%s: %v, want a start failure", name, err)
		}
		pool.Close()
	}
}

// A reader is replaced after Config.Documents documents.
func TestReadersAreReplaced(t *testing.T) {
	pool := New(Config{Program: needReader(t), Idle: 1, Documents: 2})
	defer pool.Close()
	pids := map[int]bool{}
	pdf := textPDF([]string{"Total|1.00"})
	for range 6 {
		r, err := pool.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pids[r.cmd.Process.Pid] = true
		if _, err := r.read(context.Background(), pdf, 50, 1024); err != nil {
			t.Fatal(err)
		}
		pool.put(r)
	}
	if len(pids) != 3 {
		t.Fatalf("6 documents, 2 per reader, read by %d readers", len(pids))
	}
}

// BenchmarkText compares a running reader with starting pdftotext per
// document, on the same one-page invoice.
func BenchmarkText(b *testing.B) {
	pdf, err := os.ReadFile("../examples/invoice.pdf")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reader", func(b *testing.B) {
		if builtReader == "" {
			b.Skip("tally-pdftext cannot be built here")
		}
		pool := New(Config{Program: builtReader})
		defer pool.Close()
		for b.Loop() {
			if _, err := pool.Text(context.Background(), pdf, 50, 2<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pdftotext", func(b *testing.B) {
		if _, err := exec.LookPath("pdftotext"); err != nil {
			b.Skip("pdftotext is not installed")
		}
		for b.Loop() {
			cmd := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", "-l", "50", "-", "-")
			cmd.Stdin = bytes.NewReader(pdf)
			if _, err := cmd.Output(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A reader that fails to start is not started again for every document.
func TestFailedStartIsNotRepeated(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	pool := New(Config{Program: fakeReader(t, "echo started >>"+starts+"\nexit 1\n")})
	defer pool.Close()
	for range 3 {
		if _, err := pool.Text(context.Background(), []byte("%PDF-1.4\n"), 50, 1024); !IsStartFailure(err) {
			t.Fatalf("%v, want a start failure", err)
		}
	}
	if got, _ := os.ReadFile(starts); strings.Count(string(got), "started") != 1 {
		t.Fatalf("started %d times for 3 documents", strings.Count(string(got), "started"))
	}
}
