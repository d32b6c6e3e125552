package extract

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"sort"
	"unicode/utf8"

	"tally/ppocr"
)

// WithNeuralOCR makes the engine read images with the PP-OCR models
// first (Tesseract stays for readings that miss a date or a total, and
// for images the models cannot read). nil keeps Tesseract alone.
func (e *Engine) WithNeuralOCR(r *ppocr.Reader) *Engine {
	e.neural = r
	return e
}

// neuralOCR reads the image with the PP-OCR models and lays their lines
// out as the rules expect. The models run in this process, and one model
// run cannot be interrupted: when ctx ends first the reading is abandoned
// at once, and it stops in the background after the run under way (or
// never starts, when it was still waiting for its turn).
func (e *Engine) neuralOCR(ctx context.Context, content []byte) (ocrReading, error) {
	type result struct {
		boxes []ppocr.Box
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// decoded when the read's turn comes, and held by the reader
		// alone, which lets it be collected once it has its copy
		b, err := e.neural.ReadDecoded(ctx, func() (image.Image, error) {
			img, _, err := image.Decode(bytes.NewReader(content))
			if err != nil {
				return nil, fmt.Errorf("%w: image: %v", ErrUnreadable, err)
			}
			return img, nil
		})
		done <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return ocrReading{}, fmt.Errorf("OCR: %w", ctx.Err())
	case r := <-done:
		if r.err != nil {
			return ocrReading{}, r.err
		}
		read := boxesReading(r.boxes)
		read.text = cleanOCRText(read.text)
		return read, nil
	}
}

// layoutBoxes joins one row's boxes. The detector parts a row only where
// the gap is wide, so boxes are columns unless they come closer than a
// character (boxes are padded; such ones are one phrase).
func layoutBoxes(words []tsvWord) (string, float64) {
	return joinWords(words, func(prev, w tsvWord) bool {
		charWidth := float64(prev.width) / float64(max(1, utf8.RuneCountInString(prev.text)))
		return float64(w.left-(prev.left+prev.width)) >= charWidth
	})
}

// boxesReading lays the detected text lines out as printed rows: boxes
// that overlap vertically by more than half the smaller one's height are
// one row, read left to right (layoutBoxes).
func boxesReading(boxes []ppocr.Box) ocrReading {
	type row struct {
		minY, maxY int
		boxes      []ppocr.Box
	}
	sorted := append([]ppocr.Box(nil), boxes...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return sorted[i].MinY+sorted[i].MaxY < sorted[j].MinY+sorted[j].MaxY
	})
	var rows []*row
	for _, b := range sorted {
		var best *row
		bestOverlap := 0.5
		for _, r := range rows {
			overlap := float64(min(r.maxY, b.MaxY)-max(r.minY, b.MinY)) /
				float64(max(1, min(b.MaxY-b.MinY, r.maxY-r.minY)))
			if overlap > bestOverlap {
				best, bestOverlap = r, overlap
			}
		}
		if best == nil {
			rows = append(rows, &row{minY: b.MinY, maxY: b.MaxY, boxes: []ppocr.Box{b}})
			continue
		}
		best.boxes = append(best.boxes, b)
	}
	var r ocrReading
	var text bytes.Buffer
	for _, rw := range rows {
		sort.SliceStable(rw.boxes, func(i, j int) bool { return rw.boxes[i].MinX < rw.boxes[j].MinX })
		words := make([]tsvWord, 0, len(rw.boxes))
		for _, b := range rw.boxes {
			words = append(words, tsvWord{text: b.Text, conf: 100 * b.Conf, left: b.MinX, width: b.MaxX - b.MinX, height: b.MaxY - b.MinY})
		}
		line, conf := layoutBoxes(words)
		if text.Len() > 0 {
			text.WriteByte('\n')
		}
		text.WriteString(line)
		r.lines = append(r.lines, ocrLine{text: line, conf: conf, words: words})
	}
	r.text = text.String()
	return r
}
