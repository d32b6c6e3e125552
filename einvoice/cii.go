package einvoice

// fromCII maps a Cross Industry Invoice. ZUGFeRD 1.0 (CrossIndustryDocument)
// names the same business terms with other elements; both are read:
//
//	2.x (D16B)                                1.0
//	ExchangedDocument                         HeaderExchangedDocument
//	SupplyChainTradeTransaction               SpecifiedSupplyChainTradeTransaction
//	ApplicableHeaderTradeAgreement            ApplicableSupplyChainTradeAgreement
//	ApplicableHeaderTradeSettlement           ApplicableSupplyChainTradeSettlement
//	SpecifiedTradeSettlementHeaderMonetarySummation  SpecifiedTradeSettlementMonetarySummation
//	IncludedSupplyChainTradeLineItem          IncludedSupplyChainTradeLineItem
func fromCII(root *node) (Invoice, error) {
	inv := Invoice{Syntax: SyntaxCII}
	f := &inv.Fields
	doc := root.firstOf("ExchangedDocument", "HeaderExchangedDocument")
	f.InvoiceNumber = doc.child("ID").str()
	f.Date = isoDate(doc.path("IssueDateTime", "DateTimeString").str())
	if f.Date == "" {
		f.Date = isoDate(doc.child("IssueDateTime").str())
	}
	switch doc.child("TypeCode").str() {
	case "381", "396", "532":
		inv.CreditNote = true
	}
	tx := root.firstOf("SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
	agreement := tx.firstOf("ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement")
	seller := agreement.child("SellerTradeParty")
	f.Vendor = seller.child("Name").str()
	if a := seller.child("PostalTradeAddress"); a != nil {
		f.VendorAddress = joinAddress(a.child("LineOne").str(), a.child("LineTwo").str(), a.child("LineThree").str(),
			joinWords(a.child("PostcodeCode").str(), a.child("CityName").str()), a.child("CountryID").str())
	}
	settlement := tx.firstOf("ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement")
	f.Currency = currency(settlement.child("InvoiceCurrencyCode").str())
	for _, terms := range settlement.all("SpecifiedTradePaymentTerms") {
		if d := isoDate(terms.path("DueDateDateTime", "DateTimeString").str()); d != "" {
			f.DueDate = d
			break
		}
	}
	sum := settlement.firstOf("SpecifiedTradeSettlementHeaderMonetarySummation", "SpecifiedTradeSettlementMonetarySummation")
	f.Subtotal = amount(sum.child("TaxBasisTotalAmount").str())
	f.Tax = amountInCurrency(sum.all("TaxTotalAmount"), f.Currency)
	f.Total = amount(sum.child("GrandTotalAmount").str())
	if f.Total == "" {
		f.Total = amount(sum.child("DuePayableAmount").str())
	}
	for _, line := range tx.all("IncludedSupplyChainTradeLineItem") {
		f.LineItems = append(f.LineItems, ciiLine(line))
	}
	return finish(inv), nil
}

func ciiLine(line *node) domainLine {
	product := line.child("SpecifiedTradeProduct")
	agreement := line.firstOf("SpecifiedLineTradeAgreement", "SpecifiedSupplyChainTradeAgreement")
	delivery := line.firstOf("SpecifiedLineTradeDelivery", "SpecifiedSupplyChainTradeDelivery")
	settlement := line.firstOf("SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement")
	sum := settlement.firstOf("SpecifiedTradeSettlementLineMonetarySummation", "SpecifiedTradeSettlementMonetarySummation")
	price := agreement.child("NetPriceProductTradePrice")
	if price == nil {
		price = agreement.child("GrossPriceProductTradePrice")
	}
	return domainLine{
		Description: product.child("Name").str(),
		Quantity:    amount(delivery.child("BilledQuantity").str()),
		UnitPrice:   amount(price.child("ChargeAmount").str()),
		Amount:      amount(sum.child("LineTotalAmount").str()),
	}
}

// amountInCurrency picks, of several amounts that differ only in their
// currencyID (CII repeats the tax total in the accounting currency), the
// one in the invoice's currency, else the first.
func amountInCurrency(nodes []*node, cur string) string {
	for _, n := range nodes {
		if c := n.attr("currencyID"); c == "" || c == cur {
			return amount(n.str())
		}
	}
	if len(nodes) > 0 {
		return amount(nodes[0].str())
	}
	return ""
}

func joinWords(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p != "" {
			if out != "" {
				out += " "
			}
			out += p
		}
	}
	return out
}
