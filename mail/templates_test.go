package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"tally/mail"
)

func defaultTemplates() fstest.MapFS {
	return fstest.MapFS{
		"invoice_sent.subject.tmpl": {Data: []byte("Invoice {{.Number}} from {{.Company}}\n")},
		"invoice_sent.txt.tmpl":     {Data: []byte("Hello {{.Name}},\n\nplease find invoice {{.Number}} attached.\n")},
		"invoice_sent.html.tmpl":    {Data: []byte(`<p>Hello {{.Name}},</p><p><a href="{{.Link}}">Invoice {{.Number}}</a></p>`)},
		"reminder.subject.tmpl":     {Data: []byte("Reminder: invoice {{.Number}}")},
		"reminder.txt.tmpl":         {Data: []byte("Invoice {{.Number}} is overdue.")},
		"README.md":                 {Data: []byte("not a template")},
	}
}

type invoiceData struct {
	Name, Company, Number, Link string
}

func TestTemplatesDefaults(t *testing.T) {
	tpl, err := mail.LoadTemplates(defaultTemplates(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tpl.Names(), ","); got != "invoice_sent,reminder" {
		t.Errorf("Names = %s", got)
	}
	subject, text, html, err := tpl.Render("invoice_sent", invoiceData{Name: "Ann", Company: "ACME", Number: "2024-001", Link: "https://x.example/i/1"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Invoice 2024-001 from ACME" {
		t.Errorf("subject = %q", subject)
	}
	if text != "Hello Ann,\n\nplease find invoice 2024-001 attached.\n" {
		t.Errorf("text = %q", text)
	}
	if html != `<p>Hello Ann,</p><p><a href="https://x.example/i/1">Invoice 2024-001</a></p>` {
		t.Errorf("html = %q", html)
	}

	// No HTML part: html is empty.
	_, _, html, err = tpl.Render("reminder", map[string]any{"Number": "7"})
	if err != nil || html != "" {
		t.Errorf("reminder: html = %q, err = %v", html, err)
	}

	if _, _, _, err := tpl.Render("nope", nil); err == nil {
		t.Error("unknown template rendered")
	}
	if _, _, _, err := tpl.Render("reminder", map[string]any{}); err == nil {
		t.Error("missing key rendered without error")
	}
}

func TestTemplatesHTMLEscaping(t *testing.T) {
	tpl, err := mail.LoadTemplates(defaultTemplates(), "")
	if err != nil {
		t.Fatal(err)
	}
	d := invoiceData{Name: `<script>alert("x")</script> & Co`, Company: "A&B", Number: "1", Link: "javascript:alert(1)"}
	subject, text, html, err := tpl.Render("invoice_sent", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "&amp; Co") {
		t.Errorf("html not escaped: %q", html)
	}
	if strings.Contains(html, "javascript:") {
		t.Errorf("unsafe URL kept: %q", html)
	}
	// Text parts are not HTML: no escaping there.
	if !strings.Contains(text, `<script>alert("x")</script> & Co`) || subject != "Invoice 1 from A&B" {
		t.Errorf("text/subject escaped: %q / %q", text, subject)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "invoice_sent.txt.tmpl", "OVERRIDDEN {{.Number}}\n")
	writeFile(t, dir, "notes.txt", "ignored: not a template")
	// An HTML part for a template whose default has none, given through a
	// symbolic link as in a Kubernetes ConfigMap volume.
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := writeFile(t, filepath.Join(dir, "..data"), "reminder.html.tmpl", "<b>{{.Number}}</b>")
	if err := os.Symlink(target, filepath.Join(dir, "reminder.html.tmpl")); err != nil {
		t.Fatal(err)
	}

	tpl, err := mail.LoadTemplates(defaultTemplates(), dir)
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, err := tpl.Render("invoice_sent", invoiceData{Name: "Ann", Company: "ACME", Number: "9"})
	if err != nil {
		t.Fatal(err)
	}
	if text != "OVERRIDDEN 9\n" {
		t.Errorf("text = %q, want the override", text)
	}
	if subject != "Invoice 9 from ACME" || !strings.Contains(html, "Hello Ann") {
		t.Errorf("defaults not kept for files without override: %q / %q", subject, html)
	}
	if _, _, html, err := tpl.Render("reminder", map[string]any{"Number": "<7>"}); err != nil || html != "<b>&lt;7&gt;</b>" {
		t.Errorf("reminder html = %q, %v", html, err)
	}
}

func TestTemplatesBrokenOverride(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "invoice_sent.html.tmpl", "<p>{{.Name</p>")
	_, err := mail.LoadTemplates(defaultTemplates(), dir)
	if err == nil {
		t.Fatal("broken override loaded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name %s: %v", path, err)
	}
}

func TestTemplatesLoadErrors(t *testing.T) {
	// A misspelt override is reported, not ignored.
	dir := t.TempDir()
	path := writeFile(t, dir, "invoice-sent.txt.tmpl", "x")
	if _, err := mail.LoadTemplates(defaultTemplates(), dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("unknown override: err = %v", err)
	}

	// A missing override directory is a configuration error.
	if _, err := mail.LoadTemplates(defaultTemplates(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing override directory accepted")
	}

	// Broken defaults: every broken file is named.
	defaults := defaultTemplates()
	defaults["reminder.txt.tmpl"] = &fstest.MapFile{Data: []byte("{{if}}")}
	defaults["invoice_sent.subject.tmpl"] = &fstest.MapFile{Data: []byte("{{.Number")}
	_, err := mail.LoadTemplates(defaults, "")
	if err == nil || !strings.Contains(err.Error(), "reminder.txt.tmpl") || !strings.Contains(err.Error(), "invoice_sent.subject.tmpl") {
		t.Errorf("broken defaults: err = %v", err)
	}

	// A template without its text part.
	defaults = defaultTemplates()
	delete(defaults, "reminder.txt.tmpl")
	if _, err := mail.LoadTemplates(defaults, ""); err == nil || !strings.Contains(err.Error(), "reminder.txt.tmpl") {
		t.Errorf("missing text part: err = %v", err)
	}
}

func TestTemplatesSubjectOneLine(t *testing.T) {
	defaults := defaultTemplates()
	defaults["reminder.subject.tmpl"] = &fstest.MapFile{Data: []byte("Reminder\n{{.Number}}\n")}
	tpl, err := mail.LoadTemplates(defaults, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tpl.Render("reminder", map[string]any{"Number": "1"}); err == nil {
		t.Error("multi-line subject accepted")
	}
}
