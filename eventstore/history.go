package eventstore

import (
	"container/list"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
)

// An aggregate's history is read from its last event back. Every append
// names the sequence its subject was at (Nats-Expected-Last-Subject-
// Sequence), and the server stored the event only if that was so: each
// event points at the one before it on its subject. Following those
// pointers reads a history with one get per event by sequence, where
// asking for "the next event on this subject after N" made the server scan
// every event of the stream between them (it was the embedded server's
// largest cost under a stream of uploads). An event without the pointer
// (one restored from an archive, which leaves it out) sends the read back
// to that scan.
//
// The histories read last are kept (histories): the stream denies delete
// and purge, so a history once read only ever grows, and the next read of
// the aggregate needs its last event only, which is one get, or none more
// when nothing was appended since.

// DefaultHistoryCache is how many aggregates' histories a store keeps.
const DefaultHistoryCache = 512

// historyCacheBytes bounds the events' bytes the kept histories hold.
const historyCacheBytes = 4 << 20

// histories keeps the latest histories read, the least recently used
// dropped first. The slices it holds are never changed: a longer history
// is a new slice.
type histories struct {
	mu     sync.Mutex
	max    int
	bytes  int
	order  list.List // of *history, most recent first
	bySubj map[string]*list.Element
}

type history struct {
	subject string
	events  []domain.Envelope
	size    int
}

func newHistories(max int) *histories {
	return &histories{max: max, bySubj: map[string]*list.Element{}}
}

func (h *histories) get(subject string) []domain.Envelope {
	if h.max <= 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	el := h.bySubj[subject]
	if el == nil {
		return nil
	}
	h.order.MoveToFront(el)
	return el.Value.(*history).events
}

func (h *histories) put(subject string, events []domain.Envelope) {
	if h.max <= 0 || len(events) == 0 {
		return
	}
	size := 0
	for _, e := range events {
		size += len(e.Data) + 256 // the envelope's own fields, roughly
	}
	if size > historyCacheBytes/16 {
		return // one aggregate does not take a sixteenth of the room
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if el := h.bySubj[subject]; el != nil {
		old := el.Value.(*history)
		if len(old.events) >= len(events) {
			h.order.MoveToFront(el)
			return // a concurrent read kept as long a history
		}
		h.bytes += size - old.size
		old.events, old.size = events, size
		h.order.MoveToFront(el)
	} else {
		h.bySubj[subject] = h.order.PushFront(&history{subject: subject, events: events, size: size})
		h.bytes += size
	}
	for h.order.Len() > h.max || h.bytes > historyCacheBytes {
		el := h.order.Back()
		old := el.Value.(*history)
		h.order.Remove(el)
		delete(h.bySubj, old.subject)
		h.bytes -= old.size
	}
}

// errNoChain: an event of the history does not point at the one before
// it; the history is read by scanning instead.
var errNoChain = errors.New("event without the sequence before it")

// loadChain reads the history of subject from its last event back,
// starting from what the cache holds.
func (s *Store) loadChain(ctx context.Context, subject string, last *jetstream.RawStreamMsg) ([]domain.Envelope, error) {
	cached := s.histories.get(subject)
	if n := len(cached); n > 0 && cached[n-1].Sequence >= last.Sequence {
		// Nothing appended since (or a replica behind the one that
		// answered before: the history read then was stored all the same).
		return slices.Clone(cached), nil
	}
	var newer []*jetstream.RawStreamMsg // newest first
	msg := last
	var err error
	for {
		newer = append(newer, msg)
		prev, ok := previousOnSubject(msg)
		if !ok {
			return nil, errNoChain
		}
		if prev == 0 {
			cached = nil
			break
		}
		if n := len(cached); n > 0 && cached[n-1].Sequence == prev {
			break
		}
		if n := len(cached); n > 0 && cached[n-1].Sequence > prev {
			return nil, errNoChain // not the history kept: read it whole
		}
		msg, err = s.stream.GetMsg(ctx, prev)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, errNoChain
		}
		if err != nil {
			return nil, err
		}
		if msg.Subject != subject || msg.Sequence != prev {
			return nil, errNoChain
		}
	}
	events := make([]domain.Envelope, len(cached), len(cached)+len(newer))
	copy(events, cached)
	for i := len(newer) - 1; i >= 0; i-- {
		e, err := decodeRaw(newer[i])
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	s.histories.put(subject, events)
	return slices.Clone(events), nil
}

// previousOnSubject is the sequence the subject was at when msg was
// appended, from the expectation the server checked.
func previousOnSubject(msg *jetstream.RawStreamMsg) (uint64, bool) {
	v := msg.Header.Get(headerExpectedLastSubjectSeq)
	if v == "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(v, 10, 64)
	if err != nil || seq >= msg.Sequence {
		return 0, false
	}
	return seq, true
}
