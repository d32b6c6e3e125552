package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	stdhttp "net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	tallyhttp "tally/http"
	"tally/ratelimit"
)

func TestRateLimits(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		d.RateLimits = ratelimit.New(rdb, ratelimit.Config{Reads: 3, Uploads: 2, IPFactor: 10})
		d.ClientIPHeader = "X-Forwarded-For"
	})
	// A fresh address per run: Redis outlives the test.
	u := uuid.New()
	ip := fmt.Sprintf("2001:db8::%x:%x", u[0:2], u[2:4])
	call := func(method, path, tenant string) *stdhttp.Response {
		t.Helper()
		req, _ := stdhttp.NewRequest(method, h.srv.URL+path, nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9, "+ip)
		if tenant != "" {
			req.Header.Set("Authorization", "Bearer "+h.keys[tenant])
		}
		resp, err := stdhttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		return resp
	}
	for i := range 3 {
		resp := call("GET", "/v1/documents", "a")
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "3" || resp.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("read %d: %d %v", i+1, resp.StatusCode, resp.Header)
		}
	}
	resp := call("GET", "/v1/stats", "a")
	body, _ := io.ReadAll(resp.Body)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || retry < 1 || retry > 60 || resp.Header.Get("RateLimit-Remaining") != "0" || !strings.Contains(string(body), "too many reads") {
		t.Fatalf("fourth read: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Another key from the same address has its own budget; uploads have
	// theirs; probes have none.
	if resp := call("GET", "/v1/documents", "b"); resp.StatusCode != 200 {
		t.Fatalf("tenant b's read: %d", resp.StatusCode)
	}
	if code, body := h.upload("/v1/documents", "a", []byte(pdf), form{"email": "ann@example.com"}, "X-Forwarded-For", ip); code != 202 {
		t.Fatalf("upload after the reads: %d %v", code, body)
	}
	for range 5 {
		if resp := call("GET", "/healthz", ""); resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "" {
			t.Fatalf("healthz: %d %v", resp.StatusCode, resp.Header)
		}
	}
	// The e-receipt routes answer in their envelope, as their clients
	// expect, not in problem details.
	var envelope struct {
		Success bool `json:"success"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	for i := range 4 {
		req, _ := stdhttp.NewRequest("GET", h.srv.URL+"/ereceipts/config", nil)
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("api-key", h.keys["b"])
		resp, err := stdhttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&envelope)
		resp.Body.Close()
		if i < 2 { // tenant b read once above
			continue
		}
		if resp.StatusCode != 429 || err != nil || envelope.Success || envelope.Error.Code == 0 ||
			!strings.Contains(envelope.Error.Message, "too many reads") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("e-receipt call %d past the budget: %d %+v (%v)", i+1, resp.StatusCode, envelope, err)
		}
	}
	// Without a key, the address's budget (3 x 10) holds.
	var last int
	for range 40 {
		if last = call("GET", "/v1/documents", "").StatusCode; last == 429 {
			break
		}
	}
	if last != 429 {
		t.Fatalf("keyless calls from one address: last %d", last)
	}
}
