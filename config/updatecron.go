package config

import (
	"errors"
	"fmt"
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
}

// LoadUpdateCron reads DB_UPDATE_*; the error reports every unreadable
// value. Call Validate once flags were applied.
func LoadUpdateCron(getenv func(string) string) (UpdateCron, error) {
	u := UpdateCron{Bucket: getenv("DB_UPDATE_S3_BUCKET"), Prefix: getenv("DB_UPDATE_S3_PREFIX"), Dir: getenv("DB_UPDATE_DIR")}
	if v := getenv("DB_UPDATE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return u, fmt.Errorf("DB_UPDATE_INTERVAL: %q is not a duration such as 24h", v)
		}
		u.Every = d
	}
	return u, nil
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
