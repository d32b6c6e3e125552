package web

import (
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/readmodel"
	"tally/search"
)

// spendingPage is the spending page's data.
type spendingPage struct {
	All     bool
	Charts  []chart
	Vendors []search.VendorTotal
	Months  []string
}

// chart is one currency's monthly totals, drawn as an inline SVG.
type chart struct {
	Currency string
	Bars     []bar
	SVG      template.HTML
}

type bar struct {
	Month     string
	Total     string
	Documents int64
	value     float64
}

// months is how many months the chart shows, ending with the current one.
const months = 12

func (s *Server) spendingPage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	data := spendingPage{All: v.IsAdmin() && r.URL.Query().Get("user") == "all"}
	params := readmodel.ListMonthlyTotalsParams{Tenant: v.Tenant}
	var userIDs []string
	if !data.All {
		params.UserEmail = pgtype.Text{String: strings.ToLower(v.Email), Valid: true}
		ids, err := s.deps.Personal.UserIDs(r.Context(), v.Tenant, v.Email)
		if err != nil {
			s.deps.Log.ErrorContext(r.Context(), "spending: user ids failed", "err", err)
			s.errorPage(w, r, http.StatusServiceUnavailable, "The database is unavailable right now.")
			return
		}
		userIDs = ids
	}
	rows, err := s.q.ListMonthlyTotals(r.Context(), params)
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "spending: monthly totals failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "The database is unavailable right now.")
		return
	}
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(months - 1), 0)
	for i := range months {
		data.Months = append(data.Months, first.AddDate(0, i, 0).Format("2006-01"))
	}
	data.Charts = monthlyCharts(rows, data.Months)
	data.Vendors, err = s.deps.Search.TopVendors(r.Context(), v.Tenant, userIDs, first, 10)
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "spending: top vendors failed", "err", err)
	}
	s.render(w, r, http.StatusOK, "spending", page{Title: "Spending", Nav: "spending", Data: data})
}

// monthlyCharts sums the rows (one per user, month and currency) into one
// chart per currency over the given months.
func monthlyCharts(rows []readmodel.ListMonthlyTotalsRow, monthList []string) []chart {
	type key struct{ currency, month string }
	sums := map[key]*big.Rat{}
	docs := map[key]int64{}
	currencies := map[string]bool{}
	inRange := map[string]bool{}
	for _, m := range monthList {
		inRange[m] = true
	}
	for _, r := range rows {
		if !inRange[r.Month] {
			continue
		}
		amount, ok := new(big.Rat).SetString(r.Total)
		if !ok {
			continue
		}
		k := key{r.Currency, r.Month}
		if sums[k] == nil {
			sums[k] = new(big.Rat)
		}
		sums[k].Add(sums[k], amount)
		docs[k] += r.Documents
		currencies[r.Currency] = true
	}
	var out []chart
	for c := range currencies {
		ch := chart{Currency: c}
		for _, m := range monthList {
			k := key{c, m}
			b := bar{Month: m, Total: "0.00", Documents: docs[k]}
			if sum := sums[k]; sum != nil {
				b.Total = sum.FloatString(2)
				b.value, _ = sum.Float64()
			}
			ch.Bars = append(ch.Bars, b)
		}
		ch.SVG = barChart(ch)
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// barChart draws a chart as SVG on the server: no script, readable by
// screen readers through its title and the table beside it.
func barChart(c chart) template.HTML {
	const width, height, top, bottom = 720.0, 240.0, 24.0, 28.0
	maxV := 0.0
	for _, b := range c.Bars {
		maxV = max(maxV, b.value)
	}
	slot := width / float64(len(c.Bars))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="chart-%s-title">`, width, height, c.Currency)
	fmt.Fprintf(&sb, `<title id="chart-%s-title">Monthly spending in %s</title>`, template.HTMLEscapeString(c.Currency), template.HTMLEscapeString(c.Currency))
	fmt.Fprintf(&sb, `<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" class="axis"/>`, height-bottom, width, height-bottom)
	for i, b := range c.Bars {
		h := 0.0
		if maxV > 0 {
			h = (height - top - bottom) * b.value / maxV
		}
		x := float64(i)*slot + slot*0.15
		y := height - bottom - h
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s: %s %s</title></rect>`,
			x, y, slot*0.7, h, b.Month, b.Total, template.HTMLEscapeString(c.Currency))
		if b.value > 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" class="value" text-anchor="middle">%s</text>`, x+slot*0.35, y-6, b.Total)
		}
		label, _ := time.Parse("2006-01", b.Month)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" class="label" text-anchor="middle">%s</text>`, x+slot*0.35, height-8, label.Format("Jan 06"))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string is escaped or produced here
}

// spendingReport downloads a month's completed documents as CSV (those
// dated in the month; the e-mailed monthly report counts the same ones).
func (s *Server) spendingReport(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	month, err := time.Parse("2006-01", r.URL.Query().Get("month"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "month must be YYYY-MM.")
		return
	}
	f := search.Filter{Tenant: v.Tenant, Status: "COMPLETED", DateFrom: month, DateTo: month.AddDate(0, 1, -1),
		Sort: search.SortDate, Ascending: true}
	if !v.IsAdmin() || r.URL.Query().Get("user") != "all" {
		if f.UserIDs, err = s.deps.Personal.UserIDs(r.Context(), v.Tenant, v.Email); err != nil {
			s.errorPage(w, r, http.StatusServiceUnavailable, "The database is unavailable right now.")
			return
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="tally-report-%s.csv"`, month.Format("2006-01")))
	if err := s.deps.Search.Export(r.Context(), w, f, search.FormatCSV); err != nil {
		s.deps.Log.ErrorContext(r.Context(), "report download failed", "err", err)
	}
}
