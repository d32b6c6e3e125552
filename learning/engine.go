package learning

import (
	"context"
	"log/slog"

	"tally/domain"
	"tally/readmodel"
)

// Extractor is the engine that reads a document (package extract).
type Extractor interface {
	Extract(ctx context.Context, content []byte, contentType string) (domain.Fields, error)
}

// Engine is an Extractor that also applies what the document's tenant
// taught about its issuer. A failed lookup costs the lesson, never the
// extraction: the engine's fields are returned as they are.
type Engine struct {
	Extractor
	Queries *readmodel.Queries
	Log     *slog.Logger
}

// TextExtractor is an Extractor that also returns the document's text
// (package extract's engine is one).
type TextExtractor interface {
	ExtractText(ctx context.Context, content []byte, contentType string) (domain.Fields, string, error)
}

// ExtractFor extracts a document of tenant and applies the strongest
// lesson the tenant's corrections left for its issuer.
func (e *Engine) ExtractFor(ctx context.Context, tenant string, content []byte, contentType string) (domain.Fields, error) {
	f, _, err := e.ExtractTextFor(ctx, tenant, content, contentType)
	return f, err
}

// ExtractTextFor is ExtractFor that also returns the document's text,
// when the engine it wraps gives it ("" otherwise).
func (e *Engine) ExtractTextFor(ctx context.Context, tenant string, content []byte, contentType string) (domain.Fields, string, error) {
	var f domain.Fields
	var text string
	var err error
	if te, ok := e.Extractor.(TextExtractor); ok {
		f, text, err = te.ExtractText(ctx, content, contentType)
	} else {
		f, err = e.Extract(ctx, content, contentType)
	}
	if err != nil || f.Issuer == nil {
		return f, text, err
	}
	l, ok, lerr := Lookup(ctx, e.Queries, tenant, f.Issuer.Keys)
	if lerr != nil {
		if e.Log != nil {
			e.Log.Warn("extracting without what corrections taught", "err", lerr)
		}
		return f, text, nil
	}
	if !ok {
		return f, text, nil
	}
	return Apply(f, text, l.Lesson, l.From), text, nil
}
