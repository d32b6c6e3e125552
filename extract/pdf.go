package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"tally/pdftext"
)

// pdfText reads the PDF's text through a running tally-pdftext (package
// pdftext) when it is installed, else runs `pdftotext -layout -l MaxPages
// - -` with the PDF on stdin; both print the same text.
// -layout keeps the columns of a printed invoice on one line ("Total   78.60"),
// which is what the line-oriented rules in FromText rely on.
func (e *Engine) pdfText(ctx context.Context, content []byte) (string, error) {
	// A cheap check first: every PDF starts with "%PDF-" within its first
	// kilobyte. Anything else would only make pdftotext fail more slowly.
	head := content
	if len(head) > 1024 {
		head = head[:1024]
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return "", fmt.Errorf("%w: not a PDF (no %%PDF- header)", ErrUnreadable)
	}

	if e.RunningPDFReader() {
		text, err := e.pdfReaders.Text(ctx, content, e.limits.MaxPages, e.limits.MaxTextBytes)
		switch {
		case err == nil:
			return pageText(text)
		case ctx.Err() != nil:
			return "", fmt.Errorf("pdftext: %w", ctx.Err())
		case errors.Is(err, pdftext.ErrUnreadable):
			return "", fmt.Errorf("%w: %w", ErrUnreadable, err)
		case !pdftext.IsStartFailure(err):
			return "", err
		}
		// A reader that does not start is not the document's fault:
		// pdftotext reads it.
	}
	cmd := e.toolCommand(ctx, e.pdftotext,
		"-layout", "-enc", "UTF-8", "-l", strconv.Itoa(e.limits.MaxPages), "-", "-")
	cmd.Stdin = bytes.NewReader(content)
	out := &capWriter{max: e.limits.MaxTextBytes}
	var stderr capWriter
	stderr.max = 4 << 10
	cmd.Stdout = out
	cmd.Stderr = &stderr
	// If the context kills pdftotext, do not wait forever for pipes that a
	// stray child might still hold open.
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", fmt.Errorf("pdftotext: %w", ctxErr)
	}
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			// pdftotext did not run at all (typically not installed): not
			// the document's fault, so not ErrUnreadable.
			return "", fmt.Errorf("extract: cannot run pdftotext (is poppler-utils installed?): %w", err)
		}
		msg := strings.TrimSpace(firstLine(stderr.buf.String()))
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%w: pdftotext: %s", ErrUnreadable, msg)
	}
	return pageText(out.buf.String())
}

// pageText is the text of pdftotext's pages (or tally-pdftext's, alike).
func pageText(text string) (string, error) {
	// Pages are separated by form feeds; lines are what matter here.
	text = strings.ReplaceAll(text, "\f", "\n")
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("%w: PDF has no text layer (a scan needs OCR)", ErrUnreadable)
	}
	return text, nil
}

// RunningPDFReader reports whether PDFs are read by running tally-pdftext
// readers rather than by a pdftotext started for each.
func (e *Engine) RunningPDFReader() bool {
	return e.pdfReaders != nil && e.pdfReaders.Found()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// capWriter keeps the first max bytes written and discards the rest without
// failing, so the child process never blocks on a full pipe.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		if len(p) > room {
			w.buf.Write(p[:room])
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}
