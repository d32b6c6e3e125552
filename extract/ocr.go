package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // DecodeConfig for image/gif
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"tally/domain"
)

// ocrImageTypes are the image types the engine reads through OCR. Each has a
// standard-library decoder, so the pixel limit can be checked from the
// header before Tesseract decodes anything.
var ocrImageTypes = map[string]string{
	"image/png":   "png",
	"image/jpeg":  "jpeg",
	"image/jpg":   "jpeg",
	"image/pjpeg": "jpeg",
	"image/gif":   "gif",
}

// imageText reads the text of a scan or photo: through the on-premises OCR
// service when Limits.OCRURL is set, else through a local `tesseract`
// (Debian: tesseract-ocr, with tesseract-ocr-eng). The local reading also
// carries Tesseract's confidence in each word (nil for the service).
func (e *Engine) imageText(ctx context.Context, content []byte, mediaType string) (string, *ocrReading, error) {
	format, ok := ocrImageTypes[mediaType]
	if !ok {
		return "", nil, fmt.Errorf("%w: %s (OCR reads PNG, JPEG and GIF)", ErrUnsupported, mediaType)
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s image: %v", ErrUnreadable, format, err)
	}
	if got != format {
		// Mislabelled (a PNG sent as image/jpeg): the bytes decide.
		format = got
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", nil, fmt.Errorf("%w: image has no pixels", ErrUnreadable)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(e.limits.MaxPixels) {
		return "", nil, fmt.Errorf("%w: image is %dx%d pixels, more than the %d allowed", ErrUnreadable, cfg.Width, cfg.Height, e.limits.MaxPixels)
	}
	if e.limits.OCRURL != "" {
		text, err := e.remoteOCR(ctx, content, "image/"+format)
		if err != nil {
			return "", nil, err
		}
		if strings.TrimSpace(text) == "" {
			return "", nil, fmt.Errorf("%w: OCR found no text in the image", ErrUnreadable)
		}
		return cleanOCRText(text), nil, nil
	}
	if e.neural != nil {
		return e.neuralThenTesseract(ctx, content, cfg)
	}
	r, err := e.tesseractReading(ctx, content, cfg)
	if err != nil {
		return "", nil, err
	}
	return r.text, &r, nil
}

// neuralThenTesseract reads the image with the PP-OCR models; a reading
// that lacks a date or a total is compared with Tesseract's, and the
// better of the two kept (betterReading). Tesseract alone reads the
// images the models fail on.
func (e *Engine) neuralThenTesseract(ctx context.Context, content []byte, cfg image.Config) (string, *ocrReading, error) {
	nr, err := e.neuralOCR(ctx, content)
	if err != nil && ctx.Err() != nil {
		return "", nil, err
	}
	if err != nil || strings.TrimSpace(nr.text) == "" {
		r, err := e.tesseractReading(ctx, content, cfg)
		if err != nil {
			return "", nil, err
		}
		return r.text, &r, nil
	}
	if !ocrReadingScore(nr.text).complete {
		if tr, err := e.tesseractReading(ctx, content, cfg); err == nil && betterReading(tr, nr) {
			return tr.text, &tr, nil
		}
	}
	return nr.text, &nr, nil
}

// tesseractReading reads the image with Tesseract: a second time scaled
// up when its words are too small, and in a second segmentation mode when
// the first reading lacks a date or a total (secondOCRPass).
func (e *Engine) tesseractReading(ctx context.Context, content []byte, cfg image.Config) (ocrReading, error) {
	r, err := e.tesseractOCR(ctx, content, psmBlock)
	if err != nil {
		return ocrReading{}, err
	}
	if strings.TrimSpace(r.text) == "" {
		return ocrReading{}, fmt.Errorf("%w: OCR found no text in the image", ErrUnreadable)
	}
	// Words too small for Tesseract: read the image again scaled up, and
	// keep the reading that finds more (or is surer of what it finds).
	if s := upscaleFor(r, cfg.Width, cfg.Height, e.limits.MaxPixels); s > 0 {
		if scaled, err := scaledGray(content, s); err == nil {
			if r2, err := e.tesseractOCR(ctx, scaled, psmBlock); err == nil && betterReading(r2, r) {
				r, content = r2, scaled
			}
		}
	}
	return e.secondOCRPass(ctx, content, r), nil
}

// Tesseract page segmentation modes: one uniform block of text (keeps a
// receipt's label and amount on one line, which is what the line-oriented
// rules rely on), and a single column of text of variable sizes (copes
// better with logos, large headings and two-column letterheads).
const (
	psmBlock  = "6"
	psmColumn = "4"
)

// secondOCRPass reads the image again in the other segmentation mode when
// the first reading lacks a date or a total, and keeps the reading that
// gives the more complete and self-consistent fields; between readings
// that are equally good by that measure, the one Tesseract is surer of
// (mean word confidence). Most receipts need one pass; the second costs
// one more OCR run on the rest. It gets at most half the time left, so
// that a slow second reading never costs the first one.
func (e *Engine) secondOCRPass(ctx context.Context, content []byte, first ocrReading) ocrReading {
	s1 := ocrReadingScore(first.text)
	if s1.complete {
		return first
	}
	ctx2 := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx2, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
		defer cancel()
	}
	second, err := e.tesseractOCR(ctx2, content, psmColumn)
	if err != nil || strings.TrimSpace(second.text) == "" {
		return first
	}
	s2 := ocrReadingScore(second.text)
	if s2.score > s1.score || s2.score == s1.score && second.meanConf() > first.meanConf() {
		return second
	}
	return first
}

// betterReading reports whether reading a finds more fields than b, or
// as many with a higher mean word confidence.
func betterReading(a, b ocrReading) bool {
	sa, sb := ocrReadingScore(a.text), ocrReadingScore(b.text)
	return sa.score > sb.score || sa.score == sb.score && a.meanConf() > b.meanConf()
}

type readingScore struct {
	score    int
	complete bool // a date and a total were found
}

// ocrReadingScore rates an OCR reading by the fields the rules find in it:
// a date and a total each count, and a total that the arithmetic confirms
// (subtotal plus tax, or cash minus change) counts once more.
func ocrReadingScore(text string) readingScore {
	lines := splitLines(text)
	f := FromText(text)
	s := 0
	if f.Date != "" {
		s += 2
	}
	if f.Total != "" {
		s += 2
		if paid := paidAmount(lines); paid != "" && sameAmount(paid, f.Total) {
			s++
		} else if sub, ok1 := rat(f.Subtotal); ok1 {
			if tax, ok2 := rat(f.Tax); ok2 {
				if tot, ok3 := rat(f.Total); ok3 && new(big.Rat).Add(sub, tax).Cmp(tot) == 0 {
					s++
				}
			}
		}
	}
	return readingScore{score: s, complete: f.Date != "" && f.Total != ""}
}

// Below these mean word confidences an OCR'd vendor name or address is
// more often misread than not: a name or an address is right only when
// every one of its words is, so an uncertain one is left empty for a
// person to fill in rather than stored wrong. (A total or date is checked
// by the rules' own evidence instead.)
const (
	minVendorConf  = 60
	minAddressConf = 80
)

// dropUncertain empties the text fields read from OCR words Tesseract was
// unsure of.
func dropUncertain(f *domain.Fields, r *ocrReading) {
	if r == nil {
		return
	}
	if c := r.valueConf(f.Vendor); c >= 0 && c < minVendorConf {
		f.Vendor = ""
	}
	if c := r.valueConf(f.VendorAddress); c >= 0 && c < minAddressConf {
		f.VendorAddress = ""
	}
}

// tesseractOCR runs `tesseract stdin stdout --psm PSM -l eng tsv` with the
// image on stdin and lays the words out as text (parseTesseractTSV).
// OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads fight each other on
// small machines (several times slower on two cores); callers that want
// throughput run several documents at once instead.
func (e *Engine) tesseractOCR(ctx context.Context, content []byte, psm string) (ocrReading, error) {
	cmd := e.toolCommand(ctx, e.tesseract, "stdin", "stdout", "--psm", psm, "-l", "eng", "tsv")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	cmd.Stdin = bytes.NewReader(content)
	// TSV spends about ten times the bytes of the text on coordinates.
	out := &capWriter{max: 10 * e.limits.MaxTextBytes}
	stderr := &capWriter{max: 4 << 10}
	cmd.Stdout = out
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ocrReading{}, fmt.Errorf("tesseract: %w", ctxErr)
	}
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return ocrReading{}, fmt.Errorf("extract: cannot run tesseract (is tesseract-ocr installed?): %w", err)
		}
		msg := strings.TrimSpace(lastLine(stderr.buf.String()))
		if msg == "" {
			msg = err.Error()
		}
		return ocrReading{}, fmt.Errorf("%w: tesseract: %s", ErrUnreadable, msg)
	}
	r := parseTesseractTSV(out.buf.String())
	r.text = cleanOCRText(r.text)
	return r, nil
}

// remoteOCR posts the image to an on-premises OCR service (Limits.OCRURL),
// which answers with the plain text. A 4xx answer blames the document; a
// transport error or a 5xx answer does not (retrying may help).
func (e *Engine) remoteOCR(ctx context.Context, content []byte, mediaType string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.limits.OCRURL, bytes.NewReader(content))
	if err != nil {
		return "", fmt.Errorf("extract: OCR service: %w", err)
	}
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", "text/plain")
	resp, err := e.httpClient.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("OCR service: %w", ctxErr)
		}
		return "", fmt.Errorf("extract: OCR service: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(e.limits.MaxTextBytes)))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("OCR service: %w", ctxErr)
		}
		return "", fmt.Errorf("extract: OCR service: %w", err)
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return "", fmt.Errorf("%w: OCR service: %s: %s", ErrUnreadable, resp.Status, firstLine(strings.TrimSpace(string(body))))
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("extract: OCR service: %s", resp.Status)
	}
	return decodeCharset(body, ""), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
