package templates

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tally/domain"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTemplateBundlesInTestdataPass(t *testing.T) {
	for name, want := range map[string]int{"bundle-2026.11.1.json": 1, "bundle-2026.11.2.json": 2} {
		set, err := Load(readTestdata(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if set.Templates() != want {
			t.Errorf("%s: %d templates, want %d", name, set.Templates(), want)
		}
	}
}

func TestTemplateMatchACME(t *testing.T) {
	set, err := Load(readTestdata(t, "bundle-2026.11.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := "ACME Office Supplies Ltd\r\n12 High Street, Springfield\r\n\r\nINVOICE No. INV-9\r\nDate: 2026-12-01\r\nSubtotal   1,065.50\r\nVAT 20%    213.10\r\nTotal EUR  1,278.60\r\n"
	f, name, version, ok := set.Match(text)
	if !ok || name != "acme-invoices" || version != "2026.11.2" {
		t.Fatalf("Match = %v %q %q", ok, name, version)
	}
	want := domain.Fields{Vendor: "ACME Office Supplies Ltd", VendorAddress: "12 High Street, Springfield", InvoiceNumber: "INV-9",
		Date: "2026-12-01", Currency: "EUR", Subtotal: "1065.50", Tax: "213.10", Total: "1278.60"}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("fields\n got %+v\nwant %+v", f, want)
	}
	if _, _, _, ok := set.Match("acme office supplies, a letter"); ok {
		t.Error("matched a text without INVOICE No.")
	}
	// Layout spacing and case do not stop a match.
	if _, name, _, ok := set.Match("acme   OFFICE\tsupplies ... invoice no. 1"); !ok || name != "acme-invoices" {
		t.Errorf("folded match failed: %v %q", ok, name)
	}
	// "none" wins over "any".
	if _, _, _, ok := set.Match("Globex Corporation Gutschrift Rechnung"); ok {
		t.Error("a credit note matched")
	}
	var nilSet *Set
	if _, _, _, ok := nilSet.Match(text); ok {
		t.Error("nil set matched")
	}
}

// bundleWith returns the 2026.11.2 test bundle changed by edit.
func bundleWith(t *testing.T, edit func(b *Bundle)) []byte {
	t.Helper()
	b, err := Parse(readTestdata(t, "bundle-2026.11.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTemplateCheckReportsEveryProblem(t *testing.T) {
	_, err := Load(readTestdata(t, "bundle-2026.11.10-broken.json"))
	if err == nil {
		t.Fatal("broken bundle passed")
	}
	for _, want := range []string{
		`template "acme-invoices": field "total": regex "(?<=Total EUR)`, "RE2",
		`sample "globex-g-7781": field "tax": extracted "234", expected "234.56"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	// Problems of the schema are all reported together.
	raw := bundleWith(t, func(b *Bundle) {
		b.Version = ""
		b.Templates[0].Name = "acme-invoices" // duplicate
		b.Templates[1].Fields["totl"] = FieldRule{Value: "1"}
		b.Templates[1].Fields["date"] = FieldRule{Regex: "(x", Group: new(int)}
		b.Templates[1].Options.DecimalMark = ";"
		b.Templates[1].Options.DateFormat = "2006"
		b.Templates[1].Fields["vendor"] = FieldRule{Value: "x", Regex: "y"}
		b.Templates[1].Fields["currency"] = FieldRule{}
		two := 2
		b.Templates[1].Fields["tax"] = FieldRule{Regex: "VAT (x)", Group: &two}
		b.Templates[1].Fields["subtotal"] = FieldRule{Regex: strings.Repeat("a", MaxRegexBytes+1)}
		b.Templates[1].Fields["invoice_number"] = FieldRule{Regex: "((a{100}){100}){100}"}
		b.Templates[0].Match = Match{None: []string{"x"}}
	})
	_, err = Load(raw)
	if err == nil {
		t.Fatal("bad bundle passed")
	}
	for _, want := range []string{
		"version: must not be empty",
		`name "acme-invoices" is used twice`,
		`field "totl": unknown`,
		`field "date": regex "(x" does not compile`,
		`options.decimal_mark: ";"`,
		`options.date_format: "2006"`,
		`field "vendor": give either "value" or "regex"`,
		`field "currency": needs a "value" or a "regex"`,
		`field "tax": group 2: the regex has 1 capture group(s)`,
		`field "subtotal": regex is 1001 bytes`,
		`field "invoice_number": regex`,
		`match: needs at least one "all" or "any" string`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	// Samples must come out exactly as the bundle says.
	raw = bundleWith(t, func(b *Bundle) {
		b.Samples[1].Expect["total"] = "99.99"
		delete(b.Samples[1].Expect, "vendor_address")
		b.Samples[0].Template = "acme-invoices"
		b.Samples[2].Expect = map[string]string{"total": "3.20"}
		b.Samples = append(b.Samples, Sample{Name: "acme-credit", Text: b.Samples[1].Text})
	})
	_, err = Load(raw)
	if err == nil {
		t.Fatal("bundle with failing samples passed")
	}
	for _, want := range []string{
		`sample "acme-inv-2026-0042": field "total": extracted "78.60", expected "99.99"`,
		`sample "acme-inv-2026-0042": field "vendor_address": extracted "12 High Street, Springfield", expected ""`,
		`sample "globex-g-7781": template "globex-rechnung" matched it instead of "acme-invoices"`,
		`sample "unrelated-receipt": no template matched it`,
		`sample "acme-credit": template "acme-invoices" matched it, but the sample expects no match`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	// A template no sample exercises is refused; so is a note-worthy empty field.
	raw = bundleWith(t, func(b *Bundle) {
		b.Samples = b.Samples[:1]
		b.Samples[0].Text = strings.Replace(b.Samples[0].Text, "MwSt", "USt", 1)
	})
	_, err = Load(raw)
	for _, want := range []string{
		`template "acme-invoices": no sample matches it`,
		`field "tax": extracted "", expected "234.56" (regex did not match)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestTemplateParseIsStrict(t *testing.T) {
	for name, raw := range map[string]string{
		"unknown key":  `{"version":"1","templates":[],"sampels":[]}`,
		"not json":     `version: 1`,
		"trailing":     `{"version":"1"} {}`,
		"wrong type":   `{"version":1}`,
		"regexp typo":  `{"version":"1","templates":[{"name":"a","match":{"all":["a"]},"fields":{"total":{"regexp":"a"}}}]}`,
		"too large":    `{"version":"` + strings.Repeat("1", MaxBundleBytes) + `"}`,
		"no templates": `{"version":"1"}`,
	} {
		if _, err := Load([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTemplateNormalize(t *testing.T) {
	for _, c := range []struct {
		in, mark, want string
	}{
		{"1.234,56", ",", "1234.56"},
		{"1 234,56 €", ",", "1234.56"},
		{"EUR 78.60", ".", "78.60"},
		{"1,278.60", ".", "1278.60"},
		{"(5,00)", ",", "-5.00"},
		{"-3.00 EUR", ".", "-3.00"},
		{"1'000.5", ".", "1000.5"},
		{"007", ".", "7"},
		{"1.234,56", ".", ""},
		{"12,34,56", ",", ""},
		{"abc", ",", ""},
		{"1.2.3", ".", ""},
		{"1.234,56", "", "1234.56"},
	} {
		got, ok := normalizeAmount(c.in, c.mark)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("normalizeAmount(%q, %q) = %q, want %q", c.in, c.mark, got, c.want)
		}
	}
	for _, c := range []struct {
		in, format, want string
	}{
		{"03/04/2026", "dmy", "2026-04-03"},
		{"03/04/2026", "mdy", "2026-03-04"},
		{"2026.04.03", "ymd", "2026-04-03"},
		{"3 Apr 26", "dmy", "2026-04-03"},
		{"April 3rd, 2026", "mdy", "2026-04-03"},
		{"31/02/2026", "dmy", ""},
		{"03/04/2026", "02/01/2006", "2026-04-03"},
		{"Apr 3, 2026", "Jan 2, 2006", "2026-04-03"},
		{"03/04/2026", "", "2026-04-03"},
		{"tomorrow", "dmy", ""},
	} {
		got, ok := normalizeDate(c.in, c.format)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("normalizeDate(%q, %q) = %q, want %q", c.in, c.format, got, c.want)
		}
	}
	for in, want := range map[string]string{"eur": "EUR", "€": "EUR", "US$": "USD", "rm": "MYR", "euro": "", "E": ""} {
		got, ok := normalizeCurrency(in)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("normalizeCurrency(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplateCompareVersions(t *testing.T) {
	ordered := []string{"1", "1.0.1", "1.2.0-rc1", "1.2.0-rc2", "1.2.0", "2026.2", "2026.11.1", "2026.11.2", "2026.11.10", "2027"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareVersions(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if CompareVersions("1.0", "1.0.0") != 0 || CompareVersions("1.0+build7", "1.0") != 0 {
		t.Error("equal versions compare unequal")
	}
}

func TestTemplateDirSourcePicksHighestVersion(t *testing.T) {
	dir := t.TempDir()
	if got, err := (DirSource{Dir: dir}).Newest(context.Background()); err != nil || got != nil {
		t.Fatalf("empty dir: %v %v", got, err)
	}
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{"2026.11.2.json", "2026.11.10.json", "2026.9.30.json", "notes.txt", "v2026.11.10-rc1.json"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		// The highest version is the oldest file: names decide, not times.
		if name == "2026.11.10.json" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "2099.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := (DirSource{Dir: dir}).Newest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "2026.11.10.json" || got.Name != filepath.Join(dir, "2026.11.10.json") {
		t.Errorf("Newest = %s (%s)", got.Name, got.Data)
	}
}
