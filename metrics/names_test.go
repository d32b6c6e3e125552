package metrics

import (
	"slices"
	"testing"
)

func TestNamesListsFamiliesWithoutSamples(t *testing.T) {
	names := New().Names()
	for _, want := range []string{"tally_http_requests_total", "tally_extraction_duration_seconds", "go_goroutines"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %s: %v", want, names)
		}
	}
}
