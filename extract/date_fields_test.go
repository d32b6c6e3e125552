package extract

import "testing"

func TestFindDate(t *testing.T) {
	for _, c := range []struct {
		name, text, date, due string
	}{
		{"invoice date label beats an earlier date", "Order placed 01.02.2024\nInvoice date: 03.02.2024\n", "2024-02-03", ""},
		{"due date is not the issue date", "Due date: 10/03/2024\nDate: 03/02/2024\n", "2024-02-03", "2024-03-10"},
		{"first date when nothing is labelled", "ACME\n12 March 2024\n14 March 2024\n", "2024-03-12", ""},
		{"Rechnung vom", "Rechnung Nr. 7 vom 11.03.2018\n", "2018-03-11", ""},
		{"value on the next line", "Invoice Date\n2024-05-06\nPayment due\n2024-06-05\n", "2024-05-06", "2024-06-05"},
		{"OCR letters only when nothing clean", "DATE: O5/O3/2018\n", "2018-03-05", ""},
		{"eight digits as a last resort", "REF 25032018 13:11\n", "2018-03-25", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := splitLines(c.text)
			if got := findDate(lines); got != c.date {
				t.Errorf("findDate = %q, want %q", got, c.date)
			}
			if got := findDueDate(lines); got != c.due {
				t.Errorf("findDueDate = %q, want %q", got, c.due)
			}
		})
	}
}

func TestMonthNumber(t *testing.T) {
	for in, want := range map[string]int{"Dec": 12, "dezember": 12, "Juillet": 7, "Sept.": 9, "Janu": 1, "mai": 5, "xyz": 0, "": 0} {
		if got, _ := MonthNumber(in); got != want {
			t.Errorf("MonthNumber(%q) = %d, want %d", in, got, want)
		}
	}
}
