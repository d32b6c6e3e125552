package main

import (
	"errors"
	"log/slog"
	"sync"

	"tally/ppocr"
)

var (
	ocrModelsMu sync.Mutex
	ocrModels   = map[string]*ppocr.Reader{}
)

// openOCRModels loads the PP-OCR models of dir once per process (every
// engine of the process shares them: they take about a hundred megabytes
// and are safe for concurrent use). Without them images are read by
// Tesseract alone, which is said once at start.
func openOCRModels(dir string, log *slog.Logger) *ppocr.Reader {
	ocrModelsMu.Lock()
	defer ocrModelsMu.Unlock()
	if r, ok := ocrModels[dir]; ok {
		return r
	}
	r, err := ppocr.Open(ppocr.Config{Dir: dir, Threads: 1})
	switch {
	case errors.Is(err, ppocr.ErrNotInstalled):
		log.Info("OCR models not installed: images are read with Tesseract alone (scripts/ocr-models.sh installs them)", "dir", dir, "reason", err)
	case err != nil:
		log.Warn("OCR models do not load: images are read with Tesseract alone", "dir", dir, "error", err)
	}
	ocrModels[dir] = r
	return r
}
