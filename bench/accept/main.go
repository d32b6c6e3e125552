// Command accept measures how fast a running Tally accepts uploads next to
// a reference measured in the same run: a minimal Go server that streams
// each multipart file to disk, fsyncs it and answers 202 with an id, which
// is the least any upload service that keeps what it accepted must do.
// The figure that matters is the ratio, because the machine it runs on is
// shared and its absolute speed varies from run to run.
//
//	go run ./bench/accept -url http://127.0.0.1:4001 -key KEY -file examples/invoice.pdf -n 2000 -concurrency 16
//
// Every upload is a distinct file (the given one with a random PDF comment
// appended), so no upload is a duplicate of another. The runs alternate (reference, Tally, reference, Tally, ...) for -rounds
// rounds so that a change in the machine's load hits both alike; each
// round's figures and the ratio of the medians are printed. Loopback only.
//
// On Linux each round also gives the machine's CPU per upload (all
// processes and the kernel, from /proc/stat, over the round and the second
// after it, in which Tally's consumers finish what the round left them):
// what an upload costs, where the rate only says how the cost was spread
// over the cores.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		target      = flag.String("url", "http://127.0.0.1:4001", "Tally API base URL (loopback only)")
		key         = flag.String("key", os.Getenv("TALLY_API_KEY"), "API key (DATA_DIR/api-key of a fresh tally)")
		file        = flag.String("file", "examples/invoice.pdf", "the file every upload sends")
		n           = flag.Int("n", 1000, "uploads per run")
		concurrency = flag.Int("concurrency", 16, "uploads in flight")
		rounds      = flag.Int("rounds", 3, "reference/Tally pairs")
		dir         = flag.String("dir", "", "where the reference server writes (default a temporary directory on the same disk as the working directory)")
	)
	flag.Parse()
	if err := run(*target, *key, *file, *n, *concurrency, *rounds, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		os.Exit(1)
	}
}

func run(target, key, file string, n, concurrency, rounds int, dir string) error {
	u, err := url.Parse(target)
	if err != nil || !loopback(u.Hostname()) {
		return fmt.Errorf("-url must be a loopback http URL, not %q", target)
	}
	if key == "" {
		return errors.New("-key (or TALLY_API_KEY) is required")
	}
	if n < 1 || concurrency < 1 || rounds < 1 {
		return errors.New("-n, -concurrency and -rounds must be positive")
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp(".", "accept-reference-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	ref, err := startReference(dir)
	if err != nil {
		return err
	}
	defer ref.Close()

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	tally := target + "/v1/documents"
	var refRates, tallyRates, refCPU, tallyCPU []float64
	for r := 1; r <= rounds; r++ {
		rs, err := load(client, ref.url, "", filepath.Base(file), content, n, concurrency)
		if err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		ts, err := load(client, tally, key, filepath.Base(file), content, n, concurrency)
		if err != nil {
			return fmt.Errorf("tally: %w", err)
		}
		fmt.Printf("round %d  reference %7.1f uploads/s p50 %6.1f ms p99 %6.1f ms | tally %7.1f uploads/s p50 %6.1f ms p99 %6.1f ms | ratio %.2f",
			r, rs.rate, ms(rs.p50), ms(rs.p99), ts.rate, ms(ts.p50), ms(ts.p99), ts.rate/rs.rate)
		if rs.cpu > 0 && ts.cpu > 0 {
			fmt.Printf(" | machine CPU per upload: reference %.2f ms, tally %.2f ms", ms(rs.cpu), ms(ts.cpu))
		}
		fmt.Println()
		refRates, tallyRates = append(refRates, rs.rate), append(tallyRates, ts.rate)
		refCPU, tallyCPU = append(refCPU, float64(rs.cpu)), append(tallyCPU, float64(ts.cpu))
	}
	fmt.Printf("median  reference %.1f uploads/s, tally %.1f uploads/s: ratio %.2f (%d uploads x %d rounds, %d in flight, %d-byte file)\n",
		median(refRates), median(tallyRates), median(tallyRates)/median(refRates), n, rounds, concurrency, len(content))
	if median(refCPU) > 0 && median(tallyCPU) > 0 {
		fmt.Printf("median  machine CPU per upload: reference %.2f ms, tally %.2f ms (%.1fx)\n",
			ms(time.Duration(median(refCPU))), ms(time.Duration(median(tallyCPU))), median(tallyCPU)/median(refCPU))
	}
	return nil
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	// cpu is the machine's busy CPU time per upload (0 where /proc/stat
	// cannot be read).
	cpu time.Duration
}

// settle is the time after a round whose CPU still counts for it.
const settle = time.Second

// machineBusy is the CPU time all cores spent busy since boot: the
// "cpu" line of /proc/stat without idle, iowait and steal (time the
// hypervisor gave another machine), in USER_HZ ticks of 10 ms (Linux's
// value for user space on the platforms this runs on).
func machineBusy() (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 || i == 7 { // idle, iowait, steal
			continue
		}
		if i >= 8 { // guest time is counted in user time already
			break
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, false
		}
		busy += v
	}
	return time.Duration(busy) * 10 * time.Millisecond, true
}

// load sends n uploads, concurrency at a time, and fails on the first
// answer other than 202.
func load(client *http.Client, target, key, name string, content []byte, n, concurrency int) (result, error) {
	var next atomic.Int64
	busyBefore, measured := machineBusy()
	lat := make([]time.Duration, n)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body, ctype := multipartBody(name, unique(content))
				req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("upload answered %d: %s", resp.StatusCode, msg)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return result{}, err
	default:
	}
	slices.Sort(lat)
	res := result{rate: float64(n) / elapsed.Seconds(), p50: lat[n/2], p99: lat[min(n-1, n*99/100)]}
	time.Sleep(settle)
	if busyAfter, ok := machineBusy(); ok && measured {
		res.cpu = (busyAfter - busyBefore) / time.Duration(n)
	}
	return res, nil
}

// unique makes each upload a different file, as real uploads are (the
// same bytes again would be a duplicate, which costs Tally a check and
// an event more): a PDF comment after the end, which readers ignore.
func unique(content []byte) []byte {
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	return append(slices.Clip(content), "\n%"+hex.EncodeToString(raw[:])+"\n"...)
}

// multipartBody is the form Tally's upload takes: a file part and the
// user's e-mail.
func multipartBody(name string, content []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("email", "load@example.com")
	part, _ := w.CreateFormFile("file", name)
	_, _ = part.Write(content)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// reference is the baseline upload server.
type reference struct {
	url string
	srv *http.Server
}

func (r *reference) Close() { _ = r.srv.Shutdown(context.Background()) }

func startReference(dir string) (*reference, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := store(r, dir)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
	})}
	go func() { _ = srv.Serve(ln) }()
	return &reference{url: "http://" + ln.Addr().String() + "/upload", srv: srv}, nil
}

// store streams the request's file part to a new file and fsyncs it.
func store(r *http.Request, dir string) (string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", errors.New("no file part")
		}
		if err != nil {
			return "", err
		}
		if part.FormName() != "file" {
			continue
		}
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		id := hex.EncodeToString(raw[:])
		f, err := os.Create(filepath.Join(dir, id))
		if err != nil {
			return "", err
		}
		_, err = io.Copy(f, part)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return id, err
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
