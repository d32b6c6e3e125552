package ereceipts

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"tally/http/rawbody"
)

// allocatedBy is how many bytes f allocates on the heap.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// create_job reads its form as a stream: the encoded body (up to three
// times the e-mail) is never held, only the decoded e-mail.
func TestJobFormIsReadAsAStream(t *testing.T) {
	const size = 1 << 20
	r := &routes{Deps{MaxFileSize: size}}
	eml := "To: ann@example.com\r\n\r\n" + strings.Repeat("=\x01", (size-30)/2)
	encoded := url.Values{"eml_data": {eml}, "provider": {"gmail"}}.Encode()
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("provider", "gmail")
	fw, _ := w.CreateFormFile("eml_data", "m.eml")
	_, _ = io.WriteString(fw, eml)
	_ = w.Close()
	for _, c := range []struct {
		name, contentType string
		body              []byte
	}{
		{"urlencoded", "application/x-www-form-urlencoded", []byte(encoded)},
		{"multipart", w.FormDataContentType(), mp.Bytes()},
	} {
		var form jobForm
		var fail *failure
		n := allocatedBy(func() {
			form, fail = r.readJobForm(rawbody.Body{Reader: bytes.NewReader(c.body), ContentType: c.contentType, Size: int64(len(c.body))})
		})
		if fail != nil || string(form.eml) != eml || form.job.Provider != "gmail" {
			t.Fatalf("%s: %v, provider %q, %d bytes of e-mail", c.name, fail, form.job.Provider, len(form.eml))
		}
		// The e-mail's buffer is allocated once, sized by the body's
		// length and the e-mail limit (the race detector's build makes
		// it twice; holding the whole body took three to twelve times).
		if limit := uint64(len(eml)) * 5 / 2; n > limit {
			t.Errorf("%s: reading a %d-byte e-mail (%d-byte body) allocated %d bytes, want at most %d",
				c.name, len(eml), len(c.body), n, limit)
		}
	}
}

func TestJobFormTooLarge(t *testing.T) {
	r := &routes{Deps{MaxFileSize: 1000}}
	for _, body := range []rawbody.Body{
		{Reader: strings.NewReader(url.Values{"eml_data": {strings.Repeat("x", 1001)}}.Encode()), ContentType: "application/x-www-form-urlencoded"},
		{Reader: strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"eml_data\"\r\n\r\n" + strings.Repeat("x", 1001) + "\r\n--b--\r\n"),
			ContentType: "multipart/form-data; boundary=b"},
	} {
		if _, fail := r.readJobForm(body); fail == nil || fail.status != 413 || fail.code != codeTooLarge {
			t.Errorf("%s: %+v, want 413 %d", body.ContentType, fail, codeTooLarge)
		}
	}
}
