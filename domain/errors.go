package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong in terms a caller can act on. It is the only
// thing an adapter (the HTTP API, a worker) needs to know about an error to
// answer it: every package returns its refusals as an *Error of a kind, and
// one function per adapter maps kinds to answers.
type Kind uint8

const (
	// KindInternal is a fault of Tally itself; the caller can only report it.
	KindInternal Kind = iota
	// KindInvalid: the request itself is wrong; retrying cannot help.
	KindInvalid
	// KindUnprocessable: the request is well formed but what it names
	// cannot be used (an endpoint URL, a mailbox that refuses the login).
	KindUnprocessable
	// KindNotFound: what the request names does not exist for its tenant.
	KindNotFound
	// KindConflict: the request does not fit the current state.
	KindConflict
	// KindForbidden: the caller may not do this.
	KindForbidden
	// KindTooMany: the caller sent too much too fast; retry later.
	KindTooMany
	// KindUnavailable: a store that only serves (the database, the scrape
	// queue) is down; retry later.
	KindUnavailable
	// KindUpstream: a store that had to take or give the request's data
	// (the blob store, the event store) failed; nothing was recorded.
	KindUpstream
)

var kindNames = [...]string{"internal", "invalid", "unprocessable", "not found", "conflict", "forbidden", "too many", "unavailable", "upstream"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is an error with a kind and a message fit to show whoever sent the
// request. Packages declare their sentinels with NewError and return cases
// of them (Newf, Wrap), so that callers branch with errors.Is on the
// sentinel and adapters answer from Kind and Msg without parsing text.
type Error struct {
	Kind Kind
	// Msg is what the caller is told. It never holds secrets or personal
	// data beyond what the caller sent.
	Msg string
	// err is the chain below: the formatted detail of Newf or the hidden
	// cause of Wrap.
	err error
	// hidden: err is a cause for logs only, so Error adds it to Msg.
	hidden bool
	// is is the sentinel this error is a case of.
	is *Error
	// RetryAfter, when set, is how long the caller should wait before
	// trying again (KindTooMany, KindUnavailable).
	RetryAfter time.Duration
}

// NewError declares a sentinel of a kind.
func NewError(kind Kind, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// Newf returns a case of the sentinel whose message is the formatted text,
// all of it public; errors wrapped with %w stay matchable by errors.Is.
func (s *Error) Newf(format string, args ...any) *Error {
	w := fmt.Errorf(format, args...)
	return &Error{Kind: s.Kind, Msg: w.Error(), err: w, is: s}
}

// Detailf returns a case of the sentinel whose message is the formatted
// detail followed by the sentinel's own message ("reprocess document 0192…
// in status PENDING: invalid state transition"), all of it public.
func (s *Error) Detailf(format string, args ...any) *Error {
	return &Error{Kind: s.Kind, Msg: fmt.Sprintf(format, args...) + ": " + s.Msg, is: s}
}

// Wrap returns a case of the sentinel with its message and a cause that is
// logged but never shown (a driver's error, a host name).
func (s *Error) Wrap(cause error) *Error {
	return &Error{Kind: s.Kind, Msg: s.Msg, err: cause, hidden: true, is: s}
}

// Retry returns the error with the wait a caller should keep before
// trying again.
func (e *Error) Retry(after time.Duration) *Error {
	c := *e
	c.RetryAfter = after
	if e.is == nil {
		c.is = e // a sentinel's copy is still a case of it
	}
	return &c
}

func (e *Error) Error() string {
	if e.hidden && e.err != nil {
		return e.Msg + ": " + e.err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() []error {
	var chain []error
	if e.err != nil {
		chain = append(chain, e.err)
	}
	if e.is != nil {
		chain = append(chain, e.is)
	}
	return chain
}

// KindOf returns the kind of the first *Error in err's chain; KindInternal
// when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// PublicMessage returns the message of the first *Error in err's chain;
// "" when there is none (nothing about the error may be shown).
func PublicMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}

// Errors of the input every command shares.
var (
	// ErrInvalid is the sentinel of every refused input; its cases carry
	// their own message.
	ErrInvalid = NewError(KindInvalid, "invalid input")
)

// Invalid returns a case of ErrInvalid saying what is wrong.
func Invalid(format string, args ...any) *Error { return ErrInvalid.Newf(format, args...) }
