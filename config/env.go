package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// envReader reads typed variables and collects, rather than stops at, the
// values that do not parse. Each helper leaves *dst alone unless the variable
// is set and valid, so defaults survive bad input and are not reported twice.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (r *envReader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// str reads a plain value, trimmed because stray whitespace from env files
// is never meant. It reports whether the variable was set.
func (r *envReader) str(name string, dst *string) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return false
	}
	*dst = v
	return true
}

// secret reads a value verbatim: a password may legitimately start or end
// with a space, and silently changing a credential is worse than a failed
// login.
func (r *envReader) secret(name string, dst *string) bool {
	v := r.getenv(name)
	if v == "" {
		return false
	}
	*dst = v
	return true
}

// int reads a base-10 integer and reports whether one was read.
func (r *envReader) int(name string, dst *int) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return false
	}
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) {
		r.fail(name, "%q is too large", v)
		return false
	}
	if err != nil {
		r.fail(name, "%q is not a number", v)
		return false
	}
	*dst = n
	return true
}

// port reads a TCP port. Ports that are not Config fields (DB_PORT,
// REDIS_PORT) are range-checked here because Validate never sees them.
func (r *envReader) port(name string, dst *int) {
	n := *dst
	if !r.int(name, &n) {
		return
	}
	if n < 1 || n > 65535 {
		r.fail(name, "%d is out of range 1-65535", n)
		return
	}
	*dst = n
}

// bool accepts the spellings people put in env files: true/false, 1/0,
// yes/no, in any case.
func (r *envReader) bool(name string, dst *bool) {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		*dst = true
	case "false", "0", "no":
		*dst = false
	default:
		r.fail(name, "%q is not a boolean (use true/false, 1/0 or yes/no)", v)
	}
}

// duration reads a whole number of unit (the variable name says which, e.g.
// _MS). Negative values are kept for Validate to report in context.
func (r *envReader) duration(name string, unit time.Duration, dst *time.Duration) {
	var n int
	if !r.int(name, &n) {
		return
	}
	// Guard the multiplication: a wrapped-around duration would pass as
	// some unrelated valid value.
	if int64(n) > math.MaxInt64/int64(unit) || int64(n) < math.MinInt64/int64(unit) {
		r.fail(name, "%d is out of range", n)
		return
	}
	*dst = time.Duration(n) * unit
}

// goDuration reads a Go duration such as 5m or 1h30m, for settings whose
// name carries no unit.
func (r *envReader) goDuration(name string, dst *time.Duration) {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, "%q is not a duration such as 5m or 1h", v)
		return
	}
	*dst = d
}
