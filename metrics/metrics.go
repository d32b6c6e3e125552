// Package metrics holds Tally's Prometheus metrics, one registry per
// process, served on /metrics by whichever role listens for HTTP.
package metrics

import (
	"net/http"
	"regexp"
	"strings"

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
	registry   *prometheus.Registry
	collectors []prometheus.Collector
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
	// Events counts stream events by type as the bridge takes them, once
	// each: uploads (DocumentUploaded), outcomes (ExtractionCompleted,
	// ExtractionFailed), notifications (NotificationSent, ...).
	Events *prometheus.CounterVec
	// CompletionSeconds is the time from upload to COMPLETED, observed by
	// the worker that completes the document.
	CompletionSeconds prometheus.Histogram
	// HTTPRequests counts API requests by route (the pattern, never the
	// values in a path) and status code.
	HTTPRequests *prometheus.CounterVec
	// HTTPSeconds is the time the API took per route.
	HTTPSeconds *prometheus.HistogramVec
	// WebhookAttempts counts webhook attempts by result: delivered,
	// retry (failed, tried again later) or failed (given up).
	WebhookAttempts *prometheus.CounterVec
	// WorkerHeartbeat is when a worker last had its consumer on the
	// scrape queue (Unix seconds), set every few seconds while it does:
	// it stands still when the worker loses the broker and is 0 in a
	// process without a worker, so no worker consuming reads as an old
	// heartbeat whatever the cause.
	WorkerHeartbeat prometheus.Gauge
}

// Webhook attempt results, the values of the "result" label.
const (
	WebhookDelivered = "delivered"
	WebhookRetry     = "retry"
	WebhookFailed    = "failed"
)

// Kind is the "kind" label of a document's content type: pdf, image, xml,
// email or other, so the label has few values.
func Kind(contentType string) string {
	switch {
	case contentType == "application/pdf":
		return "pdf"
	case strings.HasPrefix(contentType, "image/"):
		return "image"
	case strings.HasSuffix(contentType, "xml"):
		return "xml"
	case contentType == "message/rfc822":
		return "email"
	}
	return "other"
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
		}, []string{"outcome", "kind"}),
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
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_events_total", Help: "Stream events taken by the bridge, by event type.",
		}, []string{"type"}),
		CompletionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tally_document_completion_seconds", Help: "Time from upload to COMPLETED.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600},
		}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_http_requests_total", Help: "API requests by route and status code.",
		}, []string{"route", "code"}),
		HTTPSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tally_http_request_duration_seconds", Help: "Time the API took per route.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		WebhookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_webhook_attempts_total", Help: "Webhook delivery attempts by result (delivered, retry, failed).",
		}, []string{"result"}),
		WorkerHeartbeat: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tally_worker_heartbeat_timestamp_seconds", Help: "When this process's worker last consumed the scrape queue (Unix time); 0 without a worker.",
		}),
	}
	m.collectors = []prometheus.Collector{m.Jobs, m.ExtractionSeconds, m.QueueDepth, m.Relayed, m.ProjectorLagEvents,
		m.ProjectorLagSeconds, m.Events, m.CompletionSeconds, m.HTTPRequests, m.HTTPSeconds, m.WebhookAttempts, m.WorkerHeartbeat,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	r.MustRegister(m.collectors...)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Names lists the metric families the registry exports, with no label
// values seen yet too, for checks of dashboards and alerts against what
// Tally exports. A histogram's series add _bucket, _sum and _count.
func (m *Metrics) Names() []string {
	descs := make(chan *prometheus.Desc, 256)
	go func() {
		for _, c := range m.collectors {
			c.Describe(descs)
		}
		close(descs)
	}()
	var names []string
	for d := range descs {
		// Desc keeps its name private; its String form is stable.
		if match := fqName.FindStringSubmatch(d.String()); match != nil {
			names = append(names, match[1])
		}
	}
	return names
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)
