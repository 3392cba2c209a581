package gitlab

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func oceanConfig(kv map[string]any) *settings.Config {
	return &settings.Config{Integration: settings.IntegrationConfig{Config: kv}}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       map[string]any
		wantHost string
		wantErr  string
	}{
		{"defaults to gitlab.com", map[string]any{"gitlab_token": "glpat-x"}, "https://gitlab.com", ""},
		{"gitlabHost", map[string]any{"gitlab_token": "t", "gitlab_host": "https://git.example.com/"}, "https://git.example.com", ""},
		{"gitlabUrl as in Port's docs", map[string]any{"gitlab_token": "t", "gitlab_url": "https://git.example.com"}, "https://git.example.com", ""},
		{"gitlabHost wins over gitlabUrl", map[string]any{"gitlab_token": "t", "gitlab_host": "https://a.example.com", "gitlab_url": "https://b.example.com"}, "https://a.example.com", ""},
		{"path prefix", map[string]any{"gitlab_token": "t", "gitlab_host": "https://example.com/gitlab"}, "https://example.com/gitlab", ""},
		{"token required", map[string]any{}, "", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"},
		{"bad URL", map[string]any{"gitlab_token": "t", "gitlab_host": "gitlab.example.com"}, "", "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST"},
		{"bad token type", map[string]any{"gitlab_token": "t", "gitlab_token_type": "basic"}, "", "GITLAB_TOKEN_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := LoadConfig(oceanConfig(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantHost, cfg.BaseURL())
		})
	}
}

func TestLoadConfigDefaultsAndSecrets(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(oceanConfig(map[string]any{
		"gitlab_token": "glpat-secret-value", "webhook_secret": "hook-secret",
		"max_concurrency": "4", "requests_per_minute": 300, "use_graphql": "false", "endpoint_limits": "true",
	}))
	require.NoError(t, err)
	assert.Equal(t, 4, cfg.MaxConcurrency)
	assert.Equal(t, 300, cfg.RequestsPerMinute)
	assert.False(t, cfg.UseGraphQL)
	require.NotNil(t, cfg.EndpointLimits)
	assert.True(t, *cfg.EndpointLimits)
	assert.Equal(t, TokenTypeAuto, cfg.TokenType)
	assert.Equal(t, 8, cfg.MaxRetries)
	assert.Equal(t, 20*time.Minute, cfg.MaxRetryWait)
	assert.Equal(t, "hook-secret", cfg.WebhookSecret.Value())
	assert.NotContains(t, fmtAll(cfg), "glpat-secret-value")
	assert.NotContains(t, fmtAll(cfg), "hook-secret")

	def, err := LoadConfig(oceanConfig(map[string]any{"gitlab_token": "t"}))
	require.NoError(t, err)
	assert.True(t, def.UseGraphQL)
	assert.Equal(t, 10, def.MaxConcurrency)
	assert.True(t, def.IsGitLabCom())
}

func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v", v, v, v)
}

func TestLearnBatch(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 17, learnBatch("Query has complexity of 300, which exceeds max complexity of 250", 22))
	assert.Equal(t, 11, learnBatch("Query too large", 22))
	assert.Equal(t, 1, learnBatch("Query has complexity of 900, which exceeds max complexity of 250", 2))
}

// Range errors name the variable; a zero written by the user where zero
// means nothing is refused, while a Config built in code still reads zero
// as the default.
func TestLoadConfigRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key   string
		value any
		want  string
	}{
		{"max_retries", "-1", "OCEAN__INTEGRATION__CONFIG__MAX_RETRIES"},
		{"max_retries", -3, "OCEAN__INTEGRATION__CONFIG__MAX_RETRIES"},
		{"max_concurrency", "0", "OCEAN__INTEGRATION__CONFIG__MAX_CONCURRENCY"},
		{"max_concurrency", "-4", "OCEAN__INTEGRATION__CONFIG__MAX_CONCURRENCY"},
		{"requests_per_minute", "-1", "OCEAN__INTEGRATION__CONFIG__REQUESTS_PER_MINUTE"},
		{"max_file_size", "0", "OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE"},
		{"max_file_size", "-1", "OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE"},
		{"max_retry_wait", "0", "OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT"},
		{"max_retry_wait", "-1m", "OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT"},
		{"max_retry_wait", "NaN", "OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT"},
		{"gitlab_token", "glpat-a\nb", "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"},
		{"webhook_secret", "hook\x00secret", "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.key, tt.value), func(t *testing.T) {
			t.Parallel()
			in := map[string]any{"gitlab_token": "glpat-x"}
			in[tt.key] = tt.value
			_, err := LoadConfig(oceanConfig(in))
			require.Error(t, err)
			var ce *settings.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.want, ce.Name, err.Error())
		})
	}

	for key, value := range map[string]any{"max_retries": "0", "requests_per_minute": "0"} {
		_, err := LoadConfig(oceanConfig(map[string]any{"gitlab_token": "glpat-x", key: value}))
		assert.NoError(t, err, "%s=0 means something", key)
	}

	// In code, zero is the default and a negative value an error.
	c := Config{Token: "glpat-x"}
	require.NoError(t, c.normalize())
	assert.Equal(t, 10, c.MaxConcurrency)
	assert.Equal(t, int64(DefaultMaxFileSize), c.MaxFileSize)
	assert.Equal(t, 20*time.Minute, c.MaxRetryWait)
	c = Config{Token: "glpat-x", MaxRetries: -1}
	assert.Error(t, c.normalize(), "a negative retry count is not quietly made 0")
}

// A token read from a Kubernetes Secret made from a file ends with a
// newline; it is trimmed, so that requests can be built.
func TestLoadConfigTrimsSecrets(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(oceanConfig(map[string]any{"gitlab_token": "glpat-token\n", "webhook_secret": " hook-secret\r\n"}))
	require.NoError(t, err)
	assert.Equal(t, "glpat-token", cfg.Token.Value())
	assert.Equal(t, "hook-secret", cfg.WebhookSecret.Value())

	c := Config{Token: "glpat-token\n"}
	require.NoError(t, c.normalize())
	assert.Equal(t, "glpat-token", c.Token.Value(), "a Config built in code is trimmed too")
}
