package extract

import "testing"

func TestFindCurrency(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"symbol on the total line wins", "Shipping   $5.00\nTotal   € 12,00\n", "EUR"},
		{"ISO code", "Total   12.00 CHF\n", "CHF"},
		{"RM as a word only", "FARM FRESH\nTOTAL   RM 9.00\n", "MYR"},
		{"letters inside words are not a currency", "FARM FRESH\nTOTAL   9.00\n", ""},
		{"first anywhere when the total has none", "Prices in GBP\nTotal   9.00\n", "GBP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := splitLines(c.text)
			if got := findCurrency(lines, findTotal(lines).line); got != c.want {
				t.Errorf("findCurrency = %q, want %q", got, c.want)
			}
		})
	}
}

func TestCurrencyCode(t *testing.T) {
	for in, want := range map[string]string{"eur": "EUR", "€": "EUR", "US$": "USD", "rm": "MYR", "zł": "PLN", " gbp ": "GBP", "euro": "", "E": "", "1EU": ""} {
		got, ok := CurrencyCode(in)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("CurrencyCode(%q) = %q, want %q", in, got, want)
		}
	}
}
