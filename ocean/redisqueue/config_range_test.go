package redisqueue_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

func TestConfigFromEnvRanges(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, value string }{
		{"REDIS__PEL_MAX_REQUEUE_COUNT", "0"}, // would silently become 3
		{"REDIS__PEL_MAX_REQUEUE_COUNT", "-1"},
		{"REDIS__READ_COUNT", "0"},
		{"REDIS__BLOCK_MS", "0"},
		{"REDIS__BLOCK_MS", "1e300"},
		{"REDIS__LEASE_TTL_SECONDS", "1e12"},
		{"REDIS__CONNECTION_STARTUP_MAX_RETRIES", "-1"},
		{"REDIS__CONNECTION_STARTUP_INITIAL_BACKOFF_SECONDS", "NaN"},
		{"REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE", "0.5"},
		{"REDIS__STREAM_MAINTENANCE_SCAN_INTERVAL_SECONDS", "-30"},
		{"REDIS__DEAD_LETTER_MAX_LENGTH", "0"},
		{"REDIS__PASSWORD", "first\nsecond"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, _, err := redisqueue.ConfigFromEnv([]string{redisqueue.EnvPrefix + tc.name + "=" + tc.value})
			var ce *settings.ConfigError
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, redisqueue.EnvPrefix+tc.name, ce.Name)
			assert.NotContains(t, err.Error(), "second")
		})
	}
}

// A password from a Kubernetes Secret made from a file ends with a newline.
func TestConfigFromEnvTrimsThePassword(t *testing.T) {
	t.Parallel()
	c, _, err := redisqueue.ConfigFromEnv([]string{
		"OCEAN__LIVE_EVENTS__REDIS__PASSWORD= hunter2-pass\n",
		"OCEAN__LIVE_EVENTS__REDIS__USERNAME=ocean\n",
	})
	require.NoError(t, err)
	assert.Equal(t, "hunter2-pass", c.Password.Value())
	assert.Equal(t, "ocean", c.Username)
}
