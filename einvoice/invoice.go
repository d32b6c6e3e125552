package einvoice

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"tally/domain"
)

// Syntaxes of the e-invoices read.
const (
	SyntaxCII = "CII" // UN/CEFACT Cross Industry Invoice (ZUGFeRD, Factur-X, XRechnung CII)
	SyntaxUBL = "UBL" // OASIS UBL 2.1 (XRechnung UBL, Peppol BIS Billing 3.0)
)

// Invoice is an e-invoice mapped to Tally's fields.
type Invoice struct {
	Fields domain.Fields
	// Syntax is SyntaxCII or SyntaxUBL.
	Syntax string
	// CreditNote is true for a UBL CreditNote or a CII document of a
	// credit-note type code (381, 396, 532). Its amounts are negative in
	// Fields, as domain.Fields' contract wants.
	CreditNote bool
}

// Sniff reports whether b looks like an XML e-invoice by its root element
// alone: the first element after the prolog (declarations, comments) is a
// CII or UBL root. It reads at most the first 64 KiB. A hostile or
// malformed document may still sniff as one; Parse decides.
func Sniff(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("<")) {
		return false
	}
	dec := xml.NewDecoder(bytes.NewReader(b[:min(len(b), 64<<10)]))
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return rootNames[se.Name.Local]
		}
	}
}

var rootNames = map[string]bool{"CrossIndustryInvoice": true, "CrossIndustryDocument": true, "Invoice": true, "CreditNote": true}

// Parse reads an e-invoice: CII or UBL, decided by the root element.
func Parse(b []byte) (Invoice, error) {
	root, err := parseTree(b)
	if err != nil {
		return Invoice{}, err
	}
	switch {
	case (root.name == "CrossIndustryInvoice" || root.name == "CrossIndustryDocument") && strings.Contains(root.space, "CrossIndustry"),
		// The UN/CEFACT draft that preceded ZUGFeRD 1.0 (CBFBUY) has
		// ZUGFeRD 1.0's structure under an Invoice root.
		root.name == "Invoice" && strings.Contains(root.space, "uncefact"):
		return fromCII(root)
	case (root.name == "Invoice" || root.name == "CreditNote") && strings.Contains(root.space, "ubl:schema:xsd"):
		return fromUBL(root)
	}
	return Invoice{}, fmt.Errorf("%w: the root element is <%s> in namespace %q", ErrNotInvoice, root.name, root.space)
}

// amount checks an XML amount against the decimal contract. XML decimals
// may carry a "+" sign or more decimals than a field holds; both are
// brought into shape without changing the value.
func amount(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	if s == "" {
		return ""
	}
	if domain.IsDecimalAmount(s) {
		return s
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "eE/") {
		return ""
	}
	v := r.FloatString(6)
	v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	if !domain.IsDecimalAmount(v) {
		return ""
	}
	return v
}

// negate flips an amount's sign ("" stays "").
func negate(s string) string {
	switch {
	case s == "" || strings.Trim(s, "0.") == "":
		return s
	case strings.HasPrefix(s, "-"):
		return s[1:]
	}
	return "-" + s
}

// isoDate reads the date formats the syntaxes use: CII's format "102"
// (YYYYMMDD), and ISO dates (UBL, CII's xs:date variants).
func isoDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 8 && isDigits(s) {
		s = s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	if len(s) >= 10 && isoDateRe.MatchString(s[:10]) {
		return s[:10]
	}
	return ""
}

var isoDateRe = regexp.MustCompile(`^(19|20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`)

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// joinAddress joins the non-empty parts of an address with ", ".
func joinAddress(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// currency is an ISO 4217 code, or "" when the XML holds something else.
func currency(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 3 {
		return ""
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return ""
		}
	}
	return s
}

// finish applies what every syntax shares: credit notes become negative,
// and every field found is marked as read from XML with full confidence.
func finish(inv Invoice) Invoice {
	f := &inv.Fields
	f.Vendor, f.InvoiceNumber = oneLine(f.Vendor), oneLine(f.InvoiceNumber)
	for i := range f.LineItems {
		f.LineItems[i].Description = oneLine(f.LineItems[i].Description)
	}
	if inv.CreditNote && !strings.HasPrefix(f.Total, "-") {
		f.Subtotal, f.Tax, f.Total = negate(f.Subtotal), negate(f.Tax), negate(f.Total)
	}
	f.Sources, f.Confidence = map[string]string{}, map[string]int{}
	for name, v := range map[string]string{
		"vendor": f.Vendor, "vendor_address": f.VendorAddress, "date": f.Date, "due_date": f.DueDate,
		"invoice_number": f.InvoiceNumber, "currency": f.Currency, "subtotal": f.Subtotal, "tax": f.Tax, "total": f.Total,
	} {
		if v != "" {
			f.Sources[name] = domain.FieldSourceXML
			f.Confidence[name] = 100
		}
	}
	if len(f.LineItems) > 0 {
		f.Sources["line_items"] = domain.FieldSourceXML
		f.Confidence["line_items"] = 100
	}
	return inv
}

type domainLine = domain.LineItem

// oneLine collapses the line breaks and indentation XML text carries.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
