package settings

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Secrets of the environments below; long and distinctive, so that a
// substring check cannot match by accident.
const (
	tokenValue   = "glpat-tok3n-value-0001"
	hookValue    = "hook-s3cret-value-0002"
	redisPass    = "r3dis-pa55-word-0003"
	clientSecret = "client-s3cret-value-0004"
	brokerPass   = "kafka-pa55-word-0005"
)

// environment is what an operator following the README sets, plus some of
// the process's ordinary variables.
func environment() []string {
	return []string{
		`OCEAN__INTEGRATION__CONFIG={"gitlabHost":"https://gitlab.internal","gitlabToken":"` + tokenValue + `","webhookSecret":"` + hookValue + `"}`,
		"OCEAN__LIVE_EVENTS__REDIS__URL=redis://default:" + redisPass + "@redis:6379/0",
		"OCEAN__PORT__CLIENT_ID=client-id-value-0006",
		"OCEAN__PORT__CLIENT_SECRET=" + clientSecret,
		"OCEAN__EVENT_LISTENER__BROKERS=SASL_SSL://user:" + brokerPass + "@broker:9096",
		"ocean__path_prefix=lower-case-is-ours-too",
		"APPLICATION__LOG_LEVEL=INFO",
		"HOME=/home/ocean",
		"TEAM_NAME=platform",
		// Not settings of ours, but holding one of our secrets: a value a
		// config.yaml took with {{ from env }}, and a URL with the token.
		"MY_TOKEN_COPY=" + tokenValue,
		"CLONE_URL=https://oauth2:" + tokenValue + "@gitlab.internal/g/p.git",
		"REDIS_FOR_OTHERS=redis://default:" + redisPass + "@redis:6379/1",
	}
}

func TestJQEnvironHidesSettingsAndAnythingHoldingASecret(t *testing.T) {
	t.Parallel()
	env := environment()
	cfg, err := Load(LoadOptions{Environ: env, ProviderType: "gitlab-v2"})
	require.NoError(t, err)
	got := cfg.JQEnviron(env)
	assert.ElementsMatch(t, []string{"HOME=/home/ocean", "TEAM_NAME=platform"}, got)
	joined := strings.Join(got, "\n")
	for _, s := range []string{tokenValue, hookValue, redisPass, clientSecret, brokerPass, "OCEAN__", "ocean__", "APPLICATION__"} {
		assert.NotContains(t, joined, s)
	}
}

// TestJQEnvironWithAConfigBuiltInCode covers a program that built its
// Config in code and gave the App an environment: the secrets of both are
// hidden.
func TestJQEnvironWithAConfigBuiltInCode(t *testing.T) {
	t.Parallel()
	cfg := Default("t")
	cfg.Port.ClientSecret = "code-secret-value-0007"
	cfg.Integration.Config = map[string]any{"nested": map[string]any{"api_key": "nested-api-key-0008"}}
	assert.Equal(t, []string{"D=visible"}, cfg.JQEnviron([]string{
		"A=prefix-code-secret-value-0007-suffix",
		"B=nested-api-key-0008",
		"C=" + redisPass,
		"OCEAN__LIVE_EVENTS__REDIS__PASSWORD=" + redisPass,
		"D=visible",
	}))
}

func TestSecretsIncludeNestedValuesAndURLPasswords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"JSON integration config", []string{`OCEAN__INTEGRATION__CONFIG={"gitlabToken":"` + tokenValue + `","deep":{"list":[{"clientSecret":"deep-secret-0009"}]}}`}, []string{tokenValue, "deep-secret-0009"}},
		{"Redis URL password, as written and decoded", []string{"OCEAN__LIVE_EVENTS__REDIS__URL=rediss://u:p%40ss-w0rd@h:6380"}, []string{"p%40ss-w0rd", "p@ss-w0rd"}},
		{"Redis URL in a JSON live-events object", []string{`OCEAN__LIVE_EVENTS={"redis":{"url":"redis://:` + redisPass + `@h"}}`}, []string{redisPass}},
		{"Kafka broker URL", []string{"OCEAN__EVENT_LISTENER__BROKERS=a:9092,SASL_SSL://user:" + brokerPass + "@b:9096"}, []string{brokerPass}},
		{"secret-named variable, trimmed too", []string{"OCEAN__LIVE_EVENTS__REDIS__PASSWORD=" + redisPass + "\n"}, []string{redisPass}},
		{"resync token", []string{"OCEAN__EVENT_LISTENER__RESYNC_TOKEN=resync-token-0010"}, []string{"resync-token-0010"}},
		{"camelCase key in a JSON object", []string{`OCEAN__PORT={"clientId":"cid-0011","clientSecret":"` + clientSecret + `"}`}, []string{"cid-0011", clientSecret}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(LoadOptions{Environ: tc.env, ProviderType: "t"})
			require.NoError(t, err)
			got := cfg.Secrets()
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
			assert.Subset(t, EnvSecrets(tc.env), tc.want, "known before a Config exists")
		})
	}
}

func TestNamesAboutSecretsAreNotSecrets(t *testing.T) {
	t.Parallel()
	env := []string{
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN_TYPE=private",
		"OCEAN__INTEGRATION__INCREMENTAL_STATE_FILE=/var/lib/state.json",
		"OCEAN__EVENT_LISTENER__TYPE=POLLING",
	}
	// "private" in a secret list would redact the word from every log.
	assert.Empty(t, EnvSecrets(env))
}

func TestCleanSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "glpat-abc\n", want: "glpat-abc"},
		{in: "  glpat-abc\r\n", want: "glpat-abc"},
		{in: "\tglpat-abc", want: "glpat-abc"},
		{in: "glpat-abc", want: "glpat-abc"},
		{in: "", want: ""},
		{in: "glpat\nabc", bad: true},
		{in: "glpat\x00abc", bad: true},
		{in: "glpat\x7fabc", bad: true},
	}
	for _, tc := range tests {
		got, err := CleanSecret("OCEAN__X", Secret(tc.in))
		if tc.bad {
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "%q", tc.in)
			assert.Equal(t, "OCEAN__X", ce.Name)
			assert.NotContains(t, err.Error(), "abc")
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, got.Value())
	}
}
