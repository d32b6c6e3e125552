// Command load drives a running tally API with a bounded number of PDF
// uploads at a target rate, waits until every accepted document reaches a
// final status (COMPLETED or FAILED), and prints upload latency,
// upload-to-final latency and throughput.
//
//	go run ./bench/load -url http://127.0.0.1:4001 -key KEY -files 'DIR/*.pdf' -n 300 -rate 10 -concurrency 8
//
// It only ever talks to a loopback address: -url must name 127.0.0.1,
// localhost or ::1, and the dialer refuses any non-loopback address that
// localhost might resolve to. Standard library only. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hard bounds: the tool refuses settings beyond these.
const (
	maxDocs        = 100_000
	maxConcurrency = 256
	maxRate        = 10_000
	maxTimeout     = 2 * time.Hour
	maxFileBytes   = 64 << 20
	maxFiles       = 10_000
	listPageLimit  = 200 // the API's maximum page size
	requestTimeout = 60 * time.Second
)

// globList is a repeatable -files flag; each value may also hold several
// comma-separated globs.
type globList []string

func (g *globList) String() string { return strings.Join(*g, ",") }
func (g *globList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*g = append(*g, p)
		}
	}
	return nil
}

type settings struct {
	URL          string        `json:"url"`
	Files        []string      `json:"files"`
	FileCount    int           `json:"file_count"`
	N            int           `json:"n"`
	Rate         float64       `json:"rate"`
	Concurrency  int           `json:"concurrency"`
	Timeout      time.Duration `json:"timeout_ns"`
	PollInterval time.Duration `json:"poll_interval_ns"`
	Email        string        `json:"email"`
}

// sample is one upload attempt and, when accepted, what became of it.
type sample struct {
	file     string
	sent     time.Time // client clock, just before the request was written
	answered time.Time // client clock, response headers read
	status   int       // HTTP status; 0 on a transport error
	err      string

	id        string
	createdAt time.Time // server's created_at (from the 202)

	// Filled by the poller.
	final     string    // COMPLETED or FAILED once observed
	updatedAt time.Time // server's updated_at of the final state
	seen      time.Time // client clock when the poller first saw it final
	lastState string    // last status seen (for unfinished documents)
}

type document struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type listPage struct {
	Items      []document `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		s      settings
		globs  globList
		key    string
		asJSON bool
		okFail bool
	)
	flag.StringVar(&s.URL, "url", "http://127.0.0.1:4001", "API base URL (loopback only)")
	flag.StringVar(&key, "key", "", "API key (default: $TALLY_API_KEY)")
	flag.Var(&globs, "files", "glob of files to upload, cycled through (repeatable, or comma-separated)")
	flag.IntVar(&s.N, "n", 100, fmt.Sprintf("documents to upload (1-%d)", maxDocs))
	flag.Float64Var(&s.Rate, "rate", 0, "target uploads per second; 0 = as fast as -concurrency allows")
	flag.IntVar(&s.Concurrency, "concurrency", 8, fmt.Sprintf("uploads in flight at most (1-%d)", maxConcurrency))
	flag.DurationVar(&s.Timeout, "timeout", 5*time.Minute, fmt.Sprintf("limit for the whole run, uploads and waiting (max %s)", maxTimeout))
	flag.DurationVar(&s.PollInterval, "poll", 500*time.Millisecond, "how often to list documents while waiting (min 100ms)")
	flag.StringVar(&s.Email, "email", "load@example.com", "value of the upload's email field")
	flag.BoolVar(&asJSON, "json", false, "also print the summary as one JSON object on stdout")
	flag.BoolVar(&okFail, "allow-failed", false, "exit 0 even if some documents end FAILED")
	flag.Parse()
	if flag.NArg() > 0 {
		return usage("unexpected arguments: %q", flag.Args())
	}
	if key == "" {
		key = os.Getenv("TALLY_API_KEY")
	}
	if key == "" {
		return usage("-key (or TALLY_API_KEY) is required")
	}
	base, err := checkURL(s.URL)
	if err != nil {
		return usage("%v", err)
	}
	switch {
	case s.N < 1 || s.N > maxDocs:
		return usage("-n must be 1-%d", maxDocs)
	case s.Concurrency < 1 || s.Concurrency > maxConcurrency:
		return usage("-concurrency must be 1-%d", maxConcurrency)
	case s.Rate < 0 || s.Rate > maxRate:
		return usage("-rate must be 0-%d", maxRate)
	case s.Timeout <= 0 || s.Timeout > maxTimeout:
		return usage("-timeout must be positive and at most %s", maxTimeout)
	case s.PollInterval < 100*time.Millisecond:
		return usage("-poll must be at least 100ms")
	case len(globs) == 0:
		return usage("-files is required")
	}
	s.Files = globs

	bodies, names, err := loadFiles(globs, s.Email)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	s.FileCount = len(bodies)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()

	client := newClient(s.Concurrency)
	fmt.Fprintf(os.Stderr, "load: %d files, n=%d rate=%s concurrency=%d timeout=%s -> %s\n",
		len(bodies), s.N, rateString(s.Rate), s.Concurrency, s.Timeout, base)

	r := &runner{s: s, base: base, key: key, client: client, bodies: bodies, names: names}
	r.samples = make([]*sample, s.N)
	r.byID = map[string]*sample{}

	start := time.Now()
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	uploadsDone := make(chan struct{})
	go func() { pollDone <- r.poll(pollCtx, start, uploadsDone) }()

	r.upload(ctx)
	uploadEnd := time.Now()
	close(uploadsDone)

	pollErr := <-pollDone
	stopPoll()
	end := time.Now()

	sum := r.summarize(start, uploadEnd, end)
	sum.print(os.Stdout)
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
		}
	}

	code := 0
	if pollErr != nil {
		fmt.Fprintln(os.Stderr, "load: polling:", pollErr)
		code = 1
	}
	if sum.Rejected > 0 {
		fmt.Fprintf(os.Stderr, "load: %d uploads were not accepted\n", sum.Rejected)
		code = 1
	}
	if sum.Unfinished > 0 {
		fmt.Fprintf(os.Stderr, "load: %d accepted documents did not reach COMPLETED/FAILED in time\n", sum.Unfinished)
		code = 1
	}
	if sum.Failed > 0 && !okFail {
		fmt.Fprintf(os.Stderr, "load: %d documents ended FAILED (use -allow-failed to accept)\n", sum.Failed)
		code = 1
	}
	if sum.Attempted < s.N {
		fmt.Fprintf(os.Stderr, "load: only %d of %d uploads were attempted (timeout or interrupt)\n", sum.Attempted, s.N)
		code = 1
	}
	return code
}

func usage(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	flag.Usage()
	return 2
}

func rateString(r float64) string {
	if r == 0 {
		return "max"
	}
	return strconv.FormatFloat(r, 'g', -1, 64) + "/s"
}

// checkURL accepts only http(s) URLs whose host is 127.0.0.1, localhost or ::1.
func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("-url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("-url: scheme must be http or https, not %q", u.Scheme)
	}
	switch h := u.Hostname(); h {
	case "127.0.0.1", "localhost", "::1":
	default:
		return "", fmt.Errorf("-url: host %q refused: only 127.0.0.1, localhost or ::1 may be targeted", h)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("-url: give only scheme://host:port[/prefix]")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// newClient makes an HTTP client that can only connect to loopback
// addresses and does not follow redirects.
func newClient(concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dialer.Control = func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("refusing to connect to non-loopback address %s", address)
		}
		return nil
	}
	tr := &http.Transport{
		Proxy:                 nil, // never via a proxy
		DialContext:           dialer.DialContext,
		MaxIdleConns:          concurrency + 4,
		MaxIdleConnsPerHost:   concurrency + 4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type body struct {
	contentType string
	data        []byte
}

// loadFiles reads every file the globs match and prebuilds one multipart
// body per file, so the client spends no CPU on encoding during the run.
func loadFiles(globs []string, email string) ([]body, []string, error) {
	var paths []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return nil, nil, fmt.Errorf("-files %q: %v", g, err)
		}
		if len(m) == 0 {
			return nil, nil, fmt.Errorf("-files %q matches no file", g)
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	paths = slices.Compact(paths)
	if len(paths) > maxFiles {
		return nil, nil, fmt.Errorf("-files matches %d files; at most %d", len(paths), maxFiles)
	}
	var bodies []body
	var names []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if st.Size() > maxFileBytes {
			return nil, nil, fmt.Errorf("%s is larger than %d bytes", p, maxFileBytes)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if err := w.WriteField("email", email); err != nil {
			return nil, nil, err
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filepath.Base(p)))
		h.Set("Content-Type", contentTypeOf(p))
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, nil, err
		}
		part.Write(data)
		if err := w.Close(); err != nil {
			return nil, nil, err
		}
		bodies = append(bodies, body{contentType: w.FormDataContentType(), data: buf.Bytes()})
		names = append(names, filepath.Base(p))
	}
	if len(bodies) == 0 {
		return nil, nil, errors.New("-files matches no regular file")
	}
	return bodies, names, nil
}

func contentTypeOf(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".pdf":
		return "application/pdf"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	}
	return "application/octet-stream"
}

type runner struct {
	s      settings
	base   string
	key    string
	client *http.Client
	bodies []body
	names  []string

	mu      sync.Mutex
	samples []*sample          // index = upload number; nil if never attempted
	byID    map[string]*sample // accepted uploads
}

// upload sends s.N uploads: a dispatcher releases upload i at
// start + i/rate (or immediately when rate is 0) to a pool of
// s.Concurrency senders. When all senders are busy the dispatcher waits, so
// the achieved rate can fall below the target; the summary reports it.
func (r *runner) upload(ctx context.Context) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range r.s.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r.send(ctx, i)
			}
		}()
	}
	start := time.Now()
dispatch:
	for i := 0; i < r.s.N; i++ {
		if r.s.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / r.s.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					break dispatch
				case <-t.C:
				}
			}
		}
		select {
		case <-ctx.Done():
			break dispatch
		case jobs <- i:
		}
	}
	close(jobs)
	wg.Wait()
}

func (r *runner) send(ctx context.Context, i int) {
	b := r.bodies[i%len(r.bodies)]
	smp := &sample{file: r.names[i%len(r.names)]}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/v1/documents", bytes.NewReader(b.data))
	if err != nil {
		smp.err = err.Error()
		r.record(i, smp)
		return
	}
	req.Header.Set("Content-Type", b.contentType)
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Accept", "application/json")
	smp.sent = time.Now()
	resp, err := r.client.Do(req)
	smp.answered = time.Now()
	if err != nil {
		smp.err = err.Error()
		r.record(i, smp)
		return
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	smp.status = resp.StatusCode
	if resp.StatusCode != http.StatusAccepted {
		smp.err = strings.TrimSpace(string(data))
		if len(smp.err) > 300 {
			smp.err = smp.err[:300]
		}
		r.record(i, smp)
		return
	}
	var acc struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(data, &acc); err != nil || acc.ID == "" {
		smp.status, smp.err = -resp.StatusCode, fmt.Sprintf("202 without a usable body: %q", data)
		r.record(i, smp)
		return
	}
	smp.id = acc.ID
	smp.createdAt, _ = time.Parse(time.RFC3339Nano, acc.CreatedAt)
	r.record(i, smp)
}

func (r *runner) record(i int, smp *sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[i] = smp
	if smp.id != "" {
		r.byID[smp.id] = smp
	}
}

// pending reports how many accepted documents are not yet final.
func (r *runner) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, smp := range r.byID {
		if smp.final == "" {
			n++
		}
	}
	return n
}

// pollFrom is where a poll's listing starts: a second before the oldest
// accepted upload not yet seen final (or the newest accepted, when all
// are final), so that each poll lists what the run still waits for and
// not every document of the run again; before any upload is accepted,
// a minute before the run began. Uploads still in flight are created
// after it.
func (r *runner) pollFrom(start time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var oldest, newest time.Time
	for _, smp := range r.byID {
		if smp.createdAt.IsZero() {
			continue
		}
		if smp.final == "" && (oldest.IsZero() || smp.createdAt.Before(oldest)) {
			oldest = smp.createdAt
		}
		if smp.createdAt.After(newest) {
			newest = smp.createdAt
		}
	}
	from := start.Add(-time.Minute)
	switch {
	case !oldest.IsZero():
		from = oldest.Add(-time.Second)
	case !newest.IsZero():
		from = newest.Add(-time.Second)
	}
	return from.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// poll lists the documents created since the oldest upload it still waits
// for, page by page, and marks accepted uploads final as they reach
// COMPLETED or FAILED. It ends when the uploads are done and nothing is
// pending, or when ctx ends (timeout: the summary reports the unfinished
// ones).
func (r *runner) poll(ctx context.Context, start time.Time, uploadsDone <-chan struct{}) error {
	failures := 0
	lastProgress := time.Time{}
	for {
		select {
		case <-uploadsDone:
			if r.pending() == 0 {
				return nil
			}
		default:
		}
		if err := r.pollOnce(ctx, r.pollFrom(start)); err != nil {
			if ctx.Err() != nil {
				return nil // timeout or interrupt: reported as unfinished
			}
			var fatal fatalError
			if errors.As(err, &fatal) {
				return err
			}
			failures++
			fmt.Fprintln(os.Stderr, "load: poll:", err)
			if failures >= 10 {
				return fmt.Errorf("10 polls in a row failed, last: %w", err)
			}
		} else {
			failures = 0
		}
		select {
		case <-uploadsDone:
			if r.pending() == 0 {
				return nil
			}
		default:
		}
		if time.Since(lastProgress) >= 10*time.Second {
			lastProgress = time.Now()
			r.mu.Lock()
			attempted, accepted := 0, len(r.byID)
			for _, smp := range r.samples {
				if smp != nil {
					attempted++
				}
			}
			r.mu.Unlock()
			fmt.Fprintf(os.Stderr, "load: %5.1fs attempted=%d accepted=%d pending=%d\n",
				time.Since(start).Seconds(), attempted, accepted, r.pending())
		}
		// ±20% jitter, so that polls do not stay in phase with a paced
		// upload schedule (which would bias the client-observed latency).
		t := time.NewTimer(time.Duration(float64(r.s.PollInterval) * (0.8 + 0.4*rand.Float64())))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

type fatalError struct{ error }

func (r *runner) pollOnce(ctx context.Context, from string) error {
	cursor := ""
	for pages := 0; pages < maxDocs/listPageLimit+100; pages++ {
		q := url.Values{"limit": {strconv.Itoa(listPageLimit)}, "from": {from}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v1/documents?"+q.Encode(), nil)
		if err != nil {
			return fatalError{err}
		}
		req.Header.Set("Authorization", "Bearer "+r.key)
		req.Header.Set("Accept", "application/json")
		resp, err := r.client.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			err := fmt.Errorf("GET /v1/documents: %s: %.300s", resp.Status, data)
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
				resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound {
				return fatalError{err}
			}
			return err
		}
		var page listPage
		if err := json.Unmarshal(data, &page); err != nil {
			return fmt.Errorf("GET /v1/documents: %v", err)
		}
		now := time.Now()
		r.mu.Lock()
		for _, d := range page.Items {
			smp := r.byID[d.ID]
			if smp == nil || smp.final != "" {
				continue
			}
			smp.lastState = d.Status
			if d.Status == "COMPLETED" || d.Status == "FAILED" {
				smp.final = d.Status
				smp.seen = now
				smp.updatedAt, _ = time.Parse(time.RFC3339Nano, d.UpdatedAt)
				if c, err := time.Parse(time.RFC3339Nano, d.CreatedAt); err == nil {
					smp.createdAt = c
				}
			}
		}
		r.mu.Unlock()
		if page.NextCursor == nil || *page.NextCursor == "" || len(page.Items) == 0 {
			return nil
		}
		cursor = *page.NextCursor
	}
	return errors.New("GET /v1/documents: too many pages")
}

// ---- summary ----

type dist struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func newDist(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	slices.Sort(ds)
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return dist{
		Count: len(ds), P50: ms(pct(ds, 50)), P95: ms(pct(ds, 95)), P99: ms(pct(ds, 99)),
		Max: ms(ds[len(ds)-1]), Mean: ms(total / time.Duration(len(ds))),
	}
}

// pct is the nearest-rank percentile of sorted ds.
func pct(ds []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(ds)) + 0.999999999)
	rank = max(1, min(rank, len(ds)))
	return ds[rank-1]
}

type summary struct {
	Settings      settings       `json:"settings"`
	Attempted     int            `json:"attempted"`
	Accepted      int            `json:"accepted"`
	Rejected      int            `json:"rejected"`
	RejectedBy    map[string]int `json:"rejected_by"`
	FirstErrors   []string       `json:"first_errors,omitempty"`
	UploadPhaseS  float64        `json:"upload_phase_s"`
	UploadRate    float64        `json:"upload_rate_per_s"`
	UploadLatency dist           `json:"upload_latency"`
	Completed     int            `json:"completed"`
	Failed        int            `json:"failed"`
	Unfinished    int            `json:"unfinished"`
	UnfinishedBy  map[string]int `json:"unfinished_by,omitempty"`
	ServerLatency dist           `json:"server_latency"`
	ClientLatency dist           `json:"client_latency"`
	DrainS        float64        `json:"first_upload_to_last_final_s"`
	PerMinute     float64        `json:"docs_per_minute"`
	ServerSpanS   float64        `json:"first_created_to_last_final_s"`
	ServerPerMin  float64        `json:"docs_per_minute_server_span"`
	WallS         float64        `json:"wall_s"`
}

func (r *runner) summarize(start, uploadEnd, end time.Time) summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	sum := summary{Settings: r.s, RejectedBy: map[string]int{}, UnfinishedBy: map[string]int{}, WallS: end.Sub(start).Seconds()}
	var upLat, srvLat, cliLat []time.Duration
	var firstSent, lastSent, firstCreated, lastFinal time.Time
	for _, smp := range r.samples {
		if smp == nil {
			continue
		}
		sum.Attempted++
		if !smp.sent.IsZero() {
			if firstSent.IsZero() || smp.sent.Before(firstSent) {
				firstSent = smp.sent
			}
			if smp.answered.After(lastSent) {
				lastSent = smp.answered
			}
		}
		if smp.id == "" {
			sum.Rejected++
			k := "transport error"
			if smp.status != 0 {
				k = "HTTP " + strconv.Itoa(smp.status)
			}
			sum.RejectedBy[k]++
			if len(sum.FirstErrors) < 5 {
				sum.FirstErrors = append(sum.FirstErrors, fmt.Sprintf("%s: %s: %s", smp.file, k, smp.err))
			}
			continue
		}
		sum.Accepted++
		upLat = append(upLat, smp.answered.Sub(smp.sent))
		if firstCreated.IsZero() || (!smp.createdAt.IsZero() && smp.createdAt.Before(firstCreated)) {
			firstCreated = smp.createdAt
		}
		switch smp.final {
		case "COMPLETED":
			sum.Completed++
		case "FAILED":
			sum.Failed++
		default:
			sum.Unfinished++
			st := smp.lastState
			if st == "" {
				st = "not listed yet"
			}
			sum.UnfinishedBy[st]++
			continue
		}
		if !smp.updatedAt.IsZero() && !smp.createdAt.IsZero() {
			srvLat = append(srvLat, smp.updatedAt.Sub(smp.createdAt))
			if smp.updatedAt.After(lastFinal) {
				lastFinal = smp.updatedAt
			}
		}
		cliLat = append(cliLat, smp.seen.Sub(smp.sent))
	}
	if !firstSent.IsZero() {
		sum.UploadPhaseS = lastSent.Sub(firstSent).Seconds()
		if sum.UploadPhaseS > 0 {
			sum.UploadRate = float64(sum.Attempted) / sum.UploadPhaseS
		}
	}
	sum.UploadLatency = newDist(upLat)
	sum.ServerLatency = newDist(srvLat)
	sum.ClientLatency = newDist(cliLat)
	finals := sum.Completed + sum.Failed
	if finals > 0 && !lastFinal.IsZero() {
		// Client and server share this machine's clock (loopback only).
		sum.DrainS = lastFinal.Sub(firstSent).Seconds()
		if sum.DrainS > 0 {
			sum.PerMinute = float64(finals) / sum.DrainS * 60
		}
		sum.ServerSpanS = lastFinal.Sub(firstCreated).Seconds()
		if sum.ServerSpanS > 0 {
			sum.ServerPerMin = float64(finals) / sum.ServerSpanS * 60
		}
	}
	if len(sum.UnfinishedBy) == 0 {
		sum.UnfinishedBy = nil
	}
	return sum
}

func (s summary) print(w io.Writer) {
	st := s.Settings
	fmt.Fprintf(w, "settings     url=%s n=%d rate=%s concurrency=%d timeout=%s poll=%s files=%d (%s)\n",
		st.URL, st.N, rateString(st.Rate), st.Concurrency, st.Timeout, st.PollInterval, st.FileCount, strings.Join(st.Files, ","))
	fmt.Fprintf(w, "uploads      attempted=%d accepted=%d rejected=%d", s.Attempted, s.Accepted, s.Rejected)
	if len(s.RejectedBy) > 0 {
		keys := make([]string, 0, len(s.RejectedBy))
		for k := range s.RejectedBy {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, " [%s: %d]", k, s.RejectedBy[k])
		}
	}
	fmt.Fprintln(w)
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "  error      %s\n", e)
	}
	fmt.Fprintf(w, "upload phase %.2fs, achieved %.2f uploads/s\n", s.UploadPhaseS, s.UploadRate)
	fmt.Fprintf(w, "upload req   p50=%s p99=%s max=%s (n=%d)\n",
		fmtMS(s.UploadLatency.P50), fmtMS(s.UploadLatency.P99), fmtMS(s.UploadLatency.Max), s.UploadLatency.Count)
	fmt.Fprintf(w, "outcome      completed=%d failed=%d unfinished=%d", s.Completed, s.Failed, s.Unfinished)
	for k, v := range s.UnfinishedBy {
		fmt.Fprintf(w, " [%s: %d]", k, v)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "to final     server (updated_at-created_at): p50=%s p95=%s p99=%s max=%s mean=%s (n=%d)\n",
		fmtMS(s.ServerLatency.P50), fmtMS(s.ServerLatency.P95), fmtMS(s.ServerLatency.P99), fmtMS(s.ServerLatency.Max),
		fmtMS(s.ServerLatency.Mean), s.ServerLatency.Count)
	fmt.Fprintf(w, "to final     client (send→seen final, ±poll): p50=%s p95=%s p99=%s max=%s (n=%d)\n",
		fmtMS(s.ClientLatency.P50), fmtMS(s.ClientLatency.P95), fmtMS(s.ClientLatency.P99), fmtMS(s.ClientLatency.Max),
		s.ClientLatency.Count)
	fmt.Fprintf(w, "throughput   %.1f docs/min (%d final in %.2fs, first upload sent → last updated_at)\n",
		s.PerMinute, s.Completed+s.Failed, s.DrainS)
	fmt.Fprintf(w, "wall         %.2fs\n", s.WallS)
}

func fmtMS(ms float64) string {
	switch {
	case ms >= 10_000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
	return fmt.Sprintf("%.0fms", ms)
}
