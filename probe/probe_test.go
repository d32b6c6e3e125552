package probe

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"tally/metrics"
)

// TestProfilesOnlyWhenAsked serves the probes with and without profiles
// and asks each for /debug/pprof/cmdline.
func TestProfilesOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want int
	}{
		{"default", nil, http.StatusNotFound},
		{"with profiles", []Option{WithProfiles()}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- Serve(ctx, addr, metrics.New(), nil, tc.opts...) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			if got := status(t, "http://"+addr+"/debug/pprof/cmdline"); got != tc.want {
				t.Fatalf("/debug/pprof/cmdline: %d, want %d", got, tc.want)
			}
			if got := status(t, "http://"+addr+"/healthz"); got != http.StatusOK {
				t.Fatalf("/healthz: %d", got)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// status GETs url, retrying while the server is starting.
func status(t *testing.T, url string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
