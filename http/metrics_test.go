package http_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	tallyhttp "tally/http"
	"tally/metrics"
)

// TestRequestsCountedByRoute: the API counts requests by the route they
// matched, never by the values in the path, and by status code.
func TestRequestsCountedByRoute(t *testing.T) {
	m := metrics.New()
	h := newHarness(t, nil, func(d *tallyhttp.Deps) { d.Metrics = m })
	if code, _ := h.do("GET", "/v1/documents/0192f000-0000-7000-8000-000000000000", "a", nil, ""); code != 404 {
		t.Fatalf("GET of an unknown document: %d", code)
	}
	h.do("GET", "/v1/nothing-here/ann@example.com", "a", nil, "")
	if n := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("GET /v1/documents/{id}", "404")); n != 1 {
		t.Errorf("GET /v1/documents/{id} 404 counted %v times", n)
	}
	if n := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("unmatched", "404")); n != 1 {
		t.Errorf("unmatched 404 counted %v times", n)
	}
	if n := testutil.CollectAndCount(m.HTTPRequests); n != 2 {
		t.Errorf("%d series, want 2 (no path values as labels)", n)
	}
}
