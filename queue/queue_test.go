package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tally/queue"
	"tally/queue/queuetest"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		name, body, err string
	}{
		{"complete", `{"job_id":"d:1","tenant":"acme","document_id":"d","attempt":1,"blob_key":"k"}`, ""},
		{"not json", `{`, "decode job"},
		{"no tenant", `{"document_id":"d","attempt":1}`, "required"},
		{"no document", `{"tenant":"acme","attempt":1}`, "required"},
		{"attempt zero", `{"tenant":"acme","document_id":"d","attempt":0}`, "required"},
		{"attempt negative", `{"tenant":"acme","document_id":"d","attempt":-3}`, "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := queue.Decode([]byte(c.body))
			if c.err == "" {
				if err != nil || j.Tenant != "acme" || j.DocumentID != "d" || j.Attempt != 1 || j.BlobKey != "k" {
					t.Fatalf("got %+v, %v", j, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"tenant":"acme","document_id":"d","attempt":2}`))
	f.Add([]byte(`{"attempt":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := queue.Decode(body)
		if err == nil && (j.Tenant == "" || j.DocumentID == "" || j.Attempt < 1) {
			t.Fatalf("accepted an incomplete job %+v", j)
		}
	})
}

func TestJobIDNamesTheAttempt(t *testing.T) {
	if got := queue.JobID("0192", 3); got != "0192:3" {
		t.Fatalf("JobID = %q", got)
	}
}

// Declaring twice is harmless, and a job published with confirms lands in
// the scrape queue as it was sent.
func TestDeclareAndPublishConfirmed(t *testing.T) {
	ctx := context.Background()
	topo := queuetest.Topology(t)
	ch := queuetest.Channel(t)
	for range 2 {
		if err := topo.Declare(ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	var msgs []amqp.Publishing
	for i := 1; i <= 3; i++ {
		body, _ := json.Marshal(queue.Job{ID: queue.JobID("doc", i), Tenant: "acme", DocumentID: "doc", Attempt: i})
		msgs = append(msgs, amqp.Publishing{MessageId: queue.JobID("doc", i), DeliveryMode: amqp.Persistent, Body: body})
	}
	if err := queue.PublishConfirmed(ctx, ch, topo.Queue, true, msgs...); err != nil {
		t.Fatal(err)
	}
	n, err := queue.QueueDepth(ch, topo.Queue)
	if err != nil || n != 3 {
		t.Fatalf("depth %d, %v; want 3", n, err)
	}
	for i := 1; i <= 3; i++ {
		d, ok := queuetest.Get(t, ch, topo.Queue, 5*time.Second)
		if !ok {
			t.Fatalf("job %d missing", i)
		}
		j, err := queue.Decode(d.Body)
		if err != nil || j.Attempt != i || d.MessageId != queue.JobID("doc", i) {
			t.Fatalf("job %d: %+v (message id %q), %v", i, j, d.MessageId, err)
		}
		_ = d.Ack(false)
	}
}

// Publishing on a closed channel is an error, not a silent loss.
func TestPublishConfirmedOnAClosedChannel(t *testing.T) {
	topo := queuetest.Topology(t)
	ch := queuetest.Channel(t)
	if err := topo.Declare(ch); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ch.Close()
	err := queue.PublishConfirmed(context.Background(), ch, topo.Queue, false, amqp.Publishing{MessageId: "x", Body: []byte("{}")})
	if err == nil || !strings.Contains(err.Error(), `id "x"`) {
		t.Fatalf("error %v, want one naming the message", err)
	}
}

// A session declares the topology before work runs, is ready while it
// does, and calls work again on a new connection after it returns.
func TestSessionReconnects(t *testing.T) {
	topo := queuetest.Topology(t)
	s := &queue.Session{URL: queuetest.URL(), Topology: topo, Log: slog.New(slog.DiscardHandler), Prefetch: 2}
	if s.Ping(context.Background()) == nil {
		t.Fatal("ready before connecting")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func(ctx context.Context, ch *amqp.Channel) error {
			if !s.Ready() || s.Ping(ctx) != nil {
				t.Error("work runs on a session that is not ready")
			}
			if _, err := queue.QueueDepth(ch, topo.Dead()); err != nil {
				t.Errorf("topology not declared: %v", err)
			}
			if runs.Add(1) == 3 {
				cancel()
				<-ctx.Done()
				return nil
			}
			return errors.New("work gave up")
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("session did not stop")
	}
	if runs.Load() != 3 {
		t.Fatalf("work ran %d times, want 3", runs.Load())
	}
	if s.Ready() {
		t.Fatal("still ready after the session ended")
	}
}
