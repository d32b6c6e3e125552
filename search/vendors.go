package search

import (
	"context"
	"fmt"
	"time"
)

// VendorTotal is the spending at one vendor in one currency.
type VendorTotal struct {
	Vendor    string
	Currency  string
	Total     string
	Documents int64
}

// TopVendors returns the vendors with the most spending (completed,
// undeleted documents dated on or after since), largest first. userIDs
// limits them to those users' documents as in Filter.
func (s *Searcher) TopVendors(ctx context.Context, tenant string, userIDs []string, since time.Time, limit int) ([]VendorTotal, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT COALESCE(NULLIF(vendor, ''), '(unknown)'), COALESCE(currency, 'XXX'), sum(total)::text, count(*)
		FROM search_documents
		WHERE tenant = $1 AND NOT deleted AND status = 'COMPLETED' AND total IS NOT NULL
		  AND COALESCE(document_date, created_at::date) >= $2::date
		  AND ($3::text[] IS NULL OR user_id = ANY($3::text[]))
		GROUP BY 1, 2 ORDER BY sum(total) DESC, 1 LIMIT $4`, tenant, since, userIDs, min(max(limit, 1), 100))
	if err != nil {
		return nil, fmt.Errorf("top vendors: %w", err)
	}
	defer rows.Close()
	var out []VendorTotal
	for rows.Next() {
		var v VendorTotal
		if err := rows.Scan(&v.Vendor, &v.Currency, &v.Total, &v.Documents); err != nil {
			return nil, fmt.Errorf("top vendors: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
