package rawbody

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

func TestURLEncoded(t *testing.T) {
	for _, c := range []struct {
		body    string
		big     string
		fields  map[string]string
		wantErr string
	}{
		{body: "", fields: map[string]string{}},
		{body: "eml_data=a+b%20c%26&provider=gmail", big: "a b c&", fields: map[string]string{"provider": "gmail"}},
		{body: "provider=x&provider=y&eml_data=1&eml_data=2", big: "1", fields: map[string]string{"provider": "x"}},
		{body: "flag&eml_data=%41", big: "A", fields: map[string]string{"flag": ""}},
		{body: "eml_data=%4", wantErr: "malformed"},
		{body: "eml_data=%zz", wantErr: "malformed"},
		{body: "eml_data=" + strings.Repeat("x", 101), wantErr: "larger than"},
		{body: "other=" + strings.Repeat("x", MaxFieldBytes+1), wantErr: "longer than"},
		{body: strings.Repeat("a=1&", MaxFields+1), wantErr: "more than"},
		{body: strings.Repeat("k", 257) + "=1", wantErr: "field name"},
	} {
		f, err := decodeURLEncoded(strings.NewReader(c.body), "eml_data", 100, int64(len(c.body)))
		big, fields := f.File, f.Fields
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%.40q: err %v, want %q", c.body, err, c.wantErr)
			}
			continue
		}
		if err != nil || string(big) != c.big || len(fields) != len(c.fields) {
			t.Errorf("%.40q: %q %v %v", c.body, big, fields, err)
		}
		for k, v := range c.fields {
			if fields[k] != v {
				t.Errorf("%.40q: field %s = %q, want %q", c.body, k, fields[k], v)
			}
		}
	}
}

// The URL-encoded decoder agrees with net/url on what both accept.
func FuzzURLEncoded(f *testing.F) {
	f.Add("eml_data=a+b%20c&provider=gmail&x")
	f.Add("a=%&b")
	f.Add("&&=&eml_data=%ff")
	f.Fuzz(func(t *testing.T, body string) {
		f, err := decodeURLEncoded(strings.NewReader(body), "eml_data", 1<<20, 0)
		big, fields := f.File, f.Fields
		if err != nil {
			return
		}
		want, werr := url.ParseQuery(body)
		if werr != nil {
			return // net/url refuses ';' and other things this decoder lets pass
		}
		if got := want.Get("eml_data"); got != string(big) {
			t.Fatalf("eml_data %q, net/url %q", big, got)
		}
		for k, v := range fields {
			if want.Get(k) != v {
				t.Fatalf("%s = %q, net/url %q", k, v, want.Get(k))
			}
		}
	})
}

// A large field is read into one buffer sized by the body's length and
// the limit.
func TestLargeFieldIsAllocatedOnce(t *testing.T) {
	eml := strings.Repeat("=\x01", 1<<19)
	encoded := url.Values{"eml_data": {eml}}.Encode()
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("eml_data", "m.eml")
	_, _ = io.WriteString(fw, eml)
	_ = w.Close()
	for _, b := range []Body{
		{Reader: strings.NewReader(encoded), ContentType: "application/x-www-form-urlencoded", Size: int64(len(encoded))},
		{Reader: bytes.NewReader(mp.Bytes()), ContentType: w.FormDataContentType(), Size: int64(mp.Len())},
	} {
		var f Form
		var err error
		if strings.HasPrefix(b.ContentType, "multipart") {
			f, err = b.Multipart("eml_data", 1<<20)
		} else {
			f, err = b.URLEncoded("eml_data", 1<<20)
		}
		if err != nil || string(f.File) != eml {
			t.Fatalf("%s: %v, %d bytes", b.ContentType, err, len(f.File))
		}
		// Sized by the body (at most the limit) and rounded to a size class,
		// not grown by steps with slack.
		if c := cap(f.File); c > int(b.Size)+16<<10 || c > 1<<20+16<<10 {
			t.Errorf("%s: a %d-byte field in a buffer of %d", b.ContentType, len(f.File), c)
		}
	}
}

func FuzzMultipart(f *testing.F) {
	f.Add("--b\r\nContent-Disposition: form-data; name=\"eml_data\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\ny\r\n--b--\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := Body{Reader: strings.NewReader(body), ContentType: "multipart/form-data; boundary=b"}.Multipart("eml_data", 1<<10)
		if err != nil {
			return
		}
		if len(form.File) > 1<<10 || len(form.Fields) > MaxFields {
			t.Fatalf("limits passed: %d bytes, %d fields", len(form.File), len(form.Fields))
		}
	})
}
