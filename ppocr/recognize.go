package ppocr

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Recognition settings: the recogniser reads lines 48 pixels high; lines
// are read in batches of similar width, padded to at least recMinWidth
// and cut at recMaxWidth (a line longer than that is squeezed, not
// dropped); a batch holds at most recBatch lines and recBatchWidth pixels
// of padded width.
const (
	recHeight     = 48
	recMinWidth   = 64
	recMaxWidth   = 1920
	recBatch      = 8
	recBatchWidth = 2048
)

// recognize reads the text of each box from its part of the image,
// lines[i] for boxes[i], and fills in Text and Conf.
func (r *Reader) recognize(ctx context.Context, lines []rgb, boxes []Box) error {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	ratio := func(b Box) float64 { return float64(b.MaxX-b.MinX) / float64(max(1, b.MaxY-b.MinY)) }
	sort.Slice(order, func(i, j int) bool { return ratio(boxes[order[i]]) < ratio(boxes[order[j]]) })
	// one input buffer for every batch: a batch's padded width is at most
	// recBatchWidth (one line alone, at most recMaxWidth)
	buf := make([]float32, 3*recHeight*max(recBatchWidth, recMaxWidth))
	for start := 0; start < len(order); {
		if err := ctx.Err(); err != nil {
			return err
		}
		// the batch grows while its lines, padded to its widest, fit
		// recBatchWidth: the recogniser's output holds a score for each
		// of its 6,600 characters per 8 pixels of width, so a batch of
		// eight long lines alone would take 50 MB
		n, width := 0, recMinWidth
		for n < recBatch && start+n < len(order) {
			w := min(recMaxWidth, max(width, int(math.Ceil(recHeight*ratio(boxes[order[start+n]])))))
			if n > 0 && (n+1)*w > recBatchWidth {
				break
			}
			n, width = n+1, w
		}
		batch := order[start : start+n]
		start += n
		in := buf[:len(batch)*3*recHeight*width]
		clear(in) // fillLine leaves the padding as it finds it
		for k, i := range batch {
			fillLine(in[k*3*recHeight*width:(k+1)*3*recHeight*width], lines[i], boxes[i], width)
		}
		err := r.rec.run(in, []int64{int64(len(batch)), 3, recHeight, int64(width)}, func(out tensor) error {
			if len(out.shape) != 3 || out.shape[0] != int64(len(batch)) || out.shape[2] != int64(len(r.keys)+1) {
				return fmt.Errorf("ppocr: recogniser answered shape %v; %d characters listed", out.shape, len(r.keys))
			}
			steps, classes := int(out.shape[1]), int(out.shape[2])
			for k, i := range batch {
				b := boxes[i]
				gs := r.decode(out.data[k*steps*classes:(k+1)*steps*classes], steps, classes)
				// one step covers width/steps pixels of the line as scaled,
				// which is the box's width over its scaled width
				scaled := min(width, max(1, int(math.Ceil(recHeight*ratio(b)))))
				scale := float64(width) / float64(steps) * float64(b.MaxX-b.MinX) / float64(scaled)
				boxes[i].Text, boxes[i].Conf = lineText(lines[i], b, gs, scale)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fillLine scales box b of p to recHeight pixels high, keeping its aspect
// (squeezed to width if longer), normalises it to [-1, 1] in BGR order
// and leaves the rest of the width zero, as the recogniser was trained.
func fillLine(dst []float32, p rgb, b Box, width int) {
	bw, bh := float64(b.MaxX-b.MinX), float64(b.MaxY-b.MinY)
	if bw <= 0 || bh <= 0 {
		return
	}
	w := min(width, max(1, int(math.Ceil(recHeight*bw/bh))))
	sx, sy := bw/float64(w), bh/recHeight
	plane := recHeight * width
	for y := 0; y < recHeight; y++ {
		fy := float64(b.MinY) + (float64(y)+0.5)*sy - 0.5
		for x := 0; x < w; x++ {
			fx := float64(b.MinX) + (float64(x)+0.5)*sx - 0.5
			for c := 0; c < 3; c++ {
				v := float32(p.sample(fx, fy, 2-c)) / 255
				dst[c*plane+y*width+x] = (v - 0.5) / 0.5
			}
		}
	}
}

// glyph is one character the recogniser read, at step step of its output.
type glyph struct {
	text string
	step int
	prob float32
}

// decode is CTC's greedy decoding: the likeliest class at each step,
// repeats merged, blanks (class 0) dropped.
func (r *Reader) decode(probs []float32, steps, classes int) []glyph {
	var out []glyph
	prev := -1
	for t := 0; t < steps; t++ {
		row := probs[t*classes : (t+1)*classes]
		best, bp := 0, row[0]
		for c, v := range row {
			if v > bp {
				best, bp = c, v
			}
		}
		if best != 0 && best != prev {
			out = append(out, glyph{text: r.keys[best-1], step: t, prob: bp})
		}
		prev = best
	}
	return out
}

// A run of blank columns between two characters at least this fraction
// of the text's height is a space between words. The recogniser was
// trained mostly on Chinese, which has no spaces, and often runs Latin
// words together; the page itself still shows where one word ends.
// Receipt printers set digits wide apart, so between two characters
// neither of which is a letter ("10", "174.90", "2018 10:50") the gap
// must be twice as wide.
const (
	spaceFraction      = 0.3
	digitSpaceFraction = 0.6
)

// spaceBetween is the gap, as a fraction of the text's height, that
// separates characters a and b into two words.
func spaceBetween(a, b string) float64 {
	if strings.ContainsAny(a, "([{") || strings.ContainsAny(b, ")]},.;:") {
		return math.Inf(1)
	}
	if isLetter(a) || isLetter(b) {
		return spaceFraction
	}
	return digitSpaceFraction
}

func isLetter(s string) bool {
	for _, r := range s {
		return unicode.IsLetter(r)
	}
	return false
}

// lineText joins the glyphs read from box b, putting a space wherever the
// image has a word gap between two of them, and gives the mean
// probability of the characters. scale is how many of the box's pixels
// one output step covers.
func lineText(p rgb, b Box, gs []glyph, scale float64) (string, float64) {
	if len(gs) == 0 {
		return "", 0
	}
	cols, height := inkColumns(p, b)
	// gaps[i]: the widest blank run between glyph i-1 and glyph i
	gaps := make([]float64, len(gs))
	var between []float64
	for i := 1; i < len(gs); i++ {
		x0 := int((float64(gs[i-1].step) + 0.5) * scale)
		x1 := int((float64(gs[i].step) + 0.5) * scale)
		gaps[i] = widestGap(cols, x0, x1)
		if isLetter(gs[i-1].text) && isLetter(gs[i].text) {
			between = append(between, gaps[i])
		}
	}
	// Most neighbouring letters of a line belong to one word, so their
	// median gap is the font's letter spacing; a word gap is well beyond
	// it. Fonts set wide apart would otherwise read as s p a c e d.
	letterGap := 0.0
	if len(between) >= 3 {
		sort.Float64s(between)
		letterGap = between[len(between)/2]
	}
	var sb strings.Builder
	var sum float64
	for i, g := range gs {
		if i > 0 && g.text != " " && gs[i-1].text != " " && height > 0 {
			need := max(spaceBetween(gs[i-1].text, g.text)*float64(height), wordGapFactor*letterGap)
			if gaps[i] >= need {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(g.text)
		sum += float64(g.prob)
	}
	// the recogniser sometimes reads a space before a comma or a full stop,
	// which print never has
	text := strings.NewReplacer(" ,", ",", " .", ".").Replace(norm.NFKC.String(sb.String()))
	return text, sum / float64(len(gs))
}

// wordGapFactor: a gap between words is at least this many times the
// line's usual gap between letters.
const wordGapFactor = 2.5

// inkColumns marks the columns of box b that hold ink (pixels darker than
// Otsu's threshold of the box; lighter, when the text is light on dark)
// and measures the height of the text: the rows holding at least a tenth
// of the busiest row's ink.
func inkColumns(p rgb, b Box) ([]bool, int) {
	w, h := b.MaxX-b.MinX, b.MaxY-b.MinY
	if w <= 0 || h <= 0 {
		return nil, 0
	}
	gray := make([]uint8, w*h)
	var hist [256]int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * ((b.MinY-p.y0+y)*p.w + b.MinX - p.x0 + x)
			v := uint8((int(p.pix[i])*299 + int(p.pix[i+1])*587 + int(p.pix[i+2])*114) / 1000)
			gray[y*w+x] = v
			hist[v]++
		}
	}
	t := otsu(hist[:], w*h)
	dark := 0
	for v := 0; v <= int(t); v++ {
		dark += hist[v]
	}
	inkIsDark := dark*2 <= w*h
	cols := make([]bool, w)
	rows := make([]int, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (gray[y*w+x] <= t) == inkIsDark {
				cols[x] = true
				rows[y]++
			}
		}
	}
	busiest := 0
	for _, n := range rows {
		busiest = max(busiest, n)
	}
	first, last := -1, -1
	for y, n := range rows {
		if n > 0 && n*10 >= busiest {
			if first < 0 {
				first = y
			}
			last = y
		}
	}
	if first < 0 {
		return cols, 0
	}
	return cols, last - first + 1
}

// otsu is the grey level that best splits the histogram into two classes.
func otsu(hist []int, total int) uint8 {
	var sumAll float64
	for v, n := range hist {
		sumAll += float64(v * n)
	}
	var sumB, wB float64
	best, bestVar := 0, -1.0
	for v, n := range hist {
		wB += float64(n)
		if wB == 0 {
			continue
		}
		wF := float64(total) - wB
		if wF == 0 {
			break
		}
		sumB += float64(v * n)
		mB, mF := sumB/wB, (sumAll-sumB)/wF
		if between := wB * wF * (mB - mF) * (mB - mF); between > bestVar {
			best, bestVar = v, between
		}
	}
	return uint8(best)
}

// widestGap is the longest run of inkless columns strictly between x0 and
// x1.
func widestGap(cols []bool, x0, x1 int) float64 {
	run, widest := 0, 0
	for x := max(x0+1, 0); x < min(x1, len(cols)); x++ {
		if cols[x] {
			run = 0
			continue
		}
		run++
		widest = max(widest, run)
	}
	return float64(widest)
}
