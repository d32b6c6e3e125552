package rawbody

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errValueTooLarge is what decodeFormPart answers past its limit.
var errValueTooLarge = errors.New("field too large")

// URLEncoded decodes an application/x-www-form-urlencoded body as a
// stream: the field named big is decoded straight into its own buffer up
// to maxBig bytes, every other field up to MaxFieldBytes, so the encoded
// body is never held in memory (url.ParseQuery would hold it, then its
// decoded copy). The first value of a repeated field wins, as with
// net/http's PostFormValue.
func (b Body) URLEncoded(big string, maxBig int64) (Form, error) {
	return decodeURLEncoded(b.Reader, big, maxBig, b.Size)
}

func decodeURLEncoded(body io.Reader, big string, maxBig, sizeHint int64) (Form, error) {
	r := bufio.NewReaderSize(body, 32<<10)
	fields := map[string]string{}
	var bigValue []byte
	haveBig := false
	for n := 0; ; n++ {
		if n == MaxFields {
			return Form{}, fmt.Errorf("the form has more than %d fields", MaxFields)
		}
		var key bytes.Buffer
		end, err := decodeFormPart(r, &key, 256, '=')
		if err != nil {
			return Form{}, readError(err, "a field name is malformed")
		}
		name := key.String()
		if end == endOfBody && name == "" {
			break
		}
		var value bytes.Buffer
		limit, isBig := int64(MaxFieldBytes), name == big && !haveBig
		if isBig {
			limit = maxBig
			if sizeHint > 0 {
				value.Grow(int(min(sizeHint, maxBig)))
			}
		}
		if end == '=' {
			end, err = decodeFormPart(r, &value, limit, 0)
			switch {
			case errors.Is(err, errValueTooLarge) && isBig:
				return Form{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, big, maxBig)
			case errors.Is(err, errValueTooLarge):
				return Form{}, fmt.Errorf("field %q is longer than %d bytes", name, MaxFieldBytes)
			case err != nil:
				return Form{}, readError(err, "field "+name+" is malformed")
			}
		}
		switch {
		case name == "":
		case isBig:
			bigValue, haveBig = value.Bytes(), true
		case name != big:
			if _, ok := fields[name]; !ok {
				fields[name] = value.String()
			}
		}
		if end == endOfBody {
			break
		}
	}
	return Form{Found: haveBig, File: bigValue, Fields: fields}, nil
}

// endOfBody is what decodeFormPart answers when the body ended a part.
const endOfBody = -1

// decodeFormPart percent-decodes bytes from r into w until '&', stop (when
// not 0) or the end of the body, and says which ended it (endOfBody for
// the end). More than limit decoded bytes is errValueTooLarge.
func decodeFormPart(r *bufio.Reader, w *bytes.Buffer, limit int64, stop byte) (int, error) {
	var n int64
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return endOfBody, nil
		}
		if err != nil {
			return 0, err
		}
		switch {
		case c == '&':
			return '&', nil
		case stop != 0 && c == stop:
			return int(stop), nil
		case c == '+':
			c = ' '
		case c == '%':
			hi, err1 := r.ReadByte()
			lo, err2 := r.ReadByte()
			if err := errors.Join(err1, err2); err != nil && !errors.Is(err, io.EOF) {
				return 0, err
			}
			h, ok1 := unhex(hi)
			l, ok2 := unhex(lo)
			if err1 != nil || err2 != nil || !ok1 || !ok2 {
				return 0, errors.New("malformed %-escape")
			}
			c = h<<4 | l
		}
		if n++; n > limit {
			return 0, errValueTooLarge
		}
		w.WriteByte(c)
	}
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
