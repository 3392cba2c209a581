package gitlab

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
)

func oceanConfig(kv map[string]any) *ocean.Config {
	return &ocean.Config{Integration: ocean.IntegrationConfig{Config: kv}}
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
