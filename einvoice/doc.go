// Package einvoice reads structured electronic invoices exactly: the
// UN/CEFACT Cross Industry Invoice (CII: ZUGFeRD 1.0 and 2.x, Factur-X,
// XRechnung CII) and OASIS UBL 2.1 (XRechnung UBL, Peppol BIS Billing 3.0)
// invoices and credit notes, standalone or embedded in a PDF/A-3.
//
// It maps them to domain.Fields by the EN 16931 semantic model: seller name
// (BT-27) and address (BG-5), issue date (BT-2), due date (BT-9), invoice
// number (BT-1), currency (BT-5), tax basis total (BT-109), tax total
// (BT-110), grand total (BT-112) and lines (BG-25). Values are copied, never
// guessed: amounts stay the decimal strings the XML holds.
//
// Invariants: the XML is never trusted. A document type declaration is
// refused outright, so no entity is ever expanded and no external entity is
// ever fetched (billion laughs, XXE); nesting depth, element count and size
// are bounded, so every input is read in time linear in its size. Every
// refusal says why, wrapped in ErrRefused; a document that is not an
// e-invoice at all is ErrNotInvoice.
package einvoice
