// Package pdftext reads PDFs' text layers through tally-pdftext, a small
// program (native/pdftext) that does what `pdftotext -layout -enc UTF-8`
// does but stays running between documents. Starting pdftotext loads
// poppler, its encodings and fonts each time, which costs more CPU than
// reading a one-page invoice; a pool of running readers pays that once.
//
// The pool starts readers on demand and keeps up to a number of idle ones;
// a document never waits for another's reader. A reader whose document
// outlives its context is killed, as one that dies on a document is
// replaced: nothing of one document's reading reaches another's.
package pdftext

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Program is the reader's name, looked up on PATH.
const Program = "tally-pdftext"

// ErrUnreadable: the PDF could not be read (poppler refused it, or the
// reader died on it, e.g. at its memory limit).
var ErrUnreadable = errors.New("PDF unreadable")

// errStart: the reader could not be started or did not greet; the caller
// may read the document another way.
var errStart = errors.New("tally-pdftext did not start")

// IsStartFailure tells an error of a reader that never started (not the
// document's fault) from one of reading a document.
func IsStartFailure(err error) bool { return errors.Is(err, errStart) }

// greeting is what a reader writes once it is ready; a different one is
// another version of the protocol.
const greeting = "TPT1"

// Config sets up a Pool.
type Config struct {
	// Program is the reader's path; default: Program looked up on PATH.
	Program string
	// Idle readers kept running between documents; default 2.
	Idle int
	// Memory bounds each reader's address space in bytes (through
	// prlimit(1) when it is installed); 0 leaves it unbounded. A hostile
	// PDF that would allocate without end makes its reader die instead.
	Memory int64
	// Documents a reader reads before it is replaced: poppler keeps
	// caches, and a fresh process returns whatever one document's
	// fragmentation kept; default 500.
	Documents int
}

// Pool hands documents to running readers. It is safe for concurrent use.
type Pool struct {
	cfg  Config
	mu   sync.Mutex
	idle []*reader

	find    sync.Once
	program string // cfg.Program's path; "" when it is not installed
	missing error

	// A reader that failed to start is not tried again before
	// retryStartAt: each document would pay for the failed start.
	retryStartAt time.Time
	startFailure error
}

// startBackoff is how long a failed start stands for the next documents.
const startBackoff = time.Minute

// New returns a pool for the reader cfg.Program. Found reports whether it
// is installed; a pool whose program is missing fails every Text with a
// start failure (IsStartFailure).
func New(cfg Config) *Pool {
	if cfg.Program == "" {
		cfg.Program = Program
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 2
	}
	if cfg.Documents <= 0 {
		cfg.Documents = 500
	}
	return &Pool{cfg: cfg}
}

// Found reports whether the pool's program is installed; it is looked up
// once.
func (p *Pool) Found() bool {
	p.find.Do(func() { p.program, p.missing = exec.LookPath(p.cfg.Program) })
	return p.missing == nil
}

// Text reads up to maxPages pages of the PDF and returns their text as
// pdftotext -layout prints it (each page ending in a form feed), cut
// after maxText bytes. A PDF the reader refuses or dies on is
// ErrUnreadable with poppler's reason; an ended context returns its error.
func (p *Pool) Text(ctx context.Context, pdf []byte, maxPages, maxText int) (string, error) {
	if len(pdf) >= maxRequest {
		return "", fmt.Errorf("%w: %d bytes is more than the reader takes", ErrUnreadable, len(pdf))
	}
	r, err := p.get(ctx)
	if err != nil {
		return "", err
	}
	text, err := r.read(ctx, pdf, maxPages, maxText)
	if err != nil {
		// The reader is in an unknown state (killed, died, out of step).
		r.stop()
		return "", err
	}
	p.put(r)
	return text, nil
}

// Close stops the idle readers; readers in use stop when their document
// is read.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.cfg.Idle = -1
	p.mu.Unlock()
	for _, r := range idle {
		r.stop()
	}
}

func (p *Pool) get(ctx context.Context) (*reader, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		r := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return r, nil
	}
	if time.Now().Before(p.retryStartAt) {
		err := p.startFailure
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Unlock()
	r, err := p.start(ctx)
	if IsStartFailure(err) && ctx.Err() == nil {
		p.mu.Lock()
		p.retryStartAt, p.startFailure = time.Now().Add(startBackoff), err
		p.mu.Unlock()
	}
	return r, err
}

func (p *Pool) put(r *reader) {
	p.mu.Lock()
	if r.documents < p.cfg.Documents && len(p.idle) < p.cfg.Idle {
		p.idle = append(p.idle, r)
		r = nil
	}
	p.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// maxRequest is the largest PDF the protocol carries (its length is a
// uint32; the reader refuses more than 1 GiB).
const maxRequest = 1 << 30

// reader is one running tally-pdftext.
type reader struct {
	cmd       *exec.Cmd
	in        io.WriteCloser
	out       *bufio.Reader
	stderr    *capped
	documents int
}

// capped keeps the first bytes of a reader's stderr: the reason it died.
// It is read only after the process was waited for, when exec's copying
// of stderr has ended.
type capped struct {
	buf []byte
}

func (c *capped) Write(p []byte) (int, error) {
	if room := 2048 - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	return strings.TrimSpace(string(c.buf))
}

// startTimeout bounds a reader's start (loading poppler takes
// milliseconds).
const startTimeout = 10 * time.Second

func (p *Pool) start(ctx context.Context) (*reader, error) {
	if !p.Found() {
		return nil, fmt.Errorf("%w: %v", errStart, p.missing)
	}
	program := p.program
	var cmd *exec.Cmd
	if prlimit, perr := exec.LookPath("prlimit"); perr == nil && p.cfg.Memory > 0 {
		cmd = exec.Command(prlimit, "--as="+strconv.FormatInt(p.cfg.Memory, 10), "--", program)
	} else {
		cmd = exec.Command(program)
	}
	r := &reader{cmd: cmd, stderr: &capped{}}
	cmd.Stderr = r.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStart, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStart, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", errStart, err)
	}
	r.in, r.out = in, bufio.NewReaderSize(out, 64<<10)
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	proc := cmd.Process
	stopOnDone := context.AfterFunc(ctx, func() { _ = proc.Kill() })
	var hello [len(greeting)]byte
	_, err = io.ReadFull(r.out, hello[:])
	if !stopOnDone() {
		r.stop()
		return nil, fmt.Errorf("%w: %w", errStart, ctx.Err())
	}
	if err != nil || string(hello[:]) != greeting {
		r.stop()
		reason := r.stderr.String()
		if reason == "" && err != nil {
			reason = err.Error()
		} else if reason == "" {
			reason = fmt.Sprintf("greeted %q, want %q", hello[:], greeting)
		}
		return nil, fmt.Errorf("%w: %s", errStart, reason)
	}
	return r, nil
}

// read sends one document and reads its answer. Any error leaves the
// reader unusable.
func (r *reader) read(ctx context.Context, pdf []byte, maxPages, maxText int) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.documents++
	proc := r.cmd.Process
	stopOnDone := context.AfterFunc(ctx, func() { _ = proc.Kill() })
	text, err := r.exchange(pdf, maxPages, maxText)
	if !stopOnDone() {
		// The context ended while the reader worked: that, not the
		// broken pipe its killing caused, is the reason.
		return "", fmt.Errorf("tally-pdftext: %w", ctx.Err())
	}
	return text, err
}

func (r *reader) exchange(pdf []byte, maxPages, maxText int) (string, error) {
	var head [12]byte
	binary.BigEndian.PutUint32(head[0:], uint32(max(0, maxPages)))
	binary.BigEndian.PutUint32(head[4:], uint32(max(0, maxText)))
	binary.BigEndian.PutUint32(head[8:], uint32(len(pdf)))
	// The reader takes the whole request before it answers, so writing
	// first and reading after cannot block on a full pipe.
	if _, err := r.in.Write(head[:]); err != nil {
		return "", r.died(err)
	}
	if _, err := r.in.Write(pdf); err != nil {
		return "", r.died(err)
	}
	var answer [8]byte
	if _, err := io.ReadFull(r.out, answer[:]); err != nil {
		return "", r.died(err)
	}
	status, n := binary.BigEndian.Uint32(answer[0:]), binary.BigEndian.Uint32(answer[4:])
	if int64(n) > int64(maxText)+64<<10 {
		return "", fmt.Errorf("tally-pdftext: answer of %d bytes, more than the %d asked for", n, maxText)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.out, body); err != nil {
		return "", r.died(err)
	}
	switch status {
	case 0:
		return string(body), nil
	case 1:
		return "", fmt.Errorf("%w: %s", ErrUnreadable, body)
	default:
		return "", fmt.Errorf("tally-pdftext: unknown answer status %d", status)
	}
}

// died explains a reader that stopped in the middle of a document: the
// document took it down (its memory limit, a crash in poppler).
func (r *reader) died(err error) error {
	_ = r.in.Close()
	werr := r.cmd.Wait()
	r.cmd = nil
	reason := r.stderr.String()
	if reason == "" && werr != nil {
		reason = werr.Error()
	}
	if reason == "" {
		reason = err.Error()
	}
	return fmt.Errorf("%w: tally-pdftext stopped reading it: %s", ErrUnreadable, reason)
}

// stop ends the reader: closing its stdin ends it between documents; a
// kill ends it in the middle of one.
func (r *reader) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.in.Close()
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
