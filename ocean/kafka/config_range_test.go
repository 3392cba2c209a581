package kafka

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func TestConfigFromOceanChecksRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*settings.Config)
		want   string
	}{
		{"negative poll timeout", func(c *settings.Config) { c.EventListener.ConsumerPollTimeout = -1 }, "OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT"},
		{"zero poll timeout", func(c *settings.Config) { c.EventListener.ConsumerPollTimeout = 0 }, "OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT"},
		{"NaN poll timeout", func(c *settings.Config) { c.EventListener.ConsumerPollTimeout = math.NaN() }, "OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT"},
		{"broker without a port", func(c *settings.Config) { c.EventListener.Brokers = "a:9092,b" }, "OCEAN__EVENT_LISTENER__BROKERS"},
		{"broker with a bad port", func(c *settings.Config) { c.EventListener.Brokers = "a:99999" }, "OCEAN__EVENT_LISTENER__BROKERS"},
		{"broker URL with credentials", func(c *settings.Config) { c.EventListener.Brokers = "SASL_SSL://u:broker-pass-0001@b:9096" }, "OCEAN__EVENT_LISTENER__BROKERS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := settings.Default(testType)
			tc.mutate(c)
			_, err := ConfigFromOcean(c)
			var ce *settings.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.want, ce.Name)
			assert.NotContains(t, err.Error(), "broker-pass-0001")
		})
	}
}
