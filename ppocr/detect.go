package ppocr

import (
	"context"
	"fmt"
	"math"
)

// Detection settings, PP-OCR's defaults for its DB detector except the
// size: receipts are long and narrow, so the image is scaled by its
// shorter side (text stays tall enough to find) with a cap on the longer
// one (the detector's cost grows with the pixel count).
const (
	detMinSide   = 736  // the shorter side is scaled to about this
	detMaxSide   = 1840 // and the longer side never beyond this
	detThreshold = 0.3  // a pixel is text when its probability is above this
	detBoxScore  = 0.6  // a region is a line when its mean probability is above this
	detUnclip    = 1.5  // DB shrinks lines when it learns them; grow them back by this
	detMinHeight = 3    // regions thinner than this (in detector pixels) are noise

	// the detector reads bands of about this many pixels (rows a multiple
	// of 32) with this many rows of context on either side
	detStripPixels  = 736 * 384
	detStripContext = 64
)

// The detector was trained on images normalised by ImageNet's channel
// means and deviations, in OpenCV's BGR channel order.
var (
	detMean = [3]float32{0.485, 0.456, 0.406}
	detStd  = [3]float32{0.229, 0.224, 0.225}
)

// detSize is the detector's input size for an image: a multiple of 32 on
// each side, as the network's strides need.
func detSize(w, h int) (int, int) {
	scale := float64(detMinSide) / float64(min(w, h))
	if l := float64(max(w, h)) * scale; l > detMaxSide {
		scale = detMaxSide / float64(max(w, h))
	}
	round := func(v float64) int { return max(32, int(math.Round(v/32))*32) }
	return round(float64(w) * scale), round(float64(h) * scale)
}

// detect finds the text lines of p and returns their boxes in p's pixels.
func (r *Reader) detect(ctx context.Context, p rgb) ([]Box, error) {
	if p.w < 4 || p.h < 4 {
		return nil, nil
	}
	w, h := detSize(p.w, p.h)
	sx, sy := float64(p.w)/float64(w), float64(p.h)/float64(h)
	// fill writes rows [a, b) of the detector's input, scaled from p and
	// normalised, as 3 planes of w x (b-a)
	fill := func(in []float32, a, b int) {
		plane := w * (b - a)
		for y := a; y < b; y++ {
			fy := (float64(y)+0.5)*sy - 0.5
			for x := 0; x < w; x++ {
				fx := (float64(x)+0.5)*sx - 0.5
				for c := 0; c < 3; c++ {
					// channel c of the tensor is BGR's c: RGB's 2-c
					v := float32(p.sample(fx, fy, 2-c)) / 255
					in[c*plane+(y-a)*w+x] = (v - detMean[c]) / detStd[c]
				}
			}
		}
	}
	prob, err := r.detectStrips(ctx, fill, w, h)
	if err != nil {
		return nil, err
	}
	regions := textRegions(prob, w, h)
	boxes := make([]Box, 0, len(regions))
	for _, g := range regions {
		rw, rh := float64(g.maxX-g.minX+1), float64(g.maxY-g.minY+1)
		d := rw * rh * detUnclip / (2 * (rw + rh))
		boxes = append(boxes, Box{
			MinX: clamp(int(math.Floor((float64(g.minX)-d)*sx)), 0, p.w-1),
			MinY: clamp(int(math.Floor((float64(g.minY)-d)*sy)), 0, p.h-1),
			MaxX: clamp(int(math.Ceil((float64(g.maxX+1)+d)*sx)), 1, p.w),
			MaxY: clamp(int(math.Ceil((float64(g.maxY+1)+d)*sy)), 1, p.h),
		})
	}
	return boxes, nil
}

// detectStrips runs the detector over an input of w x h, a band of rows
// at a time, each band's input made by fill as it is read, and returns
// the probability map of the whole. The detector's working memory grows
// with its input's pixels: a receipt of 736 x 1,056 at once raised the
// process's peak by about 140 MB more than in bands. A band of
// detStripPixels with detStripContext rows of context above and below, of
// which only its own rows are kept, bounds that whatever the image's
// length; so does making each band's input alone (the whole input of a
// 736 x 1,840 receipt is 16 MB).
func (r *Reader) detectStrips(ctx context.Context, fill func(in []float32, a, b int), w, h int) ([]float32, error) {
	rows := max(32, detStripPixels/w/32*32)
	if h <= rows+2*detStripContext {
		rows = h // one band, the whole image
	}
	prob := make([]float32, w*h)
	in := make([]float32, 3*w*min(h, rows+2*detStripContext))
	for y0 := 0; y0 < h; y0 += rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y1 := min(h, y0+rows)
		a, b := max(0, y0-detStripContext), min(h, y1+detStripContext)
		band := in[:3*w*(b-a)]
		fill(band, a, b)
		err := r.det.run(band, []int64{1, 3, int64(b - a), int64(w)}, func(out tensor) error {
			if len(out.data) != (b-a)*w {
				return fmt.Errorf("ppocr: detector answered shape %v for %dx%d", out.shape, w, b-a)
			}
			copy(prob[y0*w:y1*w], out.data[(y0-a)*w:(y1-a)*w])
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return prob, nil
}

type region struct {
	minX, minY, maxX, maxY int
}

// textRegions finds the connected regions of the probability map above
// detThreshold whose mean probability is above detBoxScore. Regions are
// axis-aligned: scans and photos of receipts are upright or nearly so.
func textRegions(prob []float32, w, h int) []region {
	seen := make([]bool, len(prob))
	var out []region
	var stack []int
	for start := range prob {
		if seen[start] || prob[start] <= detThreshold {
			continue
		}
		g := region{minX: w, minY: h, maxX: -1, maxY: -1}
		var sum float64
		n := 0
		stack = append(stack[:0], start)
		seen[start] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%w, i/w
			sum += float64(prob[i])
			n++
			g.minX, g.maxX = min(g.minX, x), max(g.maxX, x)
			g.minY, g.maxY = min(g.minY, y), max(g.maxY, y)
			for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
				if j < 0 || j >= len(prob) || seen[j] || prob[j] <= detThreshold {
					continue
				}
				if (j == i-1 && x == 0) || (j == i+1 && x == w-1) {
					continue
				}
				seen[j] = true
				stack = append(stack, j)
			}
		}
		if g.maxY-g.minY+1 < detMinHeight || g.maxX-g.minX+1 < detMinHeight {
			continue
		}
		if sum/float64(n) < detBoxScore {
			continue
		}
		out = append(out, g)
	}
	return out
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }
