package program

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"

	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

// Setting documents one environment variable a program reads.
type Setting struct {
	// Env is the variable (OCEAN__PORT__CLIENT_ID).
	Env string
	// Default is its default value, "" when none.
	Default string
	// Help says what it does.
	Help string
	// Required settings have no default and must be set.
	Required bool
}

// frameworkHelp describes the framework's settings. Spec.Help adds the
// provider's and may say a framework setting in the provider's terms.
var frameworkHelp = map[string]string{
	"OCEAN__PORT__CLIENT_ID":                                        "Port client ID (secret)",
	"OCEAN__PORT__CLIENT_SECRET":                                    "Port client secret (secret)",
	"OCEAN__PORT__BASE_URL":                                         "Port API: https://api.getport.io (EU) or https://api.us.getport.io (US)",
	"OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL":                        "how long live events reuse the mapping before re-reading it",
	"OCEAN__INTEGRATION__IDENTIFIER":                                "the installation's identifier in Port",
	"OCEAN__INTEGRATION__TYPE":                                      "integration type; part of the datasource that marks entities as this integration's",
	"OCEAN__INTEGRATION__CONFIG":                                    "the whole integration config as one JSON object (alternative to the variables below)",
	"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED":                  "incremental resyncs: kinds that support it list only what changed since the last sync; with ONCE every run is incremental and deletes nothing (full resyncs record the watermarks)",
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
	"OCEAN__BASE_URL":                                               "this program's public URL; set it to turn on the provider's webhooks (live events)",
	"OCEAN__PATH_PREFIX":                                            "serve the live-event routes under /PREFIX (letters, digits, - . _ ~, segments separated by /)",
	"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS":                  "let jq's env/$ENV see the environment (this program's secrets are always hidden)",
	"OCEAN__CLIENT_TIMEOUT":                                         "timeout of each attempt of a Port or third-party request: seconds, as in Ocean, or a duration such as 90s (positive)",
	"OCEAN__SSL__PORT__VERIFY":                                      "verify Port's TLS certificate (false: accept any; logged at start)",
	"OCEAN__SSL__PORT__X509__STRICT":                                "accepted for compatibility: Go never applies OpenSSL's strict RFC 5280 checks that false turns off",
	"OCEAN__SSL__PORT__CA_BUNDLE":                                   "PEM file of CAs trusted for Port beside the system's (not in Ocean)",
	"OCEAN__SSL__THIRD_PARTY__VERIFY":                               "verify the third-party API's TLS certificate (false: accept any, e.g. a self-signed one; logged at start)",
	"OCEAN__SSL__THIRD_PARTY__X509__STRICT":                         "accepted for compatibility: Go never applies OpenSSL's strict RFC 5280 checks that false turns off",
	"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE":                            "PEM file of CAs trusted for the third-party API beside the system's (not in Ocean)",
	"OCEAN__SSL__CA_DIR":                                            "folder whose *.crt files are trusted for Port and the third-party API beside the system's: where Port's chart mounts selfSignedCertificate (not in Ocean)",
	"OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH":                           "file holding the third-party API's OAuth token (Port's Helm chart keeps it fresh), for providers that read it",
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
	"OCEAN__RESYNC__DECODE_ALL_FIELDS":                              "decode every listed item whole instead of only the keys the mapping, the framework and the provider read",
	"OCEAN__WEBHOOK__MAX_BODY_BYTES":                                "largest live-event body read; larger ones are answered 413 unread",
	"OCEAN__WEBHOOK__INFLIGHT_BODY_BYTES":                           "bytes of bodies read at once across deliveries",
	"OCEAN__WEBHOOK__BODY_WAIT":                                     "wait for that budget before answering 503 (negative: none)",
	"OCEAN__WEBHOOK__QUEUE_BYTES":                                   "bytes of the events in the in-process queue before answering 503",
	"OCEAN__WEBHOOK__READ_HEADER_TIMEOUT":                           "time to read a request's headers",
	"OCEAN__WEBHOOK__READ_TIMEOUT":                                  "time to read a whole request",
	"OCEAN__WEBHOOK__IDLE_TIMEOUT":                                  "keep-alive connections idle that long are closed",
	"OCEAN__WEBHOOK__REJECT_LOG_INTERVAL":                           "each kind of rejected request logs at most once per interval",
	"OCEAN__ACTIONS_PROCESSOR__ENABLED":                             "run self-service action runs beside POLLING, KAFKA or WEBHOOK; ACTIONS_ONLY always runs them",
	"OCEAN__ACTIONS_PROCESSOR__RUNS_BUFFER_HIGH_WATERMARK":          "action runs claimed and not yet finished",
	"OCEAN__ACTIONS_PROCESSOR__VISIBILITY_TIMEOUT_MS":               "how long a claimed run stays hidden before Port hands it out again",
	"OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS":         "wait between claims that found nothing",
	"OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT":                       "action runs executed at once",
	"OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION": "one action's share of the buffer (percent) before it is left out of claims",
	"APPLICATION__LOG_LEVEL":                                        "DEBUG, INFO, WARNING, ERROR or CRITICAL",
	"APPLICATION__LOG_FORMAT":                                       "text or json (the --log-format flag wins; not in Ocean)",
	"APPLICATION__PORT":                                             "HTTP port of the webhook, health and metrics routes",
	"APPLICATION__ENABLE_HTTP_LOGGING":                              "accepted for compatibility",
}

// Settings lists every setting the program spec describes reads, in
// config order: the framework's (OCEAN__…), the application's
// (APPLICATION__…), the provider's (OCEAN__INTEGRATION__CONFIG__…, from
// Spec.Settings) and the Redis live-event queue's. A setting without a
// description has an empty Help; a test of the program can require one.
func Settings(spec Spec) []Setting {
	var all []settings.Setting
	all = append(all, settings.Settings(&settings.Config{}, "OCEAN__")...)
	all = append(all, settings.Setting{Env: "OCEAN__EVENT_LISTENER"})
	all = append(all, settings.Settings(&settings.ApplicationConfig{}, "APPLICATION__")...)
	if spec.Settings != nil {
		all = append(all, settings.Settings(spec.Settings, "OCEAN__INTEGRATION__CONFIG__")...)
	}
	defaults := map[string]string{}
	if spec.Type != "" {
		defaults["OCEAN__INTEGRATION__TYPE"] = spec.Type
		defaults["OCEAN__INTEGRATION__IDENTIFIER"] = "my-" + spec.Type + "-integration"
	}
	tagHelp := helpTags(spec.Settings, "OCEAN__INTEGRATION__CONFIG__")
	out := make([]Setting, 0, len(all))
	for _, s := range all {
		def := s.Default
		if c, ok := defaults[s.Env]; ok && def == "" {
			def = c
		}
		if c, ok := spec.Defaults[s.Env]; ok {
			def = c
		}
		h, ok := spec.Help[s.Env]
		if !ok {
			h, ok = tagHelp[s.Env]
		}
		if !ok {
			h = frameworkHelp[s.Env]
		}
		out = append(out, Setting{Env: s.Env, Default: def, Help: h, Required: s.Required})
	}
	// The Redis live-event queue documents its own settings.
	for _, rs := range redisqueue.Settings() {
		out = append(out, Setting{Env: rs.Env, Default: rs.Default, Help: rs.Help})
	}
	return out
}

// helpTags returns the descriptions in the `help` tags of the fields of
// the struct v points to, by variable name: a field tagged
// `ocean:"trackerUrl" help:"the tracker's API"` describes
// PREFIX + TRACKER_URL.
func helpTags(v any, prefix string) map[string]string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]string{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("ocean"), ",")
		if h := f.Tag.Get("help"); name != "" && h != "" {
			out[prefix+upperSnake(name)] = h
		}
	}
	return out
}

// upperSnake turns a camelCase setting name into its variable's form:
// trackerUrl → TRACKER_URL, useGraphQL → USE_GRAPH_QL.
func upperSnake(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (!unicode.IsUpper(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// helpWidth is the width --help fits in.
const helpWidth = 100

// usage writes --help: the usage lines, examples and flags first, then
// every setting with its default and meaning, wrapped to helpWidth
// columns.
func usage(spec Spec, fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage: %s [flags]\n       %s probe [PATH] [--mode shallow] [--kinds a,b]   (also as: ocean probe …)\n",
		wrap(spec.Summary, 0), spec.Name, spec.Name)
	if len(spec.Examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range spec.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
	fmt.Fprintf(w, "\nSettings (environment variables, as Ocean names them; also read from ./.env and ./config.yaml):\n\n")
	for _, s := range Settings(spec) {
		line := "  " + s.Env
		switch {
		case s.Required:
			line += "  (required)"
		case s.Default != "":
			line += "  default: " + s.Default
		}
		fmt.Fprintln(w, line)
		if s.Help != "" {
			fmt.Fprintln(w, wrap(s.Help, 6))
		}
	}
}

// printFlags writes a flag set's flags, each description wrapped and
// indented under its flag.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			help += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintln(w, line)
		fmt.Fprintln(w, wrap(help, 6))
	})
}

// wrap breaks text into lines of at most helpWidth columns (a longer word
// stays whole), each indented by indent spaces.
func wrap(text string, indent int) string {
	pad := strings.Repeat(" ", indent)
	var lines []string
	line := pad
	for _, word := range strings.Fields(text) {
		if len(line) > indent && len(line)+1+len(word) > helpWidth {
			lines = append(lines, line)
			line = pad
		}
		if len(line) > indent {
			line += " "
		}
		line += word
	}
	lines = append(lines, line)
	return strings.Join(lines, "\n")
}
