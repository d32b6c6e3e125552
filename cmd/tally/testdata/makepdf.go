//go:build ignore

// makepdf writes a one-page PDF whose text layer holds the lines of a text
// file, in Courier so columns stay aligned. It makes the invoice fixtures of
// this directory:
//
//	go run makepdf.go cloud-invoice.txt > cloud-invoice.pdf
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run makepdf.go FILE.txt > FILE.pdf")
		os.Exit(2)
	}
	text, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var content bytes.Buffer
	content.WriteString("BT /F1 10 Tf 13 TL 50 790 Td\n")
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(sc.Text())
		fmt.Fprintf(&content, "(%s) '\n", line)
	}
	content.WriteString("ET\n")

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	os.Stdout.Write(out.Bytes())
}
