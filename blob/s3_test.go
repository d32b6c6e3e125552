package blob

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// startFakeS3 serves a real S3-protocol server in-process so the S3 backend
// is exercised over HTTP with real SigV4 signing, not against a mock client.
func startFakeS3(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func newS3(t *testing.T, endpoint, bucket string) *S3 {
	t.Helper()
	s, err := NewS3(t.Context(), S3Config{
		Bucket:          bucket,
		Region:          "us-east-1",
		Endpoint:        endpoint,
		AccessKeyID:     "test-access-key",
		SecretAccessKey: "test-secret-key",
		UsePathStyle:    true,
	})
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s
}

func newS3Store(t *testing.T) *S3 {
	t.Helper()
	s := newS3(t, startFakeS3(t), "tally-blobs")
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	return s
}

func TestS3(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) Store { return newS3Store(t) })
}

func TestS3EnsureBucketIdempotent(t *testing.T) {
	s := newS3Store(t)
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
}

func TestS3PingWrongBucket(t *testing.T) {
	endpoint := startFakeS3(t)
	good := newS3(t, endpoint, "tally-blobs")
	if err := good.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	wrong := newS3(t, endpoint, "no-such-bucket")
	if err := wrong.Ping(t.Context()); err == nil {
		t.Fatal("Ping on missing bucket succeeded")
	}
}

func TestS3PingUnreachable(t *testing.T) {
	// Start and stop a server so the port is known to have nothing behind it.
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	endpoint := srv.URL
	srv.Close()
	s := newS3(t, endpoint, "tally-blobs")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping on unreachable endpoint succeeded")
	}
}

func TestNewS3RequiresBucket(t *testing.T) {
	if _, err := NewS3(t.Context(), S3Config{Region: "us-east-1"}); err == nil {
		t.Fatal("NewS3 without bucket succeeded")
	}
}

// A server that takes the request and never answers fails the call after
// ResponseTimeout, though the caller's context has no deadline.
func TestS3SilentServerFails(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(func() { close(release); srv.Close() })
	s, err := NewS3(t.Context(), S3Config{Bucket: "tally-blobs", Region: "us-east-1", Endpoint: srv.URL,
		AccessKeyID: "k", SecretAccessKey: "s", ResponseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Ping(context.Background()) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Ping answered by a silent server succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("Ping still waits on a silent server after a minute")
	}
}
