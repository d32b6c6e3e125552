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
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
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
// (Debian: tesseract-ocr, with tesseract-ocr-eng). Page segmentation mode 6
// ("one uniform block of text") keeps a receipt's label and amount on one
// line, which is what the line-oriented rules rely on.
func (e *Engine) imageText(ctx context.Context, content []byte, mediaType string) (string, error) {
	format, ok := ocrImageTypes[mediaType]
	if !ok {
		return "", fmt.Errorf("%w: %s (OCR reads PNG, JPEG and GIF)", ErrUnsupported, mediaType)
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		return "", fmt.Errorf("%w: %s image: %v", ErrUnreadable, format, err)
	}
	if got != format {
		// Mislabelled (a PNG sent as image/jpeg): the bytes decide.
		format = got
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", fmt.Errorf("%w: image has no pixels", ErrUnreadable)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(e.limits.MaxPixels) {
		return "", fmt.Errorf("%w: image is %dx%d pixels, more than the %d allowed", ErrUnreadable, cfg.Width, cfg.Height, e.limits.MaxPixels)
	}
	var text string
	if e.limits.OCRURL != "" {
		text, err = e.remoteOCR(ctx, content, "image/"+format)
	} else {
		text, err = e.tesseractOCR(ctx, content)
	}
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("%w: OCR found no text in the image", ErrUnreadable)
	}
	return text, nil
}

// tesseractOCR runs `tesseract stdin stdout --psm 6 -l eng` with the image
// on stdin. OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads fight each other
// on small machines (several times slower on two cores); callers that want
// throughput run several documents at once instead.
func (e *Engine) tesseractOCR(ctx context.Context, content []byte) (string, error) {
	cmd := exec.CommandContext(ctx, e.tesseract, "stdin", "stdout", "--psm", "6", "-l", "eng")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	cmd.Stdin = bytes.NewReader(content)
	out := &capWriter{max: e.limits.MaxTextBytes}
	stderr := &capWriter{max: 4 << 10}
	cmd.Stdout = out
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", fmt.Errorf("tesseract: %w", ctxErr)
	}
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return "", fmt.Errorf("extract: cannot run tesseract (is tesseract-ocr installed?): %w", err)
		}
		msg := strings.TrimSpace(lastLine(stderr.buf.String()))
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%w: tesseract: %s", ErrUnreadable, msg)
	}
	return strings.ReplaceAll(out.buf.String(), "\f", "\n"), nil
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
