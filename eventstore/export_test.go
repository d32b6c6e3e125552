package eventstore

import (
	"context"

	"tally/domain"
)

// Scans is how many histories the store read by scanning the stream
// rather than following each event's pointer to the one before it.
func (s *Store) Scans() int64 { return s.scans.Load() }

// ScanHistory reads a document's history the way events without the
// sequence before them are read: the baseline of BenchmarkLoad.
func (s *Store) ScanHistory(ctx context.Context, tenant, docID string) ([]domain.Envelope, error) {
	subject := s.Subject(tenant, domain.AggregateDocument, docID)
	last, err := s.stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	return s.scanAggregate(ctx, subject, docID, last)
}
