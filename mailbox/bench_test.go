package mailbox

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkScrape measures a first scrape of 100 new receipts: search,
// envelopes, downloads, submits (blob + event) and seen rows. Each round
// links the mailbox anew, so every message is new again.
func BenchmarkScrape(b *testing.B) {
	e := newEnv(b)
	now := time.Now()
	for i := range 100 {
		at := now.Add(-time.Duration(i) * time.Minute)
		e.imap.Append("ann@mail.test", "INBOX", email("Shop A <orders@shop-a.test>", fmt.Sprintf("Receipt %d", i),
			fmt.Sprintf("r%d@shop-a.test", i), at), at)
	}
	s := e.scraper(Filter{Retailers: []Retailer{{Email: "orders@shop-a.test"}}}, Limits{})
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		link := e.link(fmt.Sprintf("t%d", time.Now().UnixNano()))
		b.StartTimer()
		res, err := s.ScrapeLink(ctx, link.ID)
		if err != nil || res.New != 100 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "messages/s")
}
