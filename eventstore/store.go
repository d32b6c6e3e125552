package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
	"tally/tracing"
)

// Errors that callers branch on.
var (
	// ErrConflict: the aggregate moved on since it was read. The caller
	// re-reads and decides again; a conflict is never ignored.
	ErrConflict = errors.New("aggregate changed since it was read")
	// ErrNotFound: no event at the asked position.
	ErrNotFound = errors.New("no such event")
	// ErrServerTooOld: the NATS server cannot do what the store needs.
	ErrServerTooOld = errors.New("nats-server too old")
)

// Headers, known to this package alone.
const (
	headerExpectedLastSubjectSeq = "Nats-Expected-Last-Subject-Sequence"
	headerMsgID                  = "Nats-Msg-Id"
	headerBatchID                = "Nats-Batch-Id"
	headerBatchSeq               = "Nats-Batch-Sequence"
	headerBatchCommit            = "Nats-Batch-Commit"
	headerEventType              = "Tally-Event-Type"
)

// Config describes the stream. Zero values get defaults from setDefaults.
type Config struct {
	// Stream is the JetStream stream name. Default TALLY_EVENTS.
	Stream string
	// SubjectPrefix starts every event subject. Default "tally.events";
	// subjects are <prefix>.<tenant>.<aggregate type>.<aggregate id>.
	SubjectPrefix string
	// Replicas of the stream: 1 on a single server, 3 on a cluster.
	Replicas int
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values.
	// Retries older than this are still caught: commands find their
	// command id in the aggregate's history.
	DuplicateWindow time.Duration
	// Timeout bounds every request to the server when Retry is negative.
	Timeout time.Duration
	// Retry is how long an append or a read keeps trying while the stream
	// has no leader (a leader election after a server left the cluster, a
	// request without responder, a timeout): a routine leader change costs
	// latency, not an error. Appends retry under the same message id and
	// expected sequence, so a try that landed unseen is not appended twice.
	// Default 10s (NATS_APPEND_RETRY); negative: one try of Timeout.
	Retry time.Duration
	// AttemptTimeout bounds one try within Retry. Default 2s.
	AttemptTimeout time.Duration
	// OnRetried, when set, is told of every call that succeeded only after
	// more than one try, with the time it took (for metrics and tests).
	OnRetried func(tries int, took time.Duration)
	// Tracing, when set, makes a span of every append and puts its
	// traceparent on the message (package tracing); nil: no traces.
	Tracing *tracing.Tracer
	// HistoryCache is how many aggregates' histories the store keeps, so
	// that reading one again reads only what was appended since (history.go).
	// Default DefaultHistoryCache; negative: none kept.
	HistoryCache int
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = "TALLY_EVENTS"
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = "tally.events"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Retry == 0 {
		c.Retry = 10 * time.Second
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = 2 * time.Second
	}
	if c.HistoryCache == 0 {
		c.HistoryCache = DefaultHistoryCache
	}
}

// Store appends and reads Tally's events in one JetStream stream.
type Store struct {
	cfg       Config
	nc        *nats.Conn
	js        jetstream.JetStream
	stream    jetstream.Stream
	histories *histories
	scans     atomic.Int64 // histories read by scanning (for tests)
}

// MaxEventSize bounds one event in the stream (the MaxMsgSize of its
// config), NATS's default max_payload: the stream itself refuses a larger
// one, whichever client or server setting lets it through.
const MaxEventSize = 1 << 20

// minServer is the first nats-server with atomic batch publish (ADR-50).
var minServer = [3]int{2, 12, 0}

// Open checks the server and creates or updates the stream.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if v := nc.ConnectedServerVersion(); !versionAtLeast(v, minServer) {
		return nil, fmt.Errorf("nats-server %s at %s: Tally needs %d.%d or newer for atomic batch appends: %w",
			v, nc.ConnectedUrlRedacted(), minServer[0], minServer[1], ErrServerTooOld)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	s := &Store{cfg: cfg, nc: nc, js: js, histories: newHistories(cfg.HistoryCache)}
	streamCfg := jetstream.StreamConfig{
		Name:               cfg.Stream,
		Description:        "Tally event store: the only source of truth",
		Subjects:           []string{cfg.SubjectPrefix + ".>"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Replicas:           cfg.Replicas,
		Duplicates:         cfg.DuplicateWindow,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowAtomicPublish: true,
		AllowDirect:        true,
		MaxMsgSize:         MaxEventSize,
	}
	err = s.retry(ctx, func(ctx context.Context) error {
		// A stream that is already as configured is left alone: every
		// process opens the store when it starts, and an update of the
		// stream racing another process's new consumer is a data race
		// inside nats-server (fileStore.UpdateConfig against
		// ConsumerStore).
		if st, err := js.Stream(ctx, cfg.Stream); err == nil && sameStreamConfig(st.CachedInfo().Config, streamCfg) {
			s.stream = st
			return nil
		}
		var err error
		s.stream, err = js.CreateOrUpdateStream(ctx, streamCfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	return s, nil
}

// info reads the stream's state, retrying through an election.
func (s *Store) info(ctx context.Context) (*jetstream.StreamInfo, error) {
	var info *jetstream.StreamInfo
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		info, err = s.stream.Info(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stream info %s: %w", s.cfg.Stream, err)
	}
	return info, nil
}

// Subject is the subject of one aggregate.
func (s *Store) Subject(tenant, aggregateType, aggregateID string) string {
	return domain.Subject(s.cfg.SubjectPrefix, tenant, aggregateType, aggregateID)
}

// AllSubjects matches every event of every tenant.
func (s *Store) AllSubjects() string { return s.cfg.SubjectPrefix + ".>" }

// Identity names this incarnation of the stream. A read model built from an
// older stream of the same name (a wiped data directory) must be rebuilt,
// and this is how a projector notices.
func (s *Store) Identity(ctx context.Context) (string, error) {
	info, err := s.info(ctx)
	if err != nil {
		return "", err
	}
	return info.Config.Name + "@" + info.Created.UTC().Format(time.RFC3339Nano), nil
}

// LastSequence is the stream's last sequence, for lag measurements.
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// Ping checks that the server answers, once: a health check reports an
// election rather than waiting it out.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err := s.stream.Info(ctx); err != nil {
		return fmt.Errorf("stream info %s: %w", s.cfg.Stream, err)
	}
	return nil
}

// Append writes one event if the aggregate's last sequence is still
// expected (0 for a new aggregate). It returns the event's stream sequence.
// The server checks the expectation first, so a retried command whose first
// try landed gets ErrConflict; the caller re-reads and finds its command id
// in the history (see domain.Document.EventOf). The message id, derived
// from the command, still stops a duplicate whose expectation holds.
func (s *Store) Append(ctx context.Context, e domain.Envelope, expected uint64) (uint64, error) {
	msg, err := s.message(e, expected)
	if err != nil {
		return 0, err
	}
	ctx, traced := s.traceAppend(ctx, e, 1, msg)
	var seq uint64
	tries := 0
	err = s.retry(ctx, func(ctx context.Context) error {
		tries++
		// No retries inside the client: retry owns them, with one budget.
		ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0))
		if err == nil {
			seq = ack.Sequence
			return nil
		}
		err = s.appendError(e, expected, err)
		if !errors.Is(err, ErrConflict) || s.cfg.Replicas == 1 {
			return err
		}
		// On a cluster a conflict may be no conflict: an earlier try may
		// have landed without its answer reaching us (the leader left),
		// or a newly elected leader may check before it has applied the
		// events it inherited. The leader's next event on the subject
		// tells: ours, another command's (a real conflict), or none yet.
		landed, found, lerr := s.landed(ctx, msg, expected)
		switch {
		case lerr != nil:
			return fmt.Errorf("%w: %w", errLeaderBehind, lerr)
		case found:
			seq = landed
			return nil
		}
		return err
	})
	traced(seq, err)
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// landed finds msg stored right after expected on its subject, by its
// message id: the mark of a try whose acknowledgement was lost. It asks the
// stream's leader, not any replica (a direct get may be answered by a
// follower that has not applied the message yet). An error means the
// leader could not be asked; found false, that the event there is another.
func (s *Store) landed(ctx context.Context, msg *nats.Msg, expected uint64) (seq uint64, found bool, err error) {
	req, _ := json.Marshal(map[string]any{"seq": expected + 1, "next_by_subj": msg.Subject})
	resp, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+s.cfg.Stream, req)
	if err != nil {
		return 0, false, err
	}
	var answer struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Hdrs []byte `json:"hdrs"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &answer); err != nil {
		return 0, false, fmt.Errorf("read back %s: %w", msg.Subject, err)
	}
	if answer.Error != nil {
		return 0, false, answer.Error
	}
	if answer.Message == nil {
		return 0, false, errors.New("no event after the expected sequence")
	}
	// hdrs is the NATS/1.0 header block; the id names one command's
	// append, so finding it on a line of its own settles it.
	want := headerMsgID + ": " + msg.Header.Get(headerMsgID) + "\r\n"
	return answer.Message.Seq, strings.Contains(string(answer.Message.Hdrs), want), nil
}

// Pending is one event of an atomic batch and the sequence its aggregate
// must be at.
type Pending struct {
	Event    domain.Envelope
	Expected uint64
}

// AppendBatch writes all events or none (ADR-50 atomic batch). Use it only
// where events must stand or fall together: it is far slower than Append.
// Each aggregate may appear once; its expectation is checked as in Append.
func (s *Store) AppendBatch(ctx context.Context, events []Pending) ([]uint64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if len(events) == 1 {
		seq, err := s.Append(ctx, events[0].Event, events[0].Expected)
		return []uint64{seq}, err
	}
	ctx, traced := s.traceAppend(ctx, events[0].Event, len(events))
	var seqs []uint64
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		seqs, err = s.appendBatchOnce(ctx, events)
		return err
	})
	if err != nil {
		traced(0, err)
	} else {
		traced(seqs[len(seqs)-1], nil)
	}
	return seqs, err
}

// appendBatchOnce publishes one try of a batch under a new batch id; the
// expected sequences make a second try fail with ErrConflict if the first
// one landed unseen.
func (s *Store) appendBatchOnce(ctx context.Context, events []Pending) ([]uint64, error) {
	batchID := uuid.NewString()
	for i, p := range events {
		msg, err := s.message(p.Event, p.Expected)
		if err != nil {
			return nil, err
		}
		if parent := tracing.Parent(ctx); parent != "" {
			msg.Header.Set(tracing.Header, parent)
		}
		msg.Header.Set(headerBatchID, batchID)
		msg.Header.Set(headerBatchSeq, strconv.Itoa(i+1))
		if i < len(events)-1 {
			// The server answers only the commit; earlier messages are
			// checked when it arrives and the whole batch is dropped on
			// any error.
			if err := s.nc.PublishMsg(msg); err != nil {
				return nil, fmt.Errorf("append batch %s message %d: %w", batchID, i+1, err)
			}
			continue
		}
		msg.Header.Set(headerBatchCommit, "1")
		ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0))
		if err != nil {
			return nil, s.appendError(p.Event, p.Expected, fmt.Errorf("commit batch %s of %d events: %w", batchID, len(events), err))
		}
		// The batch is stored contiguously, ending at the commit's sequence.
		seqs := make([]uint64, len(events))
		for j := range seqs {
			seqs[j] = ack.Sequence - uint64(len(events)-1-j)
		}
		return seqs, nil
	}
	return nil, nil
}

func (s *Store) message(e domain.Envelope, expected uint64) (*nats.Msg, error) {
	if e.Tenant == "" || e.AggregateID == "" || e.ID == "" {
		return nil, fmt.Errorf("append %s: event id, tenant and aggregate id are required", e.Type)
	}
	if strings.ContainsAny(e.Tenant+e.AggregateType+e.AggregateID, ".*> \t\r\n") {
		return nil, fmt.Errorf("append %s: tenant %q or aggregate id %q contains a subject delimiter", e.Type, e.Tenant, e.AggregateID)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("append %s for doc %s: encode: %w", e.Type, e.AggregateID, err)
	}
	aggregateType := e.AggregateType
	if aggregateType == "" {
		aggregateType = domain.AggregateDocument
	}
	msg := nats.NewMsg(s.Subject(e.Tenant, aggregateType, e.AggregateID))
	msg.Data = data
	msgID := e.ID
	if e.CommandID != "" {
		// One command appends one event per aggregate, so the command id
		// scoped to the aggregate names the append.
		msgID = e.CommandID + "@" + e.AggregateID
	}
	msg.Header.Set(headerMsgID, msgID)
	msg.Header.Set(headerExpectedLastSubjectSeq, strconv.FormatUint(expected, 10))
	msg.Header.Set(headerEventType, e.Type)
	return msg, nil
}

func (s *Store) appendError(e domain.Envelope, expected uint64, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return fmt.Errorf("append %s for doc %s at sequence %d: %w", e.Type, e.AggregateID, expected, ErrConflict)
	}
	return fmt.Errorf("append %s for doc %s: %w", e.Type, e.AggregateID, err)
}

// Load reads one document's history in order. A document without events
// yields an empty history, not an error.
func (s *Store) Load(ctx context.Context, tenant, aggregateID string) ([]domain.Envelope, error) {
	return s.LoadAggregate(ctx, tenant, domain.AggregateDocument, aggregateID)
}

// LoadAggregate reads the history of any aggregate type.
func (s *Store) LoadAggregate(ctx context.Context, tenant, aggregateType, aggregateID string) ([]domain.Envelope, error) {
	var events []domain.Envelope
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		events, err = s.loadAggregateOnce(ctx, tenant, aggregateType, aggregateID)
		return err
	})
	return events, err
}

func (s *Store) loadAggregateOnce(ctx context.Context, tenant, aggregateType, aggregateID string) ([]domain.Envelope, error) {
	subject := s.Subject(tenant, aggregateType, aggregateID)
	last, err := s.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load doc %s: last message: %w", aggregateID, err)
	}
	events, err := s.loadChain(ctx, subject, last)
	switch {
	case err == nil:
		return events, nil
	case !errors.Is(err, errNoChain):
		return nil, fmt.Errorf("load doc %s: %w", aggregateID, err)
	}
	events, err = s.scanAggregate(ctx, subject, aggregateID, last)
	if err == nil {
		s.histories.put(subject, slices.Clone(events))
	}
	return events, err
}

// scanAggregate reads a history up to its last event from its first on,
// asking for the subject's next event after each: the way for events
// that do not name the one before them (history.go).
func (s *Store) scanAggregate(ctx context.Context, subject, aggregateID string, last *jetstream.RawStreamMsg) ([]domain.Envelope, error) {
	s.scans.Add(1)
	// Message by message with "next for subject" gets: an aggregate has a
	// handful of events, and unlike a consumer this leaves no state on the
	// server behind.
	var events []domain.Envelope
	for seq := uint64(1); seq <= last.Sequence; {
		msg, err := s.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if err != nil {
			return nil, fmt.Errorf("load doc %s at sequence %d: %w", aggregateID, seq, err)
		}
		e, err := decodeRaw(msg)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
		seq = msg.Sequence + 1
	}
	return events, nil
}

// LoadLast reads the newest event of an aggregate; found is false when it
// has none. One read, where LoadAggregate needs one per event and a scan
// for the first: for aggregates that only ever hold one event (a
// fingerprint's claim, appended only onto an empty subject) it is the
// whole history.
func (s *Store) LoadLast(ctx context.Context, tenant, aggregateType, aggregateID string) (e domain.Envelope, found bool, err error) {
	subject := s.Subject(tenant, aggregateType, aggregateID)
	var msg *jetstream.RawStreamMsg
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		msg, err = s.stream.GetLastMsgForSubject(ctx, subject)
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("last event on %s: %w", subject, err)
	}
	e, err = decodeRaw(msg)
	return e, err == nil, err
}

// At reads the event at one stream sequence. ErrNotFound when there is
// none (never written, or beyond the end).
func (s *Store) At(ctx context.Context, seq uint64) (domain.Envelope, error) {
	var msg *jetstream.RawStreamMsg
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		msg, err = s.stream.GetMsg(ctx, seq)
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return domain.Envelope{}, fmt.Errorf("event at sequence %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return domain.Envelope{}, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	return decodeRaw(msg)
}

// decodeRaw turns a message read by sequence or subject into an envelope
// with its sequence.
func decodeRaw(msg *jetstream.RawStreamMsg) (domain.Envelope, error) {
	var e domain.Envelope
	if err := unmarshalEnvelope(msg.Data, &e); err != nil {
		return e, fmt.Errorf("decode event at sequence %d on %s: %w", msg.Sequence, msg.Subject, err)
	}
	e.Sequence = msg.Sequence
	e.Trace = msg.Header.Get(tracing.Header)
	return e, nil
}

// unmarshalEnvelope decodes a stored event with the semantics of
// encoding/json on the decoder of encoding/json/v2, which reads the text
// once where encoding/json validates it first and then reads it again:
// every consumer decodes every event, and the envelope's decoding was a
// quarter of a projector's CPU under a stream of uploads.
func unmarshalEnvelope(data []byte, e *domain.Envelope) error { return jsonv1.Unmarshal(data, e) }

// decode turns a stream message into an envelope with its sequence.
func decode(msg jetstream.Msg) (domain.Envelope, error) {
	var e domain.Envelope
	if err := unmarshalEnvelope(msg.Data(), &e); err != nil {
		return e, fmt.Errorf("decode event on %s: %w", msg.Subject(), err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		return e, fmt.Errorf("decode event on %s: metadata: %w", msg.Subject(), err)
	}
	e.Sequence = meta.Sequence.Stream
	e.Trace = msg.Headers().Get(tracing.Header)
	return e, nil
}

// versionAtLeast compares "2.12.1" or "2.12.0-RC.1" style versions.
func versionAtLeast(v string, want [3]int) bool {
	core, _, _ := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	for i := 0; i < 3; i++ {
		n := 0
		if i < len(parts) {
			var err error
			if n, err = strconv.Atoi(parts[i]); err != nil {
				return false
			}
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}

// sameStreamConfig reports whether the stream's configuration has every
// setting Open asks for (the server fills in the rest with defaults).
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description &&
		slices.Equal(have.Subjects, want.Subjects) &&
		have.Storage == want.Storage &&
		have.Retention == want.Retention &&
		have.Replicas == want.Replicas &&
		have.Duplicates == want.Duplicates &&
		have.DenyDelete == want.DenyDelete &&
		have.DenyPurge == want.DenyPurge &&
		have.AllowAtomicPublish == want.AllowAtomicPublish &&
		have.AllowDirect == want.AllowDirect &&
		have.MaxMsgSize == want.MaxMsgSize
}
