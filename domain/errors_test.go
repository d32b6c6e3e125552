package domain

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorKindsAndMessages(t *testing.T) {
	gone := NewError(KindUpstream, "the store is unavailable; retry later")
	tests := []struct {
		name      string
		err       error
		kind      Kind
		public    string
		text      string
		sentinels []error
	}{
		{"sentinel wrapped with context", fmt.Errorf("doc 1: %w", ErrNotFound), KindNotFound, "document not found",
			"doc 1: document not found", []error{ErrNotFound}},
		{"case with its own message", Invalid("tenant %q is reserved", "system"), KindInvalid, `tenant "system" is reserved`,
			`tenant "system" is reserved`, []error{ErrInvalid}},
		{"case keeps what it formats with %w", Invalid("%w", io.ErrUnexpectedEOF), KindInvalid, "unexpected EOF",
			"unexpected EOF", []error{ErrInvalid, io.ErrUnexpectedEOF}},
		{"detail before the sentinel's message", ErrInvalidTransition.Detailf("reprocess document %s in status %s", "d", StatusPending),
			KindConflict, "reprocess document d in status PENDING: invalid state transition",
			"reprocess document d in status PENDING: invalid state transition", []error{ErrInvalidTransition}},
		{"hidden cause is logged, not shown", fmt.Errorf("upload: %w", gone.Wrap(io.ErrClosedPipe)), KindUpstream,
			"the store is unavailable; retry later", "upload: the store is unavailable; retry later: io: read/write on closed pipe",
			[]error{gone, io.ErrClosedPipe}},
		{"the outer case speaks", NewError(KindUpstream, "erased, not recorded").Wrap(gone.Wrap(io.EOF)), KindUpstream,
			"erased, not recorded", "erased, not recorded: the store is unavailable; retry later: EOF", []error{gone, io.EOF}},
		{"no kind", errors.New("boom"), KindInternal, "", "boom", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.kind {
				t.Errorf("kind = %v, want %v", got, tc.kind)
			}
			if got := PublicMessage(tc.err); got != tc.public {
				t.Errorf("public = %q, want %q", got, tc.public)
			}
			if got := tc.err.Error(); got != tc.text {
				t.Errorf("text = %q, want %q", got, tc.text)
			}
			for _, s := range tc.sentinels {
				if !errors.Is(tc.err, s) {
					t.Errorf("errors.Is(%v) = false", s)
				}
			}
			if errors.Is(tc.err, ErrUserNotFound) {
				t.Error("matches a sentinel it is no case of")
			}
		})
	}
}
