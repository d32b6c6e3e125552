package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"tally/domain"
	"time"
)

// Roles a process can run as. ROLE picks which components start; an empty
// ROLE is valid because a subcommand may decide the role instead.
const (
	RoleAPI        = "API"
	RoleProjector  = "PROJECTOR"
	RoleMigrateDB  = "MIGRATE_DB"
	RoleWorker     = "WORKER"
	RoleBridge     = "BRIDGE"
	RoleUpdateCron = "UPDATE_CRON"
	RoleAll        = "ALL"
	RoleNotifier   = "NOTIFIER"
	RoleScheduler  = "SCHEDULER"
	RoleWebhooks   = "WEBHOOKS"
)

// roles lists the valid ROLE values in the order error messages show them.
var roles = []string{RoleAPI, RoleProjector, RoleMigrateDB, RoleWorker, RoleBridge, RoleUpdateCron, RoleAll, RoleNotifier, RoleScheduler, RoleWebhooks}

// Config is Tally's effective configuration. Each field names the environment
// variable it comes from. Build it with Load; a hand-built Config (in tests)
// DefaultOCRModelsDir is where scripts/ocr-models.sh installs the OCR
// models when OCR_MODELS_DIR is not set.
const DefaultOCRModelsDir = "/usr/local/share/tally/ocr"

// OCRModelsDirFromEnv is OCR_MODELS_DIR, or DefaultOCRModelsDir when it is
// unset: for commands and tests that read images without loading the
// whole configuration.
func OCRModelsDirFromEnv() string {
	if d := os.Getenv("OCR_MODELS_DIR"); d != "" {
		return d
	}
	return DefaultOCRModelsDir
}

// should be checked with Validate.
type Config struct {
	// Role is ROLE, upper-cased: one of the Role* constants, or empty when
	// the subcommand decides what to run.
	Role string
	// Port is PORT, the HTTP listen port. Default 4001.
	Port int
	// ProbePort is PROBE_PORT, where roles without the API answer
	// /healthz, /readyz and /metrics. Zero (unset) means the role's own
	// default (see ProbePortFor), so roles started as separate processes
	// on one host do not compete for one port.
	ProbePort int
	// DataDir is DATA_DIR, the root for local state: the embedded JetStream
	// store (DataDir/jetstream) and the local blob directory
	// (DataDir/blobs). Default "./data".
	DataDir string
	// OCRModelsDir is OCR_MODELS_DIR, where the PP-OCR models and the ONNX
	// Runtime library are installed (scripts/ocr-models.sh). Images are
	// read with them first, Tesseract second; when the directory holds no
	// models, Tesseract reads alone. Default /usr/local/share/tally/ocr.
	OCRModelsDir string
	// LogLevel is LOG_LEVEL, normalised to debug, info, warn or error
	// (INFO, WARNING, Debug... are accepted). Default info. See Level.
	LogLevel string

	// DatabaseURL is DATABASE_URL (postgres:// or postgresql://). When
	// unset it is built from DB_HOST, DB_PORT, DB_NAME, DB_USERNAME,
	// DB_PASSWORD and DB_SSL, because some platforms hand out the parts
	// rather than a URL. When set, DB_PASSWORD is added to it if it holds
	// no password, and DB_SSL=true adds sslmode=require if it names no
	// sslmode; the other parts are ignored. Contains the password: print
	// it masked only.
	DatabaseURL string
	// RedisURL is REDIS_URL (redis:// or rediss://). When unset it is built
	// from REDIS_HOST, REDIS_PORT, REDIS_USER, REDIS_PASSWORD, REDIS_TLS
	// and REDIS_DB. When set, REDIS_PASSWORD is added to it if it holds no
	// password; the other parts are ignored. May contain a password.
	RedisURL string

	// RabbitMQURL is RABBITMQ_URL (amqp:// or amqps://). Default
	// amqp://guest:guest@127.0.0.1:5672/, the broker's out-of-the-box user.
	RabbitMQURL string
	// ScrapeQueue is SCRAPE_QUEUE, the queue scrape jobs are published to.
	// Default scrape_queue.
	ScrapeQueue string
	// RabbitMQMessageExpire is RABBITMQ_MESSAGE_EXPIRE_MS, the per-message
	// TTL of scrape jobs, so a backlog of stale jobs drains by itself.
	// Default 60s.
	RabbitMQMessageExpire time.Duration
	// RabbitMQTemplateBatch is RABBITMQ_TEMPLATE_BATCH, the worker's
	// prefetch count (unacknowledged messages in flight). Default 5. Capped
	// at 65535 because AMQP carries it as a 16-bit number.
	RabbitMQTemplateBatch int
	// ScrapeWorkerTimeout is SCRAPE_WORKER_TIMEOUT_MS, how long a worker
	// may spend on one job. Default 60s.
	ScrapeWorkerTimeout time.Duration
	// RetryDelay is RETRY_DELAY_MS, the wait before an extraction's second
	// attempt; it doubles per attempt (with jitter) up to five minutes.
	RetryDelay time.Duration
	// DeletionGrace is DELETION_GRACE_DAYS: how long a deleted document
	// can be restored before its file is purged.
	DeletionGrace time.Duration
	// DBUpdateS3Bucket is DB_UPDATE_S3_BUCKET, where update-cron finds
	// template bundles (the BlinkReceipt seed's OTA bucket); it shares
	// S3_ENDPOINT, AWS_REGION and the AWS credentials with the blob store.
	DBUpdateS3Bucket string
	// SMTPURL is SMTP_URL, e.g. smtp://user:pass@host:587 (STARTTLS) or
	// smtps://user:pass@host:465; empty turns e-mail off.
	SMTPURL string
	// MailFrom is MAIL_FROM, the sender of Tally's e-mails.
	MailFrom string
	// NotifyTemplatesDir is NOTIFY_TEMPLATES_DIR: files there replace the
	// built-in e-mail templates of the same name.
	NotifyTemplatesDir string
	// ReportTimeZone is REPORT_TIME_ZONE (IANA name): the monthly report
	// runs at 00:05 on the 1st there.
	ReportTimeZone string
	// RabbitMQDeliveryLimit is RABBITMQ_DELIVERY_LIMIT: a job delivered
	// this often without being acknowledged (it stops every worker that
	// takes it) is dead-lettered and its document FAILED.
	RabbitMQDeliveryLimit int
	// MailboxScrapeInterval is MAILBOX_SCRAPE_INTERVAL (a Go duration such
	// as 5m or 1h): how often the scheduler queues a scrape of every linked
	// mailbox and of the forwarding mailbox. Default 5m; at least 1m, to
	// keep mail servers from throttling Tally.
	MailboxScrapeInterval time.Duration
	// ForwardIMAPURL is FORWARD_IMAP_URL, the mailbox users forward
	// e-receipts to: imaps://user:pass@host:993/INBOX (TLS), or
	// imap://user:pass@host:143/INBOX (no TLS; only for a server on this
	// machine). Empty: no forwarding mailbox. Contains the password.
	ForwardIMAPURL string
	// RetryMaxAttempts is CPP_RETRY_MAX_ATTEMPTS, the total number of
	// attempts (the first try included) before a job is given up. Default 10.
	RetryMaxAttempts int
	// WebhookRetryPeriod is WEBHOOK_RETRY_PERIOD (a Go duration such as
	// 24h or 90m): how long a webhook delivery is retried, with backoff,
	// before it is recorded as failed. Default 24h.
	WebhookRetryPeriod time.Duration
	// WebhookTimeout is WEBHOOK_TIMEOUT (a Go duration such as 10s): the
	// time limit of one webhook POST. Default 10s.
	WebhookTimeout time.Duration
	// OutboundAllowPrivateNetworks is OUTBOUND_ALLOW_PRIVATE_NETWORKS (or
	// its old name WEBHOOK_ALLOW_PRIVATE_NETWORKS): let connections to
	// hosts tenants name (webhook URLs, IMAP servers) reach loopback,
	// private, link-local and other non-public addresses (see netguard).
	// Default false, so a tenant cannot reach the operator's internal
	// services; set it when those servers live on the internal network.
	OutboundAllowPrivateNetworks bool

	// Pprof is PPROF: serve Go's profiles (net/http/pprof, /debug/pprof/)
	// on the probe server. Default false. Roles whose probes are on the
	// API (api, all) get a probe server for them on PprofListen, never
	// the public port.
	Pprof bool
	// PprofListen is PPROF_LISTEN, where the api and all roles serve the
	// profiles when Pprof is on. Default 127.0.0.1:6060 (loopback only).
	PprofListen string

	// NATSURL is NATS_URL, a comma-separated list of nats:// or tls:// server
	// URLs. Empty means run an embedded server storing in DataDir/jetstream.
	// May contain a password or token.
	NATSURL string
	// NATSEmbeddedListen is NATS_EMBEDDED_LISTEN, a host:port on which the
	// embedded server also accepts network clients (e.g. 127.0.0.1:4223).
	// Empty means a free loopback port that only clients holding the token
	// written to DataDir/nats.token may use; the port is announced in
	// DataDir/nats.url for the admin commands.
	NATSEmbeddedListen string
	// NATSReplicas is NATS_REPLICAS, the JetStream stream replica count:
	// 1, or 3/5 on a cluster (odd, because RAFT needs a majority). Default 1.
	NATSReplicas int
	// NATSSyncAlways is NATS_SYNC_ALWAYS: make the embedded single server
	// fsync every write. Default true, so an acknowledged event survives
	// power loss; the price is throughput (about 2.6k instead of 19.5k
	// appends/s). A single server has no replicas to recover from, which is
	// why durability is the default.
	NATSSyncAlways bool
	// NATSAppendRetry is NATS_APPEND_RETRY (a Go duration): how long an
	// append that finds no stream leader (a leader election, no
	// responders, a timeout) keeps retrying, under the same message id and
	// expected sequence, before it fails. Default 10s.
	NATSAppendRetry time.Duration

	// S3Bucket is S3_BUCKET. Empty means blobs are stored in the local
	// directory DataDir/blobs.
	S3Bucket string
	// S3Endpoint is S3_ENDPOINT, the base URL of an S3-compatible server
	// (e.g. http://127.0.0.1:9000); path-style addressing is used then.
	// Empty means AWS S3.
	S3Endpoint string
	// AWSRegion is AWS_REGION. Default us-east-1, which S3-compatible
	// servers accept for signing.
	AWSRegion string
	// AWSAccessKeyID is AWS_ACCESS_KEY_ID. Optional: when empty the default
	// AWS credential chain (shared files, IAM role...) is used.
	AWSAccessKeyID string
	// AWSSecretAccessKey is AWS_SECRET_ACCESS_KEY, required together with
	// AWSAccessKeyID. Secret: printed as "****".
	AWSSecretAccessKey string

	// DKIMVerify is DKIM_VERIFY: check the DKIM signatures of every
	// e-mail at intake and record the verdict. Default true.
	DKIMVerify bool
	// DKIMDNSServer is DKIM_DNS_SERVER, a host:port DNS server for DKIM
	// key lookups instead of the system resolver (e.g. a local caching
	// resolver). Empty means the system's.
	DKIMDNSServer string

	// MaxFileSizeMB is MAX_FILE_SIZE_MB, the largest accepted upload in
	// MiB, 1..1024. Default 10. See MaxFileSize.
	MaxFileSizeMB int
	// DefaultTenant is DEFAULT_TENANT, the tenant used when a request names
	// none. Default "default". It must match ^[a-z0-9][a-z0-9_-]{0,62}$ since
	// it ends up in subjects, keys and paths.
	DefaultTenant string
	// PublicURL is PUBLIC_URL, the externally visible base URL used in
	// links. Default http://localhost:<Port>.
	PublicURL string
	// ShutdownTimeout is SHUTDOWN_TIMEOUT_SECONDS, how long a graceful
	// shutdown may take before the process gives up. Default 20s, inside
	// the 30s most orchestrators wait before killing.
	ShutdownTimeout time.Duration
	// Guard holds rate limits, tenant quotas and the metrics token
	// (config/guard.go).
	Guard Guard
	// Keys says where the master key is (config/keys.go).
	Keys Keys
	// EmbeddedNATS is how clients of NATS_EMBEDDED_LISTEN authenticate
	// (config/natsauth.go).
	EmbeddedNATS EmbeddedNATS
	// Tracing says where OpenTelemetry traces go (config/tracing.go).
	Tracing Tracing

	// databaseURLFrom and redisURLFrom name where the URL came from, so an
	// error about a URL built from DB_*/REDIS_* does not blame a variable
	// the operator never set. Empty means the URL variable itself.
	databaseURLFrom string
	redisURLFrom    string
}

// Defaults of the variables that are not Config fields but parts of a
// built URL. The field defaults are in setDefaults.
const (
	defaultDBHost    = "127.0.0.1"
	defaultDBPort    = 5432
	defaultDBName    = "tally"
	defaultDBUser    = "postgres"
	defaultRedisHost = "127.0.0.1"
	defaultRedisPort = 6379
)

// Load reads the configuration from getenv (os.Getenv in production, a map
// lookup in tests; nil means os.Getenv), applies defaults and validates. The
// returned error lists every problem (errors.Join), each naming the variable;
// the Config is nil then.
//
// An empty variable counts as unset, since getenv cannot tell them apart.
func Load(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{}
	c.setDefaults()
	r := &envReader{getenv: getenv}
	c.read(r)
	c.fillDerived()
	// Parse errors first: a value that did not parse left the default in
	// place, so Validate cannot report the same variable twice.
	errs := append(r.errs, c.problems()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// setDefaults sets every field default. It runs before the environment is
// read, so a variable that is set always wins, including explicit zeroes
// and false (NATS_SYNC_ALWAYS=false must not fall back to true).
func (c *Config) setDefaults() {
	c.Port = 4001
	c.PprofListen = "127.0.0.1:6060"
	c.DataDir = "./data"
	c.OCRModelsDir = DefaultOCRModelsDir
	c.LogLevel = "info"
	c.RabbitMQURL = "amqp://guest:guest@127.0.0.1:5672/"
	c.ScrapeQueue = "scrape_queue"
	c.RabbitMQMessageExpire = 60 * time.Second
	c.RabbitMQTemplateBatch = 5
	c.ScrapeWorkerTimeout = 60 * time.Second
	c.RetryDelay = 2 * time.Second
	c.RabbitMQDeliveryLimit = 5
	c.MailFrom = "Tally <tally@localhost>"
	c.DeletionGrace = 30 * 24 * time.Hour
	c.ReportTimeZone = "UTC"
	c.RetryMaxAttempts = 10
	c.WebhookRetryPeriod = 24 * time.Hour
	c.WebhookTimeout = 10 * time.Second
	c.MailboxScrapeInterval = 5 * time.Minute
	c.NATSReplicas = 1
	c.NATSSyncAlways = true
	c.NATSAppendRetry = 10 * time.Second
	c.AWSRegion = "us-east-1"
	c.MaxFileSizeMB = 10
	c.DKIMVerify = true
	c.DefaultTenant = "default"
	c.ShutdownTimeout = 20 * time.Second
	c.Guard.setDefaults()
	c.Tracing.setDefaults()
	// DatabaseURL, RedisURL and PublicURL default to values built from
	// other variables; see fillDerived.
}

// read overrides the defaults with every variable that is set. Values that
// do not parse are recorded in r and leave the default in place.
func (c *Config) read(r *envReader) {
	if r.str("ROLE", &c.Role) {
		c.Role = strings.ToUpper(c.Role)
	}
	r.int("PORT", &c.Port)
	r.int("PROBE_PORT", &c.ProbePort)
	r.str("DATA_DIR", &c.DataDir)
	r.str("OCR_MODELS_DIR", &c.OCRModelsDir)
	if r.str("LOG_LEVEL", &c.LogLevel) {
		// Keep an unknown value as written so Validate can quote it.
		if lvl, ok := normalizeLevel(c.LogLevel); ok {
			c.LogLevel = lvl
		}
	}

	// DATABASE_URL wins over the parts. Next to it only DB_PASSWORD and
	// DB_SSL are read (see completeDatabaseURL), so a stale DB_PORT next to
	// a DATABASE_URL is not an error.
	if r.str("DATABASE_URL", &c.DatabaseURL) {
		c.DatabaseURL = completeDatabaseURL(r, c.DatabaseURL)
	} else {
		c.DatabaseURL = buildDatabaseURL(r)
		c.databaseURLFrom = "DB_*"
	}
	if r.str("REDIS_URL", &c.RedisURL) {
		c.RedisURL = completeRedisURL(r, c.RedisURL)
	} else {
		c.RedisURL = buildRedisURL(r)
		c.redisURLFrom = "REDIS_*"
	}

	r.str("RABBITMQ_URL", &c.RabbitMQURL)
	r.str("SCRAPE_QUEUE", &c.ScrapeQueue)
	r.duration("RABBITMQ_MESSAGE_EXPIRE_MS", time.Millisecond, &c.RabbitMQMessageExpire)
	r.int("RABBITMQ_TEMPLATE_BATCH", &c.RabbitMQTemplateBatch)
	r.duration("SCRAPE_WORKER_TIMEOUT_MS", time.Millisecond, &c.ScrapeWorkerTimeout)
	r.duration("RETRY_DELAY_MS", time.Millisecond, &c.RetryDelay)
	r.int("RABBITMQ_DELIVERY_LIMIT", &c.RabbitMQDeliveryLimit)
	r.secret("SMTP_URL", &c.SMTPURL)
	r.str("DB_UPDATE_S3_BUCKET", &c.DBUpdateS3Bucket)
	r.duration("DELETION_GRACE_DAYS", 24*time.Hour, &c.DeletionGrace)
	r.str("MAIL_FROM", &c.MailFrom)
	r.str("NOTIFY_TEMPLATES_DIR", &c.NotifyTemplatesDir)
	r.str("REPORT_TIME_ZONE", &c.ReportTimeZone)
	r.int("CPP_RETRY_MAX_ATTEMPTS", &c.RetryMaxAttempts)
	r.goDuration("WEBHOOK_RETRY_PERIOD", &c.WebhookRetryPeriod)
	r.goDuration("WEBHOOK_TIMEOUT", &c.WebhookTimeout)
	r.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", &c.OutboundAllowPrivateNetworks)
	r.bool("OUTBOUND_ALLOW_PRIVATE_NETWORKS", &c.OutboundAllowPrivateNetworks)
	r.goDuration("MAILBOX_SCRAPE_INTERVAL", &c.MailboxScrapeInterval)
	r.secret("FORWARD_IMAP_URL", &c.ForwardIMAPURL)

	r.bool("PPROF", &c.Pprof)
	r.str("PPROF_LISTEN", &c.PprofListen)

	r.str("NATS_URL", &c.NATSURL)
	r.str("NATS_EMBEDDED_LISTEN", &c.NATSEmbeddedListen)
	r.int("NATS_REPLICAS", &c.NATSReplicas)
	r.bool("NATS_SYNC_ALWAYS", &c.NATSSyncAlways)
	r.goDuration("NATS_APPEND_RETRY", &c.NATSAppendRetry)

	r.str("S3_BUCKET", &c.S3Bucket)
	r.str("S3_ENDPOINT", &c.S3Endpoint)
	r.str("AWS_REGION", &c.AWSRegion)
	r.str("AWS_ACCESS_KEY_ID", &c.AWSAccessKeyID)
	r.secret("AWS_SECRET_ACCESS_KEY", &c.AWSSecretAccessKey)

	r.bool("DKIM_VERIFY", &c.DKIMVerify)
	if r.str("DKIM_DNS_SERVER", &c.DKIMDNSServer) {
		if _, _, err := net.SplitHostPort(c.DKIMDNSServer); err != nil {
			r.fail("DKIM_DNS_SERVER", "%q is not host:port", c.DKIMDNSServer)
		}
	}

	r.int("MAX_FILE_SIZE_MB", &c.MaxFileSizeMB)
	r.str("DEFAULT_TENANT", &c.DefaultTenant)
	r.str("PUBLIC_URL", &c.PublicURL)
	r.duration("SHUTDOWN_TIMEOUT_SECONDS", time.Second, &c.ShutdownTimeout)
	c.Guard.read(r)
	c.Keys.read(r)
	c.EmbeddedNATS.read(r)
	c.Tracing.read(r)
}

// fillDerived sets the defaults that depend on other settings; it runs after
// read so that, e.g., PUBLIC_URL follows PORT.
func (c *Config) fillDerived() {
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + strconv.Itoa(c.Port)
	}
}

// buildDatabaseURL composes DATABASE_URL from the DB_* variables. net/url
// does the escaping, so a password with '@', '/' or ':' stays one password.
func buildDatabaseURL(r *envReader) string {
	host, user, name := defaultDBHost, defaultDBUser, defaultDBName
	port := defaultDBPort
	var password string
	var ssl bool
	r.str("DB_HOST", &host)
	r.port("DB_PORT", &port)
	r.str("DB_NAME", &name)
	r.str("DB_USERNAME", &user)
	r.secret("DB_PASSWORD", &password)
	r.bool("DB_SSL", &ssl)

	u := url.URL{
		Scheme:   "postgres",
		User:     userinfo(user, password),
		Host:     net.JoinHostPort(host, strconv.Itoa(port)),
		Path:     "/" + name,
		RawPath:  "/" + url.PathEscape(name),
		RawQuery: "sslmode=disable",
	}
	if ssl {
		// require, not verify-full: it encrypts without needing the CA
		// bundle, matching what managed Postgres offerings expect by default.
		u.RawQuery = "sslmode=require"
	}
	return u.String()
}

// buildRedisURL composes REDIS_URL from the REDIS_* variables.
func buildRedisURL(r *envReader) string {
	host, port, db := defaultRedisHost, defaultRedisPort, 0
	var user, password string
	var tls bool
	r.str("REDIS_HOST", &host)
	r.port("REDIS_PORT", &port)
	r.str("REDIS_USER", &user)
	r.secret("REDIS_PASSWORD", &password)
	r.bool("REDIS_TLS", &tls)
	if r.int("REDIS_DB", &db) && db < 0 {
		r.fail("REDIS_DB", "%d must not be negative", db)
		db = 0
	}

	u := url.URL{
		Scheme: "redis",
		User:   userinfo(user, password),
		Host:   net.JoinHostPort(host, strconv.Itoa(port)),
		Path:   "/" + strconv.Itoa(db),
	}
	if tls {
		u.Scheme = "rediss"
	}
	return u.String()
}

// completeDatabaseURL adds to a DATABASE_URL what DB_PASSWORD and DB_SSL
// say and the URL does not: a platform (a Helm chart's Secret, say) may hand
// out the password apart from the URL. DB_PASSWORD goes into a URL that
// carries no password of its own (in its user part or as ?password=);
// DB_SSL=true adds sslmode=require to a URL that names no sslmode, unless
// PGSSLMODE names one (verify-full, say, which require would weaken). What
// the URL says always wins. A URL that does not parse is returned as it is,
// for Validate to report; a query that does not parse is reported here,
// since DB_PASSWORD and DB_SSL could not be added to it.
func completeDatabaseURL(r *envReader, raw string) string {
	var password string
	ssl := false
	r.secret("DB_PASSWORD", &password)
	r.bool("DB_SSL", &ssl)
	if password == "" && !ssl {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return raw
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		r.fail("DATABASE_URL", "its query does not parse, so DB_PASSWORD and DB_SSL cannot be added to it (value not shown as it may hold a password; percent-encode special characters in it)")
		return raw
	}
	if password != "" && !hasPassword(u) && !q.Has("password") {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	if ssl && !q.Has("sslmode") && r.getenv("PGSSLMODE") == "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "sslmode=require"
	}
	return u.String()
}

// completeRedisURL puts REDIS_PASSWORD into a REDIS_URL that carries no
// password of its own, keeping the URL's user name. The other REDIS_*
// parts are not read next to a REDIS_URL.
func completeRedisURL(r *envReader, raw string) string {
	var password string
	if !r.secret("REDIS_PASSWORD", &password) {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || hasPassword(u) {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// hasPassword reports whether u's user part holds a password, even an
// empty one ("user:@host"), which the URL's author wrote on purpose.
func hasPassword(u *url.URL) bool {
	if u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok
}

// userinfo returns the URL user part: nil when both are empty (no "@" at all),
// and no ':' when there is no password.
func userinfo(user, password string) *url.Userinfo {
	switch {
	case password != "":
		return url.UserPassword(user, password)
	case user != "":
		return url.User(user)
	default:
		return nil
	}
}

// Validate checks every field and returns all problems joined, each naming
// the variable and, masked if secret, the bad value. Load calls it; call it
// yourself only for a Config built by hand.
func (c *Config) Validate() error {
	return errors.Join(c.problems()...)
}

// problems is Validate as a list, so Load can join it with the parse errors
// into one flat error.
func (c *Config) problems() []error {
	var v validator
	if c.Role != "" && !slices.Contains(roles, c.Role) {
		v.fail("ROLE", "%q is not one of %s", c.Role, strings.Join(roles, ", "))
	}
	v.intRange("PORT", c.Port, 1, 65535)
	if c.ProbePort != 0 {
		v.intRange("PROBE_PORT", c.ProbePort, 1, 65535)
	}
	if c.NATSAppendRetry < 0 {
		v.fail("NATS_APPEND_RETRY", "%s must not be negative", c.NATSAppendRetry)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		v.fail("DATA_DIR", "must not be empty")
	}
	if _, ok := normalizeLevel(c.LogLevel); !ok {
		v.fail("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}

	// Postgres URLs need no host: libpq accepts ?host=/run/postgresql.
	v.url(label("DATABASE_URL", c.databaseURLFrom), c.DatabaseURL, false, "postgres", "postgresql")
	if u := v.url(label("REDIS_URL", c.redisURLFrom), c.RedisURL, true, "redis", "rediss"); u != nil {
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				v.fail(label("REDIS_URL", c.redisURLFrom), "database %q is not a number (got %q)", db, maskURL(c.RedisURL))
			}
		}
	}

	v.url("RABBITMQ_URL", c.RabbitMQURL, true, "amqp", "amqps")
	if strings.TrimSpace(c.ScrapeQueue) == "" {
		v.fail("SCRAPE_QUEUE", "must not be empty")
	}
	v.positive("RABBITMQ_MESSAGE_EXPIRE_MS", c.RabbitMQMessageExpire, time.Millisecond)
	v.intRange("RABBITMQ_TEMPLATE_BATCH", c.RabbitMQTemplateBatch, 1, 65535)
	v.positive("SCRAPE_WORKER_TIMEOUT_MS", c.ScrapeWorkerTimeout, time.Millisecond)
	v.positive("RETRY_DELAY_MS", c.RetryDelay, time.Millisecond)
	v.intRange("RABBITMQ_DELIVERY_LIMIT", c.RabbitMQDeliveryLimit, 1, 1000)
	if _, err := time.LoadLocation(c.ReportTimeZone); err != nil {
		v.fail("REPORT_TIME_ZONE", "%q is not a time zone name: %v", c.ReportTimeZone, err)
	}
	if c.SMTPURL != "" {
		v.url("SMTP_URL", c.SMTPURL, true, "smtp", "smtps")
	}
	if c.MailboxScrapeInterval < time.Minute {
		v.fail("MAILBOX_SCRAPE_INTERVAL", "%s must be at least 1m", c.MailboxScrapeInterval)
	}
	if c.ForwardIMAPURL != "" {
		if u := v.url("FORWARD_IMAP_URL", c.ForwardIMAPURL, true, "imaps", "imap"); u != nil {
			if _, ok := u.User.Password(); !ok || u.User.Username() == "" {
				v.fail("FORWARD_IMAP_URL", "needs user and password, imaps://user:pass@host/INBOX (got %q)", maskURL(c.ForwardIMAPURL))
			}
			if ip := net.ParseIP(u.Hostname()); u.Scheme == "imap" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
				v.fail("FORWARD_IMAP_URL", "imap:// sends the password in the clear; use imaps:// for a server on another machine (got %q)", maskURL(c.ForwardIMAPURL))
			}
		}
	}
	if c.RetryMaxAttempts < 1 {
		v.fail("CPP_RETRY_MAX_ATTEMPTS", "%d must be at least 1 (it counts the first try)", c.RetryMaxAttempts)
	}
	if c.WebhookTimeout < time.Second || c.WebhookTimeout > 5*time.Minute {
		v.fail("WEBHOOK_TIMEOUT", "%s is out of range 1s-5m", c.WebhookTimeout)
	}
	if c.WebhookRetryPeriod < c.WebhookTimeout {
		v.fail("WEBHOOK_RETRY_PERIOD", "%s must be at least WEBHOOK_TIMEOUT (%s)", c.WebhookRetryPeriod, c.WebhookTimeout)
	}

	if c.NATSURL != "" {
		for _, one := range strings.Split(c.NATSURL, ",") {
			v.url("NATS_URL", strings.TrimSpace(one), true, "nats", "tls")
		}
	}
	if _, _, err := net.SplitHostPort(c.PprofListen); c.Pprof && err != nil {
		v.fail("PPROF_LISTEN", "%q is not a host:port", c.PprofListen)
	}
	if c.NATSEmbeddedListen != "" {
		// Port 0 would make nats-server silently pick its default 4222,
		// so a real port is required.
		_, p, err := net.SplitHostPort(c.NATSEmbeddedListen)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			v.fail("NATS_EMBEDDED_LISTEN", "%q is not a host:port with a port in 1-65535", c.NATSEmbeddedListen)
		}
	}
	if !slices.Contains([]int{1, 3, 5}, c.NATSReplicas) {
		v.fail("NATS_REPLICAS", "%d is not one of 1, 3, 5", c.NATSReplicas)
	}

	if c.S3Endpoint != "" {
		v.url("S3_ENDPOINT", c.S3Endpoint, true, "http", "https")
		// Without a bucket the endpoint is ignored and blobs land on local
		// disk, which is easy to miss until a container restart loses them.
		if c.S3Bucket == "" && c.DBUpdateS3Bucket == "" {
			v.fail("S3_ENDPOINT", "is set but neither S3_BUCKET nor DB_UPDATE_S3_BUCKET is, so nothing would use it")
		}
	}
	if strings.TrimSpace(c.AWSRegion) == "" {
		v.fail("AWS_REGION", "must not be empty")
	}
	// Half a static credential is a typo, not a request for the default
	// chain; saying so beats an opaque signature error at the first upload.
	if c.AWSAccessKeyID != "" && c.AWSSecretAccessKey == "" {
		v.fail("AWS_SECRET_ACCESS_KEY", "must be set when AWS_ACCESS_KEY_ID is set")
	}
	if c.AWSAccessKeyID == "" && c.AWSSecretAccessKey != "" {
		v.fail("AWS_ACCESS_KEY_ID", "must be set when AWS_SECRET_ACCESS_KEY is set")
	}

	v.intRange("MAX_FILE_SIZE_MB", c.MaxFileSizeMB, 1, 1024)
	c.Guard.problems(&v)
	c.Keys.problems(&v)
	c.embeddedNATSProblems(&v)
	c.tracingProblems(&v)
	// The rule commands apply to every tenant (domain.ValidateTenant), so a
	// default tenant that passes here is one commands accept.
	if !domain.TenantPattern.MatchString(c.DefaultTenant) {
		v.fail("DEFAULT_TENANT", "%q does not match %s", c.DefaultTenant, domain.TenantPattern)
	} else if c.DefaultTenant == domain.ReservedTenant {
		v.fail("DEFAULT_TENANT", "%q is reserved for the deployment's own events", c.DefaultTenant)
	}
	v.url("PUBLIC_URL", c.PublicURL, true, "http", "https")
	v.positive("SHUTDOWN_TIMEOUT_SECONDS", c.ShutdownTimeout, time.Second)
	return v.errs
}

// label names a URL variable in errors, saying when it was built from parts.
func label(name, from string) string {
	if from == "" {
		return name
	}
	return name + " (built from " + from + ")"
}

// Level returns LogLevel as a slog.Level; an unknown value means Info, but
// Load never returns one.
func (c *Config) Level() slog.Level {
	lvl, _ := normalizeLevel(c.LogLevel)
	switch lvl {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// normalizeLevel maps the accepted spellings (any case, "warning") to
// debug, info, warn or error.
func normalizeLevel(s string) (string, bool) {
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "debug", "info", "warn", "error":
		return l, true
	case "warning":
		return "warn", true
	default:
		return "", false
	}
}

// MaxFileSize returns MaxFileSizeMB in bytes (MiB, as upload limits usually
// are).
func (c *Config) MaxFileSize() int64 {
	return int64(c.MaxFileSizeMB) << 20
}

// probePortOffsets give each role without the API its own default probe
// port above PORT's default, in the order the roles were added.
var probePortOffsets = map[string]int{
	RoleProjector: 1, RoleBridge: 2, RoleWorker: 3, RoleNotifier: 4, RoleScheduler: 5, RoleWebhooks: 6,
}

// ProbePortFor is the port a role's probe server listens on: PROBE_PORT
// when set, else 4002 for the projector, 4003 bridge, 4004 worker, 4005
// notifier, 4006 scheduler, 4007 webhooks (PORT for any other role).
func (c *Config) ProbePortFor(role string) int {
	if c.ProbePort != 0 {
		return c.ProbePort
	}
	if off, ok := probePortOffsets[role]; ok {
		return 4001 + off
	}
	return c.Port
}

// JetStreamDir is where the embedded NATS server keeps its store.
func (c *Config) JetStreamDir() string { return filepath.Join(c.DataDir, "jetstream") }

// BlobDir is where blobs are kept when S3Bucket is empty.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// validator collects validation problems in order.
type validator struct{ errs []error }

func (v *validator) fail(name, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (v *validator) intRange(name string, n, lo, hi int) {
	if n < lo || n > hi {
		v.fail(name, "%d is out of range %d-%d", n, lo, hi)
	}
}

// positive checks a duration that is configured as a whole number of unit
// and reports it in that unit, as the operator wrote it.
func (v *validator) positive(name string, d, unit time.Duration) {
	if d < unit {
		v.fail(name, "%s must be at least 1", formatDuration(d, unit))
	}
}

// url checks that raw parses, has one of schemes and, if needHost, a host.
// It returns the parsed URL when valid, for further checks. Values are only
// ever quoted masked, and a value that does not parse is not quoted at all,
// since where its password starts and ends is unknown.
func (v *validator) url(name, raw string, needHost bool, schemes ...string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		v.fail(name, "is not a valid URL (value not shown as it may hold a password; percent-encode special characters in it)")
		return nil
	}
	if !slices.Contains(schemes, u.Scheme) {
		v.fail(name, "scheme must be %s (got %q)", strings.Join(schemes, " or "), maskURL(raw))
		return nil
	}
	if u.Opaque != "" || (needHost && u.Hostname() == "") {
		v.fail(name, "host is missing, want %s://host... (got %q)", schemes[0], maskURL(raw))
		return nil
	}
	return u
}
