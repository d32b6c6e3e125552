package extract

import (
	"fmt"
	"strings"

	"tally/domain"
	"tally/einvoice"
)

// TypeXML is the content type of a structured e-invoice upload (CII or
// UBL); text/xml is read the same way.
const TypeXML = "application/xml"

func isXMLType(mediaType string) bool {
	return mediaType == TypeXML || mediaType == "text/xml" || strings.HasSuffix(mediaType, "+xml") && mediaType != "application/xhtml+xml"
}

// extractXML reads a standalone e-invoice. XML that is not an e-invoice,
// or that is refused (hostile or malformed), is ErrUnreadable with the
// reason.
func extractXML(content []byte) (domain.Fields, error) {
	inv, err := einvoice.Parse(content)
	if err != nil {
		return domain.Fields{}, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	inv.Fields.EngineVersion = EngineVersion
	return inv.Fields, nil
}

// preferXML lays the fields of a PDF's embedded e-invoice over those read
// from its text: every field the XML has wins, and where the text said
// something else the difference is recorded. Fields the XML lacks keep the
// text's value (and its source).
func preferXML(x, text domain.Fields) domain.Fields {
	out := text
	if out.Sources == nil {
		out.Sources = map[string]string{}
	}
	if out.Confidence == nil {
		out.Confidence = map[string]int{}
	}
	type field struct {
		name        string
		dst         *string
		xml         string
		same        func(a, b string) bool
		disagreeing bool // compared with the text
	}
	for _, f := range []field{
		{"vendor", &out.Vendor, x.Vendor, sameText, true},
		{"vendor_address", &out.VendorAddress, x.VendorAddress, sameText, false},
		{"date", &out.Date, x.Date, sameString, true},
		{"due_date", &out.DueDate, x.DueDate, sameString, true},
		{"invoice_number", &out.InvoiceNumber, x.InvoiceNumber, sameID, true},
		{"currency", &out.Currency, x.Currency, sameString, true},
		{"subtotal", &out.Subtotal, x.Subtotal, sameAmount, true},
		{"tax", &out.Tax, x.Tax, sameAmount, true},
		{"total", &out.Total, x.Total, sameAmount, true},
	} {
		if f.xml == "" {
			continue
		}
		if f.disagreeing && *f.dst != "" && !f.same(f.xml, *f.dst) {
			out.Disagreements = append(out.Disagreements, domain.Disagreement{Field: f.name, Kept: f.xml, Other: *f.dst})
		}
		*f.dst = f.xml
		out.Sources[f.name] = domain.FieldSourceXML
		out.Confidence[f.name] = 100
	}
	if len(x.LineItems) > 0 {
		out.LineItems = x.LineItems
		out.Sources["line_items"] = domain.FieldSourceXML
		out.Confidence["line_items"] = 100
	}
	return out
}

func sameString(a, b string) bool { return a == b }

// sameText compares names as a reader would: case and spacing aside.
func sameText(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// sameID compares identifiers without their spaces ("RE 123" = "RE123").
func sameID(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), ""), strings.Join(strings.Fields(b), ""))
}
