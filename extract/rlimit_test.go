package extract

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needPrlimit(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
}

// The tools see the limits: the program run is the tool itself, under
// prlimit, with the address space and CPU time set before it starts.
func TestToolsRunUnderLimits(t *testing.T) {
	needPrlimit(t)
	e := New(Limits{ToolMemory: 512 << 20, ToolCPU: 1500 * time.Millisecond})
	out, err := e.toolCommand(context.Background(), "sh", "-c", "ulimit -v; ulimit -t").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Fields(string(out)), []string{"524288", "2"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("limits seen by the tool: %q, want %q", got, want)
	}
	// Defaults: 2 GiB, and the timeout as CPU time.
	out, _ = New(Limits{Timeout: 30 * time.Second}).toolCommand(context.Background(), "sh", "-c", "ulimit -v; ulimit -t").Output()
	if got := strings.Join(strings.Fields(string(out)), " "); got != "2097152 30" {
		t.Fatalf("default limits: %q", got)
	}
}

// A tool that spins is stopped by the kernel at its CPU limit, well
// before the context would stop it.
func TestToolCPULimitStopsASpinningTool(t *testing.T) {
	needPrlimit(t)
	e := New(Limits{ToolCPU: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := e.toolCommand(ctx, "sh", "-c", "while :; do :; done").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("spinning tool: %v (context %v)", err, ctx.Err())
	}
	status := exit.Sys().(syscall.WaitStatus)
	if !status.Signaled() || (status.Signal() != syscall.SIGXCPU && status.Signal() != syscall.SIGKILL) {
		t.Fatalf("stopped by %v, want SIGXCPU or SIGKILL", exit)
	}
}

// pdftotext under too small an address space fails as an unreadable
// document, not as a missing tool.
func TestPDFToolMemoryLimit(t *testing.T) {
	needPrlimit(t)
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	pdf, err := os.ReadFile("../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Limits{}).pdfText(context.Background(), pdf); err != nil {
		t.Fatalf("with the default limits: %v", err)
	}
	_, err = New(Limits{ToolMemory: 4 << 20}).pdfText(context.Background(), pdf)
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("in 4 MiB: %v", err)
	}
}

// A missing tool is still reported as missing.
func TestMissingToolIsNotTheDocumentsFault(t *testing.T) {
	e := New(Limits{})
	e.pdftotext, e.pdfReaders = "no-such-pdftotext", nil
	_, err := e.pdfText(context.Background(), []byte("%PDF-1.4\n"))
	if err == nil || errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "cannot run pdftotext") {
		t.Fatalf("%v", err)
	}
}

// The running reader (tally-pdftext) and pdftotext give the rules the same
// text.
func TestPDFReadersAgree(t *testing.T) {
	viaReader := New(Limits{})
	if !viaReader.pdfReaders.Found() {
		t.Skip("tally-pdftext is not installed (scripts/pdftext.sh)")
	}
	viaTool := New(Limits{})
	viaTool.pdfReaders = nil
	for _, f := range []string{"../examples/invoice.pdf", "../cmd/tally/testdata/cloud-invoice.pdf"} {
		pdf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := viaReader.pdfText(context.Background(), pdf)
		if err != nil {
			t.Fatalf("%s through the reader: %v", f, err)
		}
		b, err := viaTool.pdfText(context.Background(), pdf)
		if err != nil {
			t.Fatalf("%s through pdftotext: %v", f, err)
		}
		if a != b {
			t.Errorf("%s: the reader's text\n%q\ndiffers from pdftotext's\n%q", f, a, b)
		}
	}
}
