package redisqueue

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/oceankit/oceankit/ocean/settings"
)

// EnvPrefix is the prefix of every setting this package reads.
const EnvPrefix = "OCEAN__LIVE_EVENTS__"

// Config configures a Queue. ConfigFromEnv fills it from Ocean's
// OCEAN__LIVE_EVENTS__… settings; the zero value of a field means its
// default unless the field says otherwise.
type Config struct {
	// URL is the Redis server: redis://[user:password@]host:port[/db], or
	// rediss://… for TLS.
	URL string
	// Username and Password authenticate (ACL user, or the legacy
	// requirepass password); they override those in the URL.
	Username string
	Password settings.Secret
	// EnableTLS must agree with the URL's scheme (rediss://), as Ocean
	// requires. CA, Cert and PrivateKey are base64-encoded PEM: the CA
	// bundle to verify the server with (the system pool when empty) and a
	// client certificate and key for mutual TLS (both or neither).
	EnableTLS  bool
	CA         string
	Cert       string
	PrivateKey settings.Secret
	// TLSConfig, when set in code, is used as is instead of CA, Cert and
	// PrivateKey.
	TLSConfig *tls.Config

	// Group is the consumer group that all replicas of one integration
	// share: {type}.{identifier}, as Ocean names it. Required.
	Group string
	// Consumer names this replica in the group (unique per process; by
	// default {hostname}-{pid}-{random}).
	Consumer string
	// Prefix starts every key (default oceankit:live-events:{Group}, with
	// the braces: a Redis Cluster hash tag keeping every key in one slot).
	Prefix string
	// Shards is the number of streams events are spread over by key; each
	// shard is consumed by one replica at a time (default 16). Change it
	// only when the streams are empty: New refuses a different count while
	// the old streams hold entries.
	Shards int
	// MaxQueued bounds the events waiting across all shards (OCEAN__EVENT_
	// QUEUE_SIZE; default 10000); past it Enqueue returns ocean.ErrQueueFull.
	MaxQueued int
	// ReadCount is the number of entries one XREADGROUP takes (default 10).
	ReadCount int
	// Block is how long one XREADGROUP waits for entries (default 1 s); it
	// also bounds how fast a replica notices that it must stop reading.
	Block time.Duration
	// MaxRequeue is how many times an entry is handed out again after a
	// delivery that did not finish (the replica died, was stopped in the
	// middle, or the handler panicked) before it is parked in the
	// dead-letter stream (default 3).
	MaxRequeue int
	// LeaseTTL is how long a replica's claim on a shard lasts without
	// renewal (renewed every LeaseTTL/3; default 10 s): the time after
	// which the shards of a replica that died are taken over.
	LeaseTTL time.Duration
	// RetryDelay is the pause before an entry whose handler panicked is
	// delivered again (default 1 s).
	RetryDelay time.Duration
	// ConsumerCleanupIdle removes from the group consumers that have been
	// idle this long and hold no entries (default 24 h; negative: never).
	ConsumerCleanupIdle time.Duration
	// MaintenanceInterval is how often consumer cleanup runs (default 30 s).
	MaintenanceInterval time.Duration
	// ErrorBackoff is the pause after a Redis error in the read loop
	// (default 5 s).
	ErrorBackoff time.Duration
	// EnqueueTimeout bounds one Enqueue's exchange with Redis, connecting
	// included (default 2 s): past it the delivery is answered 503 and
	// Redis is considered down. Enqueue uses its own connections, without
	// retries, so that a delivery never waits on the consumers' ones.
	EnqueueTimeout time.Duration
	// ProbeInterval is how often, while Redis is down, it is checked
	// again (default 1 s); in between, Enqueue fails at once.
	ProbeInterval time.Duration
	// StartupRetries, StartupBackoff and StartupBackoffBase retry the first
	// connection when Run starts: up to StartupRetries retries (0: none;
	// ConfigFromEnv's default is 5), waiting StartupBackoff (default 1 s)
	// times StartupBackoffBase (default 2) to the power of the attempt.
	StartupRetries     int
	StartupBackoff     time.Duration
	StartupBackoffBase float64
	// DeadLetterMaxLen bounds the dead-letter stream, approximately
	// (default 10000).
	DeadLetterMaxLen int
	// Workers bounds the events applied at once by this replica
	// (OCEAN__EVENT_WORKERS_COUNT); 0 means one per owned shard.
	Workers int
	// ShutdownWait is how long Run lets the events in hand finish after its
	// context is done (OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN; default 5 s);
	// an event cut short stays in the stream for the next owner.
	ShutdownWait time.Duration
	// Logger receives the queue's logs (slog.Default() when nil).
	Logger *slog.Logger
}

// Setting documents one environment variable that ConfigFromEnv reads.
type Setting struct {
	// Env is the variable's name.
	Env string
	// Default is its default ("" when none).
	Default string
	// Help says what it does.
	Help string
	// Secret marks values that are never logged.
	Secret bool
}

// setting is one variable: its name after EnvPrefix, and how it sets a
// Config field.
type setting struct {
	Setting
	name string
	set  func(c *Config, v string) error
}

var errNotBool = errors.New("not a boolean")

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, errNotBool
}

func intSetting(min int, dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not an integer")
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		*dst(c) = n
		return nil
	}
}

// secondsSetting reads (possibly fractional) seconds, or milliseconds when
// unit is time.Millisecond.
func durationSetting(unit time.Duration, dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.New("not a number")
		}
		if f <= 0 {
			return errors.New("must be positive")
		}
		if f > float64(math.MaxInt64)/float64(unit) {
			return errors.New("too long")
		}
		*dst(c) = time.Duration(f * float64(unit))
		return nil
	}
}

// envSettings lists every variable ConfigFromEnv reads, with Ocean's names and
// defaults where Ocean has the setting.
var envSettings = []setting{
	{Setting{Default: "false", Help: "share live events between replicas through Redis Streams when the organisation also has Port's feature flag LIVE_EVENTS_REDIS_STREAM_ENABLED, as in Ocean (otherwise they are queued in process; the log says which and why)"},
		"IS_REDIS_STREAM_CONSUMER_ENABLED", nil},
	{Setting{Default: "REDIS", Help: "live-events backend; only REDIS exists"},
		"TYPE", func(_ *Config, v string) error {
			if !strings.EqualFold(strings.TrimSpace(v), "REDIS") {
				return errors.New("only REDIS is supported")
			}
			return nil
		}},
	{Setting{Default: "redis://localhost:6379", Help: "Redis URL: redis://[user:password@]host:port[/db], rediss:// for TLS"},
		"REDIS__URL", func(c *Config, v string) error { c.URL = strings.TrimSpace(v); return nil }},
	{Setting{Help: "Redis ACL user name"},
		"REDIS__USERNAME", func(c *Config, v string) error { c.Username = strings.TrimSpace(v); return nil }},
	{Setting{Help: "Redis password (surrounding whitespace is removed)", Secret: true},
		"REDIS__PASSWORD", func(c *Config, v string) error {
			// A Kubernetes Secret made from a file ends with a newline.
			p, err := settings.CleanSecret(EnvPrefix+"REDIS__PASSWORD", settings.Secret(v))
			if err != nil {
				var ce *settings.ConfigError
				if errors.As(err, &ce) {
					return errors.New(ce.Reason)
				}
				return err
			}
			c.Password = p
			return nil
		}},
	{Setting{Default: "false", Help: "TLS to Redis; must match a rediss:// URL"},
		"REDIS__ENABLE_TLS", func(c *Config, v string) error {
			b, err := parseBool(v)
			c.EnableTLS = b
			return err
		}},
	{Setting{Help: "base64-encoded PEM CA bundle to verify Redis with (default: the system's)"},
		"REDIS__CA", func(c *Config, v string) error { c.CA = strings.TrimSpace(v); return nil }},
	{Setting{Help: "base64-encoded PEM client certificate for mutual TLS"},
		"REDIS__CERT", func(c *Config, v string) error { c.Cert = strings.TrimSpace(v); return nil }},
	{Setting{Help: "base64-encoded PEM client private key for mutual TLS", Secret: true},
		"REDIS__PRIVATE_KEY", func(c *Config, v string) error { c.PrivateKey = settings.Secret(strings.TrimSpace(v)); return nil }},
	{Setting{Default: "1000", Help: "milliseconds one stream read waits for entries"},
		"REDIS__BLOCK_MS", durationSetting(time.Millisecond, func(c *Config) *time.Duration { return &c.Block })},
	{Setting{Default: "10", Help: "entries per stream read"},
		"REDIS__READ_COUNT", intSetting(1, func(c *Config) *int { return &c.ReadCount })},
	// At least 1: Config reads a zero MaxRequeue as the default, 3.
	{Setting{Default: "3", Help: "times an unfinished entry is delivered again before it is parked in the dead-letter stream (at least 1)"},
		"REDIS__PEL_MAX_REQUEUE_COUNT", intSetting(1, func(c *Config) *int { return &c.MaxRequeue })},
	{Setting{Default: "true", Help: "remove idle consumers that hold no entries from the consumer group"},
		"REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_ENABLED", func(c *Config, v string) error {
			b, err := parseBool(v)
			if err == nil && !b {
				c.ConsumerCleanupIdle = -1
			}
			return err
		}},
	{Setting{Default: "86400", Help: "seconds a consumer must be idle before it is removed"},
		"REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_IDLE_SECONDS", func(c *Config, v string) error {
			if c.ConsumerCleanupIdle < 0 {
				return nil
			}
			return durationSetting(time.Second, func(c *Config) *time.Duration { return &c.ConsumerCleanupIdle })(c, v)
		}},
	{Setting{Default: "30", Help: "seconds between consumer cleanups"},
		"REDIS__STREAM_MAINTENANCE_SCAN_INTERVAL_SECONDS", durationSetting(time.Second, func(c *Config) *time.Duration { return &c.MaintenanceInterval })},
	{Setting{Default: "5", Help: "seconds to wait after a Redis error before reading again"},
		"REDIS__CONNECTION_ERROR_BACKOFF_SECONDS", durationSetting(time.Second, func(c *Config) *time.Duration { return &c.ErrorBackoff })},
	{Setting{Default: "5", Help: "connection retries at startup"},
		"REDIS__CONNECTION_STARTUP_MAX_RETRIES", intSetting(0, func(c *Config) *int { return &c.StartupRetries })},
	{Setting{Default: "1", Help: "seconds before the first startup retry"},
		"REDIS__CONNECTION_STARTUP_INITIAL_BACKOFF_SECONDS", durationSetting(time.Second, func(c *Config) *time.Duration { return &c.StartupBackoff })},
	{Setting{Default: "2", Help: "growth factor of the startup retry delay"},
		"REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f >= 1) || math.IsInf(f, 0) {
				return errors.New("must be a number of at least 1")
			}
			c.StartupBackoffBase = f
			return nil
		}},
	// oceankit's own settings (not in Ocean).
	{Setting{Default: "oceankit:live-events:{<type>.<identifier>}", Help: "prefix of the Redis keys (not in Ocean)"},
		"REDIS__STREAM_PREFIX", func(c *Config, v string) error { c.Prefix = strings.TrimSpace(v); return nil }},
	{Setting{Default: "16", Help: "streams events are spread over by object; each is consumed by one replica at a time (not in Ocean)"},
		"REDIS__SHARDS", intSetting(1, func(c *Config) *int { return &c.Shards })},
	{Setting{Default: "10", Help: "seconds a replica's hold on a shard lasts unrenewed: how soon a dead replica's events are taken over (not in Ocean)"},
		"REDIS__LEASE_TTL_SECONDS", durationSetting(time.Second, func(c *Config) *time.Duration { return &c.LeaseTTL })},
	{Setting{Default: "10000", Help: "approximate bound of the dead-letter stream (not in Ocean)"},
		"REDIS__DEAD_LETTER_MAX_LENGTH", intSetting(1, func(c *Config) *int { return &c.DeadLetterMaxLen })},
}

// Settings documents the variables ConfigFromEnv reads, for --help and
// READMEs.
func Settings() []Setting {
	out := make([]Setting, len(envSettings))
	for i, s := range envSettings {
		out[i] = s.Setting
		out[i].Env = EnvPrefix + s.name
	}
	return out
}

// ConfigFromEnv reads Ocean's live-events settings from environ (KEY=VALUE
// pairs, as os.Environ returns): the variables Settings lists, or the same
// as JSON objects in OCEAN__LIVE_EVENTS or OCEAN__LIVE_EVENTS__REDIS (keys
// snake_case or camelCase; single variables win). enabled reports
// OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED. Every malformed
// setting is reported, each as an *ocean.ConfigError naming its variable.
// The returned Config has no Group: the caller sets it from the
// integration's type and identifier.
func ConfigFromEnv(environ []string) (cfg Config, enabled bool, err error) {
	cfg = Config{
		URL:                 "redis://localhost:6379",
		StartupRetries:      5,
		ConsumerCleanupIdle: 24 * time.Hour,
	}
	values := map[string]string{}
	var errs []error
	var single [][2]string
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		up := strings.ToUpper(name)
		switch {
		case up == "OCEAN__LIVE_EVENTS":
			if err := flattenJSON(v, "", values); err != nil {
				errs = append(errs, &settings.ConfigError{Name: up, Reason: "not a JSON object", Err: err})
			}
		case up == EnvPrefix+"REDIS":
			if err := flattenJSON(v, "REDIS__", values); err != nil {
				errs = append(errs, &settings.ConfigError{Name: up, Reason: "not a JSON object", Err: err})
			}
		case strings.HasPrefix(up, EnvPrefix):
			single = append(single, [2]string{strings.TrimPrefix(up, EnvPrefix), v})
		}
	}
	for _, s := range single {
		values[s[0]] = s[1]
	}
	if v, ok := values["IS_REDIS_STREAM_CONSUMER_ENABLED"]; ok {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, &settings.ConfigError{Name: EnvPrefix + "IS_REDIS_STREAM_CONSUMER_ENABLED", Reason: "not a boolean"})
		}
		enabled = b
	}
	// Cleanup-enabled is applied before the idle time it switches off.
	for _, s := range envSettings {
		v, ok := values[s.name]
		if !ok || s.set == nil {
			continue
		}
		if err := s.set(&cfg, v); err != nil {
			errs = append(errs, &settings.ConfigError{Name: EnvPrefix + s.name, Reason: err.Error()})
		}
	}
	if err := cfg.validateConnection(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, false, errors.Join(errs...)
	}
	return cfg, enabled, nil
}

// flattenJSON turns a JSON object into setting names: {"redis":{"url":x}}
// becomes REDIS__URL.
func flattenJSON(raw, prefix string, out map[string]string) error {
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return errors.New("expected a JSON object")
	}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			name := prefix + strings.ToUpper(snake(k))
			switch x := v.(type) {
			case map[string]any:
				walk(x, name+"__")
			case string:
				out[name] = x
			case nil:
			default:
				b, _ := json.Marshal(x)
				out[name] = string(b)
			}
		}
	}
	walk(obj, prefix)
	return nil
}

// snake converts camelCase to snake_case (snake input is unchanged).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validateConnection applies Ocean's TLS rules and checks the URL, never
// quoting it (it may hold a password).
func (c *Config) validateConnection() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return &settings.ConfigError{Name: EnvPrefix + "REDIS__URL", Reason: "not a redis://, rediss:// or unix:// URL"}
	}
	tlsScheme := u.Scheme == "rediss"
	if c.TLSConfig == nil {
		if c.EnableTLS && !tlsScheme {
			return &settings.ConfigError{Name: EnvPrefix + "REDIS__ENABLE_TLS", Reason: "TLS is enabled but the URL is not rediss://"}
		}
		if !c.EnableTLS && tlsScheme {
			return &settings.ConfigError{Name: EnvPrefix + "REDIS__ENABLE_TLS", Reason: "the URL is rediss:// but TLS is not enabled"}
		}
	}
	if (c.Cert == "") != (c.PrivateKey == "") {
		return &settings.ConfigError{Name: EnvPrefix + "REDIS__CERT", Reason: "mutual TLS needs both the certificate and the private key"}
	}
	return nil
}

// withDefaults fills the defaults and checks the settings.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = "redis://localhost:6379"
	}
	if err := c.validateConnection(); err != nil {
		return c, err
	}
	if c.Group == "" {
		return c, errors.New("redisqueue: Config.Group is required (the integration's type.identifier)")
	}
	if c.Prefix == "" {
		c.Prefix = "oceankit:live-events:{" + c.Group + "}"
	}
	if c.Consumer == "" {
		c.Consumer = defaultConsumer()
	}
	if c.Shards <= 0 {
		c.Shards = 16
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 10_000
	}
	if c.ReadCount <= 0 {
		c.ReadCount = 10
	}
	if c.Block <= 0 {
		c.Block = time.Second
	}
	if c.MaxRequeue <= 0 {
		c.MaxRequeue = 3
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.LeaseTTL < 30*time.Millisecond {
		return c, errors.New("redisqueue: LeaseTTL must be at least 30ms")
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.ConsumerCleanupIdle == 0 {
		c.ConsumerCleanupIdle = 24 * time.Hour
	}
	if c.MaintenanceInterval <= 0 {
		c.MaintenanceInterval = 30 * time.Second
	}
	if c.ErrorBackoff <= 0 {
		c.ErrorBackoff = 5 * time.Second
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = 2 * time.Second
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Second
	}
	if c.StartupBackoff <= 0 {
		c.StartupBackoff = time.Second
	}
	if c.StartupBackoffBase < 1 {
		c.StartupBackoffBase = 2
	}
	if c.DeadLetterMaxLen <= 0 {
		c.DeadLetterMaxLen = 10_000
	}
	if c.ShutdownWait <= 0 {
		c.ShutdownWait = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// options builds go-redis's client options.
func (c *Config) options() (*redis.Options, error) {
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		// go-redis's message may quote the URL, and with it a password.
		return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__URL", Reason: "not a valid Redis URL"}
	}
	if c.Username != "" {
		opt.Username = c.Username
	}
	if c.Password != "" {
		opt.Password = c.Password.Value()
	}
	switch {
	case c.TLSConfig != nil:
		opt.TLSConfig = c.TLSConfig.Clone()
	case c.EnableTLS:
		tc, err := c.tlsConfig(opt.TLSConfig)
		if err != nil {
			return nil, err
		}
		opt.TLSConfig = tc
	}
	// Redis servers before 7.2 know neither command; skip the handshake
	// noise.
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opt.ClientName = c.Consumer
	return opt, nil
}

func (c *Config) tlsConfig(base *tls.Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	if c.CA != "" {
		pem, err := base64.StdEncoding.DecodeString(c.CA)
		if err != nil {
			return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__CA", Reason: "not base64"}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__CA", Reason: "no PEM certificate in it"}
		}
		tc.RootCAs = pool
	}
	if c.Cert != "" {
		certPEM, err := base64.StdEncoding.DecodeString(c.Cert)
		if err != nil {
			return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__CERT", Reason: "not base64"}
		}
		keyPEM, err := base64.StdEncoding.DecodeString(c.PrivateKey.Value())
		if err != nil {
			return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__PRIVATE_KEY", Reason: "not base64"}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The error names what is wrong, never the key's bytes.
			return nil, &settings.ConfigError{Name: EnvPrefix + "REDIS__CERT", Reason: "certificate and private key do not load", Err: err}
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}
