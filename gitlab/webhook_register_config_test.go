package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func TestLoadConfigWebhookSettings(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: []string{
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx",
		"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=s3cr3t",
		"OCEAN__INTEGRATION__CONFIG__ALLOW_UNAUTHENTICATED_WEBHOOKS=true",
	}})
	require.NoError(t, err)
	cfg, err := LoadConfig(c)
	require.NoError(t, err)
	assert.Equal(t, "s3cr3t", cfg.WebhookSecret.Value())
	assert.True(t, cfg.AllowUnauthenticatedWebhooks)
	assert.Equal(t, "my-gitlab", cfg.IntegrationIdentifier, "names the hooks this integration owns")
}
