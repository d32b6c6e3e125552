package http_test

import (
	"context"
	stdhttp "net/http"
	"strings"
	"testing"
	"time"

	"tally/commands"
	"tally/domain"
	tallyhttp "tally/http"
)

// A dry run may extract a hundred documents again: a tenant runs one at a
// time, on a goroutine the server owns, which the client's leaving stops.
func TestDryRunsOneAtATimePerTenant(t *testing.T) {
	started, release := make(chan string, 4), make(chan struct{})
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		d.Preview = func(ctx context.Context, tenant, docID string) (domain.Fields, error) {
			started <- tenant
			select {
			case <-release:
			case <-ctx.Done():
				return domain.Fields{}, ctx.Err()
			}
			return domain.Fields{Total: "99.99"}, nil
		}
	})
	ctx := context.Background()
	for _, tenant := range []string{"a", "b"} {
		meta := commands.Meta{Tenant: tenantOf(h, tenant)}
		_, doc := h.upload("/v1/documents", tenant, []byte(pdf), form{"email": "ann@example.com"})
		id := doc["id"].(string)
		h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1})
		h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1, Fields: domain.Fields{Total: "1.00"}})
		h.eventually("a COMPLETED document", func() bool {
			_, list := h.do("GET", "/v1/documents?status=COMPLETED", tenant, nil, "")
			items, _ := list["items"].([]any)
			return len(items) == 1
		})
	}
	dry := func(tenant string) (int, map[string]any) {
		return h.do("POST", "/v1/reprocess", tenant, strings.NewReader(`{"dry_run": true}`), "application/json")
	}
	first := make(chan int, 1)
	go func() { code, _ := dry("a"); first <- code }()
	if got := <-started; got != tenantOf(h, "a") {
		t.Fatalf("preview for %s", got)
	}
	code, body := dry("a")
	if code != 429 || !strings.Contains(body["detail"].(string), "already running") {
		t.Fatalf("a second dry run for the tenant: %d %v", code, body)
	}
	// Another tenant is not held up.
	second := make(chan int, 1)
	go func() { code, _ := dry("b"); second <- code }()
	if got := <-started; got != tenantOf(h, "b") {
		t.Fatalf("preview for %s", got)
	}
	close(release)
	if c1, c2 := <-first, <-second; c1 != 200 || c2 != 200 {
		t.Fatalf("dry runs answered %d and %d", c1, c2)
	}
	// The run ended, so the next may start.
	if code, body := dry("a"); code != 200 {
		t.Fatalf("a dry run after the first: %d %v", code, body)
	}
}

// The run is on the server's goroutine, but a client that gives up still
// stops it: nobody would read its answer.
func TestDryRunStopsWhenTheClientLeaves(t *testing.T) {
	started, stopped := make(chan struct{}, 1), make(chan struct{}, 1)
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		d.Preview = func(ctx context.Context, tenant, docID string) (domain.Fields, error) {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- struct{}{}
			return domain.Fields{}, ctx.Err()
		}
	})
	ctx := context.Background()
	meta := commands.Meta{Tenant: tenantOf(h, "a")}
	_, doc := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"})
	id := doc["id"].(string)
	h.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1})
	h.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1, Fields: domain.Fields{Total: "1.00"}})
	h.eventually("a COMPLETED document", func() bool {
		_, list := h.do("GET", "/v1/documents?status=COMPLETED", "a", nil, "")
		items, _ := list["items"].([]any)
		return len(items) == 1
	})
	reqCtx, cancel := context.WithCancel(ctx)
	go func() {
		<-started
		cancel()
	}()
	req, _ := stdhttp.NewRequestWithContext(reqCtx, "POST", h.srv.URL+"/v1/reprocess", strings.NewReader(`{"dry_run": true}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.keys["a"])
	if resp, err := stdhttp.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the cancelled request got an answer: %d", resp.StatusCode)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the dry run went on after its client left")
	}
}
