// Package extract turns a document (its bytes and content type) into
// domain.Fields. It has one job: read the document's text and find the
// fields in it. It knows nothing about brokers, databases or events.
//
// This is a first, rule-based engine. The split into two steps is on purpose
// so that later engines can replace either half:
//
//   - reading text: text.go (dispatch by content type), pdf.go (pdftotext),
//     email.go (RFC 822 / MIME), html.go (tag stripping) and ocr.go (images
//     through tesseract, or an on-premises OCR service; ocrtsv.go lays
//     Tesseract's words out as text and keeps their confidences, ocrfix.go
//     repairs OCR misreadings);
//   - finding fields: fields.go (FromText, which calls one finder per
//     field), total.go, subtotal_tax.go, date.go (the issue and due dates,
//     ParseDate), invoicenumber.go, vendor.go, address.go, currency.go,
//     lineitems.go (table rows) and amount.go (ParseAmount and the amounts
//     printed on a line).
//
// OCR'd vendor names and addresses whose words Tesseract was unsure of are
// left empty rather than stored wrong (dropUncertain).
package extract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"tally/domain"
	"tally/einvoice"
	"tally/pdftext"
	"tally/ppocr"
)

// EngineVersion is written into every Fields this package returns so that a
// result can always be traced back to the rules that produced it.
const EngineVersion = "tally-extract/0.3"

var (
	// ErrUnsupported means the engine cannot read this kind of document at
	// all (an archive, a spreadsheet, an image format without OCR support).
	// Retrying will not help.
	ErrUnsupported = errors.New("unsupported document type")
	// ErrUnreadable means the document claims a supported type but no text
	// could be read from it: a corrupt PDF, a scan without a text layer, a
	// pdftotext failure, an e-mail that does not parse.
	ErrUnreadable = errors.New("document unreadable")
)

// Default limits, used for every zero field of Limits.
const (
	DefaultMaxPages     = 50
	DefaultMaxTextBytes = 2 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxPixels    = 40_000_000
)

// Limits bound the work done for one document.
type Limits struct {
	MaxPages     int           // pages handed to pdftotext; default 50
	MaxTextBytes int           // extracted text kept; default 2 MiB
	Timeout      time.Duration // whole Extract call; default 30s
	MaxPixels    int           // largest image (width*height) sent to OCR; default 40 Mpx
	ToolMemory   int64         // address space of pdftotext and tesseract in bytes; default 2 GiB (rlimit.go)
	ToolCPU      time.Duration // their CPU time; default Timeout
	// OCRURL, when set, is an on-premises OCR service used instead of the
	// local tesseract: the image is POSTed (Content-Type image/...) and the
	// answer's body is the plain text.
	OCRURL string
}

func (l Limits) withDefaults() Limits {
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// Engine extracts fields from documents. It is safe for concurrent use.
type Engine struct {
	limits     Limits
	pdftotext  string // program run for PDFs; looked up on PATH
	tesseract  string // program run for images; looked up on PATH
	httpClient *http.Client
	templates  TemplateMatcher // consulted before the generic rules; may be nil
	neural     *ppocr.Reader   // PP-OCR models read images first when set
	pdfReaders *pdftext.Pool   // running tally-pdftext readers; pdftotext when not installed
}

// New returns an engine with the given limits; zero fields get defaults.
func New(l Limits) *Engine {
	l = l.withDefaults()
	memory, _ := l.toolLimits()
	return &Engine{limits: l, pdftotext: "pdftotext", tesseract: "tesseract", httpClient: http.DefaultClient,
		pdfReaders: pdftext.New(pdftext.Config{Memory: memory, Idle: runtime.GOMAXPROCS(0)})}
}

// Limits returns the limits in force (defaults filled in).
func (e *Engine) Limits() Limits { return e.limits }

// Extract reads the document's text according to its content type and finds
// the fields in it.
//
// Supported types: application/xml and text/xml (CII and UBL e-invoices,
// read exactly by package einvoice), application/pdf (via pdftotext; an
// embedded e-invoice wins over the text), message/rfc822,
// text/plain, text/html and images (image/png, image/jpeg, image/gif) via
// OCR (tesseract, or Limits.OCRURL). Other types return ErrUnsupported.
// Images larger than Limits.MaxPixels are refused as ErrUnreadable. Documents without
// readable text return ErrUnreadable. When the context (or the engine's
// Timeout) expires, the returned error wraps the context's error.
func (e *Engine) Extract(ctx context.Context, content []byte, contentType string) (domain.Fields, error) {
	f, _, err := e.ExtractText(ctx, content, contentType)
	return f, err
}

// ExtractText is Extract that also returns the text the fields were read
// from ("" for a structured e-invoice, which is read as XML), for
// full-text search.
func (e *Engine) ExtractText(ctx context.Context, content []byte, contentType string) (domain.Fields, string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()

	mediaType := sniffedType(content, contentType)
	if isXMLType(mediaType) {
		f, err := extractXML(content)
		return f, "", err
	}
	// A ZUGFeRD / Factur-X / XRechnung PDF carries the invoice as XML:
	// exact where the text layer is a rendering. The text is still read,
	// to fill what the XML lacks and to record where the two disagree. An
	// embedded XML that is refused (hostile, malformed) leaves the text.
	var embedded *einvoice.Invoice
	if mediaType == TypePDF {
		if inv, ok, _ := einvoice.FromPDF(content); ok {
			embedded = &inv
		}
	}
	d, err := e.read(ctx, content, contentType)
	if err != nil {
		if embedded != nil && ctx.Err() == nil {
			embedded.Fields.EngineVersion = EngineVersion
			return embedded.Fields, "", nil
		}
		return domain.Fields{}, "", err
	}
	if err := ctx.Err(); err != nil {
		return domain.Fields{}, "", fmt.Errorf("extract: %w", err)
	}
	text := d.text
	f, ev := fieldsFromText(text)
	dropUncertain(&f, d.ocr)
	if v := vendorFromTitle(d.title); v != "" {
		f.Vendor, ev.vendor = v, vendorTitle
	}
	// An e-mail whose body names no merchant with confidence is named by
	// its sender. Whether the sender is who it claims to be is not known
	// here (DKIM is checked at intake); the field's source says "sender"
	// so that a forged one can be discounted where the verdict is known.
	if d.sender != nil && !ev.vendor.confident() {
		if name := SenderName(d.sender.Name, d.sender.Address); name != "" {
			f.Vendor, ev.vendor = name, vendorSender
		}
	}
	markSources(&f, ev)
	markConfidence(&f, ev, d.ocr != nil)
	if embedded == nil {
		f.Issuer = issuerProfile(splitLines(text), d.sender, f.Vendor)
	}
	if e.templates != nil {
		if tf, name, version, ok := e.templates.Match(text); ok {
			f = applyTemplate(f, tf, name, version)
		}
	}
	if embedded != nil {
		f = preferXML(embedded.Fields, f)
	}
	return f, text, nil
}

// TemplateMatcher applies merchant/issuer templates: data-driven rules that win where they match.
type TemplateMatcher interface {
	// Match returns the fields a template found in the document's text, the template's name and the bundle version; ok=false when no template matches.
	Match(text string) (fields domain.Fields, template string, version string, ok bool)
}

// WithTemplates returns an engine that consults m before the generic rules; non-empty template fields win, and Fields.TemplateVersion is set to "<version>/<template>" when one matched. m may be swapped at run time by the caller (the matcher itself handles hot-swapping), so call m.Match on every Extract.
//
// The receiver is not modified: the returned engine is a copy sharing the
// limits and programs. A nil m gives an engine without templates.
func (e *Engine) WithTemplates(m TemplateMatcher) *Engine {
	c := *e
	c.templates = m
	return &c
}

// applyTemplate lays a template's fields over the generic ones: every
// non-empty template field wins. Amounts and dates are brought to the
// contract of domain.Fields (plain decimals, ISO dates) the same way the
// generic rules' are; a template value that cannot be read as one is
// dropped rather than passed on (the generic value stays). EngineVersion
// stays the engine's; TemplateVersion names the template.
func applyTemplate(f, t domain.Fields, name, version string) domain.Fields {
	if f.Sources == nil {
		f.Sources = map[string]string{}
	}
	if f.Confidence == nil {
		f.Confidence = map[string]int{}
	}
	set := func(field string, dst *string, v string) {
		*dst = v
		f.Sources[field] = domain.FieldSourceTemplate
		f.Confidence[field] = templateConfidence
	}
	str := func(field string, dst *string, v string) {
		if v = strings.TrimSpace(v); v != "" {
			set(field, dst, v)
		}
	}
	amount := func(field string, dst *string, v string) {
		if a, ok := ParseAmount(v); ok {
			set(field, dst, a)
		}
	}
	date := func(field string, dst *string, v string) {
		if d, ok := ParseDate(v); ok {
			set(field, dst, d)
		}
	}
	str("vendor", &f.Vendor, t.Vendor)
	str("vendor_address", &f.VendorAddress, t.VendorAddress)
	date("date", &f.Date, t.Date)
	date("due_date", &f.DueDate, t.DueDate)
	str("invoice_number", &f.InvoiceNumber, t.InvoiceNumber)
	if c := strings.ToUpper(strings.TrimSpace(t.Currency)); c != "" {
		set("currency", &f.Currency, c)
	}
	amount("subtotal", &f.Subtotal, t.Subtotal)
	amount("tax", &f.Tax, t.Tax)
	amount("total", &f.Total, t.Total)
	if len(t.LineItems) > 0 {
		f.LineItems = t.LineItems
		f.Sources["line_items"] = domain.FieldSourceTemplate
		f.Confidence["line_items"] = templateConfidence
	}
	f.TemplateVersion = version + "/" + name
	return f
}

// templateConfidence is what a merchant template's fields are trusted with:
// a template is written for its issuer's layout and checked by its tests.
const templateConfidence = 95

// errNoText is the common "nothing to read" failure.
func errNoText(what string) error {
	return fmt.Errorf("%w: %s contains no text", ErrUnreadable, what)
}
