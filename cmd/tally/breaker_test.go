package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	stdhttp "net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"tally/apikeys"
	"tally/blob"
	"tally/breaker/proxytest"
	"tally/migrations/pgtest"
)

// TestDependencyDownFailsFast takes each of the API's stores away under
// load (PostgreSQL and Redis as a host that went off the network, the S3
// server as one that stopped) and checks that, once its circuit breaker
// has opened, requests are answered at once with the InvoiceFlow statuses
// (503 for the database, 502 for the blob store; Redis is optional and
// uploads go on without it) instead of each waiting out a timeout, and
// that /readyz shows the open circuit. Latencies are logged; the one
// request an open breaker lets through every five seconds to try the
// dependency again is the only one that may wait.
func TestDependencyDownFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("takes each store away in turn")
	}
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pgProxy := proxytest.New(t, u.Host)
	u.Host = pgProxy.Addr()
	redisProxy := proxytest.New(t, "127.0.0.1:6379")
	s3 := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3.Close)
	s3Proxy := proxytest.New(t, strings.TrimPrefix(s3.URL, "http://"))
	s3cfg := blob.S3Config{Bucket: "tally-blobs", Region: "us-east-1", Endpoint: s3.URL,
		AccessKeyID: "test-access-key", SecretAccessKey: "test-secret-key", UsePathStyle: true}
	direct, err := blob.NewS3(ctx, s3cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := apikeys.New(pool).Create(ctx, "e2e")
	if err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	for k, v := range map[string]string{
		"DATABASE_URL": u.String(), "REDIS_URL": "redis://" + redisProxy.Addr() + "/0",
		"S3_BUCKET": s3cfg.Bucket, "S3_ENDPOINT": "http://" + s3Proxy.Addr(), "AWS_REGION": s3cfg.Region,
		"AWS_ACCESS_KEY_ID": s3cfg.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s3cfg.SecretAccessKey,
		"DATA_DIR": t.TempDir(), "PORT": fmt.Sprint(port), "NATS_URL": "", "NATS_EMBEDDED_LISTEN": "",
		"SMTP_URL": "", "DEFAULT_TENANT": "e2e", "LOG_LEVEL": "error",
	} {
		t.Setenv(k, v)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(actx, []string{"api"}, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("tally api did not stop within 30s")
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &stdhttp.Client{Timeout: time.Minute}
	readyz := func() (int, map[string]any) {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body struct {
			Dependencies map[string]any `json:"dependencies"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Dependencies
	}
	waitFor(t, "readiness", func() bool { code, _ := readyz(); return code == 200 })

	pdf, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(idempotent bool) int {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.WriteField("email", "ann@example.com")
		fw, _ := w.CreateFormFile("file", "a.pdf")
		fw.Write(pdf)
		w.Close()
		req, _ := stdhttp.NewRequest("POST", base+"/v1/documents", &buf)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", w.FormDataContentType())
		if idempotent {
			req.Header.Set("Idempotency-Key", uuid.NewString())
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	list := func() int {
		req, _ := stdhttp.NewRequest("GET", base+"/v1/documents", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	cases := []struct {
		dependency string // its name in /readyz
		takeAway   func()
		restore    func()
		request    func() int
		want       int
		// timeout is what a request waits for without the breaker: the
		// dependency's own timeouts.
		timeout time.Duration
	}{
		// An upload with an Idempotency-Key reads and writes Redis: two
		// calls of 2s (the dial timeout) each.
		{"redis", redisProxy.Cut, redisProxy.Restore, func() int { return upload(true) }, 202, 4 * time.Second},
		{"database", pgProxy.Cut, pgProxy.Restore, list, 503, 5 * time.Second},
		{"s3", s3Proxy.Stop, s3Proxy.Restore, func() int { return upload(false) }, 502, time.Second},
	}
	for _, c := range cases {
		t.Run(c.dependency, func(t *testing.T) {
			if code := c.request(); code != 200 && code != 202 {
				t.Fatalf("before: %d", code)
			}
			c.takeAway()
			defer func() {
				c.restore()
				waitFor(t, c.dependency+" back", func() bool {
					_, deps := readyz()
					return deps[c.dependency] == "healthy"
				})
			}()
			// Load: four clients keep asking while the breaker finds out.
			lctx, stopLoad := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for lctx.Err() == nil {
						c.request()
					}
				})
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				_, deps := readyz()
				if deps[c.dependency] == "circuit open" {
					break
				}
				if time.Now().After(deadline) {
					stopLoad()
					wg.Wait()
					t.Fatalf("/readyz never showed %s's circuit open: %v", c.dependency, deps)
				}
				time.Sleep(50 * time.Millisecond)
			}
			stopLoad()
			wg.Wait()
			// Now under load of four clients, every answer comes at once.
			var mu sync.Mutex
			var took []time.Duration
			codes := map[int]int{}
			for range 4 {
				wg.Go(func() {
					for range 10 {
						start := time.Now()
						code := c.request()
						d := time.Since(start)
						mu.Lock()
						took = append(took, d)
						codes[code]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			slices.Sort(took)
			t.Logf("%s down: %d answers %v; latency p50 %s, p99 %s, max %s (the dependency's own timeout: %s)",
				c.dependency, len(took), codes, took[len(took)/2], took[len(took)*99/100], took[len(took)-1], c.timeout)
			if codes[c.want] != len(took) {
				t.Errorf("answers %v, want all %d", codes, c.want)
			}
			// An open breaker lets one trial call through every five
			// seconds; that one waits for the dependency. No other may.
			if slow := len(took) - sort.Search(len(took), func(i int) bool { return took[i] >= c.timeout }); slow > 1 {
				t.Errorf("%d answers took the dependency's timeout (%s) or longer: %v", slow, c.timeout, took[len(took)-slow:])
			}
		})
	}
}
