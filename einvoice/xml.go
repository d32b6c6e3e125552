package einvoice

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

var (
	// ErrRefused wraps every reason an XML document is not read: hostile
	// constructs (entity declarations, external entities), limits exceeded,
	// or XML that is not well-formed.
	ErrRefused = errors.New("e-invoice XML refused")
	// ErrNotInvoice means well-formed XML whose root is neither a CII nor a
	// UBL invoice or credit note.
	ErrNotInvoice = errors.New("not a CII or UBL e-invoice")
)

// Limits bound the work done on one XML document.
const (
	MaxBytes    = 20 << 20 // a large e-invoice with thousands of lines is a few MiB
	MaxDepth    = 64       // CII nests about 12 deep, UBL about 8
	MaxElements = 500_000
	maxText     = 1 << 20 // characters kept of one element's text
)

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// node is one element: its local name, namespace, attributes and text.
type node struct {
	space, name string
	attrs       []xml.Attr
	text        string
	children    []*node
}

// parseTree reads b into a tree of elements (namespaces resolved),
// refusing a DOCTYPE (the only way to declare entities), undefined
// entities, and anything past the limits. encoding/xml itself never fetches external resources; refusing
// the DOCTYPE also means no entity can expand into more text than was sent.
func parseTree(b []byte) (*node, error) {
	if len(b) > MaxBytes {
		return nil, refuse("the XML is %d bytes, more than the %d allowed", len(b), MaxBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var root *node
	var stack []*node
	var text []*strings.Builder
	elements := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, refuse("the XML is not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if d := strings.ToUpper(strings.TrimSpace(string(t))); strings.HasPrefix(d, "DOCTYPE") || strings.HasPrefix(d, "ENTITY") {
				return nil, refuse("the XML has a document type declaration; e-invoices need none, and entity declarations (entity expansion, external entities) are not accepted")
			}
			return nil, refuse("the XML has a <!%s> declaration, which e-invoices do not use", firstWord(string(t)))
		case xml.StartElement:
			elements++
			if elements > MaxElements {
				return nil, refuse("the XML has more than %d elements", MaxElements)
			}
			if len(stack) >= MaxDepth {
				return nil, refuse("the XML nests deeper than %d elements", MaxDepth)
			}
			n := &node{space: t.Name.Space, name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, refuse("the XML has more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(text[len(text)-1].String())
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				if sb := text[len(text)-1]; sb.Len() < maxText {
					sb.Write(t)
				}
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, refuse("the XML has text outside its root element")
			}
		}
	}
	if root == nil {
		return nil, refuse("the XML has no root element")
	}
	if len(stack) > 0 {
		return nil, refuse("the XML ends before <%s> is closed", stack[len(stack)-1].name)
	}
	return root, nil
}

// charsetReader accepts the encodings e-invoices are written in: UTF-8
// (the standards require it) and, leniently, ISO-8859-1.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso-8859-15", "windows-1252":
		b, err := io.ReadAll(io.LimitReader(input, MaxBytes))
		if err != nil {
			return nil, err
		}
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return strings.NewReader(string(r)), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (e-invoices are UTF-8)", charset)
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// child returns the first child element with the given local name.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// path follows children by local name; nil when any step is missing.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// all returns the children with the given local name.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// firstOf returns the first child whose local name is any of names.
func (n *node) firstOf(names ...string) *node {
	for _, name := range names {
		if c := n.child(name); c != nil {
			return c
		}
	}
	return nil
}

// str is the element's text; "" for a missing element.
func (n *node) str() string {
	if n == nil {
		return ""
	}
	return n.text
}

// attr returns an attribute's value by local name.
func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
