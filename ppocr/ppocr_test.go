package ppocr

import (
	"errors"
	"image"
	"image/draw"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestReadReceipt(t *testing.T) {
	r := openModels(t)
	f, err := os.Open(filepath.Join("..", "extract", "testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := r.Read(img)
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
	f, err := os.Open(filepath.Join("..", "extract", "testdata", "receipt.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	one, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
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
	boxes, err := r.Read(long)
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
	boxes, err := r.Read(img)
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
