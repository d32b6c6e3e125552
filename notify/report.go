package notify

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/commands"
	"tally/domain"
	"tally/mail"
	"tally/readmodel"
	"tally/search"
)

// Report is one user's expenses in one month.
type Report struct {
	Email      string           `json:"email"`
	Month      string           `json:"month"`
	Totals     []ReportTotal    `json:"totals"`
	Count      int              `json:"documents_count"`
	TopVendors []VendorCount    `json:"top_vendors"`
	Documents  []ReportDocument `json:"documents"`
	tenant     string
}

// ReportTotal is the month's sum in one currency.
type ReportTotal struct {
	Currency  string `json:"currency"`
	Total     string `json:"total"`
	Documents int64  `json:"documents"`
}

// VendorCount is how many of the month's documents came from a vendor.
type VendorCount struct {
	Vendor    string `json:"vendor"`
	Documents int    `json:"documents"`
}

// ReportDocument is one counted document.
type ReportDocument struct {
	ID       string `json:"id"`
	Date     string `json:"date,omitempty"`
	Vendor   string `json:"vendor"`
	Filename string `json:"filename"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

const topVendors = 5

// Reporter builds and sends monthly reports.
type Reporter struct {
	Commands  *commands.Handler
	Queries   *readmodel.Queries
	Sender    Sender
	Templates *mail.Templates
	Links     *Links
	Log       *slog.Logger
	Retries   int
	// RequireConfirmation sends reports only to confirmed addresses
	// (consent.go).
	RequireConfirmation bool
}

// reportNamespace scopes report aggregate ids; the id is a hash, so the
// subject carries no e-mail address.
var reportNamespace = uuid.MustParse("3c1f6a8e-0b7d-4f5e-9d3a-2b4e6c8a0f12")

// ReportID names the report aggregate of a user (by pseudonymous id) and
// month, so the stream links no report to an address.
func ReportID(tenant, userID, month string) string {
	return uuid.NewSHA1(reportNamespace, []byte(tenant+"\x00user:"+userID+"\x00"+month)).String()
}

// addressReportID is the id reports had when they were keyed by address;
// a run checks it too, so a month reported before the change is not sent
// again.
func addressReportID(tenant, email, month string) string {
	return uuid.NewSHA1(reportNamespace, []byte(tenant+"\x00"+normaliseEmail(email)+"\x00"+month)).String()
}

// Build reads a user's month from the monthly-totals read model.
func (r *Reporter) Build(ctx context.Context, tenant, email, month string) (Report, error) {
	email = normaliseEmail(email)
	rep := Report{Email: email, Month: month, tenant: tenant, Totals: []ReportTotal{}, TopVendors: []VendorCount{}, Documents: []ReportDocument{}}
	totals, err := r.Queries.ListMonthlyTotals(ctx, readmodel.ListMonthlyTotalsParams{
		Tenant: tenant, UserEmail: pgtype.Text{String: email, Valid: true}, Month: pgtype.Text{String: month, Valid: true}})
	if err != nil {
		return rep, fmt.Errorf("read monthly totals: %w", err)
	}
	var docs []readmodel.ReportDocumentsRow
	seen := map[string]bool{}
	for _, t := range totals {
		rep.Totals = append(rep.Totals, ReportTotal{Currency: t.Currency, Total: t.Total, Documents: t.Documents})
		if seen[t.UserID] {
			continue
		}
		// Totals are kept per user id; an address has one id with data
		// unless it was erased before (whose rows no longer name it).
		seen[t.UserID] = true
		more, err := r.Queries.ReportDocuments(ctx, readmodel.ReportDocumentsParams{Tenant: tenant, UserID: t.UserID, Month: pgtype.Text{String: month, Valid: true}})
		if err != nil {
			return rep, fmt.Errorf("read report documents: %w", err)
		}
		docs = append(docs, more...)
	}
	counts := map[string]int{}
	for _, d := range docs {
		date := ""
		if d.DocumentDate.Valid {
			date = d.DocumentDate.Time.Format("2006-01-02")
		}
		vendor := d.Vendor
		if vendor == "" {
			vendor = "unknown vendor"
		}
		counts[vendor]++
		rep.Documents = append(rep.Documents, ReportDocument{ID: d.ID.String(), Date: date, Vendor: vendor,
			Filename: d.Filename, Amount: d.Amount, Currency: d.Currency})
	}
	rep.Count = len(rep.Documents)
	for v, n := range counts {
		rep.TopVendors = append(rep.TopVendors, VendorCount{Vendor: v, Documents: n})
	}
	sort.Slice(rep.TopVendors, func(i, j int) bool {
		a, b := rep.TopVendors[i], rep.TopVendors[j]
		return a.Documents > b.Documents || (a.Documents == b.Documents && a.Vendor < b.Vendor)
	})
	rep.TopVendors = rep.TopVendors[:min(len(rep.TopVendors), topVendors)]
	return rep, nil
}

// CSV lists a report's documents. Vendors and filenames come from the
// documents' senders, so every cell goes through search.SafeCell, the one
// guard against spreadsheet formulas that the documents export uses too.
func (rep Report) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"document_id", "date", "vendor", "filename", "amount", "currency"})
	for _, d := range rep.Documents {
		row := []string{d.ID, d.Date, d.Vendor, d.Filename, d.Amount, d.Currency}
		for i, c := range row {
			row[i] = search.SafeCell(c)
		}
		_ = w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

// RunResult says what a report run did.
type RunResult struct {
	Month       string   `json:"month"`
	Sent        int      `json:"sent"`
	AlreadySent int      `json:"already_sent"`
	OptedOut    int      `json:"opted_out"`
	Unconfirmed int      `json:"unconfirmed,omitempty"`
	Refused     int      `json:"refused"`
	Reports     []Report `json:"reports,omitempty"`
}

type reportData struct {
	Report
	UnsubscribeURL string
}

// Run sends the month's report to every user with expenses in it, once.
// With dryRun it builds the reports and sends and records nothing.
func (r *Reporter) Run(ctx context.Context, month string, dryRun bool) (RunResult, error) {
	res := RunResult{Month: month}
	recipients, err := r.Queries.ReportRecipients(ctx, month)
	if err != nil {
		return res, fmt.Errorf("list report recipients: %w", err)
	}
	var errs []error
	for _, rc := range recipients {
		id := ReportID(rc.Tenant, rc.UserID, month)
		sent, err := r.Commands.ReportSent(ctx, rc.Tenant, id)
		if err != nil {
			return res, err
		}
		if !sent {
			if sent, err = r.Commands.ReportSent(ctx, rc.Tenant, addressReportID(rc.Tenant, rc.UserEmail, month)); err != nil {
				return res, err
			}
		}
		if sent {
			res.AlreadySent++
			continue
		}
		consent, err := r.Queries.EmailConsent(ctx, readmodel.EmailConsentParams{Tenant: rc.Tenant, UserEmail: rc.UserEmail})
		if err != nil {
			return res, err
		}
		if !consent.Enabled {
			res.OptedOut++
			continue
		}
		if r.RequireConfirmation && !consent.Confirmed {
			res.Unconfirmed++
			continue
		}
		rep, err := r.Build(ctx, rc.Tenant, rc.UserEmail, month)
		if err != nil {
			return res, err
		}
		if rep.Count == 0 {
			continue
		}
		if dryRun {
			res.Reports = append(res.Reports, rep)
			continue
		}
		switch err := r.send(ctx, id, rep); {
		case err == nil:
			res.Sent++
		case errors.Is(err, mail.ErrPermanent):
			res.Refused++
			r.Log.Warn("monthly report refused by the mail server", "report_id", id, "err", err)
		default:
			// Go on with the others; a later run sends what is left.
			errs = append(errs, fmt.Errorf("report %s: %w", id, err))
		}
	}
	return res, errors.Join(errs...)
}

func (r *Reporter) send(ctx context.Context, id string, rep Report) error {
	unsubscribe, err := r.Links.Unsubscribe(ctx, rep.tenant, rep.Email)
	if err != nil {
		return err
	}
	subject, text, html, err := r.Templates.Render("monthly_report", reportData{Report: rep, UnsubscribeURL: unsubscribe})
	if err != nil {
		return err
	}
	msg := mail.Message{
		To: rep.Email, Subject: subject, Text: text, HTML: html,
		MessageID: "report-" + id + "@" + r.Sender.MessageIDDomain(),
		Headers:   unsubscribeHeaders(unsubscribe),
		Attachments: []mail.Attachment{{Filename: "expenses-" + rep.Month + ".csv", ContentType: "text/csv",
			Data: rep.CSV()}},
	}
	if err := sendWithRetries(ctx, r.Sender, msg, r.Retries); err != nil {
		return err
	}
	totals := make([]domain.CurrencyTotal, 0, len(rep.Totals))
	for _, t := range rep.Totals {
		totals = append(totals, domain.CurrencyTotal{Currency: t.Currency, Total: t.Total})
	}
	_, err = r.Commands.RecordMonthlyReport(ctx, commands.Meta{Tenant: rep.tenant, CommandID: "report:" + id}, id,
		domain.MonthlyReportSent{Month: rep.Month, MessageID: msg.MessageID, Documents: rep.Count, Totals: totals})
	return err
}
