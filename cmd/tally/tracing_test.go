package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	stdhttp "net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// receivedSpan is one span as an OTLP receiver decoded it.
type receivedSpan struct {
	name, trace, id, parent, service string
	attrs                            map[string]string
}

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes each
// ExportTraceServiceRequest posted to /v1/traces.
type otlpReceiver struct {
	t     *testing.T
	mu    sync.Mutex
	spans []receivedSpan
}

func (rc *otlpReceiver) ServeHTTP(w stdhttp.ResponseWriter, r *stdhttp.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		rc.t.Errorf("export to %s as %q, want /v1/traces as application/x-protobuf", r.URL.Path, r.Header.Get("Content-Type"))
		stdhttp.Error(w, "not an OTLP/HTTP protobuf export", stdhttp.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			stdhttp.Error(w, err.Error(), stdhttp.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(data, &req)
	}
	if err != nil {
		rc.t.Errorf("undecodable export: %v", err)
		stdhttp.Error(w, err.Error(), stdhttp.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.ResourceSpans {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				rc.spans = append(rc.spans, receivedSpan{name: s.Name, trace: hex.EncodeToString(s.TraceId),
					id: hex.EncodeToString(s.SpanId), parent: hex.EncodeToString(s.ParentSpanId), service: service,
					attrs: attrMap(s.Attributes)})
			}
		}
	}
	rc.mu.Unlock()
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			m[kv.Key] = v.GetStringValue()
		default:
			m[kv.Key] = fmt.Sprint(v.GetIntValue())
		}
	}
	return m
}

// trace returns the spans received so far in one trace.
func (rc *otlpReceiver) trace(id string) []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedSpan
	for _, s := range rc.spans {
		if s.trace == id {
			out = append(out, s)
		}
	}
	return out
}

// TestTracesFollowOneDocument uploads a PDF to `tally all` with an OTLP
// endpoint set and follows its spans at a real OTLP/HTTP receiver: the
// request, the append, the bridge's relay, the worker's job and
// extraction, the result's append and the projectors, all in the trace
// its request id names, each one's parent among them.
func TestTracesFollowOneDocument(t *testing.T) {
	rc := &otlpReceiver{t: t}
	collector := httptest.NewServer(rc)
	// Closed after tally stops (cleanups run last first): the spans it
	// sends at shutdown still find the receiver.
	t.Cleanup(collector.Close)
	in := startAll(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		// The SDK's own setting: export every 100 ms rather than 5 s.
		"OTEL_BSP_SCHEDULE_DELAY": "100",
	})
	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	const email = "trace.person@example.com"
	requestID := uuid.New()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("name", "Tracy Person")
	_ = w.WriteField("email", email)
	fw, _ := w.CreateFormFile("file", "invoice.pdf")
	fw.Write(example)
	w.Close()
	code, out := in.request("POST", "/v1/documents", &buf, w.FormDataContentType(),
		"Authorization", "Bearer "+in.key, "X-Request-ID", requestID.String())
	if code != 202 {
		t.Fatalf("upload: %d %v", code, out)
	}
	docID := out["id"].(string)
	if doc := in.waitStatus(docID, 30*time.Second); doc["status"] != "COMPLETED" {
		t.Fatalf("document: %v", doc)
	}
	// The request id is a UUID: the trace id is its 16 bytes.
	traceID := hex.EncodeToString(requestID[:])
	want := []string{"POST /v1/documents", "append DocumentUploaded", "bridge relay", "worker job", "extract pdf",
		"append ExtractionStarted", "append ReceiptExtracted", "project status_counts", "project documents"}
	// Projectors apply both ends of the journey, each as the append's
	// child; the spans of the last event's projectors may reach the
	// receiver after every name above is in, so they are waited for too.
	wantProjected := []string{"DocumentUploaded <- append DocumentUploaded", "ReceiptExtracted <- append ReceiptExtracted"}
	var spans []receivedSpan
	var names []string
	var byID map[string]receivedSpan
	projected := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans = rc.trace(traceID)
		names = names[:0]
		byID = map[string]receivedSpan{}
		for _, s := range spans {
			names = append(names, s.name)
			byID[s.id] = s
		}
		clear(projected)
		for _, s := range spans {
			if strings.HasPrefix(s.name, "project ") {
				projected[s.attrs["tally.event.type"]+" <- "+byID[s.parent].name] = true
			}
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(n string) bool { return slices.Contains(names, n) })
		missing = append(missing, slices.DeleteFunc(slices.Clone(wantProjected), func(p string) bool { return projected[p] })...)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s lacks %v; it has %v (projected: %v)", traceID, missing, names, projected)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("trace %s: %d spans: %v", traceID, len(spans), names)
	// One root, the request; every other span's parent is in the trace,
	// and the chain runs request → append → bridge → worker → append.
	for _, s := range spans {
		if s.parent == "" {
			if s.name != "POST /v1/documents" {
				t.Errorf("%s is a root span; only the request should be", s.name)
			}
			continue
		}
		if _, ok := byID[s.parent]; !ok {
			t.Errorf("%s: parent %s is not in the trace", s.name, s.parent)
		}
	}
	parentName := func(name string) string {
		for _, s := range spans {
			if s.name == name {
				return byID[s.parent].name
			}
		}
		return ""
	}
	for child, parent := range map[string]string{
		"append DocumentUploaded": "POST /v1/documents",
		"bridge relay":            "append DocumentUploaded",
		"worker job":              "bridge relay",
		"extract pdf":             "worker job",
		"append ReceiptExtracted": "worker job",
	} {
		if got := parentName(child); got != parent {
			t.Errorf("%s: parent %q, want %q", child, got, parent)
		}
	}
	// Routes, not paths; kinds, not contents; no person in any span.
	for _, s := range spans {
		if s.service != "tally" {
			t.Errorf("%s: service %q", s.name, s.service)
		}
		for k, v := range s.attrs {
			if strings.Contains(v, "@") || strings.Contains(v, "Tracy") || strings.Contains(v, "78.60") {
				t.Errorf("%s: attribute %s=%q holds personal data or document content", s.name, k, v)
			}
		}
	}
	if got := spanAttr(spans, "POST /v1/documents", "http.route"); got != "/v1/documents" {
		t.Errorf("http.route %q", got)
	}
	if got := spanAttr(spans, "worker job", "tally.document.kind"); got != "pdf" {
		t.Errorf("worker job kind %q", got)
	}
	if got := spanAttr(spans, "append DocumentUploaded", "tally.document.id"); got != docID {
		t.Errorf("append's document id %q, want %s", got, docID)
	}
}

func spanAttr(spans []receivedSpan, name, key string) string {
	for _, s := range spans {
		if s.name == name {
			return s.attrs[key]
		}
	}
	return ""
}
