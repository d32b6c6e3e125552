package extract

import (
	"context"
	"os/exec"
	"testing"
)

func TestToolsNameWhatFailsWithoutThem(t *testing.T) {
	e := New(Limits{})
	e.pdftotext, e.tesseract = "tally-no-such-pdftotext", "tally-no-such-tesseract"
	tools := e.Tools(context.Background())
	if len(tools) != 2 {
		t.Fatalf("want pdftotext and tesseract, got %+v", tools)
	}
	for _, tool := range tools {
		if tool.Missing == nil || tool.Formats == "" || tool.Package == "" {
			t.Errorf("a program that is not installed is reported as %+v", tool)
		}
	}

	// With an OCR service, images need no local tesseract.
	e = New(Limits{OCRURL: "http://127.0.0.1:1/ocr"})
	e.pdftotext = "tally-no-such-pdftotext"
	if tools := e.Tools(context.Background()); len(tools) != 1 || tools[0].Name != "pdftotext" {
		t.Fatalf("with OCRURL set: %+v", tools)
	}
}

func TestToolsFindInstalledPrograms(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (scripts/setup.sh installs it)")
	}
	for _, tool := range New(Limits{}).Tools(context.Background()) {
		if tool.Name == "pdftotext" && tool.Missing != nil {
			t.Fatalf("pdftotext is on PATH but reported missing: %v", tool.Missing)
		}
	}
}
