package extract

import (
	"reflect"
	"regexp/syntax"
	"slices"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []needle // nil: no prefilter
	}{
		{`grand\s*total`, []needle{{s: "grand"}}},
		{`sub\s*total|amount\s*due`, []needle{{s: "amount"}, {s: "total"}}},
		{`\btotal\b`, []needle{{s: "total"}}},
		{`x?total`, []needle{{s: "total"}}},
		{`(?:net)?\s*(?:total|summe)+`, []needle{{s: "summe"}, {s: "total"}}},
		{`(?i)invoice\s*no`, []needle{{s: "INVOICE", fold: true}}},
		{`[0-9]+[.,]\d\d`, []needle{{s: ","}, {s: "."}}},
		{`total|\d`, slices.Concat([]needle{{s: "0"}, {s: "1"}, {s: "2"}, {s: "3"}, {s: "4"}, {s: "5"}, {s: "6"}, {s: "7"}, {s: "8"}, {s: "9"}}, []needle{{s: "total"}})},
		// Exact parts in a row are joined.
		{`\b(tax|vat|gst|mwst|ust|umsatzsteuer)\b`, []needle{{s: "gst"}, {s: "mwst"}, {s: "tax"}, {s: "umsatzsteuer"}, {s: "ust"}, {s: "vat"}}},
		{`(?:price|preis)\s*:`, []needle{{s: "preis"}, {s: "price"}}},
		{`(?i)u(?:st|msatzsteuer)`, []needle{{s: "UMSATZSTEUER", fold: true}, {s: "UST", fold: true}}},
		{`total|\w`, nil}, // a class too wide to list
		{`a*`, nil},       // matches the empty string
		{`total|x*`, nil}, // one branch needs nothing
		{`.+`, nil},
		{"\uFFFD", nil}, // also matches an invalid byte
	} {
		re, err := syntax.Parse(c.expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiterals(re.Simplify()); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: needles %v, want %v", c.expr, got, c.want)
		}
	}
}

// theRulesRegexps are the patterns the rules ask of every line: the
// prefilter must never change an answer of theirs.
func theRulesRegexps() []lineRegexp {
	res := []lineRegexp{addressLabelRe, addressWordRe, afterLegalFormRe, branchLineRe, cashLineRe, changeLineRe, columnGapRe, compactDateCandRe, compactDateRe, copyrightRe, customerLabelRe, dateCandidateRe, dateLabelRe, dayMonthRe, docLabelRe, domainBrandRe, dotPriceRe, dueLabelRe, finalTotalRe, gluedAfterDateRe, isoDateRe, issueDateLabelRe, labelValueRe, leadingRefRe, legalFormEndRe, legalFormRe, legalTailRe, misreadCoRe, misreadSdnBhdRe, monthDayRe, notAddressRe, notDateLabelRe, notItemRe, notTotalIncludedRe, notTotalRe, notVendorRe, numDateRe, numberRe, ocrDateRe, ocrSpeckEndsRe, ocrYearRe, orderRefRe, parenNumberRe, partSepRe, payeeTitleRe, postcodeRe, premisesNoRe, premisesNumberRe, priceLikeRe, regNumberRe, registrationRe, roundingLineRe, roundingValueRe, streetRe, subtotalRe, summaryRe, taxIDRe, taxRe, taxRowRe, taxSummaryRe, tenderRe, tenderTotalRe, totalRowRe, trailingDocLabelRe, trailingPostcodeRe, trailingRegRe, weekdayPrefix}
	for _, k := range totalKeywords {
		res = append(res, k.re)
	}
	return append(res, invoiceLabels...)
}

func TestRulesRegexpsHavePrefilters(t *testing.T) {
	// Not every pattern has needles, but the label patterns must: they
	// are where the rules spend their time.
	for _, re := range []lineRegexp{notItemRe, taxRowRe, notTotalRe, notTotalIncludedRe, finalTotalRe, subtotalRe, taxRe, taxIDRe, taxSummaryRe, totalKeywords[0].re, invoiceLabels[0], invoiceLabels[1]} {
		if re.needles == nil {
			t.Errorf("%s: no prefilter", re)
		}
	}
}

func FuzzLineRegexp(f *testing.F) {
	for _, s := range []string{
		"TOTAL   RM 105.00", "grand total 12,50", "Sub-Total: 9.90", "GST @6% INCLUDED IN TOTAL 2.43",
		"Invoice No. 2026-0042", "INVOICE NO: 7", "Rechnungsnummer 12", "tax summary", "\u212a", "ſ", "\xff\xfe total",
		"ınvoıce", "DATE: 14/03/2018", "Jalan Bunga 3, 43300 Seri Kembangan", "",
		"USt-IdNr. DE123", "19 % Umsatzsteuer 3,80", "Preis: 4,00", "shipping 4.90", "1 widget, stainless 3.50",
	} {
		f.Add(s)
	}
	res := theRulesRegexps()
	f.Fuzz(func(t *testing.T, s string) {
		for _, re := range res {
			plain := re.Regexp
			if re.MatchString(s) != plain.MatchString(s) {
				t.Fatalf("%s MatchString(%q) = %v with the prefilter", re, s, re.MatchString(s))
			}
			if !slices.Equal(re.FindStringIndex(s), plain.FindStringIndex(s)) {
				t.Fatalf("%s FindStringIndex(%q) differs with the prefilter", re, s)
			}
			if !slices.Equal(re.FindStringSubmatchIndex(s), plain.FindStringSubmatchIndex(s)) {
				t.Fatalf("%s FindStringSubmatchIndex(%q) differs with the prefilter", re, s)
			}
			if !reflect.DeepEqual(re.FindAllStringIndex(s, -1), plain.FindAllStringIndex(s, -1)) {
				t.Fatalf("%s FindAllStringIndex(%q) differs with the prefilter", re, s)
			}
		}
	})
}
