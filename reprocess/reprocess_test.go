package reprocess

import "testing"

func TestOlder(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"tally-extract/0.2", "0.3", true},
		{"tally-extract/0.2", "tally-extract/0.10", true},
		{"tally-extract/0.3", "0.3", false},
		{"tally-extract/1.0", "0.9", false},
		{"", "0.1", true},
		{"2026.11.1", "2026.11.2", true},
		{"2026.11.10", "2026.11.2", false},
	}
	for _, c := range cases {
		if got := Older(c.a, c.b); got != c.want {
			t.Errorf("Older(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
