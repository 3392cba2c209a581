package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

func TestConfigFromOcean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		brokers string
		want    []string
	}{
		{"default", "", DefaultBrokers()},
		{"comma separated", "a:9092, b:9092", []string{"a:9092", "b:9092"}},
		{"JSON array", `["a:9092","b:9092"]`, []string{"a:9092", "b:9092"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			oc := settings.Default(testType)
			oc.EventListener.Brokers = tt.brokers
			kc, err := ConfigFromOcean(oc)
			require.NoError(t, err)
			l, err := New(kc)
			require.NoError(t, err)
			assert.Equal(t, tt.want, l.cfg.Brokers)
			// Ocean's defaults: SASL_SSL with SCRAM-SHA-512, 1 s polls.
			assert.Equal(t, ProtocolSASLSSL, l.cfg.SecurityProtocol)
			assert.Equal(t, MechanismScramSHA512, l.cfg.Mechanism)
			assert.Equal(t, time.Second, l.cfg.PollTimeout)
			assert.Equal(t, testType, l.cfg.IntegrationType)
			assert.Equal(t, "my-"+testType+"-integration", l.cfg.IntegrationIdentifier)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	oc := settings.Default(testType)
	oc.EventListener.Brokers = `["a:9092",]`
	_, err := ConfigFromOcean(oc)
	var ce *settings.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "OCEAN__EVENT_LISTENER__BROKERS", ce.Name)

	base := Config{IntegrationType: testType, IntegrationIdentifier: testIdent}
	for name, mutate := range map[string]func(*Config){
		"no identifier": func(c *Config) { c.IntegrationIdentifier = "" },
		"protocol":      func(c *Config) { c.SecurityProtocol = "TLS" },
		"mechanism":     func(c *Config) { c.Mechanism = "GSSAPI" },
	} {
		c := base
		mutate(&c)
		_, err := New(c)
		assert.Error(t, err, name)
	}
}

// flagPort answers the organisation with feature flags.
type flagPort struct{ flags []string }

func (p flagPort) GetOrganization(context.Context) (*port.Organization, error) {
	return &port.Organization{ID: testOrg, FeatureFlags: p.flags}, nil
}

func (p flagPort) GetKafkaCredentials(context.Context) (*port.KafkaCredentials, error) {
	return &port.KafkaCredentials{Username: "u", Password: "p"}, nil
}

func TestTopicFollowsTheOrganisationFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flags []string
		topic string
	}{
		{nil, testOrg + ".change.log"},
		{[]string{"OTHER", FlagResyncRequestsTopic}, testOrg + ".integration.resync.requests"},
	}
	for _, tt := range tests {
		l, err := New(Config{IntegrationType: testType, IntegrationIdentifier: testIdent, Port: flagPort{tt.flags}})
		require.NoError(t, err)
		tg, err := l.resolve(t.Context(), l.cfg.Port)
		require.NoError(t, err)
		assert.Equal(t, tt.topic, tg.topic)
		assert.Equal(t, testOrg+"."+testType+"."+testIdent, tg.group)
		assert.Equal(t, "u", tg.user)
	}
}

func TestConfiguredCredentialsSkipPort(t *testing.T) {
	t.Parallel()
	l, err := New(Config{IntegrationType: testType, IntegrationIdentifier: testIdent, OrgID: "o",
		ResyncRequestsTopic: true, Username: "me", Password: "pw"})
	require.NoError(t, err)
	tg, err := l.resolve(t.Context(), nil)
	require.NoError(t, err)
	assert.Equal(t, target{topic: "o.integration.resync.requests", group: "o." + testType + "." + testIdent, user: "me", pass: "pw"}, tg)
}

func TestKafkaCredentialsDoNotPrintThePassword(t *testing.T) {
	t.Parallel()
	creds := port.KafkaCredentials{Username: "u", Password: "hunter2"}
	log, buf := bufferLogger(0)
	log.Info("creds", "c", creds)
	for _, s := range []string{buf.String(), creds.String(), creds.GoString(), errors.New(creds.String()).Error()} {
		assert.NotContains(t, s, "hunter2")
	}
}
