package breaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrOpen is wrapped by every call refused because its dependency's
// breaker is open.
var ErrOpen = errors.New("circuit open: the dependency failed repeatedly and is not called for a while")

// openError says which dependency is cut off. Health checks report it as
// "circuit open".
type openError struct{ name string }

func (e openError) Error() string        { return e.name + ": " + ErrOpen.Error() }
func (e openError) Unwrap() error        { return ErrOpen }
func (e openError) HealthStatus() string { return "circuit open" }

// Config tunes a breaker.
type Config struct {
	// Failures in a row that open the breaker. Default 3.
	Failures uint32
	// OpenFor is how long an open breaker refuses calls before it lets one
	// through to try. Default 5s.
	OpenFor time.Duration
	// Log is told when a breaker opens and closes. Nil logs nothing.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Failures == 0 {
		c.Failures = 3
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 5 * time.Second
	}
}

// Breaker guards one dependency.
type Breaker struct {
	name string
	cb   *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// New returns a closed breaker for the dependency name. failure says
// which errors are the dependency's fault; the others, and a cancelled
// caller, do not count.
func New(name string, cfg Config, failure func(error) bool) *Breaker {
	cfg.setDefaults()
	st := gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Failures },
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled) || !failure(err)
		},
	}
	if cfg.Log != nil {
		log := cfg.Log
		st.OnStateChange = func(name string, from, to gobreaker.State) {
			log.Warn("circuit breaker "+to.String(), "dependency", name, "was", from.String())
		}
	}
	return &Breaker{name: name, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
}

// Name is the dependency's name.
func (b *Breaker) Name() string { return b.name }

// Open reports whether calls are being refused.
func (b *Breaker) Open() bool { return b.cb.State() == gobreaker.StateOpen }

// Allow asks to make one call. When the breaker lets it through, done
// must be told the call's outcome; otherwise the error wraps ErrOpen.
func (b *Breaker) Allow() (done func(err error), err error) {
	done, err = b.cb.Allow()
	if err != nil {
		return nil, openError{b.name}
	}
	return done, nil
}

// Do makes one call through the breaker.
func (b *Breaker) Do(call func() error) error {
	done, err := b.Allow()
	if err != nil {
		return err
	}
	err = call()
	done(err)
	return err
}

// Ping reports an open breaker as an error, for readiness checks.
func (b *Breaker) Ping(context.Context) error {
	if b.Open() {
		return fmt.Errorf("%w", openError{b.name})
	}
	return nil
}
