package settings

import (
	"strings"
	"testing"
	"time"
)

// fuzzSecret is a secret every fuzzed environment holds, twice: as the Port
// client secret and inside a JSON OCEAN__INTEGRATION__CONFIG. It has lower
// case letters, so a variable name (errors print them upper-cased) cannot
// spell it.
const fuzzSecret = "fz-Secret-Value-7q"

// fuzzProviderConfig has a field of every kind DecodeIntegrationConfig
// decodes.
type fuzzProviderConfig struct {
	Host     string         `ocean:"gitlabHost,default=https://gitlab.com"`
	Token    Secret         `ocean:"gitlabToken"`
	Pages    int            `ocean:"pageSize,default=100"`
	Big      int64          `ocean:"big"`
	Small    int32          `ocean:"small"`
	Ratio    float64        `ocean:"ratio"`
	On       bool           `ocean:"on"`
	Maybe    *bool          `ocean:"maybe"`
	Wait     time.Duration  `ocean:"wait,default=5s"`
	Projects []string       `ocean:"projects"`
	Extra    map[string]any `ocean:"extra"`
	Anything any            `ocean:"anything"`
	Nested   struct {
		Key  Secret `ocean:"apiKey"`
		Size int    `ocean:"size"`
	} `ocean:"nested"`
}

// FuzzSettingsFromEnv loads settings from a fuzzed environment and
// config.yaml, and checks that nothing panics, that what loads is in
// range and routable, and that no error, printed config or jq environment
// carries a secret.
func FuzzSettingsFromEnv(f *testing.F) {
	seeds := [][5]string{
		{"OCEAN__EVENT_LISTENER", `{"type":"ONCE"}`, "OCEAN__EVENT_LISTENER__INTERVAL", "5", ""},
		{"OCEAN__INTEGRATION__CONFIG", `{"gitlabHost":"https://gitlab.internal",}`, "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN", "x", ""},
		{"OCEAN__INTEGRATION__CONFIG", "not json", "ocean__integration__config__page_size", "7", ""},
		{"OCEAN__INTEGRATION__CONFIG", "[1]", "OCEAN__PORT", `{"clientId":"a",}`, ""},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "-1", "OCEAN__CLIENT_TIMEOUT", "1e300", ""},
		{"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP", "-5m", "OCEAN__SCHEDULED_RESYNC_INTERVAL", "9223372036854775807", ""},
		{"OCEAN__PATH_PREFIX", "{x}", "OCEAN__PATH_PREFIX", "a}", ""},
		{"OCEAN__PATH_PREFIX", "/ok/prefix/", "APPLICATION__PORT", "70000", ""},
		{"OCEAN__PORT__CLIENT_ID", "id\n", "OCEAN__PORT__CLIENT_SECRET", "a\x00b", ""},
		{"OCEAN__LIVE_EVENTS__REDIS__URL", "redis://u:" + fuzzSecret + "@h:6379", "COPY", "x" + fuzzSecret + "y", ""},
		{"OCEAN__INTEGRATION__CONFIG__EXTRA", `{"a":{"b":[1,2]}}`, "OCEAN__INTEGRATION__CONFIG__PROJECTS", `["a","b"]`, ""},
		{"OCEAN__INTEGRATION__CONFIG__WAIT", "NaN", "OCEAN__INTEGRATION__CONFIG__BIG", "1e19", ""},
		{"OCEAN__RESYNC", `{"itemTimeout":"-1s"}`, "OCEAN__RESYNC__MAP_WORKERS", "-1", ""},
		{"OCEAN__X__", "1", "OCEAN______", "2", ""},
		{"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "1h", "", "", "port:\n  clientId: \"{{ from env COPY }}\"\nintegration:\n  config:\n    nested: {apiKey: k}\n"},
		{"COPY", "v", "", "", "eventListener: [1]\nscheduledResyncInterval: 1e300\n"},
		{"", "", "", "", "- not a mapping"},
		{"", "", "", "", "integration:\n  config: 5\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2, yaml string) {
		env := []string{
			"OCEAN__PORT__CLIENT_SECRET=" + fuzzSecret,
			`OCEAN__INTEGRATION__CONFIG={"gitlabToken":"` + fuzzSecret + `"}`,
			"HOME=/home/ocean",
		}
		if name1 != "" {
			env = append(env, name1+"="+value1)
		}
		if name2 != "" {
			env = append(env, name2+"="+value2)
		}
		noSecret := func(what, s string) {
			t.Helper()
			if strings.Contains(s, fuzzSecret) {
				t.Fatalf("%s carries the secret: %s", what, s)
			}
		}
		for _, s := range EnvSecrets(env) {
			_ = s // only must not panic
		}

		c, err := load([]byte(yaml), env, "t")
		if err != nil {
			noSecret("load error", err.Error())
			return
		}
		if errs := c.checkSettings(); len(errs) > 0 {
			t.Fatalf("load accepted settings out of range: %v", errs)
		}
		if err := c.Validate(true); err != nil {
			noSecret("Validate error", err.Error())
		}
		if err := c.Validate(false); err != nil {
			noSecret("Validate error", err.Error())
		}
		if c.ClientTimeout <= 0 || c.Resync.ItemTimeout <= 0 || c.Integration.IncrementalOverlap < 0 ||
			c.EventQueueSize < 1 || c.EventWorkersCount < 1 || !(c.MaxEventProcessingSeconds > 0) {
			t.Fatalf("a loaded setting is out of range: %+v", c)
		}
		if _, err := c.IncrementalInterval(); err != nil {
			t.Fatalf("a loaded incremental interval does not parse: %v", err)
		}
		secrets := configSecrets(c)
		holdsSecret := false
		for _, s := range secrets {
			if s == fuzzSecret {
				holdsSecret = true
			}
		}
		if holdsSecret {
			noSecret("Redacted", c.Redacted())
		}

		var pc fuzzProviderConfig
		if err := DecodeIntegrationConfig(c, &pc); err != nil {
			noSecret("DecodeIntegrationConfig error", err.Error())
		}
		if strings.TrimSpace(pc.Token.Value()) != pc.Token.Value() {
			t.Fatalf("a secret kept surrounding whitespace")
		}

		// A fuzzed file name could be /dev/zero; the mapping file is not
		// what this target is about.
		c.PortAppConfigFile = ""
		for _, kv := range c.JQEnviron(env) {
			name, _, _ := strings.Cut(kv, "=")
			if IsOwnVariable(name) {
				t.Fatalf("jq sees a setting: %s", name)
			}
			if holdsSecret {
				noSecret("jq env", kv)
			}
		}
	})
}
