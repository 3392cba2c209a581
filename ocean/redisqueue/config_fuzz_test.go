package redisqueue_test

import (
	"strings"
	"testing"

	"github.com/oceankit/oceankit/ocean/redisqueue"
)

// FuzzConfigFromEnv reads the live-events settings from a fuzzed
// environment: no panic, and no error quotes the Redis password.
func FuzzConfigFromEnv(f *testing.F) {
	const password = "fz-Redis-pass-9k"
	for _, s := range [][4]string{
		{"OCEAN__LIVE_EVENTS", `{"redis":{"url":"redis://h:1","readCount":0}}`, "OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS", "1e300"},
		{"OCEAN__LIVE_EVENTS__REDIS", `{"url":"rediss://u:p@h",}`, "OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS", "true"},
		{"OCEAN__LIVE_EVENTS__REDIS__URL", "redis://u:" + password + "@h:x", "OCEAN__LIVE_EVENTS__REDIS__SHARDS", "-1"},
		{"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE", "NaN", "OCEAN__LIVE_EVENTS__REDIS__PEL_MAX_REQUEUE_COUNT", "0"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2 string) {
		env := []string{"OCEAN__LIVE_EVENTS__REDIS__PASSWORD=" + password, name1 + "=" + value1, name2 + "=" + value2}
		c, _, err := redisqueue.ConfigFromEnv(env)
		if err != nil {
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the error quotes the password: %v", err)
			}
			return
		}
		if c.ReadCount < 0 || c.Block < 0 || c.LeaseTTL < 0 || c.Shards < 0 || c.MaxRequeue < 0 {
			t.Fatalf("a setting out of range was accepted: %+v", c)
		}
	})
}
