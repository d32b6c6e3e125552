package mailcodec

import (
	"io"
	"strings"
	"testing"
)

func TestBase64Reader(t *testing.T) {
	cases := map[string]string{
		"SGVsbG8s\r\nIHdvcmxk":     "Hello, world",
		"SGVs bG8s\tIHdv*cmxk\r\n": "Hello, world",
		"":                         "",
		"SGVsbG8=\r\n\r\n  \r\n":   "Hello",
	}
	for in, want := range cases {
		got, err := io.ReadAll(Base64Reader(strings.NewReader(in)))
		if err != nil || string(got) != want {
			t.Errorf("Base64Reader(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzBase64Reader(f *testing.F) {
	f.Add([]byte("SGVs bG8s\tIHdv*cmxk"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = io.ReadAll(Base64Reader(strings.NewReader(string(in))))
	})
}
