// Package rawbody hands a request body to a huma handler unread, so that
// the handler streams it (uploads) or answers even a malformed one in its
// own shape (the e-receipt envelope) instead of huma's. Its readers decode
// forms as they arrive: only the one large field (the document or e-mail)
// is kept, in a buffer allocated once, never the encoded body.
package rawbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	stdhttp "net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Body is the unread body, its Content-Type header and its length.
type Body struct {
	Reader      io.Reader
	ContentType string
	// Size is the Content-Length, or 0 when unknown: a hint that sizes the
	// large field's buffer once (a field is never longer than the body).
	Size int64
}

// Capture takes the body from a request; call it from an input's Resolve.
func (b *Body) Capture(ctx huma.Context) {
	b.Reader, b.ContentType = ctx.BodyReader(), ctx.Header("Content-Type")
	b.Size, _ = strconv.ParseInt(ctx.Header("Content-Length"), 10, 64)
}

// Limits of the small fields of a form.
const (
	MaxFieldBytes = 4 << 10
	MaxFields     = 100
)

// ErrTooLarge is wrapped by every error of a body or field past its limit
// (the request's MaxBytesReader included); other errors say, for the
// client, what is malformed.
var ErrTooLarge = errors.New("too large")

// Form is a decoded form: the one large field and the small ones.
type Form struct {
	// Found says whether the large field was there; File is its value
	// and Filename its part's file name (multipart only).
	Found    bool
	File     []byte
	Filename string
	Fields   map[string]string
}

// Multipart streams a multipart/form-data body: the part named big (a
// file or a plain value) up to maxBig bytes, the other named parts as
// small fields (trimmed), nothing else kept.
func (b Body) Multipart(big string, maxBig int64) (Form, error) {
	mediaType, params, err := mime.ParseMediaType(b.ContentType)
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return Form{}, fmt.Errorf("the request must be multipart/form-data with a field named %q", big)
	}
	r := multipart.NewReader(b.Reader, params["boundary"])
	f := Form{Fields: map[string]string{}}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Form{}, readError(err, "the multipart body is malformed")
		}
		name := part.FormName()
		switch {
		case name == big:
			if f.Found {
				return Form{}, fmt.Errorf("send exactly one %s field", big)
			}
			f.Found, f.Filename = true, part.FileName()
			if f.File, err = ReadAll(part, maxBig, b.Size); err != nil {
				return Form{}, readError(err, "reading "+big+" failed")
			}
			if int64(len(f.File)) > maxBig {
				return Form{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, big, maxBig)
			}
		case name != "":
			if len(f.Fields) == MaxFields {
				return Form{}, fmt.Errorf("the form has more than %d fields", MaxFields)
			}
			v, err := io.ReadAll(io.LimitReader(part, MaxFieldBytes+1))
			if err != nil {
				return Form{}, readError(err, "reading field "+name+" failed")
			}
			if len(v) > MaxFieldBytes {
				return Form{}, fmt.Errorf("field %q is longer than %d bytes", name, MaxFieldBytes)
			}
			f.Fields[name] = strings.TrimSpace(string(v))
		}
		part.Close()
	}
	return f, nil
}

// ReadAll reads r up to max+1 bytes into a buffer allocated once for
// sizeHint bytes (at most max+1), where io.ReadAll would grow it step by
// step and briefly hold about twice the data.
func ReadAll(r io.Reader, max, sizeHint int64) ([]byte, error) {
	var buf bytes.Buffer
	if sizeHint > 0 {
		buf.Grow(int(min(sizeHint, max+1)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	return buf.Bytes(), err
}

// readError wraps a read past the request's limit in ErrTooLarge and
// says what was malformed otherwise.
func readError(err error, what string) error {
	var mbe *stdhttp.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: the request body is larger than %d bytes", ErrTooLarge, mbe.Limit)
	}
	return fmt.Errorf("%s: %v", what, err)
}
