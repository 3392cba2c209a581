package settings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func TestWebhookLimitsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    func(*settings.WebhookLimits)
	}{
		{"defaults", nil, func(*settings.WebhookLimits) {}},
		{"bytes and durations", []string{
			"OCEAN__WEBHOOK__MAX_BODY_BYTES=25165824",
			"OCEAN__WEBHOOK__READ_TIMEOUT=60",
			"OCEAN__WEBHOOK__BODY_WAIT=-1",
			"OCEAN__WEBHOOK__REJECT_LOG_INTERVAL=5m",
		}, func(l *settings.WebhookLimits) {
			l.MaxBodyBytes, l.ReadTimeout, l.BodyWait, l.RejectLogInterval = 24<<20, time.Minute, -time.Second, 5*time.Minute
		}},
		{"as one JSON object", []string{`OCEAN__WEBHOOK={"queue_bytes": 1048576}`}, func(l *settings.WebhookLimits) {
			l.QueueBytes = 1 << 20
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := settings.Load(settings.LoadOptions{Environ: tt.environ, ProviderType: "t"})
			require.NoError(t, err)
			want := settings.WebhookLimits{MaxBodyBytes: 10 << 20, InflightBodyBytes: 16 << 20, BodyWait: 2 * time.Second,
				QueueBytes: 64 << 20, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				IdleTimeout: 2 * time.Minute, RejectLogInterval: time.Minute}
			tt.want(&want)
			assert.Equal(t, want, c.Webhook)
		})
	}
}

func TestWebhookLimitsWithDefaults(t *testing.T) {
	t.Parallel()
	l := settings.WebhookLimits{MaxBodyBytes: 32 << 20, BodyWait: -1}.WithDefaults()
	assert.Equal(t, int64(32<<20), l.InflightBodyBytes, "raised to the largest body")
	assert.Equal(t, -time.Duration(1), l.BodyWait, "negative: no wait")
	assert.Equal(t, 30*time.Second, l.ReadTimeout)
	assert.Equal(t, settings.Default("t").Webhook, settings.WebhookLimits{}.WithDefaults(), "the tags' defaults are WithDefaults'")
}

func TestWebhookLimitsRefuseNonsense(t *testing.T) {
	t.Parallel()
	_, err := settings.Load(settings.LoadOptions{Environ: []string{"OCEAN__WEBHOOK__MAX_BODY_BYTES=lots"}, ProviderType: "t"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OCEAN__WEBHOOK__MAX_BODY_BYTES")
}
