package settings_test

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
)

// configErrorNames returns the variables named by the ConfigErrors in err.
func configErrorNames(err error) []string {
	var names []string
	var walk func(error)
	walk = func(e error) {
		var ce *settings.ConfigError
		if errors.As(e, &ce) && ce == e {
			names = append(names, ce.Name)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return names
}

// A JSON-valued variable that does not parse as an object is an error
// naming it, also when variables below it would otherwise have replaced it.
func TestMalformedJSONObjectsAreConfigErrors(t *testing.T) {
	t.Parallel()
	const secret = "glpat-do-not-print-0001"
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"trailing comma beside a field variable",
			[]string{`OCEAN__INTEGRATION__CONFIG={"gitlabHost":"https://gitlab.internal","gitlabToken":"` + secret + `",}`, "OCEAN__INTEGRATION__CONFIG__MAX_RETRIES=3"},
			"OCEAN__INTEGRATION__CONFIG"},
		{"trailing comma alone",
			[]string{`OCEAN__INTEGRATION__CONFIG={"gitlabHost":"https://gitlab.internal",}`},
			"OCEAN__INTEGRATION__CONFIG"},
		{"not JSON beside a field variable",
			[]string{"OCEAN__INTEGRATION__CONFIG=not json", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + secret},
			"OCEAN__INTEGRATION__CONFIG"},
		{"not JSON alone", []string{"OCEAN__INTEGRATION__CONFIG=not json"}, "OCEAN__INTEGRATION__CONFIG"},
		{"an array", []string{"OCEAN__INTEGRATION__CONFIG=[1]"}, "OCEAN__INTEGRATION__CONFIG"},
		{"an array beside a field variable", []string{"OCEAN__INTEGRATION__CONFIG=[1]", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + secret}, "OCEAN__INTEGRATION__CONFIG"},
		{"null", []string{"OCEAN__INTEGRATION__CONFIG=null"}, "OCEAN__INTEGRATION__CONFIG"},
		{"Port object with a trailing comma beside a field variable",
			[]string{`OCEAN__PORT={"clientId":"abc",}`, "OCEAN__PORT__CLIENT_SECRET=" + secret},
			"OCEAN__PORT"},
		{"Port object alone", []string{`OCEAN__PORT={"clientSecret":"` + secret + `",}`}, "OCEAN__PORT"},
		{"event listener not an object", []string{"OCEAN__EVENT_LISTENER=ONCE"}, "OCEAN__EVENT_LISTENER"},
		{"event listener array beside a field", []string{`OCEAN__EVENT_LISTENER=["ONCE"]`, "OCEAN__EVENT_LISTENER__INTERVAL=5"}, "OCEAN__EVENT_LISTENER"},
		{"nested object inside a field's parent", []string{`OCEAN__RESYNC={"mapWorkers":1`}, "OCEAN__RESYNC"},
		{"child variable before its parent in sort order",
			[]string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + secret, "ocean__integration__config={bad"},
			"OCEAN__INTEGRATION__CONFIG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := settings.Load(settings.LoadOptions{Environ: tc.env, ProviderType: "gitlab-v2"})
			require.Error(t, err)
			assert.Contains(t, configErrorNames(err), tc.want, err.Error())
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "gitlab.internal", "the value is never quoted")
		})
	}
}

func TestWellFormedJSONObjectsStillMerge(t *testing.T) {
	t.Parallel()
	for _, env := range [][]string{
		{`OCEAN__INTEGRATION__CONFIG={"gitlabHost":"https://g.example.com"}`, "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=tok"},
		{`OCEAN__INTEGRATION__CONFIG= {"gitlabHost":"https://g.example.com","gitlabToken":"tok"} `},
		{"OCEAN__INTEGRATION__CONFIG=", "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=https://g.example.com", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=tok"},
	} {
		c, err := settings.Load(settings.LoadOptions{Environ: env, ProviderType: "gitlab-v2"})
		require.NoError(t, err, env)
		assert.Equal(t, "https://g.example.com", c.Integration.Config["gitlab_host"], env)
		assert.Equal(t, "tok", c.Integration.Config["gitlab_token"], env)
	}
}

// Every numeric and duration setting is range-checked, each error naming
// its variable; the boundary values that mean something are accepted.
func TestSettingRanges(t *testing.T) {
	t.Parallel()
	bad := []struct{ name, value string }{
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "-1"},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "0"},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "NaN"},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "+Inf"},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "1e300"},
		{"OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "-0.5"},
		{"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP", "-5m"},
		{"OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL", "-1"},
		{"OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL", "9223372036854775807"},
		{"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "0"},
		{"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "-15m"},
		{"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "9223372036854775807"},
		{"OCEAN__EVENT_QUEUE_SIZE", "0"},
		{"OCEAN__EVENT_QUEUE_SIZE", "-10"},
		{"OCEAN__EVENT_WORKERS_COUNT", "0"},
		{"OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", "0"},
		{"OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES", "-1"},
		{"OCEAN__DELETE_ENTITIES_MAX_BATCH_SIZE", "0"},
		{"OCEAN__YIELD_ITEMS_TO_PARSE_BATCH_SIZE", "0"},
		{"OCEAN__CLIENT_TIMEOUT", "0"},
		{"OCEAN__CLIENT_TIMEOUT", "-30s"},
		{"OCEAN__CLIENT_TIMEOUT", "1e300"},
		{"OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "-1"},
		{"OCEAN__SCHEDULED_RESYNC_INTERVAL", "-1"},
		{"OCEAN__SCHEDULED_RESYNC_INTERVAL", "9223372036854775807"},
		{"OCEAN__EVENT_LISTENER__INTERVAL", "0"},
		{"OCEAN__EVENT_LISTENER__INTERVAL", "9223372036854775807"},
		{"OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT", "0"},
		{"OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT", "-1"},
		{"OCEAN__RESYNC__MAP_WORKERS", "-1"},
		{"OCEAN__RESYNC__UPSERT_CONCURRENCY", "0"},
		{"OCEAN__RESYNC__KIND_CONCURRENCY", "0"},
		{"OCEAN__RESYNC__PAGES_IN_FLIGHT", "-1"},
		{"OCEAN__RESYNC__ITEM_TIMEOUT", "0"},
		{"OCEAN__RESYNC__ITEM_TIMEOUT", "-1s"},
		{"OCEAN__RESYNC__PROGRESS_INTERVAL", "-1s"},
		{"APPLICATION__PORT", "70000"},
		{"APPLICATION__PORT", "-1"},
	}
	for _, tc := range bad {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := settings.Load(settings.LoadOptions{Environ: []string{tc.name + "=" + tc.value}, ProviderType: "t"})
			require.Error(t, err)
			assert.Equal(t, []string{tc.name}, configErrorNames(err), err.Error())
		})
	}

	good := []struct{ name, value string }{
		{"OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "0"},
		{"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "0.5"},
		{"OCEAN__SCHEDULED_RESYNC_INTERVAL", "0"},
		{"OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL", "0"},
		{"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP", "0"},
		{"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "30"},
		{"OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "0"},
		{"OCEAN__RESYNC__MAP_WORKERS", "0"},
		{"OCEAN__RESYNC__PROGRESS_INTERVAL", "0"},
		{"APPLICATION__PORT", "0"},
	}
	for _, tc := range good {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := settings.Load(settings.LoadOptions{Environ: []string{tc.name + "=" + tc.value}, ProviderType: "t"})
			require.NoError(t, err)
		})
	}
}

// A config built in code is checked by Validate with the same rules.
func TestValidateChecksRangesOfAConfigBuiltInCode(t *testing.T) {
	t.Parallel()
	c := settings.Default("t")
	c.MaxEventProcessingSeconds = -1
	c.EventQueueSize = 0
	c.Resync.UpsertConcurrency = -2
	c.Integration.IncrementalOverlap = -time.Minute
	c.MaxWaitSecondsBeforeShutdown = math.NaN()
	err := c.Validate(false)
	assert.ElementsMatch(t, []string{
		"OCEAN__MAX_EVENT_PROCESSING_SECONDS", "OCEAN__EVENT_QUEUE_SIZE", "OCEAN__RESYNC__UPSERT_CONCURRENCY",
		"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP", "OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN",
	}, configErrorNames(err))
}

// Ocean takes its timeouts as numbers of seconds; they keep working, and Go
// durations are accepted too.
func TestDurationsTakeOceansSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  string
		get  func(*settings.Config) time.Duration
		want time.Duration
	}{
		{"OCEAN__CLIENT_TIMEOUT=60", func(c *settings.Config) time.Duration { return c.ClientTimeout }, 60 * time.Second},
		{"OCEAN__CLIENT_TIMEOUT=2.5", func(c *settings.Config) time.Duration { return c.ClientTimeout }, 2500 * time.Millisecond},
		{"OCEAN__CLIENT_TIMEOUT=2m", func(c *settings.Config) time.Duration { return c.ClientTimeout }, 2 * time.Minute},
		{"OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL=120", func(c *settings.Config) time.Duration { return c.Port.PortAppConfigCacheTTL }, 2 * time.Minute},
		{`OCEAN__PORT={"portAppConfigCacheTtl":30}`, func(c *settings.Config) time.Duration { return c.Port.PortAppConfigCacheTTL }, 30 * time.Second},
	}
	for _, tc := range tests {
		c, err := settings.Load(settings.LoadOptions{Environ: []string{tc.env}, ProviderType: "t"})
		require.NoError(t, err, tc.env)
		assert.Equal(t, tc.want, tc.get(c), tc.env)
	}
}

func TestSecretsAreTrimmedAtLoad(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{Environ: []string{
		"OCEAN__PORT__CLIENT_ID= client-id-value\n",
		"OCEAN__PORT__CLIENT_SECRET=client-secret-value\r\n",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-token-value\n",
		"OCEAN__PORT__BASE_URL=https://api.us.getport.io/\n",
	}, ProviderType: "t"})
	require.NoError(t, err)
	assert.Equal(t, "client-id-value", c.Port.ClientID.Value())
	assert.Equal(t, "client-secret-value", c.Port.ClientSecret.Value())
	assert.Equal(t, port.USBaseURL, c.Port.BaseURL)
	var pc providerConfig
	require.NoError(t, settings.DecodeIntegrationConfig(c, &pc))
	assert.Equal(t, "glpat-token-value", pc.Token.Value())

	_, err = settings.Load(settings.LoadOptions{Environ: []string{"OCEAN__PORT__CLIENT_SECRET=first-line\nsecond-line"}, ProviderType: "t"})
	require.Error(t, err)
	assert.Equal(t, []string{"OCEAN__PORT__CLIENT_SECRET"}, configErrorNames(err))
	assert.NotContains(t, err.Error(), "first-line")

	c, err = settings.Load(settings.LoadOptions{Environ: []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat\ttokenpart"}, ProviderType: "t"})
	require.NoError(t, err)
	err = settings.DecodeIntegrationConfig(c, &pc)
	require.Error(t, err)
	assert.Equal(t, []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"}, configErrorNames(err))
	assert.NotContains(t, err.Error(), "tokenpart")
}

func TestPathPrefixIsValidated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"ocean", true},
		{"/ocean/gitlab-v2/", true},
		{"team_a.sync~1", true},
		{"{x}", false},
		{"a}", false},
		{"a{", false},
		{"a b", false},
		{"a//b", false},
		{"..", false},
		{"a/./b", false},
		{"a?b", false},
		{"a%2Fb", false},
		{"é", false},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			t.Parallel()
			_, err := settings.Load(settings.LoadOptions{Environ: []string{"OCEAN__PATH_PREFIX=" + tc.prefix}, ProviderType: "t"})
			if tc.ok {
				require.NoError(t, err)
			} else {
				assert.Equal(t, []string{"OCEAN__PATH_PREFIX"}, configErrorNames(err))
			}

			// A config built in code fails in New, not with a panic in
			// the router.
			c := settings.Default("t")
			c.PathPrefix = tc.prefix
			app, err := ocean.New(c, &ocean.Provider{Type: "t"}, ocean.WithDryRun(io.Discard))
			if tc.ok {
				require.NoError(t, err)
				assert.NotPanics(t, func() { app.Handler() })
				return
			}
			assert.Equal(t, []string{"OCEAN__PATH_PREFIX"}, configErrorNames(err))
		})
	}
}

// New names the variable behind a Port client it cannot build.
func TestNewNamesPortClientVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*settings.Config)
		want   []string
	}{
		{"no secret", func(c *settings.Config) { c.Port.ClientSecret = "" }, []string{"OCEAN__PORT__CLIENT_SECRET"}},
		{"bad URL", func(c *settings.Config) { c.Port.BaseURL = "api.getport.io" }, []string{"OCEAN__PORT__BASE_URL"}},
		{"credentials in the URL never quoted", func(c *settings.Config) { c.Port.BaseURL = "ftp://user:url-pass-0001@x" }, []string{"OCEAN__PORT__BASE_URL"}},
		{"negative timeout", func(c *settings.Config) { c.ClientTimeout = -time.Second }, []string{"OCEAN__CLIENT_TIMEOUT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := settings.Default("t")
			c.Port.ClientID = "client-id"
			c.Port.ClientSecret = "client-secret"
			tc.mutate(c)
			_, err := ocean.New(c, &ocean.Provider{Type: "t"})
			assert.Equal(t, tc.want, configErrorNames(err), "%v", err)
			if err != nil {
				assert.NotContains(t, err.Error(), "url-pass-0001")
			}
		})
	}
}
