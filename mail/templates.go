package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Template file suffixes; a template NAME is made of NAME+suffix files.
const (
	SubjectSuffix = ".subject.tmpl" // text/template, one line (required)
	TextSuffix    = ".txt.tmpl"     // text/template (required)
	HTMLSuffix    = ".html.tmpl"    // html/template (optional)
)

var suffixes = []string{SubjectSuffix, TextSuffix, HTMLSuffix}

// Templates are named e-mail templates, parsed once at load. Safe for
// concurrent use.
type Templates struct {
	byName map[string]*templateSet
}

type templateSet struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template // nil when the template has no HTML part
}

// LoadTemplates reads the templates in the top directory of defaults: each
// NAME is made of NAME.subject.tmpl, NAME.txt.tmpl and optionally
// NAME.html.tmpl.
//
// If overrideDir is not empty, a file there of the same name as one of these
// (including NAME.html.tmpl for a template whose default has no HTML part)
// replaces it, so operators change templates without rebuilding. Symbolic
// links are followed (as in Kubernetes ConfigMap volumes), hidden entries are
// ignored, and a *.tmpl file that matches no template is an error, so a
// misspelt override does not go unnoticed.
//
// Everything is parsed here, so a broken template is reported at start-up;
// the error names every broken file. Executing a template with a map that
// lacks a key it uses is an error too (missingkey=error).
func LoadTemplates(defaults fs.FS, overrideDir string) (*Templates, error) {
	if defaults == nil {
		return nil, errors.New("mail: LoadTemplates: no default templates")
	}
	type source struct {
		label string // file name shown in errors
		text  string
	}
	sources := map[string]source{} // by file name, e.g. "invoice.txt.tmpl"
	names := map[string]bool{}
	var errs []error

	entries, err := fs.ReadDir(defaults, ".")
	if err != nil {
		return nil, fmt.Errorf("mail: reading default templates: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		name, _, ok := splitTemplateFile(e.Name())
		if !ok {
			errs = append(errs, fmt.Errorf("default template %s: name must end in %s", e.Name(), strings.Join(suffixes, ", ")))
			continue
		}
		b, err := fs.ReadFile(defaults, e.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("default template %s: %w", e.Name(), err))
			continue
		}
		names[name] = true
		sources[e.Name()] = source{label: e.Name(), text: string(b)}
	}

	if overrideDir != "" {
		entries, err := os.ReadDir(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("mail: reading template override directory: %w", err)
		}
		for _, e := range entries {
			file := e.Name()
			if strings.HasPrefix(file, ".") || !strings.HasSuffix(file, ".tmpl") {
				continue
			}
			path := filepath.Join(overrideDir, file)
			info, err := os.Stat(path) // follows symbolic links
			if err != nil {
				errs = append(errs, fmt.Errorf("template override %s: %w", path, err))
				continue
			}
			if !info.Mode().IsRegular() {
				continue
			}
			name, _, ok := splitTemplateFile(file)
			if !ok || !names[name] {
				errs = append(errs, fmt.Errorf("template override %s matches no template (known: %s)",
					path, strings.Join(sortedKeys(names), ", ")))
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("template override %s: %w", path, err))
				continue
			}
			sources[file] = source{label: path, text: string(b)}
		}
	}

	t := &Templates{byName: make(map[string]*templateSet, len(names))}
	for _, name := range sortedKeys(names) {
		set := &templateSet{}
		for _, suffix := range suffixes {
			src, ok := sources[name+suffix]
			if !ok {
				if suffix != HTMLSuffix {
					errs = append(errs, fmt.Errorf("template %s: missing %s%s", name, name, suffix))
				}
				continue
			}
			var err error
			switch suffix {
			case SubjectSuffix:
				set.subject, err = texttemplate.New(src.label).Option("missingkey=error").Parse(src.text)
			case TextSuffix:
				set.text, err = texttemplate.New(src.label).Option("missingkey=error").Parse(src.text)
			case HTMLSuffix:
				set.html, err = htmltemplate.New(src.label).Option("missingkey=error").Parse(src.text)
			}
			if err != nil {
				// The parse error names src.label (the file) already.
				errs = append(errs, err)
			}
		}
		t.byName[name] = set
	}
	if len(names) == 0 {
		errs = append(errs, errors.New("no templates found in the defaults"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("mail: loading templates: %w", errors.Join(errs...))
	}
	return t, nil
}

// Names returns the template names, sorted.
func (t *Templates) Names() []string {
	return sortedKeys(t.byName)
}

// Render executes the named template. html is "" when the template has no
// HTML part. The subject is trimmed and must be a single line.
func (t *Templates) Render(name string, data any) (subject, text, html string, err error) {
	set, ok := t.byName[name]
	if !ok {
		return "", "", "", fmt.Errorf("mail: no template %q", name)
	}
	var buf bytes.Buffer
	if err := set.subject.Execute(&buf, data); err != nil {
		return "", "", "", fmt.Errorf("mail: rendering %s subject: %w", name, err)
	}
	subject = strings.TrimSpace(buf.String())
	if hasLineBreak(subject) {
		return "", "", "", fmt.Errorf("mail: rendering %s subject: result has more than one line", name)
	}
	buf.Reset()
	if err := set.text.Execute(&buf, data); err != nil {
		return "", "", "", fmt.Errorf("mail: rendering %s text: %w", name, err)
	}
	text = buf.String()
	if set.html != nil {
		buf.Reset()
		if err := set.html.Execute(&buf, data); err != nil {
			return "", "", "", fmt.Errorf("mail: rendering %s HTML: %w", name, err)
		}
		html = buf.String()
	}
	return subject, text, html, nil
}

func splitTemplateFile(file string) (name, suffix string, ok bool) {
	for _, s := range suffixes {
		if n, found := strings.CutSuffix(file, s); found && n != "" {
			return n, s, true
		}
	}
	return "", "", false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
