package templates

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"tally/blob"
)

// Fetched is a bundle file as found in a source.
type Fetched struct {
	// Name says where it came from: s3://bucket/key or a file path.
	Name string
	Data []byte
	// Signature is the signature file published beside it (NAME.sig);
	// nil when there is none.
	Signature []byte
	// Local is true for a bundle from a local directory.
	Local bool
}

// Source finds the newest published bundle.
type Source interface {
	// Newest returns the newest bundle file, or nil when the source holds
	// none.
	Newest(ctx context.Context) (*Fetched, error)
	// String names the source in logs.
	String() string
}

// candidate is one bundle file in a source.
type candidate struct {
	key      string
	version  string // the file name from its first digit, without ".json"
	modified time.Time
}

// newest picks the candidate whose file name is the highest version; among
// equal names, the newest object.
func newest(cs []candidate) (candidate, bool) {
	var best candidate
	found := false
	for _, c := range cs {
		if !found {
			best, found = c, true
			continue
		}
		cmp := CompareVersions(c.version, best.version)
		if cmp > 0 || (cmp == 0 && (c.modified.After(best.modified) || (c.modified.Equal(best.modified) && c.key > best.key))) {
			best = c
		}
	}
	return best, found
}

func bundleName(key string) (string, bool) {
	base := path.Base(key)
	if !strings.HasSuffix(strings.ToLower(base), ".json") || len(base) == len(".json") {
		return "", false
	}
	name := base[:len(base)-len(".json")]
	// "bundle-2026.11.2" and "v2026.11.2" compare as "2026.11.2".
	if i := strings.IndexAny(name, "0123456789"); i > 0 {
		name = name[i:]
	}
	return name, true
}

// readBundle reads at most MaxBundleBytes, failing on more.
func readBundle(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, MaxBundleBytes)
	}
	return data, nil
}

// DirSource reads bundles (*.json) from a local directory, e.g. one a
// deployment mounts or syncs.
type DirSource struct{ Dir string }

func (d DirSource) String() string { return d.Dir }

// Newest implements Source.
func (d DirSource) Newest(ctx context.Context) (*Fetched, error) {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("template bundles in %s: %w", d.Dir, err)
	}
	var cs []candidate
	for _, e := range entries {
		v, ok := bundleName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		cs = append(cs, candidate{key: e.Name(), version: v, modified: info.ModTime()})
	}
	best, ok := newest(cs)
	if !ok {
		return nil, nil
	}
	name := filepath.Join(d.Dir, best.key)
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readBundle(f, name)
	if err != nil {
		return nil, err
	}
	sig, err := os.ReadFile(name + SignatureSuffix)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s%s: %w", name, SignatureSuffix, err)
	}
	if err == nil && len(sig) == 0 {
		sig = []byte{} // present but empty: refused as damaged, not as unsigned
	}
	return &Fetched{Name: name, Data: data, Signature: sig, Local: true}, nil
}

// S3Source reads bundles (*.json) from an S3 bucket, under an optional
// prefix ("bundles/" or "bundles"; the objects directly under it).
type S3Source struct {
	client *s3.Client
	bucket string
	prefix string
}

// NewS3Source reads bundles from cfg.Bucket under prefix, with a client
// made by blob.NewS3Client (the blob store's region, endpoint and
// credential rules). It does not contact the server.
func NewS3Source(ctx context.Context, cfg blob.S3Config, prefix string) (*S3Source, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("template bundles: empty bucket")
	}
	client, _, err := blob.NewS3Client(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("template bundles: %w", err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &S3Source{client: client, bucket: cfg.Bucket, prefix: prefix}, nil
}

func (s *S3Source) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Newest implements Source.
func (s *S3Source) Newest(ctx context.Context) (*Fetched, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Delimiter: aws.String("/")}
	if s.prefix != "" {
		in.Prefix = aws.String(s.prefix)
	}
	var cs []candidate
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list template bundles in %s: %w", s, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			v, ok := bundleName(key)
			if !ok {
				continue
			}
			cs = append(cs, candidate{key: key, version: v, modified: aws.ToTime(o.LastModified)})
		}
	}
	best, ok := newest(cs)
	if !ok {
		return nil, nil
	}
	name := "s3://" + s.bucket + "/" + best.key
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(best.key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	defer out.Body.Close()
	data, err := readBundle(out.Body, name)
	if err != nil {
		return nil, err
	}
	sig, err := s.signature(ctx, best.key)
	if err != nil {
		return nil, err
	}
	return &Fetched{Name: name, Data: data, Signature: sig}, nil
}

// signature reads KEY.sig; nil when there is none.
func (s *S3Source) signature(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key + SignatureSuffix)})
	if err != nil {
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return nil, nil
		}
		return nil, fmt.Errorf("get s3://%s/%s%s: %w", s.bucket, key, SignatureSuffix, err)
	}
	defer out.Body.Close()
	sig, err := io.ReadAll(io.LimitReader(out.Body, maxSignatureBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s%s: %w", s.bucket, key, SignatureSuffix, err)
	}
	if sig == nil {
		sig = []byte{}
	}
	return sig, nil
}
