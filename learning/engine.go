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

// ExtractFor extracts a document of tenant and applies the strongest
// lesson the tenant's corrections left for its issuer.
func (e *Engine) ExtractFor(ctx context.Context, tenant string, content []byte, contentType string) (domain.Fields, error) {
	f, err := e.Extract(ctx, content, contentType)
	if err != nil || f.Issuer == nil {
		return f, err
	}
	l, ok, lerr := Lookup(ctx, e.Queries, tenant, f.Issuer.Keys)
	if lerr != nil {
		if e.Log != nil {
			e.Log.Warn("extracting without what corrections taught", "err", lerr)
		}
		return f, nil
	}
	if !ok {
		return f, nil
	}
	return Apply(f, l.Lesson, l.From), nil
}
