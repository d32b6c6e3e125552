package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Config says where an S3 store lives and how to authenticate to it.
type S3Config struct {
	// Bucket holds every blob; keys are used verbatim as object keys.
	// Required.
	Bucket string
	// Region is the bucket's AWS region, e.g. "eu-central-1". Empty falls
	// back to the default chain (AWS_REGION, shared config); when Endpoint
	// is set and no region is found anywhere, "us-east-1" is used because
	// S3-compatible servers generally accept it for signing.
	Region string
	// Endpoint is the base URL of an S3-compatible server such as MinIO,
	// e.g. "http://localhost:9000". Empty means real AWS S3. When set,
	// path-style addressing is always used.
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials. If
	// AccessKeyID is empty, the default AWS credential chain (environment,
	// shared files, IAM role) is used and SecretAccessKey is ignored.
	AccessKeyID     string
	SecretAccessKey string
	// UsePathStyle requests "https://host/bucket/key" URLs instead of
	// "https://bucket.host/key". Only meaningful against AWS; it is forced
	// true when Endpoint is set, since self-hosted servers rarely have
	// wildcard DNS for virtual-hosted buckets.
	UsePathStyle bool
	// ResponseTimeout bounds how long the server may stay silent: before
	// an answer's headers and between reads of its body. Zero means 30 s.
	// Whole requests get no deadline, so a large file still streams.
	ResponseTimeout time.Duration
}

// S3 is a Store backed by an S3 bucket (AWS or any S3-compatible server).
type S3 struct {
	client *s3.Client
	bucket string
	region string
}

// NewS3 builds an S3 store. It does not contact the server; use Ping or
// EnsureBucket for that, so start-up does not hang on a slow network.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("new s3 blob store: empty bucket")
	}
	client, region, err := NewS3Client(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("new s3 blob store: %w", err)
	}
	return &S3{client: client, bucket: cfg.Bucket, region: region}, nil
}

// NewS3Client builds an S3 client by the store's rules (region, custom
// endpoint with path-style addressing, static or default credentials) for
// other readers of the same servers, such as the template bundle source.
// It returns the region in use and does not contact the server.
func NewS3Client(ctx context.Context, cfg S3Config) (*s3.Client, string, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		if cfg.SecretAccessKey == "" {
			return nil, "", errors.New("access key id set without secret access key")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("load aws config: %w", err)
	}
	if awsCfg.Region == "" && cfg.Endpoint != "" {
		awsCfg.Region = "us-east-1"
	}
	if awsCfg.Region == "" {
		return nil, "", errors.New("no region configured")
	}
	silence := cfg.ResponseTimeout
	if silence <= 0 {
		silence = 30 * time.Second
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// A server that accepts the connection and then says nothing would
		// otherwise hold a request until its context ends.
		o.HTTPClient = awshttp.NewBuildableClient().
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
			WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = silence }).
			WithReadTimeout(silence)
		o.UsePathStyle = cfg.UsePathStyle
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
			// The SDK's default flexible checksums (aws-chunked bodies with
			// trailers) are not implemented by many S3-compatible servers;
			// only send checksums where the API demands them.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return client, awsCfg.Region, nil
}

// Put uploads the blob in a single PutObject, which S3 makes atomic: readers
// see the old object or the new one, never a partial one.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if size < 0 {
		return fmt.Errorf("put blob %s: negative size %d", key, size)
	}
	body, err := seekableBody(ctx, r, size)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// maxPrealloc bounds the up-front allocation when buffering, so a wrong
// (huge) declared size cannot by itself exhaust memory.
const maxPrealloc = 64 << 20

// seekableBody returns a body the SDK can sign and retry. SigV4 over plain
// HTTP must hash the payload before sending, which needs a second pass, and
// retries need to rewind; both require an io.ReadSeeker. Seekable input is
// used as-is (after checking its length); anything else is buffered, which
// callers accept because they have already buffered the upload once.
func seekableBody(ctx context.Context, r io.Reader, size int64) (io.ReadSeeker, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		if n, err := remaining(rs); err == nil {
			if n != size {
				return nil, errSizeMismatch(size, n)
			}
			return rs, nil
		}
		// Seek failed (e.g. an *os.File that is really a pipe): fall through
		// and treat it as a plain stream.
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size, maxPrealloc)))
	limit := size
	if limit < math.MaxInt64 {
		limit++ // one extra byte reveals an over-long body
	}
	n, err := buf.ReadFrom(io.LimitReader(ctxReader{ctx: ctx, r: r}, limit))
	if err != nil {
		return nil, fmt.Errorf("buffer body: %w", err)
	}
	if n != size {
		return nil, errSizeMismatch(size, n)
	}
	return bytes.NewReader(buf.Bytes()), nil
}

// remaining reports how many bytes rs has left without moving its position.
func remaining(rs io.ReadSeeker) (int64, error) {
	cur, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := rs.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	return end - cur, nil
}

// Get streams the object. The body is tied to ctx: cancelling ctx aborts
// reads in progress.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		if isMissingKey(err) {
			return nil, fmt.Errorf("get blob %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("get blob %s: %w", key, err)
	}
	return out.Body, nil
}

// Delete removes the object. S3 already treats deleting a missing key as
// success; the not-found check covers servers that answer 404 instead.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil && !isMissingKey(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// Ping issues HeadBucket: it proves the endpoint is reachable, the
// credentials are valid and the bucket exists, at the cost of one cheap
// request and without creating objects on every health check.
func (s *S3) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("ping s3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// EnsureBucket creates the bucket if it does not exist. It is meant for tests
// and the zero-setup local run; production buckets should be provisioned
// with their policies out of band.
func (s *S3) EnsureBucket(ctx context.Context) error {
	// Checking first avoids needing CreateBucket permission when the bucket
	// is already there, which is the common case in shared environments.
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err == nil {
		return nil
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}
	// us-east-1 is the default location and AWS rejects it when named
	// explicitly.
	if s.region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(s.region),
		}
	}
	_, err := s.client.CreateBucket(ctx, in)
	if err == nil {
		return nil
	}
	var owned *types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	// BucketAlreadyExists can mean someone else owns the name, or (on some
	// S3-compatible servers) that we lost a creation race to ourselves; only
	// the latter is fine, and HeadBucket tells them apart.
	var exists *types.BucketAlreadyExists
	if errors.As(err, &exists) {
		if _, herr := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); herr == nil {
			return nil
		}
	}
	return fmt.Errorf("ensure s3 bucket %s: %w", s.bucket, err)
}

// isMissingKey reports whether err means the object does not exist. A
// missing bucket also answers 404 but is a configuration fault, not a
// missing blob, so it is deliberately excluded.
func isMissingKey(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound
}
