package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/eventstore"
	"tally/personal"
)

// Folder is a projector that a rebuild can run in memory: starting from
// empty tables, it folds every event of the stream into the rows it would
// end with and bulk-loads them once, instead of writing each event's
// effect with statements. Its rows must be exactly those that Apply,
// event by event, leaves in the tables (a test compares the two). A
// projector that is not a Folder is rebuilt by replaying Apply.
type Folder interface {
	Projector
	// NewFold starts an empty fold; users opens the uploads' users.
	NewFold(users *personal.Snapshot) Fold
}

// Fold is one projector's read model being folded in memory.
type Fold interface {
	// Apply folds one event, in stream order. It returns an error where
	// Apply would.
	Apply(ctx context.Context, e decoded) error
	// Copy writes part (0 to parts-1) of the folded rows into the
	// projector's empty tables (search_path names their schema) with
	// COPY, in tx; the parts are copied at once, each on a connection of
	// its own, and together they are every row. users has read its keys
	// by then.
	Copy(ctx context.Context, tx pgx.Tx, part, parts int) error
}

// share is the range of part's rows among n rows cut into parts.
func share(n, part, parts int) (from, to int) {
	return n * part / parts, n * (part + 1) / parts
}

// decoded is an event with its payload decoded once for every fold: the
// payload of the type's struct (nil for types no fold reads) and the
// decoding error, which a fold returns where Apply would decode.
type decoded struct {
	domain.Envelope
	payload any
	err     error
}

// decodeOnce decodes the payloads folds read.
func decodeOnce(e domain.Envelope) decoded {
	var p any
	switch e.Type {
	case domain.TypeDocumentUploaded:
		p = &domain.DocumentUploaded{}
	case domain.TypeDuplicateDetected:
		p = &domain.DuplicateDetected{}
	case domain.TypeUserErased:
		p = &domain.UserErased{}
	case domain.TypeExtractionRequested:
		p = &domain.ExtractionRequested{}
	case domain.TypeExtractionStarted:
		p = &domain.ExtractionStarted{}
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
		p = &domain.ReceiptExtracted{} // a revision has the same attempt and fields
	case domain.TypeExtractionFailed:
		p = &domain.ExtractionFailed{}
	case domain.TypeDocumentCorrected:
		p = &domain.DocumentCorrected{}
	case domain.TypeDocumentDeleted:
		p = &domain.DocumentDeleted{}
	default:
		return decoded{Envelope: e}
	}
	return decoded{Envelope: e, payload: p, err: e.Decode(p)}
}

// foldBatch is how many events go to the folds at a time.
const foldBatch = 1024

// The pass reads the stream with foldReaders readers at once, each over
// chunks of foldChunk events in turn (reader i reads chunks i, i+n, ...):
// a reader decodes what it reads on a goroutine of its own, and that
// decoding (the envelope, then the payload) is most of the pass's work.
// The folds take the chunks in stream order. A reader asks the server
// for foldReadAhead events at a time and decodes what it is sent even
// past its chunk's end, so the read-ahead stays small next to a chunk:
// at most a thirty-second of the stream is read twice.
const (
	foldReaders   = 2
	foldReadAhead = 4096
	// foldBuffered is how many batches a reader decodes ahead of the
	// folds: its memory while it waits for the other readers' chunks.
	foldBuffered = 16
)

// foldChunk is a variable so that a test can cut a small stream into
// several chunks.
var foldChunk uint64 = 131_072

// foldStream reads the stream once from the beginning up to and including
// sequence target and folds every event into each fold, the folds in
// parallel, each in stream order.
func foldStream(ctx context.Context, store *eventstore.Store, target uint64, folds []Fold, progress foldProgress) error {
	if target == 0 || len(folds) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	feeds := make([]chan []decoded, len(folds))
	errs := make([]error, len(folds))
	var wg sync.WaitGroup
	for i, f := range folds {
		feeds[i] = make(chan []decoded, 8)
		wg.Go(func() {
			for batch := range feeds[i] {
				if errs[i] != nil {
					continue // drain: the reader must not block
				}
				for _, e := range batch {
					if err := f.Apply(ctx, e); err != nil {
						errs[i] = fmt.Errorf("fold %s %s (seq %d, doc %s): %w", e.Type, e.ID, e.Sequence, e.AggregateID, err)
						cancel()
						break
					}
				}
			}
		})
	}
	chunks := (target + foldChunk - 1) / foldChunk
	readers := min(foldReaders, int(chunks))
	outs := make([]chan []decoded, readers)
	readErrs := make([]error, readers)
	var readWG sync.WaitGroup
	for r := range readers {
		outs[r] = make(chan []decoded, foldBuffered)
		readWG.Go(func() {
			defer close(outs[r])
			for c := uint64(r); c < chunks; c += uint64(readers) {
				from, to := c*foldChunk+1, min((c+1)*foldChunk, target)
				if readErrs[r] = readChunk(ctx, store, from, to, outs[r]); readErrs[r] != nil {
					cancel()
					return
				}
			}
		})
	}
	feedErr := func() error {
		defer func() {
			for _, c := range feeds {
				close(c)
			}
		}()
		for c := range chunks {
			out := outs[c%uint64(readers)]
			to := min((c+1)*foldChunk, target)
			for {
				var batch []decoded
				var ok bool
				select {
				case batch, ok = <-out:
				case <-ctx.Done():
					return ctx.Err()
				}
				if !ok {
					return errors.New("rebuild: a stream reader stopped early")
				}
				if len(batch) == 0 {
					break // the chunk's end
				}
				progress.position(batch[len(batch)-1].Sequence)
				for _, f := range feeds {
					select {
					case f <- batch:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			progress.position(to)
		}
		return nil
	}()
	cancel() // readers still reading ahead stop
	readWG.Wait()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// A reader's own failure, not the cancelling it caused in the others.
	for _, err := range readErrs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return feedErr
}

// readChunk reads the events from sequence from to to, decodes them and
// sends them to out in batches, then an empty batch to mark the end.
func readChunk(ctx context.Context, store *eventstore.Store, from, to uint64, out chan<- []decoded) error {
	reader, err := store.SubscribeReadAhead(ctx, from, int(min(foldReadAhead, to-from+1)))
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer reader.Close()
	send := func(batch []decoded) error {
		select {
		case out <- batch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	last := from - 1
	for last < to {
		events, err := reader.Next(ctx, foldBatch, 0)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		batch := make([]decoded, 0, len(events))
		for _, e := range events {
			if e.Sequence <= last {
				continue
			}
			if e.Sequence > to {
				last = to // a sequence missing at the chunk's end
				break
			}
			last = e.Sequence
			batch = append(batch, decodeOnce(e))
		}
		if len(batch) > 0 {
			if err := send(batch); err != nil {
				return err
			}
		}
	}
	return send(nil)
}
