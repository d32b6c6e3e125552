// Package metrics holds Tally's Prometheus metrics, one registry per
// process, served on /metrics by whichever role listens for HTTP.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Job outcomes, the values of the "outcome" label.
const (
	OutcomeCompleted = "completed"
	OutcomeRetried   = "retried"
	OutcomeFailed    = "failed"
	OutcomeSkipped   = "skipped"  // stale or duplicate job
	OutcomeRequeued  = "requeued" // could not record; the broker redelivers
)

// Metrics are the collectors the roles update.
type Metrics struct {
	registry *prometheus.Registry
	// Jobs counts worker jobs by outcome.
	Jobs *prometheus.CounterVec
	// ExtractionSeconds is the time extraction took, by outcome.
	ExtractionSeconds *prometheus.HistogramVec
	// QueueDepth is the number of ready messages last seen per queue.
	QueueDepth *prometheus.GaugeVec
	// Relayed counts extraction requests the bridge put on the queue.
	Relayed prometheus.Counter
	// ProjectorLagEvents is how many stream events a projector has yet to
	// apply.
	ProjectorLagEvents *prometheus.GaugeVec
	// ProjectorLagSeconds is how old the oldest unapplied event is, 0 when
	// the projector is caught up.
	ProjectorLagSeconds *prometheus.GaugeVec
}

// New registers every collector on a fresh registry, with Go and process
// metrics.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_worker_jobs_total", Help: "Extraction jobs handled by workers, by outcome.",
		}, []string{"outcome"}),
		ExtractionSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tally_extraction_duration_seconds", Help: "Time to fetch and extract one document.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"outcome"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tally_queue_depth", Help: "Ready messages last seen in a RabbitMQ queue.",
		}, []string{"queue"}),
		Relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_bridge_jobs_relayed_total", Help: "Extraction requests relayed to the scrape queue.",
		}),
		ProjectorLagEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tally_projector_lag_events", Help: "Stream events a projector has not applied yet.",
		}, []string{"projector"}),
		ProjectorLagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tally_projector_lag_seconds", Help: "Age of the oldest event a projector has not applied yet.",
		}, []string{"projector"}),
	}
	r.MustRegister(m.Jobs, m.ExtractionSeconds, m.QueueDepth, m.Relayed, m.ProjectorLagEvents,
		m.ProjectorLagSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
