package extract

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ocrReading is one OCR reading of an image: its text, laid out as the
// field rules expect (one printed line per line, columns apart by runs of
// spaces), and how sure the OCR was of each line.
type ocrReading struct {
	text  string
	lines []ocrLine
}

// ocrLine is one line of a reading with the mean confidence (0-100) of
// its words.
type ocrLine struct {
	text  string
	conf  float64
	words []tsvWord
}

// meanConf is the reading's mean word confidence, weighted by the length
// of the words (a long word misread matters more than a stray mark).
func (r ocrReading) meanConf() float64 {
	var sum, n float64
	for _, l := range r.lines {
		w := float64(utf8.RuneCountInString(l.text))
		sum += l.conf * w
		n += w
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

type tsvWord struct {
	text        string
	conf        float64
	left, width int
	height      int
}

// parseTesseractTSV reads Tesseract's TSV output (level, page_num,
// block_num, par_num, line_num, word_num, left, top, width, height, conf,
// text). Words are joined into lines; a gap wider than about three
// characters becomes a run of three spaces, so that a label and its
// amount at the far side of a receipt read as two columns, as pdftotext
// -layout prints them. Blocks and paragraphs are set apart by an empty
// line. Rows that do not parse are skipped: a damaged row costs a word,
// never the reading.
func parseTesseractTSV(tsv string) ocrReading {
	var (
		r       ocrReading
		b       strings.Builder
		words   []tsvWord
		lineKey string
		parKey  string
	)
	flush := func() {
		if len(words) == 0 {
			return
		}
		text, conf := layoutLine(words)
		lw := append([]tsvWord(nil), words...)
		words = words[:0]
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(text)
		r.lines = append(r.lines, ocrLine{text: text, conf: conf, words: lw})
	}
	for _, row := range strings.Split(tsv, "\n") {
		cols := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(cols) < 12 || cols[0] != "5" {
			continue
		}
		text := strings.TrimSpace(strings.Join(cols[11:], " "))
		if text == "" {
			continue
		}
		left, err1 := strconv.Atoi(cols[6])
		width, err2 := strconv.Atoi(cols[8])
		conf, err3 := strconv.ParseFloat(cols[10], 64)
		height, err4 := strconv.Atoi(cols[9])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || math.IsNaN(conf) {
			continue
		}
		pk := cols[1] + "/" + cols[2] + "/" + cols[3]
		lk := pk + "/" + cols[4]
		if lk != lineKey {
			flush()
			if pk != parKey && parKey != "" && b.Len() > 0 {
				b.WriteByte('\n')
				r.lines = append(r.lines, ocrLine{conf: 100})
			}
			lineKey, parKey = lk, pk
		}
		words = append(words, tsvWord{text: text, conf: max(0, min(conf, 100)), left: left, width: width, height: height})
	}
	flush()
	r.text = b.String()
	return r
}

// layoutLine joins a line's words and gives the line's mean confidence,
// weighted by word length. A gap wider than three characters (of the
// line's mean width) is a column break.
func layoutLine(words []tsvWord) (string, float64) {
	var chars, pixels int
	for _, w := range words {
		chars += utf8.RuneCountInString(w.text)
		pixels += max(0, w.width)
	}
	charWidth := 0.0
	if chars > 0 {
		charWidth = float64(pixels) / float64(chars)
	}
	return joinWords(words, func(prev, w tsvWord) bool {
		return charWidth > 0 && float64(w.left-(prev.left+prev.width)) > 3*charWidth
	})
}

// joinWords joins words with one space, or with three where column says
// the gap between two is a column break (as pdftotext -layout sets a
// label apart from its amount), and gives their mean confidence weighted
// by word length.
func joinWords(words []tsvWord, column func(prev, w tsvWord) bool) (string, float64) {
	var b strings.Builder
	var sum, n float64
	for i, w := range words {
		if i > 0 {
			if column(words[i-1], w) {
				b.WriteString("   ")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(w.text)
		k := float64(utf8.RuneCountInString(w.text))
		sum += w.conf * k
		n += k
	}
	if n == 0 {
		return b.String(), 0
	}
	return b.String(), sum / n
}

// valueConf is how sure the OCR was of a field's value: the mean
// confidence of the words of the reading that the value is made of
// (each word of the value matched to the first word of the reading that
// contains it), or -1 when none of them can be found.
func (r ocrReading) valueConf(v string) float64 {
	var sum float64
	n := 0
	for _, tok := range strings.Fields(v) {
		tok = strings.Trim(tok, ".,:;()")
		if tok == "" {
			continue
		}
	lines:
		for _, l := range r.lines {
			for _, w := range l.words {
				if strings.Contains(w.text, tok) {
					sum += w.conf
					n++
					break lines
				}
			}
		}
	}
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}
