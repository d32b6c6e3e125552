package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustLoad(t *testing.T, m map[string]string) *Config {
	t.Helper()
	c, err := Load(env(m))
	if err != nil {
		t.Fatalf("Load(%v): %v", m, err)
	}
	return c
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, nil)
	want := Config{
		Role:                  "",
		Port:                  4001,
		DataDir:               "./data",
		OCRModelsDir:          "/usr/local/share/tally/ocr",
		LogLevel:              "info",
		DatabaseURL:           "postgres://postgres@127.0.0.1:5432/tally?sslmode=disable",
		RedisURL:              "redis://127.0.0.1:6379/0",
		RabbitMQURL:           "amqp://guest:guest@127.0.0.1:5672/",
		ScrapeQueue:           "scrape_queue",
		RabbitMQMessageExpire: 60 * time.Second,
		RabbitMQTemplateBatch: 5,
		ScrapeWorkerTimeout:   60 * time.Second,
		RetryDelay:            2 * time.Second,
		RabbitMQDeliveryLimit: 5,
		MailFrom:              "Tally <tally@localhost>",
		DeletionGrace:         30 * 24 * time.Hour,
		ReportTimeZone:        "UTC",
		RetryMaxAttempts:      10,
		WebhookRetryPeriod:    24 * time.Hour,
		WebhookTimeout:        10 * time.Second,
		MailboxScrapeInterval: 5 * time.Minute,
		PprofListen:           "127.0.0.1:6060",
		NATSReplicas:          1,
		NATSSyncAlways:        true,
		NATSAppendRetry:       10 * time.Second,
		AWSRegion:             "us-east-1",
		MaxFileSizeMB:         10,
		DKIMVerify:            true,
		DefaultTenant:         "default",
		PublicURL:             "http://localhost:4001",
		ShutdownTimeout:       20 * time.Second,
		Guard: Guard{RateLimitUploads: 60, RateLimitReads: 600, RateLimitExpensive: 10, RateLimitIPFactor: 5,
			TenantDocumentsPerDay: 10000, ExtractToolMemoryMB: 2048, NotifyRequireConfirmation: true},
		Tracing:         Tracing{ServiceName: "tally", SampleRatio: 1},
		databaseURLFrom: "DB_*",
		redisURLFrom:    "REDIS_*",
	}
	if *c != want {
		t.Errorf("defaults:\n got %#v\nwant %#v", *c, want)
		t.Errorf("raw got: %+v", rawFields(*c))
	}
	if got := c.MaxFileSize(); got != 10<<20 {
		t.Errorf("MaxFileSize() = %d, want %d", got, 10<<20)
	}
	if got := c.Level(); got != slog.LevelInfo {
		t.Errorf("Level() = %v, want INFO", got)
	}
	if got, want := c.JetStreamDir(), "data/jetstream"; got != want {
		t.Errorf("JetStreamDir() = %q, want %q", got, want)
	}
	if got, want := c.BlobDir(), "data/blobs"; got != want {
		t.Errorf("BlobDir() = %q, want %q", got, want)
	}
}

// rawFields bypasses the masking Format method, for failure messages only.
func rawFields(c Config) map[string]any {
	return map[string]any{"DatabaseURL": c.DatabaseURL, "RedisURL": c.RedisURL, "PublicURL": c.PublicURL}
}

func TestLoadNilUsesOSEnv(t *testing.T) {
	t.Setenv("PORT", "4555")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 4555 || c.PublicURL != "http://localhost:4555" {
		t.Errorf("Port=%d PublicURL=%q, want 4555 and http://localhost:4555", c.Port, c.PublicURL)
	}
}

func TestOverrides(t *testing.T) {
	c := mustLoad(t, map[string]string{
		"PORT":                           " 8080 ",
		"DATA_DIR":                       "/var/lib/tally",
		"RABBITMQ_MESSAGE_EXPIRE_MS":     "1500",
		"WEBHOOK_RETRY_PERIOD":           "90m",
		"WEBHOOK_TIMEOUT":                "3s",
		"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "yes",
		"SCRAPE_WORKER_TIMEOUT_MS":       "250",
		"SHUTDOWN_TIMEOUT_SECONDS":       "5",
		"NATS_SYNC_ALWAYS":               "false",
		"NATS_REPLICAS":                  "3",
		"NATS_URL":                       "nats://a:4222, tls://b:4222",
		"NATS_EMBEDDED_LISTEN":           "127.0.0.1:4223",
		"PPROF":                          "1",
		"PPROF_LISTEN":                   "127.0.0.1:7070",
		"MAX_FILE_SIZE_MB":               "1024",
		"DEFAULT_TENANT":                 "acme_co-1",
		"PUBLIC_URL":                     "https://tally.example.com",
		"S3_BUCKET":                      "blobs",
		"S3_ENDPOINT":                    "http://127.0.0.1:9000",
		"MAILBOX_SCRAPE_INTERVAL":        "1h30m",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"Port", c.Port, 8080},
		{"Pprof", c.Pprof, true},
		{"PprofListen", c.PprofListen, "127.0.0.1:7070"},
		{"DataDir", c.DataDir, "/var/lib/tally"},
		{"RabbitMQMessageExpire", c.RabbitMQMessageExpire, 1500 * time.Millisecond},
		{"WebhookRetryPeriod", c.WebhookRetryPeriod, 90 * time.Minute},
		{"WebhookTimeout", c.WebhookTimeout, 3 * time.Second},
		{"OutboundAllowPrivateNetworks", c.OutboundAllowPrivateNetworks, true},
		{"ScrapeWorkerTimeout", c.ScrapeWorkerTimeout, 250 * time.Millisecond},
		{"ShutdownTimeout", c.ShutdownTimeout, 5 * time.Second},
		{"NATSSyncAlways", c.NATSSyncAlways, false},
		{"NATSReplicas", c.NATSReplicas, 3},
		{"MaxFileSize", c.MaxFileSize(), int64(1 << 30)},
		{"PublicURL", c.PublicURL, "https://tally.example.com"},
		{"MailboxScrapeInterval", c.MailboxScrapeInterval, 90 * time.Minute},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	s := "\n" + c.String() + "\n"
	for _, line := range []string{"RABBITMQ_MESSAGE_EXPIRE_MS=1500", "SHUTDOWN_TIMEOUT_SECONDS=5", "NATS_URL=nats://a:4222,tls://b:4222", "MAILBOX_SCRAPE_INTERVAL=1h30m0s"} {
		if !strings.Contains(s, "\n"+line+"\n") {
			t.Errorf("String() lacks %q:\n%s", line, s)
		}
	}
}

func TestDatabaseURL(t *testing.T) {
	const password = "p@ss/w:rd?#%"
	tests := []struct {
		name         string
		env          map[string]string
		want         string // Config.DatabaseURL
		wantPassword string // as decoded by net/url
		wantPrinted  string // the DATABASE_URL line of String()
	}{
		{
			name:        "defaults",
			want:        "postgres://postgres@127.0.0.1:5432/tally?sslmode=disable",
			wantPrinted: "postgres://postgres@127.0.0.1:5432/tally?sslmode=disable",
		},
		{
			name: "parts with special characters in the password",
			env: map[string]string{
				"DB_HOST": "db.internal", "DB_PORT": "6543", "DB_NAME": "tally_prod",
				"DB_USERNAME": "app", "DB_PASSWORD": password, "DB_SSL": "true",
			},
			want:         "postgres://app:p%40ss%2Fw%3Ard%3F%23%25@db.internal:6543/tally_prod?sslmode=require",
			wantPassword: password,
			wantPrinted:  "postgres://app:****@db.internal:6543/tally_prod?sslmode=require",
		},
		{
			name:        "ipv6 host, ssl off",
			env:         map[string]string{"DB_HOST": "::1", "DB_SSL": "no", "DB_PASSWORD": "pw"},
			want:        "postgres://postgres:pw@[::1]:5432/tally?sslmode=disable",
			wantPrinted: "postgres://postgres:****@[::1]:5432/tally?sslmode=disable",
		},
		{
			name: "DATABASE_URL wins over parts, bad parts ignored",
			env: map[string]string{
				"DATABASE_URL": "postgresql://u:sekrit@pg:5432/x",
				"DB_HOST":      "ignored", "DB_PORT": "70000", "DB_PASSWORD": "ignored",
			},
			want:         "postgresql://u:sekrit@pg:5432/x",
			wantPassword: "sekrit",
			wantPrinted:  "postgresql://u:****@pg:5432/x",
		},
		{
			name:        "password in query parameter",
			env:         map[string]string{"DATABASE_URL": "postgres:///tally?host=/run/postgresql&password=qsecret"},
			want:        "postgres:///tally?host=/run/postgresql&password=qsecret",
			wantPrinted: "postgres:///tally?host=/run/postgresql&password=****",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env)
			if c.DatabaseURL != tc.want {
				t.Errorf("DatabaseURL = %q, want %q", c.DatabaseURL, tc.want)
			}
			if tc.wantPassword != "" {
				u, err := url.Parse(c.DatabaseURL)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := u.User.Password(); got != tc.wantPassword {
					t.Errorf("password decodes to %q, want %q", got, tc.wantPassword)
				}
			}
			s := c.String()
			if !strings.Contains(s, "DATABASE_URL="+tc.wantPrinted+"\n") {
				t.Errorf("String() lacks DATABASE_URL=%s:\n%s", tc.wantPrinted, s)
			}
			for _, secret := range []string{password, url.QueryEscape(password), "sekrit", "qsecret"} {
				if strings.Contains(s, secret) {
					t.Errorf("String() leaks %q:\n%s", secret, s)
				}
			}
		})
	}
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		want        string
		wantPrinted string
	}{
		{"defaults", nil, "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{
			"password only, db",
			map[string]string{"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_PASSWORD": "s3cr@t", "REDIS_DB": "2"},
			"redis://:s3cr%40t@cache:6380/2",
			"redis://:****@cache:6380/2",
		},
		{
			"user, password, tls",
			map[string]string{"REDIS_HOST": "cache.example.com", "REDIS_USER": "tally", "REDIS_PASSWORD": "hunter22", "REDIS_TLS": "TRUE"},
			"rediss://tally:hunter22@cache.example.com:6379/0",
			"rediss://tally:****@cache.example.com:6379/0",
		},
		{
			"user without password",
			map[string]string{"REDIS_USER": "tally", "REDIS_TLS": "0"},
			"redis://tally@127.0.0.1:6379/0",
			"redis://tally@127.0.0.1:6379/0",
		},
		{
			"REDIS_URL wins",
			map[string]string{"REDIS_URL": "rediss://:hunter22@r:6379/3", "REDIS_HOST": "ignored", "REDIS_DB": "x"},
			"rediss://:hunter22@r:6379/3",
			"rediss://:****@r:6379/3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env)
			if c.RedisURL != tc.want {
				t.Errorf("RedisURL = %q, want %q", c.RedisURL, tc.want)
			}
			s := c.String()
			if !strings.Contains(s, "REDIS_URL="+tc.wantPrinted+"\n") {
				t.Errorf("String() lacks REDIS_URL=%s:\n%s", tc.wantPrinted, s)
			}
			if strings.Contains(s, "hunter22") || strings.Contains(s, "s3cr") {
				t.Errorf("String() leaks the password:\n%s", s)
			}
		})
	}
}

// TestURLWithSeparatePassword checks that DB_PASSWORD and REDIS_PASSWORD
// reach a DATABASE_URL or REDIS_URL that carries no password (the Helm chart
// keeps the URLs and the passwords apart), that a URL's own password wins,
// that DB_SSL=true asks for TLS when the URL names no sslmode, and that the
// passwords are never printed.
func TestURLWithSeparatePassword(t *testing.T) {
	const dbPassword, redisPassword = "dbSecret@1/x", "redisSecret:2"
	tests := []struct {
		name      string
		env       map[string]string
		wantDB    string
		wantRedis string
	}{
		{
			name: "passwords added to URLs without one",
			env: map[string]string{
				"DATABASE_URL": "postgres://tally@postgres:5432/tally?sslmode=require", "DB_PASSWORD": dbPassword,
				"REDIS_URL": "redis://redis:6379/0", "REDIS_PASSWORD": redisPassword,
			},
			wantDB:    "postgres://tally:dbSecret%401%2Fx@postgres:5432/tally?sslmode=require",
			wantRedis: "redis://:redisSecret%3A2@redis:6379/0",
		},
		{
			name: "user names kept",
			env: map[string]string{
				"DATABASE_URL": "postgres://app@pg/tally", "DB_PASSWORD": dbPassword, "DB_USERNAME": "ignored",
				"REDIS_URL": "rediss://tally@r:6380/1", "REDIS_PASSWORD": redisPassword, "REDIS_USER": "ignored",
			},
			wantDB:    "postgres://app:dbSecret%401%2Fx@pg/tally",
			wantRedis: "rediss://tally:redisSecret%3A2@r:6380/1",
		},
		{
			name: "URLs' own passwords win",
			env: map[string]string{
				"DATABASE_URL": "postgres://app:ownPass@pg/tally", "DB_PASSWORD": dbPassword,
				"REDIS_URL": "redis://:ownPass@r:6379/0", "REDIS_PASSWORD": redisPassword,
			},
			wantDB:    "postgres://app:ownPass@pg/tally",
			wantRedis: "redis://:ownPass@r:6379/0",
		},
		{
			name: "password as a query parameter wins",
			env: map[string]string{
				"DATABASE_URL": "postgres:///tally?host=/run/postgresql&password=ownPass", "DB_PASSWORD": dbPassword,
			},
			wantDB:    "postgres:///tally?host=/run/postgresql&password=ownPass",
			wantRedis: "redis://127.0.0.1:6379/0",
		},
		{
			name: "DB_SSL adds sslmode=require",
			env: map[string]string{
				"DATABASE_URL": "postgres://app@pg/tally?pool_max_conns=5", "DB_SSL": "true",
			},
			wantDB:    "postgres://app@pg/tally?pool_max_conns=5&sslmode=require",
			wantRedis: "redis://127.0.0.1:6379/0",
		},
		{
			name: "the URL's sslmode wins over DB_SSL",
			env: map[string]string{
				"DATABASE_URL": "postgres://app@pg/tally?sslmode=verify-full", "DB_SSL": "true",
			},
			wantDB:    "postgres://app@pg/tally?sslmode=verify-full",
			wantRedis: "redis://127.0.0.1:6379/0",
		},
		{
			name: "DB_SSL=false leaves the URL alone",
			env: map[string]string{
				"DATABASE_URL": "postgres://app@pg/tally", "DB_SSL": "false",
			},
			wantDB:    "postgres://app@pg/tally",
			wantRedis: "redis://127.0.0.1:6379/0",
		}, {
			// PGSSLMODE=verify-full, which pgx reads, would be weakened
			// by a sslmode=require in the URL.
			name: "PGSSLMODE wins over DB_SSL",
			env: map[string]string{
				"DATABASE_URL": "postgres://app@pg/tally", "DB_SSL": "true", "PGSSLMODE": "verify-full",
			},
			wantDB:    "postgres://app@pg/tally",
			wantRedis: "redis://127.0.0.1:6379/0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env)
			if c.DatabaseURL != tc.wantDB {
				t.Errorf("DatabaseURL = %q, want %q", c.DatabaseURL, tc.wantDB)
			}
			if c.RedisURL != tc.wantRedis {
				t.Errorf("RedisURL = %q, want %q", c.RedisURL, tc.wantRedis)
			}
			if u, err := url.Parse(c.DatabaseURL); err == nil && tc.env["DB_PASSWORD"] != "" && !strings.Contains(tc.wantDB, "ownPass") {
				if got, _ := u.User.Password(); got != dbPassword {
					t.Errorf("database password decodes to %q, want %q", got, dbPassword)
				}
			}
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
			for _, out := range []string{c.String(), fmt.Sprintf("%#v", c), buf.String()} {
				for _, secret := range []string{"dbSecret", "redisSecret", "ownPass"} {
					if strings.Contains(out, secret) {
						t.Errorf("output leaks %q:\n%s", secret, out)
					}
				}
			}
		})
	}
	// A query that cannot take the password is reported, never silently
	// left without it, and the message shows no part of the URL.
	if _, err := Load(env(map[string]string{"DATABASE_URL": "postgres://pg/tally?options=%zz&password_file=x", "DB_PASSWORD": dbPassword})); err == nil ||
		!strings.Contains(err.Error(), "DATABASE_URL: its query does not parse") || strings.Contains(err.Error(), "password_file") {
		t.Errorf("a DATABASE_URL whose query does not parse, next to DB_PASSWORD: err = %v, want it named, the value not shown", err)
	}
	if _, err := Load(env(map[string]string{"DATABASE_URL": "postgres://pg/tally", "DB_SSL": "maybe"})); err == nil ||
		!strings.Contains(err.Error(), `DB_SSL: "maybe" is not a boolean`) {
		t.Errorf("a bad DB_SSL next to DATABASE_URL: err = %v, want it named", err)
	}
}

// TestInvalidValues checks each message names the variable and the value.
func TestInvalidValues(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "abc"}, `PORT: "abc" is not a number`},
		{map[string]string{"PORT": "0"}, `PORT: 0 is out of range 1-65535`},
		{map[string]string{"PORT": "99999999999999999999"}, `PORT: "99999999999999999999" is too large`},
		{map[string]string{"DB_PORT": "70000"}, `DB_PORT: 70000 is out of range 1-65535`},
		{map[string]string{"REDIS_PORT": "-1"}, `REDIS_PORT: -1 is out of range 1-65535`},
		{map[string]string{"REDIS_DB": "-1"}, `REDIS_DB: -1 must not be negative`},
		{map[string]string{"ROLE": "foo"}, `ROLE: "FOO" is not one of API, PROJECTOR, MIGRATE_DB, WORKER, BRIDGE, UPDATE_CRON, ALL`},
		{map[string]string{"LOG_LEVEL": "verbose"}, `LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{map[string]string{"DB_SSL": "maybe"}, `DB_SSL: "maybe" is not a boolean`},
		{map[string]string{"NATS_SYNC_ALWAYS": "yep"}, `NATS_SYNC_ALWAYS: "yep" is not a boolean`},
		{map[string]string{"DATABASE_URL": "mysql://u:pw@h/db"}, `DATABASE_URL: scheme must be postgres or postgresql (got "mysql://u:****@h/db")`},
		{map[string]string{"DATABASE_URL": "postgres://u:pa%zz@h/db"}, `DATABASE_URL: is not a valid URL`},
		{map[string]string{"DB_HOST": "bad host"}, `DATABASE_URL (built from DB_*): is not a valid URL`},
		{map[string]string{"REDIS_URL": "http://r:6379"}, `REDIS_URL: scheme must be redis or rediss`},
		{map[string]string{"REDIS_URL": "redis://r:6379/x"}, `REDIS_URL: database "x" is not a number`},
		{map[string]string{"REDIS_URL": "redis:///0"}, `REDIS_URL: host is missing`},
		{map[string]string{"RABBITMQ_URL": "http://guest:guest@r/"}, `RABBITMQ_URL: scheme must be amqp or amqps (got "http://guest:****@r/")`},
		{map[string]string{"RABBITMQ_URL": "localhost:5672"}, `RABBITMQ_URL: scheme must be amqp or amqps (got "localhost:5672")`},
		{map[string]string{"NATS_URL": "nats://a:4222,http://b:4222"}, `NATS_URL: scheme must be nats or tls (got "http://b:4222")`},
		{map[string]string{"NATS_EMBEDDED_LISTEN": "4223"}, `NATS_EMBEDDED_LISTEN: "4223" is not a host:port`},
		{map[string]string{"NATS_REPLICAS": "2"}, `NATS_REPLICAS: 2 is not one of 1, 3, 5`},
		{map[string]string{"S3_BUCKET": "b", "S3_ENDPOINT": "ftp://minio"}, `S3_ENDPOINT: scheme must be http or https (got "ftp://minio")`},
		{map[string]string{"S3_ENDPOINT": "http://minio:9000"}, `S3_ENDPOINT: is set but neither S3_BUCKET nor DB_UPDATE_S3_BUCKET is`},
		{map[string]string{"AWS_ACCESS_KEY_ID": "AKIA1"}, `AWS_SECRET_ACCESS_KEY: must be set when AWS_ACCESS_KEY_ID is set`},
		{map[string]string{"AWS_SECRET_ACCESS_KEY": "x"}, `AWS_ACCESS_KEY_ID: must be set when AWS_SECRET_ACCESS_KEY is set`},
		{map[string]string{"MAX_FILE_SIZE_MB": "0"}, `MAX_FILE_SIZE_MB: 0 is out of range 1-1024`},
		{map[string]string{"MAX_FILE_SIZE_MB": "2048"}, `MAX_FILE_SIZE_MB: 2048 is out of range 1-1024`},
		{map[string]string{"DEFAULT_TENANT": "Acme"}, `DEFAULT_TENANT: "Acme" does not match`},
		{map[string]string{"DEFAULT_TENANT": "_x"}, `DEFAULT_TENANT: "_x" does not match`},
		{map[string]string{"DEFAULT_TENANT": "system"}, `DEFAULT_TENANT: "system" is reserved`},
		{map[string]string{"PUBLIC_URL": "ftp://x"}, `PUBLIC_URL: scheme must be http or https`},
		{map[string]string{"RABBITMQ_TEMPLATE_BATCH": "70000"}, `RABBITMQ_TEMPLATE_BATCH: 70000 is out of range 1-65535`},
		{map[string]string{"CPP_RETRY_MAX_ATTEMPTS": "0"}, `CPP_RETRY_MAX_ATTEMPTS: 0 must be at least 1`},
		{map[string]string{"WEBHOOK_RETRY_PERIOD": "a day"}, `WEBHOOK_RETRY_PERIOD: "a day" is not a duration`},
		{map[string]string{"WEBHOOK_RETRY_PERIOD": "5s"}, `WEBHOOK_RETRY_PERIOD: 5s must be at least WEBHOOK_TIMEOUT (10s)`},
		{map[string]string{"WEBHOOK_TIMEOUT": "10"}, `WEBHOOK_TIMEOUT: "10" is not a duration`},
		{map[string]string{"WEBHOOK_TIMEOUT": "1h"}, `WEBHOOK_TIMEOUT: 1h0m0s is out of range 1s-5m`},
		{map[string]string{"SCRAPE_WORKER_TIMEOUT_MS": "-5"}, `SCRAPE_WORKER_TIMEOUT_MS: -5 must be at least 1`},
		{map[string]string{"SHUTDOWN_TIMEOUT_SECONDS": "99999999999999"}, `SHUTDOWN_TIMEOUT_SECONDS: 99999999999999 is out of range`},
		{map[string]string{"MAILBOX_SCRAPE_INTERVAL": "5"}, `MAILBOX_SCRAPE_INTERVAL: "5" is not a duration`},
		{map[string]string{"MAILBOX_SCRAPE_INTERVAL": "10s"}, `MAILBOX_SCRAPE_INTERVAL: 10s must be at least 1m`},
		{map[string]string{"FORWARD_IMAP_URL": "pop3://u:p@h/"}, `FORWARD_IMAP_URL: scheme must be imaps or imap`},
		{map[string]string{"FORWARD_IMAP_URL": "imaps://h/INBOX"}, `FORWARD_IMAP_URL: needs user and password`},
		{map[string]string{"FORWARD_IMAP_URL": "imap://u:fwdPa55@mail.example.com/INBOX"}, `FORWARD_IMAP_URL: imap:// sends the password in the clear; use imaps:// for a server on another machine (got "imap://u:****@mail.example.com/INBOX")`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if err == nil {
				t.Fatalf("Load(%v) succeeded: %v", tc.env, c)
			}
			if c != nil {
				t.Errorf("Load returned a Config along with an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if n := len(unwrapAll(err)); n != 1 {
				t.Errorf("got %d errors, want 1: %v", n, err)
			}
		})
	}
}

func unwrapAll(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

func TestLoadReportsEveryError(t *testing.T) {
	_, err := Load(env(map[string]string{
		"ROLE":             "nope",
		"PORT":             "abc",
		"LOG_LEVEL":        "loud",
		"DB_PORT":          "70000",
		"DB_SSL":           "perhaps",
		"REDIS_TLS":        "2",
		"RABBITMQ_URL":     "http://x",
		"NATS_URL":         "ftp://x",
		"NATS_REPLICAS":    "4",
		"MAX_FILE_SIZE_MB": "0",
		"DEFAULT_TENANT":   "BAD",
		"S3_BUCKET":        "b",
		"S3_ENDPOINT":      "minio:9000",
	}))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	want := []string{"ROLE:", "PORT:", "LOG_LEVEL:", "DB_PORT:", "DB_SSL:", "REDIS_TLS:", "RABBITMQ_URL:",
		"NATS_URL:", "NATS_REPLICAS:", "MAX_FILE_SIZE_MB:", "DEFAULT_TENANT:", "S3_ENDPOINT:"}
	errs := unwrapAll(err)
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), "\n"+w) && !strings.HasPrefix(err.Error(), w) {
			t.Errorf("error lacks a line starting %q:\n%v", w, err)
		}
	}
}

// TestSecretsNeverPrinted renders a Config every way it is likely to be
// printed or logged and checks no secret survives.
func TestSecretsNeverPrinted(t *testing.T) {
	secrets := []string{"dbPa55word", "redisPa55", "rabbitPa55", "natsPa55", "natsT0ken", "awsSecretKey123", "queryPa55", "imapPa55"}
	c := mustLoad(t, map[string]string{
		"DB_PASSWORD":           "dbPa55word",
		"REDIS_PASSWORD":        "redisPa55",
		"RABBITMQ_URL":          "amqps://tally:rabbitPa55@mq:5671/vhost",
		"NATS_URL":              "nats://u:natsPa55@n1:4222,nats://natsT0ken@n2:4222",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "awsSecretKey123",
		"S3_BUCKET":             "b",
		"PUBLIC_URL":            "https://tally.example.com/?token=queryPa55",
		"FORWARD_IMAP_URL":      "imaps://receipts:imapPa55@mail.example.com:993/INBOX",
	})

	render := map[string]func() string{
		"String":     c.String,
		"%v pointer": func() string { return fmt.Sprintf("%v", c) },
		"%+v value":  func() string { return fmt.Sprintf("%+v", *c) },
		"%#v value":  func() string { return fmt.Sprintf("%#v", *c) },
		"%d value":   func() string { return fmt.Sprintf("%d", *c) },
		"%x pointer": func() string { return fmt.Sprintf("%x", c) },
		"json":       func() string { b, _ := json.Marshal(c); return string(b) },
		"json nested": func() string {
			b, _ := json.Marshal(struct{ Cfg Config }{*c})
			return string(b)
		},
	}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"slog json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"slog text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		for _, arg := range []struct {
			name string
			v    any
		}{{"pointer", c}, {"value", *c}} {
			render[h.name+" "+arg.name] = func() string {
				var buf bytes.Buffer
				slog.New(h.new(&buf)).Info("config", "config", arg.v)
				return buf.String()
			}
		}
	}

	for name, f := range render {
		out := f()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks %q:\n%s", name, s, out)
			}
		}
		if name != "%x pointer" && !strings.Contains(out, "****") {
			t.Errorf("%s shows no mask:\n%s", name, out)
		}
	}

	// The JSON log keeps the settings usable: check a few fields.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	var rec struct{ Config map[string]string }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"DATABASE_URL":          "postgres://postgres:****@127.0.0.1:5432/tally?sslmode=disable",
		"REDIS_URL":             "redis://:****@127.0.0.1:6379/0",
		"RABBITMQ_URL":          "amqps://tally:****@mq:5671/vhost",
		"NATS_URL":              "nats://u:****@n1:4222,nats://****@n2:4222",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "****",
		"PUBLIC_URL":            "https://tally.example.com/?token=****",
		"PORT":                  "4001",
		"FORWARD_IMAP_URL":      "imaps://receipts:****@mail.example.com:993/INBOX",
	} {
		if got := rec.Config[k]; got != want {
			t.Errorf("logged %s = %q, want %q", k, got, want)
		}
	}
}

func TestStringFormat(t *testing.T) {
	c := mustLoad(t, map[string]string{"DATA_DIR": "/my data"})
	lines := strings.Split(c.String(), "\n")
	if len(lines) != len(c.settings()) {
		t.Fatalf("String() has %d lines, want %d", len(lines), len(c.settings()))
	}
	if lines[0] != "ROLE=" || lines[1] != "PORT=4001" {
		t.Errorf("first lines = %q, want ROLE= and PORT=4001", lines[:2])
	}
	if lines[2] != `DATA_DIR="/my data"` {
		t.Errorf("DATA_DIR line = %q, want it quoted", lines[2])
	}
	if c.String() != mustLoad(t, map[string]string{"DATA_DIR": "/my data"}).String() {
		t.Error("String() is not stable")
	}
	// An empty secret stays visibly empty rather than pretending to be set.
	if !strings.Contains(c.String(), "\nAWS_SECRET_ACCESS_KEY=\n") {
		t.Errorf("unset secret not shown as empty:\n%s", c)
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		in   string
		want string
		lvl  slog.Level
	}{
		{"", "info", slog.LevelInfo},
		{"debug", "debug", slog.LevelDebug},
		{"DEBUG", "debug", slog.LevelDebug},
		{"INFO", "info", slog.LevelInfo},
		{"Warn", "warn", slog.LevelWarn},
		{"WARNING", "warn", slog.LevelWarn},
		{"warning", "warn", slog.LevelWarn},
		{" error ", "error", slog.LevelError},
		{"ERROR", "error", slog.LevelError},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c := mustLoad(t, map[string]string{"LOG_LEVEL": tc.in})
			if c.LogLevel != tc.want || c.Level() != tc.lvl {
				t.Errorf("LOG_LEVEL=%q: LogLevel=%q Level()=%v, want %q %v", tc.in, c.LogLevel, c.Level(), tc.want, tc.lvl)
			}
		})
	}
	if _, err := Load(env(map[string]string{"LOG_LEVEL": "trace"})); err == nil {
		t.Error("LOG_LEVEL=trace accepted")
	}
}

func TestRole(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"api", RoleAPI},
		{"Projector", RoleProjector},
		{"migrate_db", RoleMigrateDB},
		{" worker ", RoleWorker},
		{"bridge", RoleBridge},
		{"Update_Cron", RoleUpdateCron},
		{"ALL", RoleAll},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if c := mustLoad(t, map[string]string{"ROLE": tc.in}); c.Role != tc.want {
				t.Errorf("ROLE=%q: Role=%q, want %q", tc.in, c.Role, tc.want)
			}
		})
	}
}

func TestBooleans(t *testing.T) {
	for in, want := range map[string]bool{
		"true": true, "TRUE": true, "1": true, "yes": true, "Yes": true,
		"false": false, "False": false, "0": false, "no": false, "NO": false,
	} {
		if c := mustLoad(t, map[string]string{"NATS_SYNC_ALWAYS": in}); c.NATSSyncAlways != want {
			t.Errorf("NATS_SYNC_ALWAYS=%q: got %v, want %v", in, c.NATSSyncAlways, want)
		}
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := *mustLoad(t, nil)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate of loaded config: %v", err)
	}
	c.databaseURLFrom, c.redisURLFrom = "", "" // as if built by hand
	c.Port = 0
	c.RedisURL = "mysql://x"
	err := c.Validate()
	errs := unwrapAll(err)
	if len(errs) != 2 ||
		errs[0].Error() != "PORT: 0 is out of range 1-65535" ||
		!strings.HasPrefix(errs[1].Error(), "REDIS_URL: scheme must be redis or rediss") {
		t.Errorf("want a PORT and a REDIS_URL error, got %v", err)
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://user:pw@host/db", "postgres://user:****@host/db"},
		{"amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:****@127.0.0.1:5672/"},
		{"redis://:pw@host:6379/0", "redis://:****@host:6379/0"},
		{"amqp://guest:@h/", "amqp://guest:****@h/"},
		{"redis://user@h", "redis://user@h"},
		{"nats://tok@h:4222", "nats://****@h:4222"},
		{"http://h:9000", "http://h:9000"},
		{"postgres://u%3A:p@h/x?sslmode=require&sslpassword=k", "postgres://u%3A:****@h/x?sslmode=require&sslpassword=****"},
		{"postgres:u:pw@host", "****"},
		{"postgres://u:p%zz@h", "****"},
		// A libpq key/value string is no URL: where its password is,
		// is unknown.
		{"host=db user=app password=s3cret", "****"},
	}
	for _, tc := range tests {
		if got := maskURL(tc.in); got != tc.want {
			t.Errorf("maskURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzLoad feeds arbitrary values to a few variables. Load must never panic,
// and nothing printed may depend on a secret: replacing every secret with
// another (equally empty or non-empty) value must not change String(), the
// slog JSON output or the error text. From that follows the plainer check
// also made here: a letters-and-digits password of 6+ characters that does
// not occur in the output anyway (say, inside DB_HOST) is never printed.
func FuzzLoad(f *testing.F) {
	f.Add("4001", "api", "info", "127.0.0.1", "postgres", "p@ss/w:rd", "redisPass1", "guestPass", "awsSecret1", "")
	f.Add("abc", "foo", "LOUD", "bad host", "", "hunter22", "", "", "", "postgres://u:pw@h/db")
	f.Add("70000", "", "WARNING", "::1", "u:s@r", "short", "x", "rabbit99", "", "mysql://x")
	f.Add("", "ALL", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, port, role, level, dbHost, dbUser, dbPassword, redisPassword, rabbitPassword, awsSecret, databaseURL string) {
		secrets := []string{dbPassword, redisPassword, rabbitPassword, awsSecret}
		alts := make([]string, len(secrets))
		for i, s := range secrets {
			if s != "" {
				alts[i] = fmt.Sprintf("Alt%dValue", i)
			}
		}
		render := func(secrets []string) string {
			m := map[string]string{
				"PORT":                  port,
				"ROLE":                  role,
				"LOG_LEVEL":             level,
				"DB_HOST":               dbHost,
				"DB_USERNAME":           dbUser,
				"DB_PASSWORD":           secrets[0],
				"REDIS_PASSWORD":        secrets[1],
				"AWS_ACCESS_KEY_ID":     "AKIAFUZZ",
				"AWS_SECRET_ACCESS_KEY": secrets[3],
				"DATABASE_URL":          databaseURL,
			}
			if secrets[2] != "" {
				m["RABBITMQ_URL"] = "amqp://" + url.UserPassword("guest", secrets[2]).String() + "@mq:5672/"
			}
			c, err := Load(env(m))
			if err != nil {
				if c != nil {
					t.Fatal("Config returned with an error")
				}
				return "error: " + err.Error()
			}
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
			// The time attribute differs between calls; keep only the group.
			_, group, _ := strings.Cut(buf.String(), `"config":`)
			return c.String() + "\n" + group
		}

		got, other := render(secrets), render(alts)
		if got != other {
			t.Fatalf("output depends on secret values:\n%s\n--- with other secrets ---\n%s", got, other)
		}
		for _, s := range secrets {
			if isPlainSecret(s) && !strings.Contains(other, s) && strings.Contains(got, s) {
				t.Fatalf("secret %q printed:\n%s", s, got)
			}
		}
	})
}

// isPlainSecret reports whether s is a password the leak check can look for
// without false alarms: 6+ letters or digits (shorter ones occur by chance).
func isPlainSecret(s string) bool {
	if len(s) < 6 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func TestOutboundAllowPrivateNetworksKeepsItsOldName(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"}, true},
		{map[string]string{"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}, true},
		{map[string]string{"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "false"}, false},
	} {
		if got := mustLoad(t, c.env).OutboundAllowPrivateNetworks; got != c.want {
			t.Errorf("%v: %v, want %v", c.env, got, c.want)
		}
	}
}

func TestProbePortsDifferByRole(t *testing.T) {
	c := mustLoad(t, nil)
	seen := map[int]string{c.Port: "API"}
	for _, role := range []string{RoleProjector, RoleBridge, RoleWorker, RoleNotifier, RoleScheduler, RoleWebhooks} {
		p := c.ProbePortFor(role)
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s both default to probe port %d", role, other, p)
		}
		seen[p] = role
	}
	c = mustLoad(t, map[string]string{"PROBE_PORT": "9100"})
	if p := c.ProbePortFor(RoleWorker); p != 9100 {
		t.Errorf("PROBE_PORT=9100: worker probes on %d", p)
	}
	if _, err := Load(env(map[string]string{"PROBE_PORT": "70000"})); err == nil || !strings.Contains(err.Error(), "PROBE_PORT") {
		t.Errorf("PROBE_PORT=70000: %v", err)
	}
}

func TestGuardSettings(t *testing.T) {
	c := mustLoad(t, map[string]string{"RATE_LIMIT_READS_PER_MINUTE": "0", "RATE_LIMIT_CLIENT_IP_HEADER": "x-forwarded-for",
		"TENANT_STORAGE_MB": "500", "METRICS_TOKEN": "0123456789abcdef0123"})
	if g := c.Guard; g.RateLimitReads != 0 || g.RateLimitClientIPHeader != "X-Forwarded-For" || g.TenantStorageMB != 500 || g.MetricsToken != "0123456789abcdef0123" {
		t.Fatalf("%+v", g)
	}
	if s := c.String(); strings.Contains(s, "0123456789abcdef") || !strings.Contains(s, "METRICS_TOKEN=****") {
		t.Fatalf("the metrics token printed:\n%s", s)
	}
	_, err := Load(env(map[string]string{"RATE_LIMIT_UPLOADS_PER_MINUTE": "-1", "RATE_LIMIT_IP_FACTOR": "0", "METRICS_TOKEN": "short"}))
	for _, name := range []string{"RATE_LIMIT_UPLOADS_PER_MINUTE", "RATE_LIMIT_IP_FACTOR", "METRICS_TOKEN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s not reported: %v", name, err)
		}
	}
}

func TestEmbeddedNATSBeyondLoopbackNeedsAuth(t *testing.T) {
	for _, tc := range []struct {
		listen, auth string
		ok           bool
	}{
		{"127.0.0.1:4223", "", true},
		{"localhost:4223", "", true},
		{"[::1]:4223", "", true},
		{"0.0.0.0:4223", "", false},
		{":4223", "", false},
		{"10.0.0.5:4223", "none", false},
		{"0.0.0.0:4223", "token", true},
		{"127.0.0.1:4223", "password", false},
	} {
		env := map[string]string{"NATS_EMBEDDED_LISTEN": tc.listen, "NATS_EMBEDDED_AUTH": tc.auth}
		_, err := Load(func(k string) string { return env[k] })
		if (err == nil) != tc.ok {
			t.Errorf("%s with auth %q: %v", tc.listen, tc.auth, err)
		}
	}
}
