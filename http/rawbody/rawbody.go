// Package rawbody hands a request body to a huma handler unread, so that
// the handler streams it (uploads) or answers even a malformed one in its
// own shape (the e-receipt envelope) instead of huma's.
package rawbody

import (
	"io"

	"github.com/danielgtaylor/huma/v2"
)

// Body is the unread body and its Content-Type header.
type Body struct {
	Reader      io.Reader
	ContentType string
}

// Capture takes the body from a request; call it from an input's Resolve.
func (b *Body) Capture(ctx huma.Context) {
	b.Reader, b.ContentType = ctx.BodyReader(), ctx.Header("Content-Type")
}
