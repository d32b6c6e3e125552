package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// TenantPattern is what a tenant name looks like: short, lower-case and free
// of separators, because tenant names become NATS subjects, object keys and
// directory names.
var TenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ReservedTenant holds the deployment's own events (template activations);
// no tenant may take its name.
const ReservedTenant = "system"

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// ValidTenant reports whether a tenant name can sit in a stream subject and
// is not the deployment's own.
func ValidTenant(t string) bool { return TenantPattern.MatchString(t) && t != ReservedTenant }

// ValidateTenant explains why a tenant name is refused.
func ValidateTenant(t string) error {
	if !TenantPattern.MatchString(t) {
		return Invalid("tenant %q must be 1-63 lower-case letters, digits, '-' or '_'", t)
	}
	if t == ReservedTenant {
		return Invalid("tenant %q is reserved for the deployment's own events", t)
	}
	return nil
}

// ValidateEmail checks a bare address such as ann@example.com.
func ValidateEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	if len(email) > 254 || at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>,;\"") {
		return Invalid("%q is not an e-mail address", email)
	}
	return nil
}

// NormalizeUser trims a user and lower-cases their address, and refuses an
// address or name that cannot be one. A user without an address is allowed:
// the InvoiceFlow ingest route names no user; such a document gets no e-mail
// and counts under no one's totals.
func NormalizeUser(u User) (User, error) {
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if u.Email == "" {
		return u, nil
	}
	if err := ValidateEmail(u.Email); err != nil {
		return u, err
	}
	if len(u.Name) > 200 {
		return u, Invalid("name longer than 200 characters")
	}
	u.Email = strings.ToLower(u.Email)
	return u, nil
}

// ValidateFields checks extracted or corrected fields: decimal strings for
// amounts, ISO dates, ISO 4217 currency codes. It reports every problem.
func ValidateFields(f Fields) error {
	if errs := fieldProblems(f); len(errs) > 0 {
		return Invalid("%w", errors.Join(errs...))
	}
	return nil
}

func fieldProblems(f Fields) []error {
	var errs []error
	for name, v := range map[string]string{"subtotal": f.Subtotal, "tax": f.Tax, "total": f.Total} {
		if v != "" && !IsDecimalAmount(v) {
			errs = append(errs, fmt.Errorf("%s %q is not a decimal amount", name, v))
		}
	}
	for name, v := range map[string]string{"date": f.Date, "due_date": f.DueDate} {
		if _, err := time.Parse("2006-01-02", v); v != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not an ISO date (YYYY-MM-DD)", name, v))
		}
	}
	if f.Currency != "" && !currencyPattern.MatchString(f.Currency) {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", f.Currency))
	}
	return errs
}

// Bounds of a person's correction. A correction becomes an event that
// every replay reads and every subscriber receives, so it is bounded
// before it is appended.
const (
	MaxCorrectionValue     = 1 << 10   // bytes of one corrected value
	MaxCorrectionLineItems = 500       // line items in one correction
	MaxCorrectionEvent     = 256 << 10 // bytes of the DocumentCorrected payload
)

// ValidateCorrection checks the fields a person corrects: only the
// document's own fields (engine_version, template_version, sources,
// confidence, disagreements, issuer and learned_from are the extraction's
// to say), each value
// at most MaxCorrectionValue bytes, at most MaxCorrectionLineItems line
// items, and the values ValidateFields checks. It reports every problem.
func ValidateCorrection(f Fields) error {
	var errs []error
	for name, set := range map[string]bool{"engine_version": f.EngineVersion != "", "template_version": f.TemplateVersion != "",
		"sources": len(f.Sources) > 0, "confidence": len(f.Confidence) > 0, "disagreements": len(f.Disagreements) > 0,
		"issuer": f.Issuer != nil, "learned_from": f.LearnedFrom != nil} {
		if set {
			errs = append(errs, fmt.Errorf("%s cannot be corrected: it says how the fields were extracted", name))
		}
	}
	for name, v := range map[string]string{"vendor": f.Vendor, "vendor_address": f.VendorAddress, "date": f.Date, "due_date": f.DueDate,
		"invoice_number": f.InvoiceNumber, "currency": f.Currency, "subtotal": f.Subtotal, "tax": f.Tax, "total": f.Total} {
		if len(v) > MaxCorrectionValue {
			errs = append(errs, fmt.Errorf("%s is longer than %d bytes", name, MaxCorrectionValue))
		}
	}
	if len(f.LineItems) > MaxCorrectionLineItems {
		errs = append(errs, fmt.Errorf("%d line items; at most %d", len(f.LineItems), MaxCorrectionLineItems))
	} else {
		for i, li := range f.LineItems {
			if max(len(li.Description), len(li.Quantity), len(li.UnitPrice), len(li.Amount)) > MaxCorrectionValue {
				errs = append(errs, fmt.Errorf("line item %d has a value longer than %d bytes", i+1, MaxCorrectionValue))
			}
		}
	}
	errs = append(errs, fieldProblems(f)...)
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) > 0 {
		return Invalid("%w", errors.Join(errs...))
	}
	return nil
}

// ValidateCorrectedEvent checks that the event a correction makes, which
// holds every correction so far and the extraction's values, stays under
// MaxCorrectionEvent bytes.
func ValidateCorrectedEvent(e *DocumentCorrected) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode DocumentCorrected: %w", err)
	}
	if len(b) > MaxCorrectionEvent {
		return Invalid("the corrections of this document would take %d bytes; at most %d (correct fewer line items or shorter values)",
			len(b), MaxCorrectionEvent)
	}
	return nil
}
