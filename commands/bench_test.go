package commands_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore/eventstoretest"
)

// BenchmarkUpload measures the hot path of one upload: the file, one
// checked append and the inline duplicate claim.
func BenchmarkUpload(b *testing.B) {
	h := benchHandler(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: "acme"}, Source: domain.SourceUpload,
			Filename: "inv.pdf", Content: fmt.Appendf([]byte(pdf), "%% %d\n", i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCorrect measures a command on an existing document: load, fold,
// decide and append with the expected sequence, the path every command
// after the upload takes.
func BenchmarkCorrect(b *testing.B) {
	h := benchHandler(b)
	ctx := context.Background()
	meta := commands.Meta{Tenant: "acme"}
	res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Source: domain.SourceUpload, Filename: "inv.pdf", Content: []byte(pdf)})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := h.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: res.DocumentID,
			Fields: domain.Fields{Total: fmt.Sprintf("%d.00", i+1)}}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchHandler(b *testing.B) *commands.Handler {
	store, _ := eventstoretest.Start(b)
	blobs, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return commands.New(store, blobs, slog.New(slog.DiscardHandler))
}
