package http

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"tally/domain"
	"tally/reprocess"
)

// dryRunTimeout bounds one reprocess dry run, which may extract up to a
// hundred documents again.
const dryRunTimeout = 2 * time.Minute

// errDryRunBusy: the tenant has a dry run going (on this process or,
// through Redis, on another).
var errDryRunBusy = domain.NewError(domain.KindTooMany,
	"a reprocess dry run for this tenant is already running; retry when it has finished")

// dryRuns runs reprocess dry runs one at a time per tenant, each in a
// goroutine the server owns rather than the request's: a client that
// leaves cancels its run, and Close stops them all.
type dryRuns struct {
	redis  *redis.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	busy   map[string]bool
}

func newDryRuns(rdb *redis.Client) *dryRuns {
	ctx, cancel := context.WithCancel(context.Background())
	return &dryRuns{redis: rdb, ctx: ctx, cancel: cancel, busy: map[string]bool{}}
}

// release deletes the tenant's lock only if it is still this run's.
var release = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

type dryRunResult struct {
	outcomes []reprocess.Outcome
	err      error
}

// run starts fn for tenant unless one is running, and waits for it as
// long as the request lasts.
func (d *dryRuns) run(req context.Context, tenant string, fn func(context.Context) ([]reprocess.Outcome, error)) ([]reprocess.Outcome, error) {
	d.mu.Lock()
	if d.busy[tenant] || d.ctx.Err() != nil {
		d.mu.Unlock()
		return nil, errDryRunBusy.Retry(5 * time.Second)
	}
	d.busy[tenant] = true
	d.mu.Unlock()
	unbusy := func() {
		d.mu.Lock()
		delete(d.busy, tenant)
		d.mu.Unlock()
	}
	lockKey, token := "tally:dryrun:"+tenant, uuid.NewString()
	if d.redis != nil {
		ok, err := d.redis.SetNX(req, lockKey, token, dryRunTimeout+10*time.Second).Result()
		if err == nil && !ok {
			unbusy()
			return nil, errDryRunBusy.Retry(5 * time.Second)
		}
		// Without Redis, one at a time per process still holds.
	}
	ctx, cancel := context.WithTimeout(d.ctx, dryRunTimeout)
	stop := context.AfterFunc(req, cancel)
	done := make(chan dryRunResult, 1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer unbusy()
		defer cancel()
		defer stop()
		outcomes, err := fn(ctx)
		if d.redis != nil {
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
			release.Run(rctx, d.redis, []string{lockKey}, token)
			rcancel()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = domain.ErrInvalid.Newf("the dry run took longer than %s; select fewer documents", dryRunTimeout)
		}
		done <- dryRunResult{outcomes, err}
	}()
	select {
	case r := <-done:
		return r.outcomes, r.err
	case <-req.Done():
		return nil, req.Err()
	}
}

// Close stops every dry run and waits for them.
func (d *dryRuns) Close() {
	d.cancel()
	d.wg.Wait()
}
