package gitlab

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// The provider's lines go through the App's logger, so that they are
// redacted and shipped to Port with the rest.
func TestProviderLogsThroughTheApp(t *testing.T) {
	t.Parallel()
	cfg := settings.Default(ProviderType)
	cfg.Integration.Config = map[string]any{"gitlab_token": "glpat-test-token-123"}
	app, integ, err := NewApp(cfg, nil, ocean.WithDryRun(io.Discard))
	require.NoError(t, err)
	assert.Same(t, app.Logger(), integ.log)
	assert.Same(t, app.Logger(), integ.client.log)
}
