package search

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

var csvHeader = []string{"id", "status", "source", "filename", "vendor", "invoice_number", "date", "currency",
	"total", "needs_review", "created_at", "updated_at"}

// Export streams every match of f to w as CSV (a header row, then one row
// per document) or as a JSON array, one document at a time, so memory
// stays flat however many match. CSV cells are made safe for spreadsheets
// (SafeCell).
func (s *Searcher) Export(ctx context.Context, w io.Writer, f Filter, format string) error {
	if format != FormatCSV && format != FormatJSON {
		return ErrInvalidFilter.Newf("invalid filter: format must be csv or json")
	}
	if _, _, err := f.where(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	var err error
	if format == FormatCSV {
		err = s.writeCSV(ctx, bw, f)
	} else {
		err = s.writeJSON(ctx, bw, f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (s *Searcher) writeCSV(ctx context.Context, w io.Writer, f Filter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	err := s.Each(ctx, f, func(h Hit) error {
		copy(row, []string{h.ID, h.Status, h.Source, h.Filename, h.Vendor, h.InvoiceNumber, h.Date, h.Currency,
			h.Total, strconv.FormatBool(h.NeedsReview), h.CreatedAt.UTC().Format(time.RFC3339), h.UpdatedAt.UTC().Format(time.RFC3339)})
		for i, c := range row {
			row[i] = SafeCell(c)
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (s *Searcher) writeJSON(ctx context.Context, w io.Writer, f Filter) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	sep := "\n"
	err := s.Each(ctx, f, func(h Hit) error {
		b, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		sep = ",\n"
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}

// SafeCell keeps a CSV cell from being run as a formula (OWASP's advice on
// CSV injection): a cell beginning with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe. A plain negative number stays as it
// is, so amounts remain numbers.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if s[0] == '-' && decimal.MatchString(s) {
			return s
		}
		return "'" + s
	}
	return s
}
