package main

import "github.com/oceankit/oceankit/program"

// help describes GitLab's settings, and says some of the framework's in
// GitLab's terms; package program describes the rest. A test checks that
// every variable the program reads is described and listed in
// docs/configuration.md, so the docs cannot fall behind the code.
var help = map[string]string{
	"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED": "incremental resyncs: projects, merge requests, issues and pipelines list only what changed since the last sync; with ONCE every run is incremental and deletes nothing (full resyncs record the watermarks)",
	"OCEAN__BASE_URL":                                            "this program's public URL; set it to turn on GitLab webhooks (live events)",
	"OCEAN__CLIENT_TIMEOUT":                                      "timeout of each attempt of a Port or GitLab request (a timed-out GitLab read is retried): seconds, as in Ocean, or a duration such as 90s (positive)",
	"OCEAN__SSL__THIRD_PARTY__VERIFY":                            "verify GitLab's TLS certificate (false: accept any, e.g. a self-signed one; logged at start)",
	"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE":                         "PEM file of CAs trusted for GitLab beside the system's, e.g. a self-managed instance's private CA (not in Ocean)",
	"OCEAN__SSL__CA_DIR":                                         "folder whose *.crt files are trusted for Port and GitLab beside the system's: where Port's chart mounts selfSignedCertificate (not in Ocean)",
	"OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH":                        "file holding GitLab's OAuth token (Port's Helm chart keeps it fresh): re-read on a 401, and the request retried once",
	"OCEAN__ACTIONS_PROCESSOR__ENABLED":                          "run self-service action runs (trigger_pipeline) beside POLLING, KAFKA or WEBHOOK; ACTIONS_ONLY always runs them",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST":                    "GitLab instance URL (gitlab.com or self-managed, with or without a path prefix)",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_URL":                     "the same, as Port's install docs spell it",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN":                   "GitLab token: personal, group, project, service-account or OAuth (secret)",
	"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN_TYPE":              "auth header: auto (glpat- and 20-character tokens PRIVATE-TOKEN, glcbt- JOB-TOKEN, others Bearer), private, oauth or job",
	"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET":                 "secret set on the webhooks created and checked on every delivery (secret); unset: derived from the Port client secret and the integration identifier",
	"OCEAN__INTEGRATION__CONFIG__MAX_CONCURRENCY":                "GitLab requests in flight",
	"OCEAN__INTEGRATION__CONFIG__REQUESTS_PER_MINUTE":            "proactive GitLab rate limit (0: 2,000/min on gitlab.com, else from RateLimit headers)",
	"OCEAN__INTEGRATION__CONFIG__ENDPOINT_LIMITS":                "apply gitlab.com's per-endpoint limits (unset: on for gitlab.com only)",
	"OCEAN__INTEGRATION__CONFIG__USE_GRAPH_QL":                   "batch languages and included files through GraphQL",
	"OCEAN__INTEGRATION__CONFIG__USE_GRAPHQL":                    "the same, other spelling; wins when set",
	"OCEAN__INTEGRATION__CONFIG__ALLOW_UNAUTHENTICATED_WEBHOOKS": "accept webhook deliveries without a configured webhookSecret (not recommended; logged at start)",
	"OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE":                  "largest repository file the file, folder, skill and plugin kinds and file:// values read (bytes, default 10 MiB); larger ones are skipped with a warning naming this setting",
	"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES":                    "retries of one GitLab request (429, 5xx, network); 0: none",
	"OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT":                 "longest wait before one retry, whatever Retry-After says",
}

// allSettings lists every setting gitlab-sync reads, in config order.
func allSettings() []program.Setting {
	return program.Settings(spec())
}
