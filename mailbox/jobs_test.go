package mailbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/queue"
)

const rabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

func testTopology(t *testing.T) queue.Topology {
	topo := Topology("test_scrape_"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), time.Minute, 5)
	t.Cleanup(func() {
		conn, err := amqp.Dial(rabbitURL)
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		for _, q := range []string{topo.Queue, topo.Dead(), topo.Delay()} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	})
	return topo
}

func TestScheduledScrapeJobsRunOnce(t *testing.T) {
	e := newEnv(t)
	filter, want := e.fixture(time.Now())
	link := e.link("acme")
	topo := testTopology(t)
	pub := &Publisher{URL: rabbitURL, Topology: topo}
	sched := &Scheduler{Links: e.links, Publisher: pub, Log: e.log}
	ctx := context.Background()

	if n, err := sched.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("first tick: %d %v, want 1 job", n, err)
	}
	// The job is pending: a second tick queues nothing for the link.
	if n, err := sched.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("second tick: %d %v, want 0 jobs", n, err)
	}
	// A scrape asked for through the API goes on the queue as well.
	svc := &Service{Links: e.links, Publisher: pub}
	if err := svc.RequestScrape(ctx, "acme", link.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestScrape(ctx, "other", link.ID); err == nil {
		t.Fatal("another tenant queued a scrape of the link")
	}

	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	consumer := &Consumer{Scraper: e.scraper(filter, Limits{}), Concurrency: 2, Log: e.log}
	session := &queue.Session{URL: rabbitURL, Topology: topo, Log: e.log, Prefetch: 2}
	wg.Go(func() {
		session.Run(cctx, func(ctx context.Context, ch *amqp.Channel) error { return consumer.Consume(ctx, ch, topo) })
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		depth := queueDepth(t, topo.Queue)
		l, err := e.links.Get(ctx, "acme", link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if depth == 0 && l.MessagesFound == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not done: queue depth %d, link %+v", depth, l)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Two jobs ran (or one found the other running); the documents are
	// made once.
	if got := e.subjects(e.documents()); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("documents %q, want %q", got, want)
	}
	// Scraped since it was queued, but queued less than an interval ago:
	// another scheduler out of step must not queue it again yet.
	sched.Interval = time.Hour
	if n, err := sched.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("tick within the interval: %d %v, want 0 jobs", n, err)
	}
	// An interval later it is due.
	sched.Interval = 0
	if n, err := sched.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("tick after the scrape: %d %v, want 1 job", n, err)
	}
}

func queueDepth(t *testing.T, name string) int {
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	n, err := queue.QueueDepth(ch, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
