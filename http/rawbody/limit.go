package rawbody

import (
	"errors"
	stdhttp "net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// DefaultLimit bounds the body of an operation that sets no MaxBodyBytes
// (huma's own default for the bodies it decodes).
const DefaultLimit = 1 << 20

// Limit is a huma middleware that makes every operation's MaxBodyBytes
// hold while the body is read, for the routes that read it raw (uploads,
// create_job) as for those huma decodes: a body is never buffered first
// and measured after. Past the limit a read fails with
// *http.MaxBytesError (TooLarge), which each route answers with 413, and
// the connection is closed after the answer.
func Limit(ctx huma.Context, next func(huma.Context)) {
	limit := int64(DefaultLimit)
	if op := ctx.Operation(); op != nil && op.MaxBodyBytes > 0 {
		limit = op.MaxBodyBytes
	}
	if r, w := humago.Unwrap(ctx); r != nil && r.Body != nil {
		r.Body = stdhttp.MaxBytesReader(w, r.Body, limit)
	}
	next(ctx)
}

// TooLarge says whether err is a read past the body's limit.
func TooLarge(err error) bool {
	var mbe *stdhttp.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, ErrTooLarge)
}
