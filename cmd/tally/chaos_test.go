package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	stdhttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/apikeys"
	"tally/eventstore"
	"tally/migrations/pgtest"
	"tally/projections"
	"tally/seal"
)

// role is one tally process of the chaos test.
type role struct {
	t    *testing.T
	name string
	bin  string
	env  []string
	log  *os.File
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func (r *role) start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command(r.bin, r.name)
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", r.name, err)
	}
	r.cmd = cmd
}

// kill ends the process with SIGKILL: no draining, no clean-up.
func (r *role) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *role) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
		r.cmd = nil
	}
}

func restartRabbitMQ(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{{"stop_app"}, {"start_app"}, {"await_startup"}} {
		out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("rabbitmqctl %s: %v\n%s", args[0], err, out)
		}
	}
}

// TestChaos uploads 200 documents while the worker and the bridge are
// killed with SIGKILL and restarted several times and RabbitMQ is
// restarted once. Every accepted upload must end COMPLETED or FAILED,
// count once in the totals, and the live read models must equal a rebuild
// by replay.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatal("rabbitmqctl is needed to restart RabbitMQ in this test")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tally")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	nats, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "js"),
		Listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	dsn, pool := pgtest.New(t)
	key, err := apikeys.New(pool).Create(context.Background(), "chaos")
	if err != nil {
		t.Fatal(err)
	}
	queueName := "chaos_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	defer deleteQueues(t, queueName)
	// One master key for the role processes and for this process, whose
	// rebuild opens the users the roles sealed.
	master, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewRing(master)
	if err != nil {
		t.Fatal(err)
	}
	seal.Install(ring)
	apiPort := freePort(t)
	base := []string{
		"TALLY_MASTER_KEY=" + seal.EncodeMasterKey(master),
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dsn, "NATS_URL=" + nats.ClientURL(), "DATA_DIR=" + filepath.Join(dir, "data"),
		"SCRAPE_QUEUE=" + queueName, "LOG_LEVEL=warn", "RETRY_DELAY_MS=100", "RABBITMQ_MESSAGE_EXPIRE_MS=600000",
	}
	// The role processes get a chosen environment, not this one: pass on
	// the limits TestMain turned off, or 200 uploads a minute from one
	// key would meet the upload rate limit instead of the chaos.
	for _, l := range limitsOff {
		base = append(base, l.name+"="+os.Getenv(l.name))
	}
	roles := map[string]*role{}
	for _, name := range []string{"api", "projector", "bridge", "worker"} {
		port := freePort(t)
		if name == "api" {
			port = apiPort
		}
		logFile, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer logFile.Close()
		roles[name] = &role{t: t, name: name, bin: bin, env: append(append([]string{}, base...), fmt.Sprintf("PORT=%d", port)), log: logFile}
		roles[name].start()
	}
	defer func() {
		for _, r := range roles {
			r.stop()
		}
		if t.Failed() {
			for name := range roles {
				out, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Logf("--- %s log (tail)\n%s", name, tail(string(out), 3000))
			}
		}
	}()
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitFor(t, "api readiness", func() bool {
		resp, err := stdhttp.Get(api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	example, err := os.ReadFile("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	const uploads = 200
	var mu sync.Mutex
	var accepted []string
	uploadsDone := make(chan struct{})
	go func() {
		defer close(uploadsDone)
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					if id, ok := chaosUpload(api, key, example, i); ok {
						mu.Lock()
						accepted = append(accepted, id)
						mu.Unlock()
					}
				}
			})
		}
		for i := range uploads {
			next <- i
			time.Sleep(15 * time.Millisecond)
		}
		close(next)
		wg.Wait()
	}()

	// The chaos: kill the worker often, the bridge now and then, and
	// restart RabbitMQ once, while uploads go on.
	kills := map[string]int{}
	for round := 0; round < 6; round++ {
		time.Sleep(400 * time.Millisecond)
		roles["worker"].kill()
		kills["worker"]++
		if round%2 == 1 {
			roles["bridge"].kill()
			kills["bridge"]++
		}
		if round == 3 {
			restartRabbitMQ(t)
		}
		time.Sleep(200 * time.Millisecond)
		roles["worker"].start()
		if round%2 == 1 {
			roles["bridge"].start()
		}
	}
	<-uploadsDone
	t.Logf("kills: %v; uploads accepted: %d of %d", kills, len(accepted), uploads)
	if len(accepted) < uploads*9/10 {
		t.Fatalf("only %d of %d uploads were accepted", len(accepted), uploads)
	}

	// Every accepted upload reaches a final status.
	ctx := context.Background()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		var open int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE tenant = 'chaos' AND id = ANY($1::uuid[])
			AND status IN ('COMPLETED', 'FAILED')`, accepted).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == len(accepted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted uploads reached COMPLETED or FAILED within 4 minutes", open, len(accepted))
		}
		time.Sleep(250 * time.Millisecond)
	}
	var completed, failed int
	_ = pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE status = 'COMPLETED'), count(*) FILTER (WHERE status = 'FAILED') FROM documents WHERE tenant = 'chaos'").Scan(&completed, &failed)
	t.Logf("completed %d, failed %d", completed, failed)

	// None twice in the totals. The uploads are copies of one invoice, so
	// all but the first of each user are flagged duplicates, which count
	// nowhere: the totals hold exactly the originals.
	var totalDocs, withTotal int64
	_ = pool.QueryRow(ctx, "SELECT COALESCE(sum(documents), 0) FROM monthly_totals WHERE tenant = 'chaos'").Scan(&totalDocs)
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM documents WHERE tenant = 'chaos' AND status = 'COMPLETED' AND total IS NOT NULL AND duplicate_of IS NULL").Scan(&withTotal)
	if totalDocs != withTotal {
		t.Fatalf("monthly totals count %d documents, %d completed documents have a total", totalDocs, withTotal)
	}
	var sumTotals, sumDocs string
	_ = pool.QueryRow(ctx, "SELECT COALESCE(sum(total), 0)::text FROM monthly_totals WHERE tenant = 'chaos'").Scan(&sumTotals)
	_ = pool.QueryRow(ctx, "SELECT COALESCE(sum(total), 0)::text FROM documents WHERE tenant = 'chaos' AND status = 'COMPLETED' AND duplicate_of IS NULL").Scan(&sumDocs)
	if sumTotals != sumDocs {
		t.Fatalf("monthly totals sum to %s, documents to %s", sumTotals, sumDocs)
	}

	// The live read models equal a rebuild by replay.
	nc, err := nats.Connect("verify")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	readModelsEqualReplay(t, pool, store)
}

func chaosUpload(api, key string, file []byte, i int) (string, bool) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("email", fmt.Sprintf("user%d@example.com", i%5))
	fw, _ := w.CreateFormFile("file", fmt.Sprintf("invoice-%d.pdf", i))
	fw.Write(file)
	w.Close()
	req, _ := stdhttp.NewRequest("POST", api+"/v1/documents", &buf)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 {
		return "", false
	}
	id := strings.Split(strings.Split(string(body), `"id":"`)[1], `"`)[0]
	return id, true
}

func rebuild(t *testing.T, pool *pgxpool.Pool, store *eventstore.Store, last uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runners []*projections.Runner
	for _, p := range projections.All() {
		r := projections.NewRunner(pool, store, p, slog.New(slog.DiscardHandler))
		runners = append(runners, r)
		go r.RunForever(ctx)
	}
	waitFor(t, "the rebuild", func() bool {
		for _, r := range runners {
			if r.Position() < last {
				return false
			}
		}
		return true
	})
}

// readModels renders the read models in a stable order.
func readModels(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var out strings.Builder
	for _, q := range []string{
		"SELECT tenant, id, status, attempt, fields, total::text, failure_reason, last_sequence FROM documents ORDER BY tenant, id",
		"SELECT tenant, status, count FROM status_counts WHERE count > 0 ORDER BY tenant, status",
		"SELECT tenant, user_email, month, currency, total::text, documents FROM monthly_totals ORDER BY 1, 2, 3, 4",
	} {
		rows, err := pool.Query(context.Background(), "SELECT row_to_json(r)::text FROM ("+q+") r")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			out.WriteString(line + "\n")
		}
		rows.Close()
	}
	return out.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
