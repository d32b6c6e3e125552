package extract

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestUpscaleForSmallWordsOnly(t *testing.T) {
	reading := func(heights ...int) ocrReading {
		var ws []tsvWord
		for _, h := range heights {
			ws = append(ws, tsvWord{text: "w", height: h})
		}
		return ocrReading{lines: []ocrLine{{words: ws}}}
	}
	for _, c := range []struct {
		r    ocrReading
		want float64
	}{
		{reading(12, 12, 40), 2},     // median 12: to 24
		{reading(30, 28, 29), 0},     // large enough
		{reading(3, 3, 3), maxScale}, // capped
		{ocrReading{}, 0},            // no words
		{reading(0, 0, 0), 0},        // no heights
	} {
		if got := upscaleFor(c.r, 100, 100, 1_000_000); got != c.want {
			t.Errorf("upscaleFor(%v) = %v, want %v", c.r.lines, got, c.want)
		}
	}
	if got := upscaleFor(reading(12), 1000, 1000, 2_000_000); got != 0 {
		t.Errorf("an image that would exceed MaxPixels is scaled by %v", got)
	}
}

func TestScaledGray(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	src.Set(0, 0, color.NRGBA{0, 0, 0, 255})       // black
	src.Set(3, 1, color.NRGBA{255, 255, 255, 255}) // white
	// (1,0) stays transparent: paper, so white.
	var b bytes.Buffer
	if err := png.Encode(&b, src); err != nil {
		t.Fatal(err)
	}
	out, err := scaledGray(b.Bytes(), 2.5)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%T, want *image.Gray", img)
	}
	if g.Bounds().Dx() != 10 || g.Bounds().Dy() != 5 {
		t.Fatalf("size %v, want 10x5", g.Bounds())
	}
	if v := g.GrayAt(0, 0).Y; v != 0 {
		t.Errorf("black corner reads %d", v)
	}
	if v := g.GrayAt(9, 4).Y; v != 255 {
		t.Errorf("white corner reads %d", v)
	}
	if v := g.GrayAt(5, 0).Y; v < 200 {
		t.Errorf("transparent pixel reads %d, want paper white", v)
	}
	if _, err := scaledGray([]byte("not an image"), 2); err == nil {
		t.Error("garbage scaled")
	}
}
