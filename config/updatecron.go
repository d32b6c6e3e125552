package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UpdateCron is the update cron's configuration: where merchant template
// bundles are published and how often to look. It is read apart from
// Config because only `tally update-cron` needs it, and there flags may
// stand in for it (--bucket, --prefix, --dir, --every).
type UpdateCron struct {
	// Bucket is DB_UPDATE_S3_BUCKET, the S3 bucket holding bundles
	// (*.json); AWS_REGION, S3_ENDPOINT and the AWS keys are the blob
	// store's.
	Bucket string
	// Prefix is DB_UPDATE_S3_PREFIX, an optional key prefix ("bundles/")
	// within Bucket.
	Prefix string
	// Dir is DB_UPDATE_DIR, or a local directory holding bundles.
	Dir string
	// Every is DB_UPDATE_INTERVAL (a Go duration such as 24h): keep running
	// and look this often. Zero, the default, looks once and exits.
	Every time.Duration
	// SigningKeys is TEMPLATE_SIGNING_KEYS: comma-separated base64
	// Ed25519 public keys; a bundle is installed only with a signature
	// (NAME.json.sig) by one of them.
	SigningKeys string
	// AllowUnsigned is TEMPLATE_ALLOW_UNSIGNED: install unsigned bundles
	// from DB_UPDATE_DIR (never from S3), for developing templates.
	// Default false.
	AllowUnsigned bool
}

// LoadUpdateCron reads DB_UPDATE_*; the error reports every unreadable
// value. Call Validate once flags were applied.
func LoadUpdateCron(getenv func(string) string) (UpdateCron, error) {
	u := UpdateCron{Bucket: getenv("DB_UPDATE_S3_BUCKET"), Prefix: getenv("DB_UPDATE_S3_PREFIX"), Dir: getenv("DB_UPDATE_DIR"),
		SigningKeys: strings.TrimSpace(getenv("TEMPLATE_SIGNING_KEYS"))}
	var errs []error
	if v := getenv("DB_UPDATE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("DB_UPDATE_INTERVAL: %q is not a duration such as 24h", v))
		} else {
			u.Every = d
		}
	}
	if v := strings.TrimSpace(getenv("TEMPLATE_ALLOW_UNSIGNED")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TEMPLATE_ALLOW_UNSIGNED: %q is not true or false", v))
		}
		u.AllowUnsigned = b
	}
	for _, k := range strings.Split(u.SigningKeys, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("TEMPLATE_SIGNING_KEYS: %q is not base64 of a 32-byte Ed25519 public key", k))
		}
	}
	return u, errors.Join(errs...)
}

// Validate reports every problem at once: exactly one of Bucket and Dir
// names where bundles are, and Every is not negative.
func (u UpdateCron) Validate() error {
	var errs []error
	switch {
	case u.Bucket == "" && u.Dir == "":
		errs = append(errs, errors.New("DB_UPDATE_S3_BUCKET or DB_UPDATE_DIR (or --bucket / --dir) must name where template bundles are published"))
	case u.Bucket != "" && u.Dir != "":
		errs = append(errs, errors.New("DB_UPDATE_S3_BUCKET and DB_UPDATE_DIR are both set; set one"))
	}
	if u.Every < 0 {
		errs = append(errs, errors.New("--every must not be negative"))
	}
	return errors.Join(errs...)
}
