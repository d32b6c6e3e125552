package extract

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Tool is an outside program the engine runs, and what it reads.
type Tool struct {
	// Name is the program, e.g. "pdftotext".
	Name string
	// Formats are the documents that fail extraction without it.
	Formats string
	// Package is the Debian package that installs it.
	Package string
	// Missing says why the tool cannot be used; nil when it can.
	Missing error
}

// Tools checks the programs the engine runs, so that a process can say at
// start which formats will fail, rather than failing document by document.
// Images need no local tesseract when Limits.OCRURL names an OCR service.
func (e *Engine) Tools(ctx context.Context) []Tool {
	tools := []Tool{{Name: "pdftotext", Formats: "PDF documents", Package: "poppler-utils",
		Missing: findProgram(e.pdftotext)}}
	if e.limits.OCRURL == "" {
		t := Tool{Name: "tesseract", Formats: "images (PNG, JPEG, GIF)", Package: "tesseract-ocr tesseract-ocr-eng",
			Missing: findProgram(e.tesseract)}
		if t.Missing == nil {
			t.Missing = tesseractHasEnglish(ctx, e.tesseract)
		}
		tools = append(tools, t)
	}
	return tools
}

func findProgram(name string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s not found on PATH", name)
	}
	return nil
}

// tesseractHasEnglish checks the language data the engine asks for (-l eng).
func tesseractHasEnglish(ctx context.Context, program string) error {
	out, err := exec.CommandContext(ctx, program, "--list-langs").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --list-langs: %v", program, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "eng" {
			return nil
		}
	}
	return fmt.Errorf("%s has no English language data (eng)", program)
}
