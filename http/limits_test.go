package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tallyhttp "tally/http"
)

// Every body-reading route answers 413 past its limit, each in its own
// format, having read no more than the limit.
func TestBodyLimits(t *testing.T) {
	h := newHarness(t, nil)
	huge := `{"retailers": ["` + strings.Repeat("a", 2<<20) + `@shop.example"]}`
	for _, path := range []string{"/ereceipts/retailers", "/ereceipts/config"} {
		method := "DELETE"
		if path == "/ereceipts/config" {
			method = "POST"
		}
		code, reply := h.ereceipt(method, path, "a", huge, "application/json")
		if code != 413 || errorCode(t, reply) != 105 {
			t.Errorf("%s %s with a 2 MiB body: %d %v", method, path, code, reply)
		}
	}
	code, reply := h.do("PATCH", "/v1/documents/0192e0a0-0000-7000-8000-000000000000", "a",
		strings.NewReader(`{"vendor": "`+strings.Repeat("v", 2<<20)+`"}`), "application/json")
	if code != 413 {
		t.Errorf("PATCH with a 2 MiB body: %d %v", code, reply)
	}
	// An upload whose file fits but whose whole body does not.
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "a.pdf")
	_, _ = io.WriteString(fw, pdf)
	// A part without a name is skipped, but still read.
	fw, _ = w.CreatePart(textproto.MIMEHeader{"Content-Disposition": {"form-data"}})
	_, _ = fw.Write(bytes.Repeat([]byte{'x'}, 3<<20))
	_ = w.Close()
	if code, reply := h.do("POST", "/v1/documents", "a", &buf, w.FormDataContentType()); code != 413 {
		t.Errorf("upload with a 3 MiB body: %d %v", code, reply)
	}
}

// BenchmarkCreateJobPeakMemory sends 20 create_job calls at once, each
// with an e-mail of the largest accepted size (MAX_FILE_SIZE_MB, default
// 10), multipart and URL-encoded, and reports the peak of the live heap
// above what it was before (peak-heap-MiB, garbage not yet collected
// included), the peak of what garbage collections found live
// (peak-live-MiB), and the process's peak resident set (VmHWM,
// peak-rss-MiB, which includes the test's own servers).
func BenchmarkCreateJobPeakMemory(b *testing.B) {
	const size = 10 << 20
	const concurrent = 20
	h := newHarness(b, nil, func(d *tallyhttp.Deps) { d.MaxFileSize = size })
	if code, reply := h.ereceipt("POST", "/ereceipts/config", "a", `{"results_endpoint": "https://hooks.example/r", "day_cutoff": 30}`, "application/json"); code != 200 {
		b.Fatalf("config: %d %v", code, reply)
	}
	line := "Item 1 ........................................ 1.00 EUR\r\n"
	head := "From: Shop <orders@shop.example>\r\nTo: Ann <ann@example.com>\r\nSubject: Order\r\nMessage-ID: <%d@shop.example>\r\n\r\n"
	// Bodies are made while they are sent, so the client holds none of
	// them and what the process holds is the server's.
	bodyOf := func(encoding string, i int) (io.Reader, string) {
		hd := fmt.Sprintf(head, i)
		lines := (size - len(hd)) / len(line)
		if encoding == "urlencoded" {
			return io.MultiReader(strings.NewReader("provider=gmail&eml_data="+url.QueryEscape(hd)),
				&repeated{s: url.QueryEscape(line), n: lines}), "application/x-www-form-urlencoded"
		}
		boundary := "b0undary"
		return io.MultiReader(strings.NewReader("--"+boundary+"\r\nContent-Disposition: form-data; name=\"eml_data\"; filename=\"m.eml\"\r\n\r\n"+hd),
			&repeated{s: line, n: lines}, strings.NewReader("\r\n--"+boundary+"--\r\n")), "multipart/form-data; boundary=" + boundary
	}
	for _, encoding := range []string{"multipart", "urlencoded"} {
		b.Run(encoding, func(b *testing.B) {
			var peakObjects, peakLive float64
			for n := 0; n < b.N; n++ {
				runtime.GC()
				baseObjects, baseLive := heapNow()
				stop := make(chan struct{})
				var topObjects, topLive atomic.Uint64
				go func() {
					for {
						objects, live := heapNow()
						topObjects.Store(max(topObjects.Load(), objects))
						topLive.Store(max(topLive.Load(), live))
						select {
						case <-stop:
							return
						case <-time.After(time.Millisecond):
						}
					}
				}()
				var wg sync.WaitGroup
				codes := make([]int, concurrent)
				for i := range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						body, contentType := bodyOf(encoding, n*concurrent+i)
						codes[i], _ = h.do("POST", "/ereceipts/create_job", "", body, contentType, "api-key", h.keys["a"])
					}()
				}
				wg.Wait()
				close(stop)
				for i, c := range codes {
					if c != 200 {
						b.Fatalf("job %d: status %d", i, c)
					}
				}
				peakObjects = max(peakObjects, float64(topObjects.Load())-float64(baseObjects))
				peakLive = max(peakLive, float64(topLive.Load())-float64(baseLive))
			}
			b.ReportMetric(peakObjects/(1<<20), "peak-heap-MiB")
			b.ReportMetric(peakLive/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MiB")
		})
	}
}

// repeated reads s n times.
type repeated struct {
	s    string
	n    int
	rest string
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.rest == "" {
		if r.n == 0 {
			return 0, io.EOF
		}
		r.rest, r.n = r.s, r.n-1
	}
	k := copy(p, r.rest)
	r.rest = r.rest[k:]
	return k, nil
}

// heapNow is the bytes of heap objects, live and not yet swept, and of
// the heap the last garbage collection found live.
func heapNow() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// peakRSS is the process's peak resident set (VmHWM), 0 where /proc is
// missing.
func peakRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// A correction names the document's own fields only, each bounded; the
// answer says what is wrong.
func TestCorrectionBounds(t *testing.T) {
	h := newHarness(t, nil)
	_, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	id := doc["id"].(string)
	items := make([]string, 501)
	for i := range items {
		items[i] = `{"description": "pen", "amount": "1.00"}`
	}
	for _, c := range []struct{ body, want string }{
		{`{"sources": {"total": "xml"}}`, "sources cannot be corrected"},
		{`{"confidence": {"total": 100}, "total": "1.00"}`, "confidence cannot be corrected"},
		{`{"vendor": "` + strings.Repeat("v", 1025) + `"}`, "vendor is longer than 1024 bytes"},
		{`{"line_items": [` + strings.Join(items, ",") + `]}`, "501 line items; at most 500"},
		{`{"surprise": 1}`, "surprise"},
	} {
		code, got := h.do("PATCH", "/v1/documents/"+id, "a", strings.NewReader(c.body), "application/json")
		if (code != 400 && code != 422) || !strings.Contains(fmt.Sprint(got), c.want) {
			t.Errorf("%.60s: %d %v, want 400 saying %q", c.body, code, got, c.want)
		}
	}
}

// The health routes are public: however often they are called, each
// dependency is pinged at most once a second.
func TestHealthRoutesCacheChecks(t *testing.T) {
	var pings atomic.Int32
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		d.Checks = append(d.Checks, tallyhttp.Check{Name: "counted", Ping: func(context.Context) error { pings.Add(1); return nil }})
	})
	for _, path := range []string{"/readyz", "/api/v1/ingest/health"} {
		for range 10 {
			if code, body := h.do("GET", path, "", nil, ""); code != 200 {
				t.Fatalf("%s: %d %v", path, code, body)
			}
		}
	}
	if n := pings.Load(); n > 2 {
		t.Fatalf("20 health calls pinged the dependency %d times", n)
	}
}
