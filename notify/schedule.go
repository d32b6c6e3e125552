package notify

import "time"

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
