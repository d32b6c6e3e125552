package http_test

import (
	"bytes"
	"image"
	"image/png"
)

func pngBytes() []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4)))
	return buf.Bytes()
}
