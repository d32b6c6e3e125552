package einvoice

// fromUBL maps a UBL 2.1 Invoice or CreditNote (XRechnung UBL, Peppol BIS
// Billing 3.0). The seller's legal name (BT-27, PartyLegalEntity/
// RegistrationName) is preferred to the trading name (BT-28, PartyName).
func fromUBL(root *node) (Invoice, error) {
	inv := Invoice{Syntax: SyntaxUBL, CreditNote: root.name == "CreditNote"}
	f := &inv.Fields
	f.InvoiceNumber = root.child("ID").str()
	f.Date = isoDate(root.child("IssueDate").str())
	f.DueDate = isoDate(root.child("DueDate").str())
	if f.DueDate == "" {
		for _, pm := range root.all("PaymentMeans") {
			if d := isoDate(pm.child("PaymentDueDate").str()); d != "" {
				f.DueDate = d
				break
			}
		}
	}
	if root.child("CreditNoteTypeCode") == nil {
		switch root.child("InvoiceTypeCode").str() {
		case "381", "396", "532":
			inv.CreditNote = true
		}
	}
	f.Currency = currency(root.child("DocumentCurrencyCode").str())
	party := root.path("AccountingSupplierParty", "Party")
	f.Vendor = party.path("PartyLegalEntity", "RegistrationName").str()
	if f.Vendor == "" {
		f.Vendor = party.path("PartyName", "Name").str()
	}
	if a := party.child("PostalAddress"); a != nil {
		f.VendorAddress = joinAddress(a.child("StreetName").str(), a.child("AdditionalStreetName").str(),
			a.path("AddressLine", "Line").str(), joinWords(a.child("PostalZone").str(), a.child("CityName").str()),
			a.path("Country", "IdentificationCode").str())
	}
	var taxes []*node
	for _, tt := range root.all("TaxTotal") {
		taxes = append(taxes, tt.all("TaxAmount")...)
	}
	f.Tax = amountInCurrency(taxes, f.Currency)
	total := root.child("LegalMonetaryTotal")
	f.Subtotal = amount(total.child("TaxExclusiveAmount").str())
	f.Total = amount(total.child("TaxInclusiveAmount").str())
	if f.Total == "" {
		f.Total = amount(total.child("PayableAmount").str())
	}
	for _, line := range append(root.all("InvoiceLine"), root.all("CreditNoteLine")...) {
		f.LineItems = append(f.LineItems, domainLine{
			Description: line.path("Item", "Name").str(),
			Quantity:    amount(line.firstOf("InvoicedQuantity", "CreditedQuantity").str()),
			UnitPrice:   amount(line.path("Price", "PriceAmount").str()),
			Amount:      amount(line.child("LineExtensionAmount").str()),
		})
	}
	return finish(inv), nil
}
