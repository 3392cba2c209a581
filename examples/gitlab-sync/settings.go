package main

import (
	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/redisqueue"
)

// settingDoc documents one environment variable for --help and the README.
type settingDoc struct {
	Env, Default, Help string
	Required           bool
}

// help describes every setting. A test checks that every variable the
// config structs define is described here and listed in the README, so the
// docs cannot fall behind the code.
var help = map[string]string{
	"OCEAN__PORT__CLIENT_ID":                                        "Port client ID (secret)",
	"OCEAN__PORT__CLIENT_SECRET":                                    "Port client secret (secret)",
	"OCEAN__PORT__BASE_URL":                                         "Port API: https://api.getport.io (EU) or https://api.us.getport.io (US)",
	"OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL":                        "how long live events reuse the mapping before re-reading it",
	"OCEAN__INTEGRATION__IDENTIFIER":                                "the installation's identifier in Port",
	"OCEAN__INTEGRATION__TYPE":                                      "integration type; part of the datasource that marks entities as this integration's",
	"OCEAN__INTEGRATION__CONFIG":                                    "the whole integration config as one JSON object (alternative to the variables below)",
	"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED":                  "incremental resyncs: projects, merge requests, issues and pipelines list only what changed since the last sync; with ONCE every run is incremental and deletes nothing (full resyncs record the watermarks)",
	"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL":                 "minutes (or 15m / 1h) between incremental resyncs of a long-running listener",
	"OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL":                      "minutes of incremental resyncs before a full one (which deletes stale entities) is due (0: never)",
	"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP":                       "how far each incremental window reaches back before the last sync, against clock skew (0 or more)",
	"OCEAN__INTEGRATION__INCREMENTAL_STATE_FILE":                    "keep incremental watermarks in this file instead of in Port's incremental-sync cursors",
	"OCEAN__EVENT_LISTENER":                                         "the listener as JSON, e.g. {\"type\":\"ONCE\"}",
	"OCEAN__EVENT_LISTENER__TYPE":                                   "POLLING, ONCE, WEBHOOKS_ONLY, WEBHOOK, KAFKA (Port's change stream) or ACTIONS_ONLY",
	"OCEAN__EVENT_LISTENER__INTERVAL":                               "POLLING: seconds between checks of Port for resync requests and mapping changes",
	"OCEAN__EVENT_LISTENER__RESYNC_ON_START":                        "POLLING: resync when the program starts",
	"OCEAN__EVENT_LISTENER__RESYNC_TOKEN":                           "WEBHOOK: token POST /resync requires (Authorization: Bearer, or X-Ocean-Resync-Token); not in Ocean (secret)",
	"OCEAN__EVENT_LISTENER__APP_HOST":                               "WEBHOOK: this program's public URL; Port sends resync triggers to APP_HOST/resync",
	"OCEAN__EVENT_LISTENER__BROKERS":                                "KAFKA: brokers, comma-separated or a JSON list (default: Port's brokers)",
	"OCEAN__EVENT_LISTENER__SECURITY_PROTOCOL":                      "KAFKA: SASL_SSL or PLAINTEXT",
	"OCEAN__EVENT_LISTENER__AUTHENTICATION_MECHANISM":               "KAFKA: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN",
	"OCEAN__EVENT_LISTENER__KAFKA_SECURITY_ENABLED":                 "KAFKA: use SASL and TLS (credentials come from Port)",
	"OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT":                  "KAFKA: poll timeout in seconds",
	"OCEAN__INITIALIZE_PORT_RESOURCES":                              "create the integration, default blueprints and mapping in Port when missing",
	"OCEAN__CREATE_PORT_RESOURCES_ORIGIN":                           "who creates the default resources: Default (this program's; unset and Ocean mean the same), Empty (nothing, an empty mapping) or Port (Port provisions them when it can for the type and the organisation has USE_PROVISIONED_DEFAULTS, else Default)",
	"OCEAN__SCHEDULED_RESYNC_INTERVAL":                              "minutes between scheduled full resyncs (unset: none)",
	"OCEAN__SEND_RAW_DATA_EXAMPLES":                                 "send a few raw items per kind to Port's mapping editor",
	"OCEAN__BASE_URL":                                               "this program's public URL; set it to turn on GitLab webhooks (live events)",
	"OCEAN__PATH_PREFIX":                                            "serve the live-event routes under /PREFIX (letters, digits, - . _ ~, segments separated by /)",
	"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS":                  "let jq's env/$ENV see the environment (this program's secrets are always hidden)",
	"OCEAN__CLIENT_TIMEOUT":                                         "timeout of each attempt of a Port or GitLab request (a timed-out GitLab read is retried): seconds, as in Ocean, or a duration such as 90s (positive)",
	"OCEAN__SSL__PORT__VERIFY":                                      "verify Port's TLS certificate (false: accept any; logged at start)",
	"OCEAN__SSL__PORT__X509__STRICT":                                "accepted for compatibility: Go never applies OpenSSL's strict RFC 5280 checks that false turns off",
	"OCEAN__SSL__PORT__CA_BUNDLE":                                   "PEM file of CAs trusted for Port beside the system's (not in Ocean)",
	"OCEAN__SSL__THIRD_PARTY__VERIFY":                               "verify GitLab's TLS certificate (false: accept any, e.g. a self-signed one; logged at start)",
	"OCEAN__SSL__THIRD_PARTY__X509__STRICT":                         "accepted for compatibility: Go never applies OpenSSL's strict RFC 5280 checks that false turns off",
	"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE":                            "PEM file of CAs trusted for GitLab beside the system's, e.g. a self-managed instance's private CA (not in Ocean)",
	"OCEAN__SSL__CA_DIR":                                            "folder whose *.crt files are trusted for Port and GitLab beside the system's: where Port's chart mounts selfSignedCertificate (not in Ocean)",
	"OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH":                           "file holding GitLab's OAuth token (Port's Helm chart keeps it fresh): re-read on a 401, and the request retried once",
	"OCEAN__EVENT_WORKERS_COUNT":                                    "live-event workers, at least 1 (events for one object stay in order)",
	"OCEAN__EVENT_QUEUE_SIZE":                                       "live events held before the webhook route answers 503 (at least 1)",
	"OCEAN__EVENTS_DEBUG_LOGGING":                                   "log the body of every authenticated live-event delivery (as text, secrets redacted, cut at 1 MiB)",
	"OCEAN__PROCESSING_MODE":                                        "accepted (dsp or ocean-core): this program always maps items and writes entities itself, as ocean-core; logged once at start",
	"OCEAN__LAKEHOUSE_ENABLED":                                      "accepted: no raw data is sent to Port's lakehouse; logged once at start",
	"OCEAN__MAX_EVENT_PROCESSING_SECONDS":                           "time budget of one live event, in seconds (positive)",
	"OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN":                       "seconds a shutdown waits for queued live events (0: none)",
	"OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH":                       "entities per bulk upsert (Port allows 20)",
	"OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES":                "bytes per bulk upsert (Port allows 1 MiB)",
	"OCEAN__DELETE_ENTITIES_MAX_BATCH_SIZE":                         "entities per bulk delete (Port allows 100)",
	"OCEAN__YIELD_ITEMS_TO_PARSE_BATCH_SIZE":                        "accepted for compatibility (itemsToParse expands per page here)",
	"OCEAN__RESOURCES_PATH":                                         "a folder of default resources that replaces the built-in ones when it exists",
	"OCEAN__PORT_APP_CONFIG_FILE":                                   "read the mapping from this file instead of from Port (same as --config)",
	"OCEAN__RESYNC__MAP_WORKERS":                                    "goroutines mapping pages (0: one per CPU)",
	"OCEAN__RESYNC__UPSERT_CONCURRENCY":                             "bulk upserts in flight across kinds",
	"OCEAN__RESYNC__KIND_CONCURRENCY":                               "kinds fetched at once (when createMissingRelatedEntities allows)",
	"OCEAN__RESYNC__PAGES_IN_FLIGHT":                                "pages buffered per kind between fetching and mapping",
	"OCEAN__RESYNC__SEQUENTIAL":                                     "process kinds and pages one at a time, as the Python framework does",
	"OCEAN__RESYNC__SKIP_UNCHANGED":                                 "compare with what Port holds (read once per resync) and write only entities that changed",
	"OCEAN__RESYNC__ITEM_TIMEOUT":                                   "jq time budget per item",
	"OCEAN__RESYNC__PROGRESS_INTERVAL":                              "how often a resync logs its progress per kind (0: never)",
	"OCEAN__ACTIONS_PROCESSOR__ENABLED":                             "run self-service action runs (trigger_pipeline) beside POLLING, KAFKA or WEBHOOK; ACTIONS_ONLY always runs them",
	"OCEAN__ACTIONS_PROCESSOR__RUNS_BUFFER_HIGH_WATERMARK":          "action runs claimed and not yet finished",
	"OCEAN__ACTIONS_PROCESSOR__VISIBILITY_TIMEOUT_MS":               "how long a claimed run stays hidden before Port hands it out again",
	"OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS":         "wait between claims that found nothing",
	"OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT":                       "action runs executed at once",
	"OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION": "one action's share of the buffer (percent) before it is left out of claims",
	"APPLICATION__LOG_LEVEL":                                        "DEBUG, INFO, WARNING, ERROR or CRITICAL",
	"APPLICATION__LOG_FORMAT":                                       "text or json (the --log-format flag wins; not in Ocean)",
	"APPLICATION__PORT":                                             "HTTP port of the webhook, health and metrics routes",
	"APPLICATION__ENABLE_HTTP_LOGGING":                              "accepted for compatibility",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST":                       "GitLab instance URL (gitlab.com or self-managed, with or without a path prefix)",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_URL":                        "the same, as Port's install docs spell it",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN":                      "GitLab token: personal, group, project, service-account or OAuth (secret)",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN_TYPE":                 "auth header: auto (glpat- and 20-character tokens PRIVATE-TOKEN, glcbt- JOB-TOKEN, others Bearer), private, oauth or job",
	"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET":                    "secret set on the webhooks created and checked on every delivery (secret); unset: derived from the Port client secret and the integration identifier",
	"OCEAN__INTEGRATION__CONFIG__MAX_CONCURRENCY":                   "GitLab requests in flight",
	"OCEAN__INTEGRATION__CONFIG__REQUESTS_PER_MINUTE":               "proactive GitLab rate limit (0: 2,000/min on gitlab.com, else from RateLimit headers)",
	"OCEAN__INTEGRATION__CONFIG__ENDPOINT_LIMITS":                   "apply gitlab.com's per-endpoint limits (unset: on for gitlab.com only)",
	"OCEAN__INTEGRATION__CONFIG__USE_GRAPH_QL":                      "batch languages and included files through GraphQL",
	"OCEAN__INTEGRATION__CONFIG__USE_GRAPHQL":                       "the same, other spelling; wins when set",
	"OCEAN__INTEGRATION__CONFIG__ALLOW_UNAUTHENTICATED_WEBHOOKS":    "accept webhook deliveries without a configured webhookSecret (not recommended; logged at start)",
	"OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE":                     "largest repository file the file, folder, skill and plugin kinds and file:// values read (bytes, default 10 MiB); larger ones are skipped with a warning naming this setting",
	"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES":                       "retries of one GitLab request (429, 5xx, network); 0: none",
	"OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT":                    "longest wait before one retry, whatever Retry-After says",
}

// defaults that are computed rather than constant.
var computedDefaults = map[string]string{
	"OCEAN__INTEGRATION__IDENTIFIER":          "my-gitlab-v2-integration",
	"OCEAN__INTEGRATION__TYPE":                gitlab.ProviderType,
	"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST": gitlab.DefaultHost,
}

// settings lists every setting the program reads, in config order.
func settings() []settingDoc {
	var all []ocean.Setting
	all = append(all, ocean.Settings(&ocean.Config{}, "OCEAN__")...)
	all = append(all, ocean.Setting{Env: "OCEAN__EVENT_LISTENER"})
	all = append(all, ocean.Settings(&ocean.ApplicationConfig{}, "APPLICATION__")...)
	all = append(all, ocean.Settings(&gitlab.Config{}, "OCEAN__INTEGRATION__CONFIG__")...)
	out := make([]settingDoc, 0, len(all))
	for _, s := range all {
		def := s.Default
		if c, ok := computedDefaults[s.Env]; ok {
			def = c
		}
		out = append(out, settingDoc{Env: s.Env, Default: def, Help: help[s.Env], Required: s.Required})
	}
	// The Redis live-event queue documents its own settings.
	for _, rs := range redisqueue.Settings() {
		out = append(out, settingDoc{Env: rs.Env, Default: rs.Default, Help: rs.Help})
	}
	return out
}
