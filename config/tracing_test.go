package config

import (
	"strings"
	"testing"
)

func TestTracing(t *testing.T) {
	if c := mustLoad(t, nil); c.Tracing.Endpoint != "" || c.Tracing.ServiceName != "tally" || c.Tracing.SampleRatio != 1 {
		t.Fatalf("defaults: %+v", c.Tracing)
	}
	c := mustLoad(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=s3cr%3Dt, tenant=ops",
		"OTEL_SERVICE_NAME":           "tally-eu",
		"OTEL_TRACES_SAMPLER_ARG":     "0.25",
	})
	headers, ok := c.Tracing.HeaderMap()
	if !ok || headers["x-api-key"] != "s3cr=t" || headers["tenant"] != "ops" || c.Tracing.SampleRatio != 0.25 {
		t.Fatalf("read: %+v, headers %v", c.Tracing, headers)
	}
	if printed := c.String(); strings.Contains(printed, "s3cr") || !strings.Contains(printed, "OTEL_EXPORTER_OTLP_HEADERS=****") {
		t.Fatalf("the export headers are printed unmasked:\n%s", printed)
	}

	for env, want := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4317": `OTEL_EXPORTER_OTLP_ENDPOINT: scheme must be http or https`,
		"OTEL_EXPORTER_OTLP_HEADERS=just-a-key":      `OTEL_EXPORTER_OTLP_HEADERS: is not key=value pairs`,
		"OTEL_TRACES_SAMPLER_ARG=half":               `OTEL_TRACES_SAMPLER_ARG: "half" is not a number`,
		"OTEL_TRACES_SAMPLER_ARG=0":                  `OTEL_TRACES_SAMPLER_ARG: 0 must be above 0 and at most 1`,
		"OTEL_TRACES_SAMPLER_ARG=1.5":                `OTEL_TRACES_SAMPLER_ARG: 1.5 must be above 0 and at most 1`,
	} {
		name, value, _ := strings.Cut(env, "=")
		_, err := Load(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), want) || len(unwrapAll(err)) != 1 {
			t.Errorf("%s: error %v, want one containing %q", env, err, want)
		}
		if err != nil && name == "OTEL_EXPORTER_OTLP_HEADERS" && strings.Contains(err.Error(), value) {
			t.Errorf("the headers' value is in the error: %v", err)
		}
	}
}
