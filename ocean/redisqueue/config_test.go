package redisqueue_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/redisqueue"
	"github.com/oceankit/oceankit/ocean/settings"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		enabled bool
		check   func(t *testing.T, c redisqueue.Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c redisqueue.Config) {
				assert.Equal(t, "redis://localhost:6379", c.URL)
				assert.Equal(t, 5, c.StartupRetries)
				assert.Equal(t, 24*time.Hour, c.ConsumerCleanupIdle)
				assert.Empty(t, c.Group, "the caller names the group")
			},
		},
		{
			name: "one variable per setting",
			env: []string{
				"OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=true",
				"OCEAN__LIVE_EVENTS__TYPE=redis",
				"OCEAN__LIVE_EVENTS__REDIS__URL=redis://redis.internal:6380/2",
				"OCEAN__LIVE_EVENTS__REDIS__USERNAME=ocean",
				"OCEAN__LIVE_EVENTS__REDIS__PASSWORD=hunter2",
				"OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS=250",
				"OCEAN__LIVE_EVENTS__REDIS__READ_COUNT=20",
				"OCEAN__LIVE_EVENTS__REDIS__PEL_MAX_REQUEUE_COUNT=5",
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_IDLE_SECONDS=60",
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_SCAN_INTERVAL_SECONDS=1.5",
				"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_ERROR_BACKOFF_SECONDS=2",
				"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_MAX_RETRIES=0",
				"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_INITIAL_BACKOFF_SECONDS=0.5",
				"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE=3",
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_PREFIX=ok:{gl}",
				"OCEAN__LIVE_EVENTS__REDIS__SHARDS=8",
				"OCEAN__LIVE_EVENTS__REDIS__LEASE_TTL_SECONDS=2.5",
				"OCEAN__LIVE_EVENTS__REDIS__DEAD_LETTER_MAX_LENGTH=500",
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_TTL_SECONDS=60", // Ocean's, ignored
				"OTHER=1",
			},
			enabled: true,
			check: func(t *testing.T, c redisqueue.Config) {
				assert.Equal(t, "redis://redis.internal:6380/2", c.URL)
				assert.Equal(t, "ocean", c.Username)
				assert.Equal(t, "hunter2", c.Password.Value())
				assert.Equal(t, 250*time.Millisecond, c.Block)
				assert.Equal(t, 20, c.ReadCount)
				assert.Equal(t, 5, c.MaxRequeue)
				assert.Equal(t, time.Minute, c.ConsumerCleanupIdle)
				assert.Equal(t, 1500*time.Millisecond, c.MaintenanceInterval)
				assert.Equal(t, 2*time.Second, c.ErrorBackoff)
				assert.Equal(t, 0, c.StartupRetries)
				assert.Equal(t, 500*time.Millisecond, c.StartupBackoff)
				assert.InDelta(t, 3.0, c.StartupBackoffBase, 1e-9)
				assert.Equal(t, "ok:{gl}", c.Prefix)
				assert.Equal(t, 8, c.Shards)
				assert.Equal(t, 2500*time.Millisecond, c.LeaseTTL)
				assert.Equal(t, 500, c.DeadLetterMaxLen)
			},
		},
		{
			name: "JSON objects, single variables win",
			env: []string{
				`OCEAN__LIVE_EVENTS={"isRedisStreamConsumerEnabled": true, "redis": {"url": "redis://a:1", "readCount": 5, "block_ms": 100}}`,
				"OCEAN__LIVE_EVENTS__REDIS__READ_COUNT=7",
			},
			enabled: true,
			check: func(t *testing.T, c redisqueue.Config) {
				assert.Equal(t, "redis://a:1", c.URL)
				assert.Equal(t, 7, c.ReadCount)
				assert.Equal(t, 100*time.Millisecond, c.Block)
			},
		},
		{
			name: "the redis object alone",
			env:  []string{`OCEAN__LIVE_EVENTS__REDIS={"url": "rediss://b:2", "enable_tls": true}`},
			check: func(t *testing.T, c redisqueue.Config) {
				assert.Equal(t, "rediss://b:2", c.URL)
				assert.True(t, c.EnableTLS)
			},
		},
		{
			name: "consumer cleanup off",
			env: []string{
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_ENABLED=false",
				"OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_IDLE_SECONDS=60",
			},
			check: func(t *testing.T, c redisqueue.Config) { assert.Negative(t, c.ConsumerCleanupIdle) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, enabled, err := redisqueue.ConfigFromEnv(tc.env)
			require.NoError(t, err)
			assert.Equal(t, tc.enabled, enabled)
			tc.check(t, c)
		})
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string // variables the error names
	}{
		{"bad numbers", []string{
			"OCEAN__LIVE_EVENTS__REDIS__READ_COUNT=ten",
			"OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS=-1",
			"OCEAN__LIVE_EVENTS__REDIS__SHARDS=0",
		}, []string{"OCEAN__LIVE_EVENTS__REDIS__READ_COUNT", "OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS", "OCEAN__LIVE_EVENTS__REDIS__SHARDS"}},
		{"bad boolean", []string{"OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=maybe"},
			[]string{"OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED"}},
		{"unknown type", []string{"OCEAN__LIVE_EVENTS__TYPE=KAFKA"}, []string{"OCEAN__LIVE_EVENTS__TYPE"}},
		{"TLS without rediss", []string{"OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS=true"}, []string{"OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS"}},
		{"rediss without TLS", []string{"OCEAN__LIVE_EVENTS__REDIS__URL=rediss://r:6379"}, []string{"OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS"}},
		{"certificate without key", []string{
			"OCEAN__LIVE_EVENTS__REDIS__URL=rediss://r:6379", "OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS=true",
			"OCEAN__LIVE_EVENTS__REDIS__CERT=Zm9v",
		}, []string{"OCEAN__LIVE_EVENTS__REDIS__CERT"}},
		{"not a URL", []string{"OCEAN__LIVE_EVENTS__REDIS__URL=http://user:hunter2@r:x"}, []string{"OCEAN__LIVE_EVENTS__REDIS__URL"}},
		{"JSON that is not an object", []string{"OCEAN__LIVE_EVENTS=[1]"}, []string{"OCEAN__LIVE_EVENTS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := redisqueue.ConfigFromEnv(tc.env)
			require.Error(t, err)
			var ce *settings.ConfigError
			require.True(t, errors.As(err, &ce), "a config error: %v", err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "hunter2", "errors never quote a password")
		})
	}
}

func TestSecretsStayHidden(t *testing.T) {
	t.Parallel()
	c, _, err := redisqueue.ConfigFromEnv([]string{
		"OCEAN__LIVE_EVENTS__REDIS__PASSWORD=hunter2",
		"OCEAN__LIVE_EVENTS__REDIS__URL=redis://:hunter2@localhost:1",
	})
	require.NoError(t, err)
	c.Group = "g"
	assert.NotContains(t, fmt.Sprintf("%v %+v", c.Password, c.Password), "hunter2")
	q, err := redisqueue.New(c)
	require.NoError(t, err)
	defer q.Close()
	for _, s := range redisqueue.Settings() {
		if strings.HasSuffix(s.Env, "PASSWORD") || strings.HasSuffix(s.Env, "PRIVATE_KEY") {
			assert.True(t, s.Secret, s.Env)
		}
	}
}

func TestTLSSettings(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM := selfSigned(t)
	b64 := base64.StdEncoding.EncodeToString
	base := []string{"OCEAN__LIVE_EVENTS__REDIS__URL=rediss://redis:6380", "OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS=true"}
	tests := []struct {
		name    string
		env     []string
		wantErr string
	}{
		{"system roots", nil, ""},
		{"CA and client certificate", []string{
			"OCEAN__LIVE_EVENTS__REDIS__CA=" + b64(certPEM),
			"OCEAN__LIVE_EVENTS__REDIS__CERT=" + b64(certPEM),
			"OCEAN__LIVE_EVENTS__REDIS__PRIVATE_KEY=" + b64(keyPEM),
		}, ""},
		{"CA not base64", []string{"OCEAN__LIVE_EVENTS__REDIS__CA=%%%"}, "OCEAN__LIVE_EVENTS__REDIS__CA"},
		{"CA without a certificate", []string{"OCEAN__LIVE_EVENTS__REDIS__CA=" + b64([]byte("nothing"))}, "OCEAN__LIVE_EVENTS__REDIS__CA"},
		{"key that does not match", []string{
			"OCEAN__LIVE_EVENTS__REDIS__CERT=" + b64(certPEM),
			"OCEAN__LIVE_EVENTS__REDIS__PRIVATE_KEY=" + b64(certPEM),
		}, "OCEAN__LIVE_EVENTS__REDIS__CERT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := redisqueue.ConfigFromEnv(append(append([]string(nil), base...), tc.env...))
			require.NoError(t, err)
			c.Group = "g"
			q, err := redisqueue.New(c)
			if tc.wantErr == "" {
				require.NoError(t, err)
				_ = q.Close()
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
		})
	}
}

func TestNewNeedsAGroup(t *testing.T) {
	t.Parallel()
	_, err := redisqueue.New(redisqueue.Config{})
	require.Error(t, err)
}

func TestEverySettingIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, s := range redisqueue.Settings() {
		require.False(t, seen[s.Env], "listed once: %s", s.Env)
		seen[s.Env] = true
		assert.True(t, strings.HasPrefix(s.Env, redisqueue.EnvPrefix))
		assert.NotEmpty(t, s.Help)
		name := strings.TrimPrefix(s.Env, redisqueue.EnvPrefix)
		short := name[strings.LastIndex(name, "__")+2:]
		assert.True(t, strings.Contains(string(doc), s.Env) || strings.Contains(string(doc), "__"+short),
			"the package doc describes %s", s.Env)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}
