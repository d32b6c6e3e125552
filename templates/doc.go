// Package templates holds merchant and issuer templates as data: small
// rules, published as a versioned bundle, that the extraction engine applies
// before its own heuristics and that win where they match. A bundle is
// checked before it is activated, stored in PostgreSQL, activated in one
// transaction (recorded as a TemplatesActivated event), and picked up by
// running workers without a restart (Live).
//
// # Bundle format
//
// A bundle is one JSON document; unknown keys are errors, so a misspelt key
// is refused rather than silently ignored:
//
//	{
//	  "version": "2026.11.1",
//	  "templates": [
//	    {
//	      "name": "acme-invoices",
//	      "match": {"all": ["ACME Office Supplies"], "any": ["Invoice", "Rechnung"], "none": ["Credit note"]},
//	      "options": {"date_format": "dmy", "decimal_mark": "."},
//	      "fields": {
//	        "vendor":         {"value": "ACME Office Supplies Ltd"},
//	        "invoice_number": {"regex": "INVOICE No\\.\\s+(\\S+)"},
//	        "date":           {"regex": "(?m)^Date:\\s+(\\S+)", "group": 1},
//	        "total":          {"regex": "(?m)^Total\\s+EUR\\s+([0-9.,]+)", "group": 1}
//	      }
//	    }
//	  ],
//	  "samples": [
//	    {"name": "acme-2026-0042", "template": "acme-invoices",
//	     "text": "ACME Office Supplies Ltd\n...", "expect": {"vendor": "ACME Office Supplies Ltd", "total": "78.60"}}
//	  ]
//	}
//
// version: 1-64 characters of letters, digits and ". _ + -", compared
// semver-style (numeric parts as numbers, "1.2.0-rc1" before "1.2.0"); a
// stored version is never replaced, so a changed bundle needs a new version.
//
// templates: tried in order; the first whose match holds is used. name: 1-64
// of a-z, 0-9, ". _ -", unique in the bundle. match: "all" strings must all
// occur in the text, at least one "any" string must occur (when "any" is
// given), no "none" string may occur; comparison ignores case and treats runs
// of spaces and tabs as one space. At least one "all" or "any" string is
// required, so no template matches everything.
//
// options.date_format: how the template's dates are printed: a Go layout
// such as "02/01/2006" or "2 Jan 2006", or "dmy", "mdy", "ymd" (numbers or
// English month names separated by ". / - ," or spaces; two-digit years are
// 20YY). Empty uses the engine's own date reader (day-first). Dates come out
// as ISO "YYYY-MM-DD". options.decimal_mark: "," or "." for the template's
// amounts; the other mark, spaces and apostrophes are thousands separators,
// and a currency code or symbol around the number is dropped. Empty uses the
// engine's own amount reader. Amounts come out as decimal strings ("78.60").
//
// fields: keyed by the JSON names of domain.Fields: vendor, vendor_address,
// date, due_date, invoice_number, currency, subtotal, tax, total. Each is
// either {"value": "..."}, a constant, or {"regex": "...", "group": N}: the
// text of capture group N (default 1 when the regex has a group, else the
// whole match) of the first match. Regexes are Go RE2 syntax (no
// backreferences or lookaround, linear time), at most 1000 bytes and of
// bounded compiled size; they run on the document text as the engine read it
// (pdftotext -layout for PDFs), lines separated by "\n". Values are
// normalised: amounts and dates as above, currency to an ISO code (letters
// upper-cased; €, £, $, ¥ mapped), other fields to single-spaced text. A field
// whose regex does not match, or whose value does not normalise, stays empty
// and the engine's own result is kept for it.
//
// samples: documents with the fields the bundle must extract from them,
// exactly: every field in "expect" must come out with that value and every
// other field empty. "template", when given, names the template that must
// match. A sample without "expect" must match no template (a negative
// sample). Every template must be exercised by at least one sample.
//
// # Checks
//
// Check reports every problem at once (errors.Join): the schema (version,
// unique names, known field names, one of value/regex, options), each regex
// (compiles under RE2, bounded length and size, group exists), and every
// sample run through the compiled templates. A bundle with any problem is
// refused and the active bundle stays.
//
// # Storage and activation
//
// Table template_bundles keeps every stored bundle (JSONB) with the sha256 of
// the file as fetched; at most one row is active. Store.Install stores and
// activates in one transaction, under an advisory lock; the
// TemplatesActivated event (on aggregate type "templates", tenant "system",
// id AggregateID) is appended inside that transaction, just before commit.
// Store.Rollback activates the previous (or a named) stored bundle the same
// way, after checking it again with the running code.
//
// # Updates
//
// Updater fetches the newest bundle from an S3 bucket (S3Source) or a
// directory (DirSource): of the *.json objects (directly under the prefix),
// the one whose file name is the highest version (read from its first digit
// on, so "2026.11.2.json", "v2026.11.2.json" and "bundle-2026.11.2.json" all
// say 2026.11.2), the newest object among equal names. Name bundle files
// after their version. A version that
// is already stored is skipped, even when it is not the active one (so a
// rollback is not undone by the next run).
package templates
