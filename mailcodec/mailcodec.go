// Package mailcodec decodes e-mail bodies leniently, the way mail clients
// actually write them: a base64 body with spaces or stray characters in it
// still decodes instead of stopping at the first odd byte.
package mailcodec

import (
	"encoding/base64"
	"io"
)

// Base64Reader decodes a base64 body, skipping every byte that is not part
// of the base64 alphabet (the standard decoder skips only CR and LF).
func Base64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
}

type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil || n == 0 {
			return j, err
		}
	}
}
