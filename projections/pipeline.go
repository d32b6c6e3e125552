package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxQueued bounds the statements a pipeline holds before it sends them
// without waiting for a read: the queue's memory stays small and the
// server starts on the work early.
const maxQueued = 512

// pipeline is the readmodel.DBTX a projector's Apply writes through, inside
// the transaction of one batch of events. Exec does not go to the server
// at once: statements are queued and sent together, in the order issued,
// with the next read (QueryRow or Query) or when the batch ends, in one
// round trip. A read therefore still sees every earlier write of the
// batch, and a batch of events costs about one round trip per read
// instead of one per statement.
//
// The price: Exec's command tag is empty and its error shows up at the
// next read or flush (the transaction is aborted either way, so nothing
// of the batch is committed). Apply must not branch on rows affected;
// a statement whose result matters is a query (RETURNING) instead.
type pipeline struct {
	tx     pgx.Tx
	queued *pgx.Batch
	// seqs is the stream sequence of the event that queued each
	// statement, so an error names the event that caused it.
	seqs []uint64
	// seq is the sequence of the event being applied.
	seq uint64
	// open holds the results of the last QueryRow until its row is
	// scanned; the connection is busy until then.
	open pgx.BatchResults
}

func newPipeline(tx pgx.Tx) *pipeline {
	return &pipeline{tx: tx, queued: &pgx.Batch{}}
}

// Exec queues a statement.
func (p *pipeline) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := p.closeOpen(); err != nil {
		return pgconn.CommandTag{}, err
	}
	p.queued.Queue(sql, args...)
	p.seqs = append(p.seqs, p.seq)
	if p.queued.Len() >= maxQueued {
		if err := p.flush(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
	}
	return pgconn.CommandTag{}, nil
}

// QueryRow sends the queued statements and the query in one round trip.
func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := p.closeOpen(); err != nil {
		return errRow{err}
	}
	b, seqs := p.take()
	b.Queue(sql, args...)
	br := p.tx.SendBatch(ctx, b)
	if err := execResults(br, seqs); err != nil {
		_ = br.Close()
		return errRow{err}
	}
	p.open = br
	return &pipelinedRow{p: p, br: br}
}

// Query sends the queued statements, then the query.
func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := p.flush(ctx); err != nil {
		return nil, err
	}
	return p.tx.Query(ctx, sql, args...)
}

// flush sends the queued statements and waits for their results.
func (p *pipeline) flush(ctx context.Context) error {
	if err := p.closeOpen(); err != nil {
		return err
	}
	if p.queued.Len() == 0 {
		return nil
	}
	b, seqs := p.take()
	br := p.tx.SendBatch(ctx, b)
	err := execResults(br, seqs)
	return errors.Join(err, closeErr(br, err))
}

// execNow sends the queued statements and this one together and returns
// this one's command tag, for a statement whose rows affected matter.
func (p *pipeline) execNow(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := p.closeOpen(); err != nil {
		return pgconn.CommandTag{}, err
	}
	b, seqs := p.take()
	b.Queue(sql, args...)
	br := p.tx.SendBatch(ctx, b)
	err := execResults(br, seqs)
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if err := errors.Join(err, closeErr(br, err)); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tag, nil
}

// take hands over the queue and starts a new one.
func (p *pipeline) take() (*pgx.Batch, []uint64) {
	b, seqs := p.queued, p.seqs
	p.queued, p.seqs = &pgx.Batch{}, nil
	return b, seqs
}

// closeOpen finishes a QueryRow whose row was never scanned.
func (p *pipeline) closeOpen() error {
	if p.open == nil {
		return nil
	}
	br := p.open
	p.open = nil
	return br.Close()
}

// execResults reads the results of the queued statements, in order.
func execResults(br pgx.BatchResults, seqs []uint64) error {
	for i, seq := range seqs {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("statement %d queued by the event at sequence %d: %w", i+1, seq, err)
		}
	}
	return nil
}

// closeErr closes the results; after an error, closing only releases the
// connection and its error would repeat the first.
func closeErr(br pgx.BatchResults, err error) error {
	cerr := br.Close()
	if err != nil {
		return nil
	}
	return cerr
}

// pipelinedRow is the row of a QueryRow, read from its batch's results.
type pipelinedRow struct {
	p  *pipeline
	br pgx.BatchResults
}

func (r *pipelinedRow) Scan(dest ...any) error {
	if r.p.open != r.br {
		return errors.New("pipelined row read after a later statement")
	}
	r.p.open = nil
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// direct is the pipeline as a plain DBTX: Exec sends everything queued
// together with its own statement and returns that statement's command
// tag.
type direct struct{ *pipeline }

func (d direct) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return d.execNow(ctx, sql, args...)
}
