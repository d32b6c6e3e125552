package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

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
	// fieldsJSON is json.Marshal of a result's Fields or a correction's
	// Corrections, made once for the folds that store it: they share it
	// and never write to it.
	fieldsJSON []byte
}

// foldEnvelope is the part of an envelope that the folds read: the fields
// left out (correlation, causation, command) are skipped unread.
type foldEnvelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Tenant        string          `json:"tenant"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Data          json.RawMessage `json:"data"`
}

// decodeOnce decodes a stored event and the payloads folds read. It
// decodes with the v1 semantics of encoding/json (what Envelope.Decode
// does in live projection) on the faster decoder of encoding/json/v2,
// which reads the text once where encoding/json validates it first, and
// allocates a third as often: decoding was a fifth of a rebuild's CPU.
func decodeOnce(r eventstore.Raw) (decoded, error) {
	var fe foldEnvelope
	if err := jsonv1.Unmarshal(r.Data, &fe); err != nil {
		return decoded{}, fmt.Errorf("decode event at sequence %d: %w", r.Sequence, err)
	}
	e := domain.Envelope{ID: fe.ID, Type: fe.Type, SchemaVersion: fe.SchemaVersion, Tenant: fe.Tenant,
		AggregateType: fe.AggregateType, AggregateID: fe.AggregateID, OccurredAt: fe.OccurredAt, Data: fe.Data,
		Sequence: r.Sequence}
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
		return decoded{Envelope: e}, nil
	}
	if err := e.Decode(p); err != nil {
		return decoded{Envelope: e, payload: p, err: err}, nil
	}
	d := decoded{Envelope: e, payload: p}
	switch p := p.(type) {
	case *domain.ReceiptExtracted:
		d.fieldsJSON, _ = json.Marshal(p.Fields)
	case *domain.DocumentCorrected:
		d.fieldsJSON, _ = json.Marshal(p.Corrections)
	}
	return d, nil
}

// foldBatchSize is how many events go to the folds at a time, and
// foldBatches how many batches are on their way at most.
const (
	foldBatchSize = 1024
	foldBatches   = 8
)

// foldBatch is a batch of decoded events on its way to the folds; folds
// counts the folds that have yet to apply it.
type foldBatch struct {
	events []decoded
	folds  atomic.Int32
}

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
	reader, err := store.SubscribeRaw(ctx, 1, foldReadAhead)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer reader.Close()

	// The batches go round: each goes to every fold, and back to free
	// once the last fold is done with it, so the pass allocates no batch
	// after the first few. A fold keeps no pointer into a batch.
	free := make(chan *foldBatch, foldBatches)
	for range foldBatches {
		free <- &foldBatch{events: make([]decoded, 0, foldBatchSize)}
	}
	feeds := make([]chan *foldBatch, len(folds))
	errs := make([]error, len(folds))
	var wg sync.WaitGroup
	for i, f := range folds {
		feeds[i] = make(chan *foldBatch, foldBatches)
		wg.Go(func() {
			for batch := range feeds[i] {
				if errs[i] == nil { // else drain: the reader must not block
					for _, e := range batch.events {
						if err := f.Apply(ctx, e); err != nil {
							errs[i] = fmt.Errorf("fold %s %s (seq %d, doc %s): %w", e.Type, e.ID, e.Sequence, e.AggregateID, err)
							cancel()
							break
						}
					}
				}
				if batch.folds.Add(-1) == 0 {
					free <- batch
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
			events, err := reader.Next(ctx, foldBatchSize, 0)
			if err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			var batch *foldBatch
			select {
			case batch = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch.events = batch.events[:0]
			for _, e := range events {
				if e.Sequence <= last || e.Sequence > target {
					continue
				}
				last = e.Sequence
				d, err := decodeOnce(e)
				if err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
				batch.events = append(batch.events, d)
			}
			progress.position(last)
			batch.folds.Store(int32(len(feeds)))
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
