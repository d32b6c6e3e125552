package config

import (
	"net/url"
	"strconv"
	"strings"
)

// Tracing says where OpenTelemetry traces go (package tracing). The
// variables keep OpenTelemetry's own names. See
// docs/operations.md#traces.
type Tracing struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the base URL of an
	// OTLP/HTTP receiver (http://collector:4318; spans go to its
	// /v1/traces). Empty, the default: no traces.
	Endpoint string
	// Headers is OTEL_EXPORTER_OTLP_HEADERS: key=value pairs, separated by
	// commas, values percent-encoded, sent with every export (a hosted
	// collector's key). Secret.
	Headers string
	// ServiceName is OTEL_SERVICE_NAME. Default tally.
	ServiceName string
	// SampleRatio is OTEL_TRACES_SAMPLER_ARG, the share of documents
	// traced, above 0 and at most 1. Default 1.
	SampleRatio float64
}

func (t *Tracing) setDefaults() {
	t.ServiceName = "tally"
	t.SampleRatio = 1
}

func (t *Tracing) read(r *envReader) {
	r.str("OTEL_EXPORTER_OTLP_ENDPOINT", &t.Endpoint)
	r.secret("OTEL_EXPORTER_OTLP_HEADERS", &t.Headers)
	r.str("OTEL_SERVICE_NAME", &t.ServiceName)
	var ratio string
	if r.str("OTEL_TRACES_SAMPLER_ARG", &ratio) {
		f, err := strconv.ParseFloat(ratio, 64)
		if err != nil {
			r.fail("OTEL_TRACES_SAMPLER_ARG", "%q is not a number", ratio)
			return
		}
		t.SampleRatio = f
	}
}

func (c *Config) tracingProblems(v *validator) {
	t := c.Tracing
	if t.Endpoint != "" {
		v.url("OTEL_EXPORTER_OTLP_ENDPOINT", t.Endpoint, true, "http", "https")
	}
	if _, ok := t.HeaderMap(); !ok {
		v.fail("OTEL_EXPORTER_OTLP_HEADERS", "is not key=value pairs separated by commas (value not shown as it may hold a key)")
	}
	if !(t.SampleRatio > 0 && t.SampleRatio <= 1) {
		v.fail("OTEL_TRACES_SAMPLER_ARG", "%g must be above 0 and at most 1", t.SampleRatio)
	}
}

// HeaderMap is Headers as a map; ok is false when a pair has no '=' or a
// key is empty.
func (t Tracing) HeaderMap() (headers map[string]string, ok bool) {
	headers = map[string]string{}
	for _, pair := range strings.Split(t.Headers, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, found := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !found || k == "" {
			return nil, false
		}
		if unescaped, err := url.PathUnescape(strings.TrimSpace(val)); err == nil {
			val = unescaped
		}
		headers[k] = val
	}
	return headers, true
}

func (t Tracing) settings() []setting {
	return []setting{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", maskURL(t.Endpoint)},
		{"OTEL_EXPORTER_OTLP_HEADERS", maskSecret(t.Headers)},
		{"OTEL_SERVICE_NAME", t.ServiceName},
		{"OTEL_TRACES_SAMPLER_ARG", strconv.FormatFloat(t.SampleRatio, 'g', -1, 64)},
	}
}
