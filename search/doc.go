// Package search finds a tenant's documents in the search read model
// (projected by projections.Search): full text over vendor, file name,
// invoice number, line items and the document's extracted text, filters
// on vendor, dates, amounts, currency, status and user, sorted and paged
// by a cursor; and streams
// every match for an export, in constant memory, as CSV or JSON lines.
//
// Invariants: every query is bound to one tenant; user input reaches SQL
// only as parameters (the text query is reduced to letters and digits
// before it becomes a tsquery); a CSV cell never starts with a character
// a spreadsheet would take for a formula.
package search
