package templates

import (
	"regexp"
	"strings"
	"unicode"

	"tally/domain"
)

// Set is a checked, compiled bundle. It is immutable and safe for
// concurrent use; it implements extract.TemplateMatcher.
type Set struct {
	version   string
	templates []*compiled
}

type compiled struct {
	name           string
	all, any, none []string // folded (see foldText)
	dateFormat     string
	decimalMark    string
	fields         []fieldRule
	broken         bool // had problems (only while a bundle is checked)
}

type fieldRule struct {
	name  string
	value string // a constant, already normalised
	re    *regexp.Regexp
	group int
}

// Version is the bundle's version ("" for a nil set).
func (s *Set) Version() string {
	if s == nil {
		return ""
	}
	return s.version
}

// Templates is the number of templates in the set.
func (s *Set) Templates() int {
	if s == nil {
		return 0
	}
	return len(s.templates)
}

// Match applies the first template whose match holds to text. fields holds
// only what the template found (amounts as decimal strings, dates as ISO
// dates); the others are empty. ok is false when no template matches.
func (s *Set) Match(text string) (fields domain.Fields, template string, version string, ok bool) {
	if s == nil {
		return domain.Fields{}, "", "", false
	}
	t, values, _ := s.match(text)
	if t == nil {
		return domain.Fields{}, "", "", false
	}
	return toFields(values), t.name, s.version, true
}

// match finds the template and its values by field name; notes say why a
// field came out empty (for the sample checks).
func (s *Set) match(text string) (*compiled, map[string]string, map[string]string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	folded := foldText(text)
	for _, t := range s.templates {
		if !t.matches(folded) {
			continue
		}
		values, notes := map[string]string{}, map[string]string{}
		for _, f := range t.fields {
			if f.re == nil {
				values[f.name] = f.value
				continue
			}
			m := f.re.FindStringSubmatchIndex(text)
			if m == nil || m[2*f.group] < 0 {
				notes[f.name] = "regex did not match"
				continue
			}
			raw := text[m[2*f.group]:m[2*f.group+1]]
			v, note := t.normalize(f.name, raw)
			if v == "" {
				notes[f.name] = note
				continue
			}
			values[f.name] = v
		}
		return t, values, notes
	}
	return nil, nil, nil
}

func (t *compiled) matches(folded string) bool {
	for _, s := range t.all {
		if !strings.Contains(folded, s) {
			return false
		}
	}
	for _, s := range t.none {
		if strings.Contains(folded, s) {
			return false
		}
	}
	if len(t.any) == 0 {
		return true
	}
	for _, s := range t.any {
		if strings.Contains(folded, s) {
			return true
		}
	}
	return false
}

// foldText lower-cases s and turns every run of horizontal white space into
// one space, so that match strings survive layout spacing.
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r != '\n' && unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func toFields(v map[string]string) domain.Fields {
	return domain.Fields{
		Vendor:        v["vendor"],
		VendorAddress: v["vendor_address"],
		Date:          v["date"],
		DueDate:       v["due_date"],
		InvoiceNumber: v["invoice_number"],
		Currency:      v["currency"],
		Subtotal:      v["subtotal"],
		Tax:           v["tax"],
		Total:         v["total"],
	}
}
