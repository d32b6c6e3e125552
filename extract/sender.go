package extract

import (
	"net/mail"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"

	"tally/domain"
)

// roleNameRe: display names that name a mailbox's role, not a merchant.
var roleNameRe = regexp.MustCompile(`(?i)^(?:no[-_ ]?reply|do[-_ ]?not[-_ ]?reply|donotreply|auto[-_ ]?confirm|info|mailer[-_ ]?daemon|notifications?|support|service|customer\s+service|orders?|receipts?|billing|accounts?)$`)

// SenderName is the merchant an e-mail's From: names: its display name
// when that reads as a name ("Amazon.co.uk", "ACME Shop"), else the
// organisational domain of its address, capitalised as brands print it
// ("auto-confirm@amazon.co.uk" -> "Amazon.co.uk"). "" when neither does.
func SenderName(displayName, address string) string {
	name := strings.Trim(strings.Join(strings.Fields(displayName), " "), `"' `)
	if name != "" && !strings.Contains(name, "@") && !roleNameRe.MatchString(name) && letterCount(name) >= 2 && len(name) <= 80 {
		return name
	}
	return SenderOrganisation(address)
}

// SenderOrganisation is an address's organisational domain (the registered
// domain under its public suffix), capitalised: "x@mail.shop.example.co.uk"
// -> "Example.co.uk". "" for an address without a usable domain.
func SenderOrganisation(address string) string {
	if a, err := mail.ParseAddress(address); err == nil {
		address = a.Address
	}
	_, host, ok := strings.Cut(address, "@")
	if !ok {
		return ""
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil || org == "" {
		return ""
	}
	return strings.ToUpper(org[:1]) + org[1:]
}

// markSources records where the generic engine's fields came from: the
// sender for a vendor named by an e-mail's From:, the text for the rest.
func markSources(f *domain.Fields, ev evidence) {
	if f.Sources == nil {
		f.Sources = map[string]string{}
	}
	for name, v := range map[string]string{
		"vendor": f.Vendor, "vendor_address": f.VendorAddress, "date": f.Date, "due_date": f.DueDate,
		"invoice_number": f.InvoiceNumber, "currency": f.Currency, "subtotal": f.Subtotal, "tax": f.Tax, "total": f.Total,
	} {
		if v != "" {
			f.Sources[name] = domain.FieldSourceText
		}
	}
	if len(f.LineItems) > 0 {
		f.Sources["line_items"] = domain.FieldSourceText
	}
	if f.Vendor != "" && ev.vendor == vendorSender {
		f.Sources["vendor"] = domain.FieldSourceSender
	}
}
