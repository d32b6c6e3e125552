package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// mask replaces every secret in printed output.
const mask = "****"

// The printing methods have value receivers on purpose: then both Config and
// *Config use them, so logging or printing a dereferenced Config cannot fall
// back to reflection and dump the secrets.

// setting is one printed NAME=value pair, already masked.
type setting struct{ name, value string }

// settings lists the effective settings in a fixed order with secrets
// masked. Every printing method goes through it, so masking is decided in
// exactly one place.
func (c Config) settings() []setting {
	return append([]setting{
		{"ROLE", c.Role},
		{"PORT", strconv.Itoa(c.Port)},
		{"DATA_DIR", c.DataDir},
		{"OCR_MODELS_DIR", c.OCRModelsDir},
		{"LOG_LEVEL", c.LogLevel},
		{"DATABASE_URL", maskURL(c.DatabaseURL)},
		{"REDIS_URL", maskURL(c.RedisURL)},
		{"RABBITMQ_URL", maskURL(c.RabbitMQURL)},
		{"SCRAPE_QUEUE", c.ScrapeQueue},
		{"RABBITMQ_MESSAGE_EXPIRE_MS", formatDuration(c.RabbitMQMessageExpire, time.Millisecond)},
		{"RABBITMQ_TEMPLATE_BATCH", strconv.Itoa(c.RabbitMQTemplateBatch)},
		{"SCRAPE_WORKER_TIMEOUT_MS", formatDuration(c.ScrapeWorkerTimeout, time.Millisecond)},
		{"RETRY_DELAY_MS", formatDuration(c.RetryDelay, time.Millisecond)},
		{"RABBITMQ_DELIVERY_LIMIT", strconv.Itoa(c.RabbitMQDeliveryLimit)},
		{"DB_UPDATE_S3_BUCKET", c.DBUpdateS3Bucket},
		{"DELETION_GRACE_DAYS", formatDuration(c.DeletionGrace, 24*time.Hour)},
		{"SMTP_URL", maskURL(c.SMTPURL)},
		{"MAIL_FROM", c.MailFrom},
		{"NOTIFY_TEMPLATES_DIR", c.NotifyTemplatesDir},
		{"REPORT_TIME_ZONE", c.ReportTimeZone},
		{"CPP_RETRY_MAX_ATTEMPTS", strconv.Itoa(c.RetryMaxAttempts)},
		{"WEBHOOK_RETRY_PERIOD", c.WebhookRetryPeriod.String()},
		{"WEBHOOK_TIMEOUT", c.WebhookTimeout.String()},
		{"OUTBOUND_ALLOW_PRIVATE_NETWORKS", strconv.FormatBool(c.OutboundAllowPrivateNetworks)},
		{"MAILBOX_SCRAPE_INTERVAL", c.MailboxScrapeInterval.String()},
		{"FORWARD_IMAP_URL", maskURL(c.ForwardIMAPURL)},
		{"PPROF", strconv.FormatBool(c.Pprof)},
		{"PPROF_LISTEN", c.PprofListen},
		{"NATS_URL", maskURLList(c.NATSURL)},
		{"NATS_EMBEDDED_LISTEN", c.NATSEmbeddedListen},
		{"NATS_REPLICAS", strconv.Itoa(c.NATSReplicas)},
		{"NATS_SYNC_ALWAYS", strconv.FormatBool(c.NATSSyncAlways)},
		{"NATS_APPEND_RETRY", c.NATSAppendRetry.String()},
		{"DKIM_VERIFY", strconv.FormatBool(c.DKIMVerify)},
		{"DKIM_DNS_SERVER", c.DKIMDNSServer},
		{"S3_BUCKET", c.S3Bucket},
		{"S3_ENDPOINT", maskURL(c.S3Endpoint)},
		{"AWS_REGION", c.AWSRegion},
		{"AWS_ACCESS_KEY_ID", c.AWSAccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", maskSecret(c.AWSSecretAccessKey)},
		{"MAX_FILE_SIZE_MB", strconv.Itoa(c.MaxFileSizeMB)},
		{"DEFAULT_TENANT", c.DefaultTenant},
		{"PUBLIC_URL", maskURL(c.PublicURL)},
		{"SHUTDOWN_TIMEOUT_SECONDS", formatDuration(c.ShutdownTimeout, time.Second)},
		{"PROBE_PORT", strconv.Itoa(c.ProbePort)},
	}, append(append(append(c.Guard.settings(), c.Keys.settings()...), c.EmbeddedNATS.settings()...), c.Tracing.settings()...)...)
}

// String returns the effective settings as "NAME=value" lines in a fixed
// order, with secrets masked as "****". Values that contain spaces, quotes
// or control characters are Go-quoted so one setting cannot fake another
// line in a log.
func (c Config) String() string {
	var b strings.Builder
	for i, s := range c.settings() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s.name)
		b.WriteByte('=')
		b.WriteString(quoteIfNeeded(s.value))
	}
	return b.String()
}

// GoString makes %#v print the masked settings instead of the raw fields.
func (c Config) GoString() string {
	var b strings.Builder
	b.WriteString("config.Config{")
	for i, s := range c.settings() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.name)
		b.WriteByte(':')
		b.WriteString(strconv.Quote(s.value))
	}
	b.WriteByte('}')
	return b.String()
}

// Format routes every fmt verb through the masked forms; without it, verbs
// such as %d or %x would print the struct fields, secrets included.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, c.GoString())
		return
	}
	_, _ = io.WriteString(f, c.String())
}

// LogValue renders the settings as a slog group with secrets masked, for
// logging the configuration at start-up.
func (c Config) LogValue() slog.Value {
	s := c.settings()
	attrs := make([]slog.Attr, len(s))
	for i, e := range s {
		attrs[i] = slog.String(e.name, e.value)
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the masked settings as an object in the fixed order, so
// a Config nested in a logged or served struct does not leak secrets either.
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range c.settings() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(s.name)
		v, _ := json.Marshal(s.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// maskSecret hides a secret but keeps "unset" visible, which is what an
// operator reading the start-up log needs to know.
func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return mask
}

// placeholder stands in for a secret while net/url re-encodes the URL; it
// is replaced by mask afterwards, because net/url would escape "*".
const placeholder = "TALLYMASKEDSECRET"

// maskURL hides the password (and password-like query parameters) in a URL.
// A value that does not parse is hidden entirely, since where its password
// starts and ends is unknown.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	// Not a URL at all (a libpq key/value string, "host=db password=..."):
	// where a password would be is unknown.
	if err != nil || u.Scheme == "" {
		return mask
	}
	// Without "//" (e.g. "postgres:user:pw@host") everything after the
	// scheme is opaque, password included.
	if strings.ContainsAny(u.Opaque, ":@") {
		return mask
	}
	marker := ""
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), placeholder)
			marker = ":" + placeholder + "@"
		} else if u.Scheme == "nats" || u.Scheme == "tls" {
			// NATS reads a lone user part as an auth token.
			u.User = url.User(placeholder)
			marker = "//" + placeholder + "@"
		}
	}
	u.RawQuery = maskQuery(u.RawQuery)
	s := u.String()
	if marker != "" {
		// The username is escaped, so it cannot contain the marker's ':'
		// or '@'; the first match is the one inserted above.
		s = strings.Replace(s, marker, strings.Replace(marker, placeholder, mask, 1), 1)
	}
	return s
}

// maskURLList masks each URL of a comma-separated list (NATS_URL).
func maskURLList(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		parts[i] = maskURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// maskQuery hides the values of password-like query parameters, such as
// libpq's ?password=. It edits the raw query in place to keep its order.
func maskQuery(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		key = strings.ToLower(key)
		for _, s := range []string{"pass", "secret", "token"} {
			if strings.Contains(key, s) {
				parts[i] = k + "=" + mask
				break
			}
		}
	}
	return strings.Join(parts, "&")
}

// formatDuration prints d in the unit its variable is configured in.
func formatDuration(d, unit time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(unit), 'f', -1, 64)
}

// quoteIfNeeded leaves plain values readable and Go-quotes the rest.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '\'' || r == '\\' || r == '#' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
