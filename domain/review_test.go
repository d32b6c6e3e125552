package domain

import "testing"

func TestNeedsReview(t *testing.T) {
	full := Fields{Vendor: "ACME", Date: "2026-11-02", Total: "4.50"}
	unsure := full
	unsure.Confidence = map[string]int{"vendor": 95, "total": 60}
	sure := full
	sure.Confidence = map[string]int{"vendor": 95, "date": 90, "total": 99}
	disagree := full
	disagree.Disagreements = []Disagreement{{Field: "total", Kept: "4.50", Other: "4.05"}}
	for _, c := range []struct {
		name                 string
		machine, corrections Fields
		want                 bool
	}{
		{"all key fields, no confidence", full, Fields{}, false},
		{"all key fields, confident", sure, Fields{}, false},
		{"no total", Fields{Vendor: "ACME", Date: "2026-11-02"}, Fields{}, true},
		{"no total, corrected", Fields{Vendor: "ACME", Date: "2026-11-02"}, Fields{Total: "3.00"}, false},
		{"unsure total", unsure, Fields{}, true},
		{"unsure total, corrected", unsure, Fields{Total: "4.50"}, false},
		{"disagreement", disagree, Fields{}, true},
		{"nothing found", Fields{}, Fields{}, true},
	} {
		if got := NeedsReview(c.machine, c.corrections); got != c.want {
			t.Errorf("%s: NeedsReview = %v, want %v", c.name, got, c.want)
		}
	}
}
