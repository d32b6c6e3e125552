package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tally/ereceipts"
)

// ereceiptsPage is the admin's form for the e-receipt API's settings (the
// same settings as POST /ereceipts/config).
type ereceiptsPage struct {
	Configured bool
	Form       url.Values
	UpdatedAt  time.Time
	// Secret signs the results; shown once, when the endpoint is new.
	Secret string
}

func (s *Server) ereceiptsPage(w http.ResponseWriter, r *http.Request) {
	if s.deps.EReceipts == nil {
		s.errorPage(w, r, http.StatusNotFound, "E-receipts are not managed on this server's pages.")
		return
	}
	cfg, err := s.deps.EReceipts.Get(r.Context(), viewerOf(r).Tenant)
	data := ereceiptsPage{Form: url.Values{}}
	switch {
	case errors.Is(err, ereceipts.ErrNotConfigured):
	case err != nil:
		s.failed(w, r, err, "read the e-receipt settings", nil)
		return
	default:
		data.Configured, data.Form, data.UpdatedAt = true, ereceiptForm(cfg), cfg.UpdatedAt
	}
	s.render(w, r, http.StatusOK, "ereceipts", page{Title: "E-receipts", Nav: "settings", Flash: r.URL.Query().Get("done"), Data: data})
}

// saveEReceipts stores the settings through ereceipts.Store.Configure, as
// POST /ereceipts/config does.
func (s *Server) saveEReceipts(w http.ResponseWriter, r *http.Request) {
	if s.deps.EReceipts == nil {
		s.errorPage(w, r, http.StatusNotFound, "E-receipts are not managed on this server's pages.")
		return
	}
	_ = r.ParseForm()
	again := func(status int, msg string) {
		s.render(w, r, status, "ereceipts", page{Title: "E-receipts", Nav: "settings", Error: msg,
			Data: ereceiptsPage{Form: r.PostForm}})
	}
	cfg, err := ereceiptConfig(r.PostForm)
	if err != nil {
		again(http.StatusBadRequest, err.Error())
		return
	}
	_, secret, err := s.deps.EReceipts.Configure(r.Context(), viewerOf(r).Tenant, cfg, s.deps.EReceiptResults)
	if err != nil {
		s.failed(w, r, err, "store the e-receipt settings", again)
		return
	}
	if secret == "" {
		http.Redirect(w, r, "/settings/ereceipts?done="+url.QueryEscape("Settings saved."), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "ereceipts", page{Title: "E-receipts", Nav: "settings",
		Flash: "Settings saved. Copy the results' signing secret now: it is shown only this once.",
		Data:  ereceiptsPage{Configured: true, Form: r.PostForm, Secret: secret}})
}

// ereceiptConfig reads the form: retailers one a line, an address or
// @domain, optionally followed by a number of days or a start date.
func ereceiptConfig(f url.Values) (ereceipts.Config, error) {
	cfg := ereceipts.Config{ResultsEndpoint: strings.TrimSpace(f.Get("results_endpoint")),
		UseAggregation: f.Get("use_aggregation") != "", ReturnEML: f.Get("return_eml") != ""}
	var problems []string
	if d := strings.TrimSpace(f.Get("day_cutoff")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			problems = append(problems, "days back must be a whole number of days, 1 or more")
		}
		cfg.Cutoff.Days = n
	}
	if d := strings.TrimSpace(f.Get("date_cutoff")); d != "" {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			problems = append(problems, "the start date must be a date (YYYY-MM-DD)")
		}
		cfg.Cutoff.Date = &t
	}
	for i, line := range strings.Split(f.Get("retailers"), "\n") {
		parts := strings.Fields(line)
		if len(parts) == 0 {
			continue
		}
		rt := ereceipts.Retailer{Email: parts[0]}
		if len(parts) > 2 {
			problems = append(problems, fmt.Sprintf("retailer line %d: an address and at most a number of days", i+1))
		}
		if len(parts) > 1 {
			if t, err := time.Parse(time.DateOnly, parts[1]); err == nil {
				rt.Cutoff.Date = &t
			} else if n, err := strconv.Atoi(parts[1]); err == nil && n >= 1 {
				rt.Cutoff.Days = n
			} else {
				problems = append(problems, fmt.Sprintf("retailer line %d: %q is neither a number of days nor a date", i+1, parts[1]))
			}
		}
		cfg.Retailers = append(cfg.Retailers, rt)
	}
	if len(problems) > 0 {
		return cfg, errors.New(strings.ToUpper(problems[0][:1]) + strings.Join(problems, "; ")[1:] + ".")
	}
	return cfg, nil
}

// ereceiptForm is cfg as the form shows it.
func ereceiptForm(cfg ereceipts.Config) url.Values {
	f := url.Values{"results_endpoint": {cfg.ResultsEndpoint}}
	if cfg.Cutoff.Days > 0 {
		f.Set("day_cutoff", strconv.Itoa(cfg.Cutoff.Days))
	}
	if cfg.Cutoff.Date != nil {
		f.Set("date_cutoff", cfg.Cutoff.Date.UTC().Format(time.DateOnly))
	}
	if cfg.UseAggregation {
		f.Set("use_aggregation", "on")
	}
	if cfg.ReturnEML {
		f.Set("return_eml", "on")
	}
	var lines []string
	for _, rt := range cfg.Retailers {
		line := rt.Email
		if rt.Cutoff.Days > 0 {
			line += " " + strconv.Itoa(rt.Cutoff.Days)
		} else if rt.Cutoff.Date != nil {
			line += " " + rt.Cutoff.Date.UTC().Format(time.DateOnly)
		}
		lines = append(lines, line)
	}
	f.Set("retailers", strings.Join(lines, "\n"))
	return f
}
