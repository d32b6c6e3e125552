package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backoff between tries while the stream has no leader: short first (an
// election on a healthy cluster takes a few hundred milliseconds), doubling
// to a second.
const (
	firstRetryWait = 20 * time.Millisecond
	maxRetryWait   = time.Second
)

// retry runs op until it succeeds, fails for a reason a retry cannot
// mend, or the retry budget (Config.Retry) is spent. Each try gets its own
// deadline (Config.AttemptTimeout), so a request lost with a dying leader
// is asked again of the next one. op must be safe to repeat: appends are,
// because every try carries the same message id and expected sequence.
func (s *Store) retry(ctx context.Context, op func(ctx context.Context) error) error {
	if s.cfg.Retry <= 0 {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		return op(ctx)
	}
	started := time.Now()
	wait := firstRetryWait
	for tries := 1; ; tries++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
		err := op(actx)
		cancel()
		if err == nil {
			if tries > 1 && s.cfg.OnRetried != nil {
				s.cfg.OnRetried(tries, time.Since(started))
			}
			return nil
		}
		if ctx.Err() != nil || !transient(err) {
			return err
		}
		// Jitter spreads the clients of one cluster over the election.
		sleep := wait/2 + rand.N(wait/2+1)
		if time.Since(started)+sleep >= s.cfg.Retry {
			return fmt.Errorf("%w (tried %d times in %s, NATS_APPEND_RETRY is %s)", err, tries,
				time.Since(started).Round(time.Millisecond), s.cfg.Retry)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(sleep):
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// errLeaderBehind: the stream's leader refused an append for a wrong last
// sequence, yet holds no later event on the subject: it has not applied
// all it inherited from the previous leader.
var errLeaderBehind = errors.New("stream leader is catching up")

// transient tells the errors of a stream without a leader (an election
// after a server left, a request that met no responder or timed out) from
// answers that a retry would only repeat.
func transient(err error) bool {
	switch {
	case errors.Is(err, errLeaderBehind):
		return true
	case errors.Is(err, ErrConflict):
		return false
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrNoServers):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503 "JetStream system temporarily unavailable" (10008: no
		// cluster leader) and 10009 "not leader": the cluster is electing.
		// 10005 "no suitable peers for placement": a stream's replicas
		// are placed while nodes of a starting cluster are still joining;
		// with too few nodes for good, the retries end with the reason.
		return apiErr.Code == 503 || apiErr.ErrorCode == 10005 || apiErr.ErrorCode == 10008 || apiErr.ErrorCode == 10009
	}
	return false
}
