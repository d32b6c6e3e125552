// Package queuetest gives tests of any package a scrape-queue topology of
// their own on the real RabbitMQ, deleted when the test ends.
package queuetest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/queue"
)

// URL is the broker tests use: RABBITMQ_URL, or the local one.
func URL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// Topology names a fresh scrape queue with its dead-letter and delay
// queues; all three are deleted when the test ends.
func Topology(t testing.TB) queue.Topology {
	t.Helper()
	topo := queue.Topology{Queue: "test_" + strings.ReplaceAll(uuid.NewString()[:8], "-", ""),
		MessageTTL: time.Hour, DeliveryLimit: 5}
	t.Cleanup(func() {
		conn, err := amqp.Dial(URL())
		if err != nil {
			t.Logf("delete test queues: %v", err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		for _, q := range []string{topo.Queue, topo.Dead(), topo.Delay()} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	})
	return topo
}

// Channel opens a channel on the test broker, closed when the test ends.
func Channel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(URL())
	if err != nil {
		t.Fatalf("connect to rabbitmq: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Get takes one message off the queue, waiting up to timeout for it.
func Get(t testing.TB, ch *amqp.Channel, name string, timeout time.Duration) (amqp.Delivery, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, ok, err := ch.Get(name, false)
		if err != nil {
			t.Fatalf("get from %s: %v", name, err)
		}
		if ok || time.Now().After(deadline) {
			return d, ok
		}
		time.Sleep(20 * time.Millisecond)
	}
}
