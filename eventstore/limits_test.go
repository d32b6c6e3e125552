package eventstore_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"tally/eventstore"
	"tally/eventstore/eventstoretest"
)

func TestStreamBoundsEventSize(t *testing.T) {
	_, nc := eventstoretest.Start(t)
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "TALLY_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxMsgSize != eventstore.MaxEventSize {
		t.Fatalf("MaxMsgSize %d, want %d", info.Config.MaxMsgSize, eventstore.MaxEventSize)
	}
}
