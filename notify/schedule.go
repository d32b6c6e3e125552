package notify

import (
	"context"
	"time"

	"tally/supervise"
)

// NextMonthlyRun is the next 00:05 on the 1st of a month in loc, strictly
// after now.
func NextMonthlyRun(now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	run := time.Date(local.Year(), local.Month(), 1, 0, 5, 0, 0, loc)
	if !run.After(local) {
		run = time.Date(local.Year(), local.Month()+1, 1, 0, 5, 0, 0, loc)
	}
	return run
}

// PreviousMonth is the YYYY-MM before the month of t.
func PreviousMonth(t time.Time) string {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	return first.AddDate(0, -1, 0).Format("2006-01")
}

// RunLocked sends (or, dry, shows) month's reports under the month's
// advisory lock, so replicas and an operator's run never overlap; when
// another process holds the lock it does nothing.
func (r *Reporter) RunLocked(ctx context.Context, l supervise.Locker, month string, dryRun bool) (RunResult, error) {
	var res RunResult
	err := l.Locked(ctx, "monthly-report:"+month, func() error {
		var err error
		res, err = r.Run(ctx, month, dryRun)
		return err
	})
	return res, err
}

// RunMonthly sends last month's reports at 00:05 on the 1st in loc, until
// ctx ends. Replicas may all run it: the lock lets one work at a time, and
// each report is recorded, so a second run sends nothing new.
func (r *Reporter) RunMonthly(ctx context.Context, l supervise.Locker, loc *time.Location) {
	supervise.At(ctx, func(after time.Time) time.Time { return NextMonthlyRun(after, loc) },
		func(at time.Time) { r.Log.Info("monthly report scheduled", "at", at.Format(time.RFC3339)) },
		func(ctx context.Context, at time.Time) {
			month := PreviousMonth(at)
			res, err := r.RunLocked(ctx, l, month, false)
			if err != nil {
				r.Log.Error("monthly report failed; running it again later sends what is left", "month", month, "err", err)
				return
			}
			r.Log.Info("monthly report run", "month", month, "sent", res.Sent, "already_sent", res.AlreadySent,
				"opted_out", res.OptedOut, "refused", res.Refused)
		})
}
