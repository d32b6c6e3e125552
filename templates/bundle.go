package templates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
)

// Limits on a bundle, so that one bad file cannot exhaust a worker.
const (
	MaxBundleBytes  = 4 << 20 // the whole file
	MaxTemplates    = 1000
	MaxRegexBytes   = 1000
	MaxRegexInsts   = 20000 // compiled program size of one regex
	MaxMatchStrings = 50    // per list (all, any, none)
	MaxMatchBytes   = 200   // one match string
	MaxValueBytes   = 1000  // one constant value
)

// Bundle is a versioned set of templates with the samples that prove them.
type Bundle struct {
	Version   string     `json:"version"`
	Templates []Template `json:"templates"`
	Samples   []Sample   `json:"samples"`
}

// Template is one merchant's or issuer's layout.
type Template struct {
	Name    string               `json:"name"`
	Match   Match                `json:"match"`
	Options Options              `json:"options"`
	Fields  map[string]FieldRule `json:"fields"`
}

// Match decides whether a template applies to a text.
type Match struct {
	All  []string `json:"all,omitempty"`
	Any  []string `json:"any,omitempty"`
	None []string `json:"none,omitempty"`
}

// Options say how the template's document prints dates and amounts.
type Options struct {
	DateFormat  string `json:"date_format,omitempty"`
	DecimalMark string `json:"decimal_mark,omitempty"`
}

// FieldRule produces one field: a constant Value, or the capture Group of
// Regex. Group nil means 1 when the regex has a group, else 0.
type FieldRule struct {
	Value string `json:"value,omitempty"`
	Regex string `json:"regex,omitempty"`
	Group *int   `json:"group,omitempty"`
}

// Sample is a document text and what the bundle must extract from it.
type Sample struct {
	Name     string            `json:"name"`
	Template string            `json:"template,omitempty"`
	Text     string            `json:"text"`
	Expect   map[string]string `json:"expect,omitempty"`
}

// Field names a template may set: the JSON names of domain.Fields.
var FieldNames = []string{"vendor", "vendor_address", "date", "due_date", "invoice_number", "currency", "subtotal", "tax", "total"}

var (
	versionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$`)
	nameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// Checksum is the hex sha256 of a bundle file as published, so an operator
// can compare it with `sha256sum bundle.json`.
func Checksum(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Parse decodes a bundle strictly: one JSON object, no unknown keys, at most
// MaxBundleBytes. It checks nothing else; see Check.
func Parse(raw []byte) (*Bundle, error) {
	return parse(raw, MaxBundleBytes)
}

func parse(raw []byte, limit int) (*Bundle, error) {
	if len(raw) > limit {
		return nil, fmt.Errorf("bundle is %d bytes, more than %d", len(raw), limit)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("bundle is not valid JSON of the bundle format: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("bundle has data after its JSON object")
	}
	return &b, nil
}

// Load parses and checks a bundle and returns it compiled.
func Load(raw []byte) (*Set, error) {
	b, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return b.Check()
}

// Check validates the bundle and runs its samples; it returns the compiled
// set, or every problem found, joined. Samples run even when some template
// has problems; those that reach a broken template are skipped, since its
// own problems say more.
func (b *Bundle) Check() (*Set, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if b.Version == "" {
		fail("version: must not be empty")
	} else if !versionRe.MatchString(b.Version) {
		fail("version %q: must be 1-64 letters, digits or . _ + - (starting with a letter or digit)", b.Version)
	}
	if len(b.Templates) == 0 {
		fail("templates: the bundle has none")
	}
	if len(b.Templates) > MaxTemplates {
		fail("templates: %d, more than %d", len(b.Templates), MaxTemplates)
	}

	set := &Set{version: b.Version}
	seen := map[string]bool{}
	for i, t := range b.Templates {
		label := fmt.Sprintf("template %d", i+1)
		switch {
		case t.Name == "":
			fail("%s: name must not be empty", label)
		case !nameRe.MatchString(t.Name):
			fail("%s: name %q must be 1-64 of a-z, 0-9, . _ - (starting with a letter or digit)", label, t.Name)
		case seen[t.Name]:
			fail("%s: name %q is used twice", label, t.Name)
		}
		if t.Name != "" {
			label = fmt.Sprintf("template %q", t.Name)
			seen[t.Name] = true
		}
		c, problems := compileTemplate(t)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %w", label, p))
		}
		c.broken = len(problems) > 0
		set.templates = append(set.templates, c)
	}

	used := map[string]bool{}
	sampleNames := map[string]bool{}
	for i, s := range b.Samples {
		label := fmt.Sprintf("sample %d", i+1)
		if s.Name != "" {
			label = fmt.Sprintf("sample %q", s.Name)
			if sampleNames[s.Name] {
				fail("%s: name is used twice", label)
			}
			sampleNames[s.Name] = true
		}
		for _, p := range checkSample(set, s, seen, used) {
			errs = append(errs, fmt.Errorf("%s: %w", label, p))
		}
	}
	for _, t := range b.Templates {
		if !used[t.Name] {
			fail("template %q: no sample matches it; add one with the fields it must extract", t.Name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// checkSample runs one sample and compares the outcome with its
// expectation, field by field.
func checkSample(set *Set, s Sample, templates, used map[string]bool) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(s.Text) == "" {
		fail("text must not be empty")
		return errs
	}
	for k := range s.Expect {
		if !slices.Contains(FieldNames, k) {
			fail("expect: unknown field %q (known: %s)", k, strings.Join(FieldNames, ", "))
		}
	}
	if s.Template != "" && !templates[s.Template] {
		fail("template %q is not in the bundle", s.Template)
	}
	if len(errs) > 0 {
		return errs
	}

	for _, t := range set.templates {
		if t.broken && t.name == s.Template {
			used[t.name] = true
			return nil // its problems are reported already
		}
	}
	t, values, notes := set.match(s.Text)
	if t != nil && t.broken {
		used[t.name] = true
		return nil
	}
	if t == nil {
		if len(s.Expect) > 0 || s.Template != "" {
			fail("no template matched it")
		}
		return errs
	}
	used[t.name] = true
	if len(s.Expect) == 0 && s.Template == "" {
		fail("template %q matched it, but the sample expects no match", t.name)
		return errs
	}
	if s.Template != "" && t.name != s.Template {
		fail("template %q matched it instead of %q (templates are tried in order)", t.name, s.Template)
		return errs
	}
	for _, name := range FieldNames {
		want, got := s.Expect[name], values[name]
		if want == got {
			continue
		}
		msg := fmt.Sprintf("field %q: extracted %q, expected %q", name, got, want)
		if n := notes[name]; n != "" {
			msg += " (" + n + ")"
		}
		fail("%s", msg)
	}
	return errs
}

// compileTemplate checks one template and compiles it; the problems are
// returned all at once.
func compileTemplate(t Template) (*compiled, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := &compiled{name: t.Name, dateFormat: t.Options.DateFormat, decimalMark: t.Options.DecimalMark}

	if len(t.Match.All) == 0 && len(t.Match.Any) == 0 {
		fail("match: needs at least one \"all\" or \"any\" string, or it would match every document")
	}
	for _, list := range []struct {
		name string
		in   []string
		out  *[]string
	}{{"all", t.Match.All, &c.all}, {"any", t.Match.Any, &c.any}, {"none", t.Match.None, &c.none}} {
		if len(list.in) > MaxMatchStrings {
			fail("match.%s: %d strings, more than %d", list.name, len(list.in), MaxMatchStrings)
		}
		for _, s := range list.in {
			n := foldText(s)
			switch {
			case strings.TrimSpace(n) == "":
				fail("match.%s: empty string", list.name)
			case len(s) > MaxMatchBytes:
				fail("match.%s: %q is longer than %d bytes", list.name, truncate(s, 40), MaxMatchBytes)
			default:
				*list.out = append(*list.out, strings.TrimSpace(n))
			}
		}
	}

	switch t.Options.DecimalMark {
	case "", ".", ",":
	default:
		fail("options.decimal_mark: %q must be \",\" or \".\" (or absent)", t.Options.DecimalMark)
	}
	if err := checkDateFormat(t.Options.DateFormat); err != nil {
		fail("options.date_format: %v", err)
	}

	if len(t.Fields) == 0 {
		fail("fields: the template sets none")
	}
	for _, name := range sortedKeys(t.Fields) {
		r := t.Fields[name]
		if !slices.Contains(FieldNames, name) {
			fail("field %q: unknown (known: %s)", name, strings.Join(FieldNames, ", "))
			continue
		}
		f, err := compileField(name, r, c)
		if err != nil {
			fail("field %q: %v", name, err)
			continue
		}
		c.fields = append(c.fields, f)
	}
	return c, errs
}

func compileField(name string, r FieldRule, c *compiled) (fieldRule, error) {
	f := fieldRule{name: name}
	switch {
	case r.Value != "" && r.Regex != "":
		return f, errors.New("give either \"value\" or \"regex\", not both")
	case r.Value == "" && r.Regex == "":
		return f, errors.New("needs a \"value\" or a \"regex\"")
	case r.Value != "":
		if r.Group != nil {
			return f, errors.New("\"group\" only goes with \"regex\"")
		}
		if len(r.Value) > MaxValueBytes {
			return f, fmt.Errorf("value is longer than %d bytes", MaxValueBytes)
		}
		v, note := c.normalize(name, r.Value)
		if v == "" {
			return f, fmt.Errorf("value %q: %s", truncate(r.Value, 60), note)
		}
		f.value = v
		return f, nil
	}
	re, err := compileRegex(r.Regex)
	if err != nil {
		return f, err
	}
	f.re = re
	f.group = 0
	if re.NumSubexp() > 0 {
		f.group = 1
	}
	if r.Group != nil {
		if *r.Group < 0 || *r.Group > re.NumSubexp() {
			return f, fmt.Errorf("group %d: the regex has %d capture group(s)", *r.Group, re.NumSubexp())
		}
		f.group = *r.Group
	}
	return f, nil
}

// compileRegex compiles a template regex: RE2 syntax (Go's regexp, linear
// time, no backreferences or lookaround), bounded length and program size.
func compileRegex(expr string) (*regexp.Regexp, error) {
	if len(expr) > MaxRegexBytes {
		return nil, fmt.Errorf("regex is %d bytes, more than %d", len(expr), MaxRegexBytes)
	}
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("regex %q does not compile (RE2 syntax: no backreferences or lookaround): %v", truncate(expr, 80), err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, fmt.Errorf("regex %q does not compile: %v", truncate(expr, 80), err)
	}
	if len(prog.Inst) > MaxRegexInsts {
		return nil, fmt.Errorf("regex %q is too large once compiled (%d instructions, at most %d); use smaller repeat counts", truncate(expr, 80), len(prog.Inst), MaxRegexInsts)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regex %q does not compile: %v", truncate(expr, 80), err)
	}
	return re, nil
}

// checkDateFormat accepts "", dmy, mdy, ymd or a Go layout that carries a
// year, a month and a day (it must give back the date it printed).
func checkDateFormat(f string) error {
	switch f {
	case "", "dmy", "mdy", "ymd":
		return nil
	}
	for _, d := range []time.Time{
		time.Date(2031, 12, 25, 0, 0, 0, 0, time.UTC),
		time.Date(2032, 3, 4, 0, 0, 0, 0, time.UTC),
	} {
		back, err := time.Parse(f, d.Format(f))
		if err != nil || back.Year() != d.Year() || back.Month() != d.Month() || back.Day() != d.Day() {
			return fmt.Errorf("%q is neither dmy, mdy, ymd nor a Go layout with year, month and day (e.g. \"02/01/2006\")", f)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
