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

// foldReadAhead is how many events the pass asks the stream for at once:
// fewer round trips, each of which waits for the scheduler on a busy
// machine, for a few megabytes of buffer.
const foldReadAhead = 16_384

// foldStream reads the stream once from the beginning up to and including
// sequence target and folds every event into each fold, the folds in
// parallel, each in stream order.
func foldStream(ctx context.Context, store *eventstore.Store, target uint64, folds []Fold, progress foldProgress) error {
	if target == 0 || len(folds) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reader, err := store.SubscribeReadAhead(ctx, 1, foldReadAhead)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer reader.Close()

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
	readErr := func() error {
		defer func() {
			for _, c := range feeds {
				close(c)
			}
		}()
		var last uint64
		for last < target {
			events, err := reader.Next(ctx, foldBatch, 0)
			if err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			batch := make([]decoded, 0, len(events))
			for _, e := range events {
				if e.Sequence <= last || e.Sequence > target {
					continue
				}
				last = e.Sequence
				batch = append(batch, decodeOnce(e))
			}
			progress.position(last)
			for _, c := range feeds {
				select {
				case c <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	}()
	wg.Wait()
	// A fold that fails cancels the others, whose errors then only say
	// so: the cause is the error that is not a cancellation.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return readErr
}
