package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Listener types, as Ocean names them (OCEAN__EVENT_LISTENER__TYPE).
const (
	ListenerPolling      = "POLLING"
	ListenerOnce         = "ONCE"
	ListenerWebhooksOnly = "WEBHOOKS_ONLY"
	ListenerKafka        = "KAFKA"
	ListenerActionsOnly  = "ACTIONS_ONLY"
	ListenerWebhook      = "WEBHOOK"
)

// Config is the framework's configuration: every setting of Ocean that a
// user can set, with Ocean's names, nesting and defaults. Load fills it from
// OCEAN__… environment variables and an optional YAML file; a Go program
// may also build or adjust it in code before calling New.
type Config struct {
	Port        PortConfig        `ocean:"port"`
	Integration IntegrationConfig `ocean:"integration"`
	// EventListener selects what triggers resyncs.
	EventListener EventListenerConfig `ocean:"event_listener"`
	// InitializePortResources creates the integration, the default
	// blueprints and the default mapping in Port when they are missing.
	InitializePortResources bool `ocean:"initialize_port_resources,default=true"`
	// CreatePortResourcesOrigin says who creates the default resources
	// when InitializePortResources is on, as Ocean's
	// create_port_resources_origin: Default (or Ocean, its old name) creates
	// this program's defaults; Empty creates the integration with an empty
	// mapping and nothing else; Port asks Port to provision its defaults
	// when Port offers that for the type and the organisation has the flag
	// USE_PROVISIONED_DEFAULTS, and falls back to Default otherwise. Unset
	// is Default (see the README: Ocean tries Port first).
	CreatePortResourcesOrigin string `ocean:"create_port_resources_origin"`
	// ScheduledResyncInterval, in minutes, runs a full resync on a timer on
	// top of any long-running listener; 0 turns it off.
	ScheduledResyncInterval int `ocean:"scheduled_resync_interval"`
	// SendRawDataExamples posts the first few raw items of each kind to
	// Port for its mapping editor.
	SendRawDataExamples bool `ocean:"send_raw_data_examples,default=true"`
	// BaseURL is this program's public URL, needed for live events.
	BaseURL string `ocean:"base_url"`
	// EventsDebugLogging logs every live-event delivery's body at DEBUG
	// level as it is accepted, secrets redacted and cut at 1 MiB (Ocean logs
	// it base64-encoded). It is off by default: bodies carry user data.
	EventsDebugLogging bool `ocean:"events_debug_logging"`
	// ProcessingMode and LakehouseEnabled are accepted as Ocean names them
	// (Port's chart always renders dsp and true). Ocean, for organisations
	// with the matching flags, forwards raw data for Port to map; this
	// program always maps and writes entities itself (Ocean's ocean-core
	// mode) and says so once at start.
	ProcessingMode   string `ocean:"processing_mode,default=dsp"`
	LakehouseEnabled bool   `ocean:"lakehouse_enabled,default=true"`
	// PathPrefix mounts the live-event routes under /{prefix}: path
	// segments of letters, digits and - . _ ~ (it becomes part of a route
	// pattern, where { and } would be wildcards).
	PathPrefix string `ocean:"path_prefix"`
	// AllowEnvironmentVariablesJQAccess lets jq's env and $ENV see the
	// process environment (secrets of this program are always hidden).
	AllowEnvironmentVariablesJQAccess bool `ocean:"allow_environment_variables_jq_access,default=true"`
	// ClientTimeout bounds each HTTP request (each attempt of a retried
	// one) to Port and to the third-party API, as Ocean's client_timeout
	// bounds both of its clients.
	ClientTimeout time.Duration `ocean:"client_timeout,default=60s"`
	// SSL is Ocean's TLS verification per side (OCEAN__SSL__…).
	SSL SSLConfig `ocean:"ssl"`
	// OAuthAccessTokenFilePath is a file holding the third party's OAuth
	// access token, which Port's Helm chart keeps fresh; a provider re-reads
	// it when the API answers 401 and retries once, as Ocean's OAuthClient.
	OAuthAccessTokenFilePath string `ocean:"oauth_access_token_file_path"`
	// EventWorkersCount is the number of live-event workers. Events for the
	// same entity are applied in order whatever the count.
	EventWorkersCount int `ocean:"event_workers_count,default=1"`
	// EventQueueSize bounds the live-event queue; a full queue answers 503.
	EventQueueSize int `ocean:"event_queue_size,default=10000"`
	// MaxEventProcessingSeconds bounds one live event's processing.
	MaxEventProcessingSeconds float64 `ocean:"max_event_processing_seconds,default=90"`
	// MaxWaitSecondsBeforeShutdown bounds the drain on SIGTERM.
	MaxWaitSecondsBeforeShutdown float64 `ocean:"max_wait_seconds_before_shutdown,default=5"`
	// UpsertEntitiesBatchMaxLength caps entities per bulk upsert (Port: 20).
	UpsertEntitiesBatchMaxLength int `ocean:"upsert_entities_batch_max_length,default=20"`
	// UpsertEntitiesBatchMaxSizeInBytes caps a bulk upsert's body (1 MiB).
	UpsertEntitiesBatchMaxSizeInBytes int `ocean:"upsert_entities_batch_max_size_in_bytes,default=1048576"`
	// DeleteEntitiesMaxBatchSize caps entities per bulk delete; Port takes
	// 100 at most, so larger values are capped.
	DeleteEntitiesMaxBatchSize int `ocean:"delete_entities_max_batch_size,default=1000"`
	// YieldItemsToParseBatchSize is the batch size of itemsToParse expansion.
	YieldItemsToParseBatchSize int `ocean:"yield_items_to_parse_batch_size,default=200"`
	// ResourcesPath is a folder of default resources that overrides the
	// provider's embedded ones when it exists.
	ResourcesPath string `ocean:"resources_path,default=.port/resources"`
	// PortAppConfigFile, when set, reads the port app config (the mapping)
	// from this local YAML/JSON file instead of from Port. Not in Ocean.
	PortAppConfigFile string `ocean:"port_app_config_file"`
	// Resync tunes the resync engine (not in Ocean).
	Resync ResyncConfig `ocean:"resync"`
	// Webhook bounds the live-event route (not in Ocean).
	Webhook WebhookLimits `ocean:"webhook"`
	// ActionsProcessor runs self-service action runs (see package ocean/actions).
	ActionsProcessor ActionsProcessorConfig `ocean:"actions_processor"`
	// Application holds the APPLICATION__… settings of the process.
	Application ApplicationConfig `ocean:"-"`

	// envSecrets are the secret values Load found in the environment that
	// no field holds (a Redis URL's password, keys of JSON values), so that
	// logs and jq's env hide them too (see EnvSecrets).
	envSecrets []string
	// environ is the environment Load read, the .env file's variables
	// included (see Environ).
	environ []string
	// notices are warnings about how settings were read (a deprecated
	// variable used), logged once when the App runs.
	notices []string
}

// Environ returns the environment the configuration was loaded from, with
// the .env file's variables below the real ones: for settings that other
// packages read from the environment (the Redis live-event queue's). It is
// nil for a Config built in code.
func (c *Config) Environ() []string { return append([]string(nil), c.environ...) }

// PortConfig is OCEAN__PORT__….
type PortConfig struct {
	ClientID     Secret `ocean:"client_id"`
	ClientSecret Secret `ocean:"client_secret"`
	// BaseURL is Port's API URL without /v1 (EU by default).
	BaseURL string `ocean:"base_url,default=https://api.getport.io"`
	// PortAppConfigCacheTTL caches the mapping between live events.
	PortAppConfigCacheTTL time.Duration `ocean:"port_app_config_cache_ttl,default=60s"`
}

// IntegrationConfig is OCEAN__INTEGRATION__….
type IntegrationConfig struct {
	// Identifier is the installation's identifier in Port; the default is
	// my-<type>-integration.
	Identifier string `ocean:"identifier"`
	// Type is the integration type; the provider's by default.
	Type string `ocean:"type"`
	// Config holds the provider's own settings (snake_case keys); decode
	// it with DecodeIntegrationConfig.
	Config map[string]any `ocean:"config"`
	// IncrementalSyncEnabled and IncrementalSyncInterval (minutes) are
	// Ocean's incremental sync switch.
	IncrementalSyncEnabled  bool   `ocean:"incremental_sync_enabled"`
	IncrementalSyncInterval string `ocean:"incremental_sync_interval,default=15"`
	// FullResyncInterval, in minutes, is how long incremental resyncs may
	// run before a full one (which catches deletions) is due. Not in Ocean.
	FullResyncInterval int `ocean:"full_resync_interval,default=1440"`
	// IncrementalOverlap widens each incremental window backwards, against
	// clock skew. Not in Ocean.
	IncrementalOverlap time.Duration `ocean:"incremental_overlap,default=5m"`
	// IncrementalStateFile keeps the watermarks in a file instead of in
	// Port's cursors. Not in Ocean.
	IncrementalStateFile string `ocean:"incremental_state_file"`
}

// EventListenerConfig is OCEAN__EVENT_LISTENER (a JSON object, or its
// fields one by one).
type EventListenerConfig struct {
	Type string `ocean:"type,default=POLLING"`
	// Interval is POLLING's period in seconds.
	Interval int `ocean:"interval,default=60"`
	// ResyncOnStart makes POLLING resync when it starts.
	ResyncOnStart bool `ocean:"resync_on_start,default=true"`
	// ResyncToken, when set, is required by the WEBHOOK listener's
	// POST /resync (Authorization: Bearer, or X-Ocean-Resync-Token). Not in
	// Ocean, whose route takes anyone's request.
	ResyncToken Secret `ocean:"resync_token"`
	// AppHost is this program's public URL for the WEBHOOK listener: Port
	// sends resync triggers to AppHost/resync (Ocean's APP_HOST).
	AppHost string `ocean:"app_host"`
	// Kafka settings, used by the KAFKA listener.
	Brokers                 string  `ocean:"brokers"`
	SecurityProtocol        string  `ocean:"security_protocol,default=SASL_SSL"`
	AuthenticationMechanism string  `ocean:"authentication_mechanism,default=SCRAM-SHA-512"`
	KafkaSecurityEnabled    bool    `ocean:"kafka_security_enabled,default=true"`
	ConsumerPollTimeout     float64 `ocean:"consumer_poll_timeout,default=1"`
}

// ResyncConfig tunes the resync engine. These are oceankit's own settings
// (OCEAN__RESYNC__…).
type ResyncConfig struct {
	// MapWorkers is the number of goroutines mapping pages, per kind; 0
	// means one per CPU. Each page is mapped on one goroutine: this is the
	// only knob for the mapping's parallelism.
	MapWorkers int `ocean:"map_workers"`
	// UpsertConcurrency is the number of bulk upserts in flight, across
	// kinds.
	UpsertConcurrency int `ocean:"upsert_concurrency,default=8"`
	// KindConcurrency is the number of resources fetched at once, when the
	// mapping allows (see the package doc on ordering).
	KindConcurrency int `ocean:"kind_concurrency,default=4"`
	// PagesInFlight bounds the pages buffered between fetching and mapping
	// per resource.
	PagesInFlight int `ocean:"pages_in_flight,default=4"`
	// Sequential processes kinds and pages one after another with one bulk
	// in flight, as the Python framework does (a baseline for benchmarks).
	Sequential bool `ocean:"sequential"`
	// ItemTimeout is the jq time budget per item.
	ItemTimeout time.Duration `ocean:"item_timeout,default=5s"`
	// SkipUnchanged compares every mapped entity with what Port holds
	// (read once per resync) and writes only those that differ.
	SkipUnchanged bool `ocean:"skip_unchanged,default=true"`
	// ProgressInterval is how often a long resync logs its progress per
	// kind; 0 turns it off.
	ProgressInterval time.Duration `ocean:"progress_interval,default=30s"`
	// DecodeAllFields makes kinds decode every item whole. By default a
	// resync hands each kind the item keys its mapping may read
	// (ocean.Fields), and kinds that can (GitLab's) skip building the
	// rest, which is most of the JSON and of the CPU; this is the switch
	// to turn that off should a mapping ever need what the analysis left
	// out. GitLab then also decodes with encoding/json, as it did before.
	DecodeAllFields bool `ocean:"decode_all_fields"`
}

// ApplicationConfig is APPLICATION__….
type ApplicationConfig struct {
	LogLevel string `ocean:"log_level,default=INFO"`
	// LogFormat is text or json (the --log-format flag wins). Not in
	// Ocean, whose chart can pass only environment.
	LogFormat         string `ocean:"log_format,default=text"`
	Port              int    `ocean:"port,default=8000"`
	EnableHTTPLogging bool   `ocean:"enable_http_logging,default=true"`
}

// LoadOptions says where Load reads from.
type LoadOptions struct {
	// Environ is the environment (os.Environ() when nil).
	Environ []string
	// File is a YAML config file (Ocean's config.yaml, camelCase keys,
	// `{{ from env NAME }}` values); empty means none.
	File string
	// Dotenv is a .env file (see DotenvError) whose variables apply below
	// the environment's; empty means none.
	Dotenv string
	// WorkingDirFiles reads .env and config.yaml from the working
	// directory when they exist, as Ocean does, unless Dotenv or File
	// names another. A named file must exist; a default one may be absent,
	// but one that is present must parse.
	WorkingDirFiles bool
	// Dir is the working directory WorkingDirFiles reads from; empty means
	// the process's.
	Dir string
	// ProviderType is the provider's integration type, the default of
	// OCEAN__INTEGRATION__TYPE.
	ProviderType string
}

// Load reads the configuration with Ocean's precedence: environment
// variables over the .env file over the YAML file over defaults. All
// problems are reported together, each naming its variable or file.
func Load(opts LoadOptions) (*Config, error) {
	environ := opts.Environ
	if environ == nil {
		environ = osEnviron()
	}
	dotenv, dotenvOptional := opts.Dotenv, false
	if dotenv == "" && opts.WorkingDirFiles {
		dotenv, dotenvOptional = filepath.Join(opts.Dir, dotenvFile), true
	}
	if dotenv != "" {
		if _, present, err := readOptional(dotenv, dotenvOptional); err != nil || present {
			merged, err := withDotenv(dotenv, environ)
			if err != nil {
				return nil, err
			}
			environ = merged
		}
	}
	name, optional := opts.File, false
	if name == "" && opts.WorkingDirFiles {
		name, optional = filepath.Join(opts.Dir, ConfigFile), true
	}
	var file []byte
	if name != "" {
		b, _, err := readOptional(name, optional)
		if err != nil {
			return nil, &ConfigError{Name: "config file " + name, Reason: "cannot read", Err: err}
		}
		file = b
	}
	return loadNamed(file, name, environ, opts.ProviderType)
}

// load is Load once the file is read.
func load(file []byte, environ []string, providerType string) (*Config, error) {
	return loadNamed(file, "", environ, providerType)
}

// loadNamed is load with the file's name for errors.
func loadNamed(file []byte, fileName string, environ []string, providerType string) (*Config, error) {
	c := &Config{environ: environ}
	var errs []error
	if err := loadSettings(c, "OCEAN__", file, fileName, environ, ""); err != nil {
		errs = append(errs, err)
	}
	if err := loadSettings(&c.Application, "APPLICATION__", nil, "", environ, ""); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.envSecrets = EnvSecrets(environ)
	c.ApplyDefaults(providerType)
	if errs := c.checkSettings(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Default returns the configuration with every default applied and no
// environment read: the starting point for a Config built in code.
func Default(providerType string) *Config {
	c, err := Load(LoadOptions{Environ: []string{}, ProviderType: providerType})
	if err != nil {
		// The defaults are constants of this package; they always decode.
		panic(fmt.Sprintf("settings: defaults do not decode: %v", err))
	}
	return c
}

// ApplyDefaults fills what Load derives from the provider's type when a
// Config was built by hand: the integration type and identifier, and the
// defaults Load would have set.
func (c *Config) ApplyDefaults(providerType string) {
	if c.Integration.Type == "" {
		c.Integration.Type = providerType
	}
	c.Integration.Type = strings.ToLower(c.Integration.Type)
	if c.Integration.Identifier == "" && c.Integration.Type != "" {
		c.Integration.Identifier = "my-" + c.Integration.Type + "-integration"
	}
	c.EventListener.Type = strings.ToUpper(strings.TrimSpace(c.EventListener.Type))
	c.Port.BaseURL = strings.TrimRight(strings.TrimSpace(c.Port.BaseURL), "/")
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if c.Integration.Config == nil {
		c.Integration.Config = map[string]any{}
	}
	// Ocean still takes the old integration.config.appHost as the base URL
	// when base_url is unset, with a deprecation warning.
	if host, ok := c.Integration.Config["app_host"].(string); ok && c.BaseURL == "" && strings.TrimSpace(host) != "" {
		c.BaseURL = strings.TrimRight(strings.TrimSpace(host), "/")
		c.notices = append(c.notices, "OCEAN__INTEGRATION__CONFIG__APP_HOST is deprecated: it is used as the base URL because OCEAN__BASE_URL is unset; set OCEAN__BASE_URL (the chart's liveEvents.baseUrl) instead")
	}
	c.CreatePortResourcesOrigin = canonicalOrigin(c.CreatePortResourcesOrigin)
	c.ProcessingMode = strings.ToLower(strings.TrimSpace(c.ProcessingMode))
	c.Application.LogFormat = strings.ToLower(strings.TrimSpace(c.Application.LogFormat))
}

// Resource origins (OCEAN__CREATE_PORT_RESOURCES_ORIGIN), as Ocean names
// them. OriginOcean is Ocean's old name for OriginDefault.
const (
	OriginDefault = "Default"
	OriginOcean   = "Ocean"
	OriginEmpty   = "Empty"
	OriginPort    = "Port"
)

// canonicalOrigin spells a resource origin as Ocean does, whatever its case;
// an unknown one is kept for checkSettings to refuse.
func canonicalOrigin(s string) string {
	s = strings.TrimSpace(s)
	for _, o := range []string{OriginDefault, OriginOcean, OriginEmpty, OriginPort} {
		if strings.EqualFold(s, o) {
			return o
		}
	}
	return s
}

// Notices returns the warnings Load had about how settings were read
// (deprecated variables used); Run logs them once.
func (c *Config) Notices() []string { return append([]string(nil), c.notices...) }

// Validate checks the settings a run needs. needPort is false for runs that
// never talk to Port (a dry run with a local mapping).
func (c *Config) Validate(needPort bool) error {
	var errs []error
	switch c.EventListener.Type {
	case ListenerPolling, ListenerOnce, ListenerWebhooksOnly, ListenerKafka, ListenerActionsOnly, ListenerWebhook:
	default:
		errs = append(errs, &ConfigError{Name: "OCEAN__EVENT_LISTENER__TYPE",
			Reason: fmt.Sprintf("unknown listener type %q (want POLLING, ONCE, WEBHOOKS_ONLY, KAFKA, ACTIONS_ONLY or WEBHOOK)", c.EventListener.Type)})
	}
	if needPort {
		if err := c.checkPort(); len(err) > 0 {
			errs = append(errs, err...)
		}
	}
	if c.BaseURL != "" {
		if err := checkURL(c.BaseURL); err != nil {
			errs = append(errs, &ConfigError{Name: "OCEAN__BASE_URL", Reason: "invalid URL", Err: err})
		}
	}
	if c.Integration.Identifier == "" {
		errs = append(errs, &ConfigError{Name: "OCEAN__INTEGRATION__IDENTIFIER", Reason: "required but not set"})
	}
	errs = append(errs, c.checkSettings()...)
	errs = append(errs, c.ActionsProcessor.validate(c.EventListener.Type)...)
	return errors.Join(errs...)
}

// maxMinutes is the longest interval in minutes a Duration can hold.
const maxMinutes = math.MaxInt64 / int64(time.Minute)

// checkSettings checks the range of every numeric and duration setting and
// the form of the path prefix, each error naming its variable. A value out
// of range is refused rather than corrected: a negative time budget fails
// every live event, a zero batch size never writes, and an interval that
// overflows a Duration panics a ticker. Load runs it on what it read,
// Validate on a config however it was built.
func (c *Config) checkSettings() []error {
	var errs []error
	fail := func(name, reason string) { errs = append(errs, &ConfigError{Name: name, Reason: reason}) }
	atLeast := func(name string, v, lo int) {
		if v < lo {
			fail(name, fmt.Sprintf("must be at least %d", lo))
		}
	}
	minutes := func(name string, v, lo int) {
		if v < lo || int64(v) > maxMinutes {
			fail(name, fmt.Sprintf("must be between %d and %d minutes", lo, maxMinutes))
		}
	}
	positiveDuration := func(name string, d time.Duration) {
		if d <= 0 {
			fail(name, "must be positive")
		}
	}
	nonNegativeDuration := func(name string, d time.Duration) {
		if d < 0 {
			fail(name, "must not be negative")
		}
	}
	seconds := func(name string, f float64, zeroOK bool) {
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0) || f > maxSeconds:
			fail(name, "must be a finite number of seconds")
		case f < 0 || (f == 0 && !zeroOK):
			if zeroOK {
				fail(name, "must not be negative")
			} else {
				fail(name, "must be positive")
			}
		}
	}

	positiveDuration("OCEAN__CLIENT_TIMEOUT", c.ClientTimeout)
	nonNegativeDuration("OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", c.Port.PortAppConfigCacheTTL)
	minutes("OCEAN__SCHEDULED_RESYNC_INTERVAL", c.ScheduledResyncInterval, 0)
	if c.EventListener.Interval < 1 || float64(c.EventListener.Interval) > maxSeconds {
		fail("OCEAN__EVENT_LISTENER__INTERVAL", "must be a positive number of seconds")
	}
	seconds("OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT", c.EventListener.ConsumerPollTimeout, false)
	atLeast("OCEAN__EVENT_WORKERS_COUNT", c.EventWorkersCount, 1)
	atLeast("OCEAN__EVENT_QUEUE_SIZE", c.EventQueueSize, 1)
	seconds("OCEAN__MAX_EVENT_PROCESSING_SECONDS", c.MaxEventProcessingSeconds, false)
	seconds("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", c.MaxWaitSecondsBeforeShutdown, true)
	atLeast("OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", c.UpsertEntitiesBatchMaxLength, 1)
	atLeast("OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES", c.UpsertEntitiesBatchMaxSizeInBytes, 1)
	atLeast("OCEAN__DELETE_ENTITIES_MAX_BATCH_SIZE", c.DeleteEntitiesMaxBatchSize, 1)
	atLeast("OCEAN__YIELD_ITEMS_TO_PARSE_BATCH_SIZE", c.YieldItemsToParseBatchSize, 1)
	if _, err := c.IncrementalInterval(); err != nil {
		fail("OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", err.Error())
	}
	minutes("OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL", c.Integration.FullResyncInterval, 0)
	nonNegativeDuration("OCEAN__INTEGRATION__INCREMENTAL_OVERLAP", c.Integration.IncrementalOverlap)
	atLeast("OCEAN__RESYNC__MAP_WORKERS", c.Resync.MapWorkers, 0)
	atLeast("OCEAN__RESYNC__UPSERT_CONCURRENCY", c.Resync.UpsertConcurrency, 1)
	atLeast("OCEAN__RESYNC__KIND_CONCURRENCY", c.Resync.KindConcurrency, 1)
	atLeast("OCEAN__RESYNC__PAGES_IN_FLIGHT", c.Resync.PagesInFlight, 1)
	positiveDuration("OCEAN__RESYNC__ITEM_TIMEOUT", c.Resync.ItemTimeout)
	nonNegativeDuration("OCEAN__RESYNC__PROGRESS_INTERVAL", c.Resync.ProgressInterval)
	if c.Application.Port < 0 || c.Application.Port > 65535 {
		fail("APPLICATION__PORT", "not a TCP port (0 picks a free one)")
	}
	if err := CheckPathPrefix(c.PathPrefix); err != nil {
		fail("OCEAN__PATH_PREFIX", err.Error())
	}
	switch c.CreatePortResourcesOrigin {
	case "", OriginDefault, OriginOcean, OriginEmpty, OriginPort:
	default:
		fail("OCEAN__CREATE_PORT_RESOURCES_ORIGIN", "want Default, Empty or Port")
	}
	switch c.ProcessingMode {
	case "", "dsp", "ocean-core":
	default:
		fail("OCEAN__PROCESSING_MODE", "want dsp or ocean-core")
	}
	switch c.Application.LogFormat {
	case "", "text", "json":
	default:
		fail("APPLICATION__LOG_FORMAT", "want text or json")
	}
	return errs
}

// CheckPathPrefix accepts path segments of URL-unreserved characters
// (letters, digits, - . _ ~) separated by /, with or without surrounding
// slashes. The prefix becomes part of net/http route patterns, where { and
// } start wildcards (a malformed one panics) and spaces separate a method.
func CheckPathPrefix(p string) error {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("want path segments such as ocean/gitlab, without empty, . or .. segments")
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == '~') {
				return errors.New("may hold only letters, digits, - . _ ~ and / between segments")
			}
		}
	}
	return nil
}

// IncrementalInterval parses OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL:
// minutes, or "15m"/"1h" as Ocean accepts.
func (c *Config) IncrementalInterval() (time.Duration, error) {
	s := strings.TrimSpace(c.Integration.IncrementalSyncInterval)
	if s == "" {
		return 15 * time.Minute, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > maxMinutes {
			return 0, fmt.Errorf("must be between 1 and %d minutes", maxMinutes)
		}
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New(`want minutes or a duration such as "15m" or "1h"`)
	}
	return d, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an http or https URL")
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// Redacted returns the configuration as indented JSON with every secret
// replaced by [REDACTED], including the provider's fields in
// Integration.Config named in secretKeys (snake_case).
func (c *Config) Redacted(secretKeys ...string) string {
	cp := *c
	cp.Integration.Config = map[string]any{}
	hide := map[string]bool{}
	for _, k := range secretKeys {
		hide[snake(k)] = true
	}
	for k, v := range c.Integration.Config {
		if hide[k] || looksSecret(k) {
			cp.Integration.Config[k] = Mask
			continue
		}
		cp.Integration.Config[k] = v
	}
	b, err := json.MarshalIndent(struct {
		*Config
		Application ApplicationConfig
	}{&cp, c.Application}, "", "  ")
	if err != nil {
		return "{}"
	}
	// Secrets nested deeper in the provider's settings, or inside URLs.
	return newRedactor(configSecrets(c)...).scrub(string(b))
}

// looksSecret guards provider fields that were not declared secret.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"token", "secret", "password", "private_key", "api_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Secrets returns every secret value the configuration holds or was loaded
// with: its Secret fields, the provider's settings whose names say they are
// secret (at any depth of OCEAN__INTEGRATION__CONFIG), passwords in URLs,
// and the secrets Load found in the environment (see EnvSecrets). A program
// redacts what it prints with them (RedactLogger, RedactingWriter).
func (c *Config) Secrets() []string { return configSecrets(c) }

// Setting describes one configuration variable.
type Setting struct {
	// Env is the environment variable (OCEAN__PORT__CLIENT_ID).
	Env string
	// Default is the default value, "" when none.
	Default string
	// Required and Secret come from the field's tag.
	Required, Secret bool
}

// Settings lists the variables of a config struct (the framework's Config,
// or a provider's config for prefix OCEAN__INTEGRATION__CONFIG__), so that
// programs can document every setting and tests can check the docs.
func Settings(v any, prefix string) []Setting {
	var out []Setting
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, ok := parseTag(f)
			if !ok || !f.IsExported() {
				continue
			}
			name := prefix + strings.ToUpper(tag.name)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				walk(f.Type, name+"__")
				continue
			}
			out = append(out, Setting{Env: name, Default: tag.def, Required: tag.required, Secret: tag.secret})
		}
	}
	walk(rv.Type(), prefix)
	return out
}

// CheckPortClient checks what building a Port client needs, naming the
// variables: the client's own errors name neither them nor (since the URL
// may carry credentials) the value.
func (c *Config) CheckPortClient() error {
	errs := c.checkPort()
	if c.ClientTimeout < 0 {
		errs = append(errs, &ConfigError{Name: "OCEAN__CLIENT_TIMEOUT", Reason: "must not be negative"})
	}
	return errors.Join(errs...)
}

// checkPort checks the Port credentials and URL.
func (c *Config) checkPort() []error {
	var errs []error
	if c.Port.ClientID == "" {
		errs = append(errs, &ConfigError{Name: "OCEAN__PORT__CLIENT_ID", Reason: "required but not set"})
	}
	if c.Port.ClientSecret == "" {
		errs = append(errs, &ConfigError{Name: "OCEAN__PORT__CLIENT_SECRET", Reason: "required but not set"})
	}
	if err := checkURL(c.Port.BaseURL); err != nil {
		errs = append(errs, &ConfigError{Name: "OCEAN__PORT__BASE_URL", Reason: "invalid URL", Err: err})
	}
	return errs
}

// ActionsProcessorConfig is OCEAN__ACTIONS_PROCESSOR__…, Ocean's settings of
// the execution of self-service action runs.
type ActionsProcessorConfig struct {
	// Enabled runs the actions processor beside a POLLING, KAFKA or
	// WEBHOOK listener. ACTIONS_ONLY runs it whatever this says.
	Enabled bool `ocean:"enabled"`
	// RunsBufferHighWatermark caps the runs claimed and not yet finished.
	RunsBufferHighWatermark int `ocean:"runs_buffer_high_watermark,default=300"`
	// VisibilityTimeoutMs is how long a claimed run stays hidden from
	// other claimers before Port hands it out again (unless acknowledged).
	VisibilityTimeoutMs int `ocean:"visibility_timeout_ms,default=60000"`
	// PollCheckIntervalSeconds is the wait between claims that found
	// nothing.
	PollCheckIntervalSeconds int `ocean:"poll_check_interval_seconds,default=10"`
	// WorkersCount is the number of runs executed at once.
	WorkersCount int `ocean:"workers_count,default=3"`
	// MaxRunsBufferUtilPctPerAction is the share of the buffer one action
	// may fill; past it, its runs are excluded from claims until some end.
	MaxRunsBufferUtilPctPerAction int `ocean:"max_runs_buffer_util_pct_per_action,default=30"`
}

// validate checks the settings when the processor will run.
func (c ActionsProcessorConfig) validate(listener string) []error {
	if !c.Enabled && listener != ListenerActionsOnly {
		return nil
	}
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || (hi > 0 && v > hi) {
			reason := fmt.Sprintf("must be at least %d", lo)
			if hi > 0 {
				reason = fmt.Sprintf("must be between %d and %d", lo, hi)
			}
			errs = append(errs, &ConfigError{Name: "OCEAN__ACTIONS_PROCESSOR__" + name, Reason: reason})
		}
	}
	check("RUNS_BUFFER_HIGH_WATERMARK", c.RunsBufferHighWatermark, 1, 1000)
	check("VISIBILITY_TIMEOUT_MS", c.VisibilityTimeoutMs, 1, 600000)
	check("POLL_CHECK_INTERVAL_SECONDS", c.PollCheckIntervalSeconds, 1, 0)
	check("WORKERS_COUNT", c.WorkersCount, 1, 0)
	check("MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION", c.MaxRunsBufferUtilPctPerAction, 1, 100)
	return errs
}

// configSecrets lists every secret value of the config: its Secret fields,
// the provider's settings whose names say they are secret at any depth of
// Integration.Config (a JSON OCEAN__INTEGRATION__CONFIG nests them),
// passwords in URLs among those settings, and the secrets Load found in the
// environment.
func configSecrets(c *Config) []string {
	if c == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range secretValues(c) {
		add(s)
	}
	collectSecrets(c.Integration.Config, false, add)
	for _, s := range c.envSecrets {
		add(s)
	}
	return out
}
