package ppocr

import (
	"context"
	"errors"
	"image"
	"image/draw"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tally/config"
)

// openModels opens the installed models (scripts/ocr-models.sh). Without
// them the test is skipped, unless TALLY_REQUIRE_OCR_MODELS is set, as CI
// sets it: there they must be installed.
func openModels(t *testing.T) *Reader {
	t.Helper()
	r, err := Open(Config{Dir: config.OCRModelsDirFromEnv()})
	if errors.Is(err, ErrNotInstalled) && os.Getenv("TALLY_REQUIRE_OCR_MODELS") == "" {
		t.Skipf("OCR models not installed (scripts/ocr-models.sh): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// testReceipt is the scanned receipt the extraction tests read too.
func testReceipt(t *testing.T) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "extract", "testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestReadReceipt(t *testing.T) {
	r := openModels(t)
	boxes, err := r.Read(context.Background(), testReceipt(t))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, b := range boxes {
		lines = append(lines, b.Text)
		if b.Conf <= 0 || b.Conf > 1 || b.MinX >= b.MaxX || b.MinY >= b.MaxY {
			t.Errorf("box %d = %+v: want a confidence in (0, 1] and a non-empty box", i, b)
		}
		if i > 0 && b.MinY < boxes[i-1].MinY {
			t.Errorf("box %d (%q) starts above box %d: want them by their top", i, b.Text, i-1)
		}
	}
	text := strings.Join(lines, "\n")
	// the words of a line come apart where the image has a gap ("SDN
	// BHD", "JALAN MAWAR"), and digits stay together
	for _, want := range []string{"CORNER", "HARDWARE", "SDN BHD", "JALAN MAWAR", "14/03/2018", "TOTAL", "25.00", "30.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("reading lacks %q:\n%s", want, text)
		}
	}
}

// A long receipt is detected a band of rows at a time: a line that a
// band's edge cuts must be read once, whole, not twice or in halves.
func TestReadLongReceiptInBands(t *testing.T) {
	r := openModels(t)
	one := testReceipt(t)
	// the receipt three times, one under the other, shifted by a few rows
	// so that band edges fall on different lines in each copy
	b := one.Bounds()
	const copies = 3
	long := image.NewGray(image.Rect(0, 0, b.Dx(), copies*b.Dy()+2*37))
	draw.Draw(long, long.Bounds(), image.White, image.Point{}, draw.Src)
	for i := range copies {
		at := image.Pt(0, i*(b.Dy()+37))
		draw.Draw(long, image.Rectangle{Min: at, Max: at.Add(b.Size())}, one, b.Min, draw.Src)
	}
	if w, h := detSize(long.Bounds().Dx(), long.Bounds().Dy()); h <= max(32, detStripPixels/w/32*32)+2*detStripContext {
		t.Fatalf("detector input %dx%d fits one band; the test needs several", w, h)
	}
	boxes, err := r.Read(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, b := range boxes {
		lines = append(lines, b.Text)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"HARDWARE", "SDN BHD", "14/03/2018", "TOTAL", "30.00"} {
		if n := strings.Count(text, want); n != copies {
			t.Errorf("reading has %q %d times, want %d:\n%s", want, n, copies, text)
		}
	}
}

func TestReadBlankImage(t *testing.T) {
	r := openModels(t)
	img := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	boxes, err := r.Read(context.Background(), img)
	if err != nil || len(boxes) != 0 {
		t.Fatalf("Read(blank) = %v, %v; want no lines", boxes, err)
	}
}

func TestOpenNotInstalled(t *testing.T) {
	if _, err := Open(Config{Dir: t.TempDir()}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}

func TestTextRegions(t *testing.T) {
	const w, h = 20, 10
	prob := make([]float32, w*h)
	set := func(x0, y0, x1, y1 int, p float32) {
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				prob[y*w+x] = p
			}
		}
	}
	set(1, 1, 8, 3, 0.9)   // a line
	set(12, 1, 18, 3, 0.4) // above the pixel threshold, too faint on the whole
	set(1, 6, 2, 6, 0.9)   // thinner than detMinHeight
	set(11, 6, 18, 8, 0.9) // a second line; must not join the first across the row's end
	got := textRegions(prob, w, h)
	want := []region{{1, 1, 8, 3}, {11, 6, 18, 8}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("textRegions = %+v, want %+v", got, want)
	}
}

func TestDecodeCTC(t *testing.T) {
	r := &Reader{keys: []string{"A", "B", " "}}
	// steps: A A blank A B B blank  -> "AAB" (a blank separates repeats)
	classes := 4
	argmax := []int{1, 1, 0, 1, 2, 2, 0}
	probs := make([]float32, len(argmax)*classes)
	for t, c := range argmax {
		probs[t*classes+c] = 0.9
	}
	var got string
	for _, g := range r.decode(probs, len(argmax), classes) {
		got += g.text
	}
	if got != "AAB" {
		t.Fatalf("decode = %q, want AAB", got)
	}
}

func TestSpaceBetween(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"A", "B", spaceFraction},
		{"A", "4", spaceFraction},
		{"4", "2", digitSpaceFraction},
		{".", "9", digitSpaceFraction},
	} {
		if got := spaceBetween(c.a, c.b); got != c.want {
			t.Errorf("spaceBetween(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if got := spaceBetween("(", "A"); got < 1e9 {
		t.Errorf("a space after an opening bracket: %v", got)
	}
	if got := spaceBetween("A", ","); got < 1e9 {
		t.Errorf("a space before a comma: %v", got)
	}
	cols := []bool{true, false, false, false, true, false, true}
	if got := widestGap(cols, 0, 6); got != 3 {
		t.Errorf("widestGap = %v, want 3", got)
	}
}

// toRGB reads the decoders' image types from their pixel arrays; the
// values must be those image.At gives, whatever the type.
func TestToRGBMatchesAt(t *testing.T) {
	r := image.Rect(3, 5, 40, 29)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	gray := image.NewGray(r)
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	gray16 := image.NewGray16(r) // no fast path: read through At
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 7)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*13), uint8(255-i*5)
	}
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 3)
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i], rgba.Pix[i] = uint8(i*11), uint8(i*5)
	}
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(i * 17)
	}
	for _, img := range []image.Image{ycc, gray, nrgba, rgba, gray16} {
		p, k := toRGB(img)
		if k != 1 || p.w != r.Dx() || p.h != r.Dy() {
			t.Fatalf("%T: %dx%d shrunk by %d, want %dx%d as it is", img, p.w, p.h, k, r.Dx(), r.Dy())
		}
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				cr, cg, cb, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
				i := 3 * (y*p.w + x)
				if got, want := [3]uint8{p.pix[i], p.pix[i+1], p.pix[i+2]}, [3]uint8{uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8)}; got != want {
					t.Fatalf("%T at (%d, %d) = %v, want %v", img, x, y, got, want)
				}
			}
		}
	}
}

// A photo larger than rgbMaxPixels is read shrunk, each pixel the mean of
// its block.
func TestToRGBShrinksLargeImages(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4001, 4001))
	for y := 0; y < 4001; y++ {
		for x := 0; x < 4001; x++ {
			img.Pix[y*4001+x] = uint8(100 * ((x + y) % 2)) // blocks of 2x2 average 50
		}
	}
	p, k := toRGB(img)
	if k != 2 || p.w != 2000 || p.h != 2000 {
		t.Fatalf("shrunk by %d to %dx%d, want by 2 to 2000x2000", k, p.w, p.h)
	}
	if p.pix[0] != 50 || p.pix[len(p.pix)-1] != 50 {
		t.Errorf("pixels %d and %d, want the blocks' mean 50", p.pix[0], p.pix[len(p.pix)-1])
	}
}

// A read waiting for its turn gives up when its context ends, and one
// whose context has ended does not start.
func TestReadGivesUpWhenContextEnds(t *testing.T) {
	r := openModels(t)
	img := testReceipt(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx, img); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with an ended context = %v, want context.Canceled", err)
	}
	// every place taken: the read waits, then gives up at its deadline
	for range cap(r.reading) {
		r.reading <- struct{}{}
	}
	defer func() {
		for range cap(r.reading) {
			<-r.reading
		}
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx, img); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read waiting for its turn = %v, want context.DeadlineExceeded", err)
	}
}

// ReadDecoded decodes when the read's turn comes: a read still waiting
// holds no pixels, and one that never gets its turn never decodes. A
// decoding error comes back as it is.
func TestReadDecodedDecodesInTurn(t *testing.T) {
	r := openModels(t)
	img := testReceipt(t)
	unreadable := errors.New("not an image")
	if _, err := r.ReadDecoded(context.Background(), func() (image.Image, error) { return nil, unreadable }); !errors.Is(err, unreadable) {
		t.Fatalf("ReadDecoded of an undecodable image = %v, want its decoding error", err)
	}
	for range cap(r.reading) {
		r.reading <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	decoded := false
	_, err := r.ReadDecoded(ctx, func() (image.Image, error) { decoded = true; return img, nil })
	for range cap(r.reading) {
		<-r.reading
	}
	if !errors.Is(err, context.DeadlineExceeded) || decoded {
		t.Fatalf("ReadDecoded waiting for its turn = %v, decoded %v; want context.DeadlineExceeded without decoding", err, decoded)
	}
	boxes, err := r.ReadDecoded(context.Background(), func() (image.Image, error) { decoded = true; return img, nil })
	if err != nil || !decoded || len(boxes) == 0 {
		t.Fatalf("ReadDecoded in its turn: %d boxes, decoded %v, error %v", len(boxes), decoded, err)
	}
}

// Recognition reads each box from its own copied part of the image: the
// recogniser's input and the ink columns made from the part are the whole
// image's, bit for bit, for boxes inside it and at each of its edges.
func TestCropLinesReadAsTheWholeImage(t *testing.T) {
	p := rgb{w: 300, h: 200, pix: make([]uint8, 3*300*200)}
	for i := range p.pix {
		p.pix[i] = uint8((i*7919 + i/3*31) % 251)
	}
	boxes := []Box{
		{MinX: 10, MinY: 20, MaxX: 120, MaxY: 41},    // inside
		{MinX: 0, MinY: 0, MaxX: 37, MaxY: 9},        // the top left corner
		{MinX: 250, MinY: 180, MaxX: 300, MaxY: 200}, // the bottom right corner
		{MinX: 5, MinY: 100, MaxX: 295, MaxY: 103},   // long and thin: squeezed
	}
	parts := cropLines(p, boxes)
	for i, b := range boxes {
		if parts[i].pix == nil || len(parts[i].pix) >= len(p.pix) {
			t.Fatalf("box %d: part of %d bytes, want a copy smaller than the image's %d", i, len(parts[i].pix), len(p.pix))
		}
		for _, width := range []int{recMinWidth, 320, recMaxWidth} {
			whole, part := make([]float32, 3*recHeight*width), make([]float32, 3*recHeight*width)
			fillLine(whole, p, b, width)
			fillLine(part, parts[i], b, width)
			for j := range whole {
				if whole[j] != part[j] {
					t.Fatalf("box %d, width %d: input %d is %v from the part, %v from the image", i, width, j, part[j], whole[j])
				}
			}
		}
		wc, wh := inkColumns(p, b)
		pc, ph := inkColumns(parts[i], b)
		if wh != ph || len(wc) != len(pc) {
			t.Fatalf("box %d: text height %d over %d columns from the part, %d over %d from the image", i, ph, len(pc), wh, len(wc))
		}
		for x := range wc {
			if wc[x] != pc[x] {
				t.Fatalf("box %d: column %d inked %v from the part, %v from the image", i, x, pc[x], wc[x])
			}
		}
	}
}

// Boxes that cover most of the image are read from the image itself: a
// copy of each would cost more memory than it frees.
func TestCropLinesKeepsTheImageForManyBoxes(t *testing.T) {
	p := rgb{w: 100, h: 100, pix: make([]uint8, 3*100*100)}
	boxes := []Box{{MinX: 0, MinY: 0, MaxX: 100, MaxY: 60}, {MinX: 0, MinY: 50, MaxX: 100, MaxY: 100}}
	for i, part := range cropLines(p, boxes) {
		if part.w != p.w || part.h != p.h || &part.pix[0] != &p.pix[0] {
			t.Fatalf("box %d: read from a %dx%d copy, want the image itself", i, part.w, part.h)
		}
	}
}
