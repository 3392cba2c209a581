package kafka

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// An App running the KAFKA listener: the organisation and the credentials
// come through the App's own Port client, and a config change in Port runs
// a resync in the App's scheduler.
func TestAppResyncsOnConfigChange(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: testIdent, InstallationAppType: testType})
	user, pass := srv.KafkaCredentials()
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, user, pass))

	cfg := settings.Default(testType)
	cfg.Port.ClientID = settings.Secret(srv.ClientID)
	cfg.Port.ClientSecret = settings.Secret(srv.ClientSecret)
	cfg.Port.BaseURL = srv.URL
	cfg.Integration.Identifier = testIdent
	cfg.EventListener.Type = settings.ListenerKafka
	cfg.EventListener.Brokers = strings.Join(c.ListenAddrs(), ",")
	cfg.EventListener.SecurityProtocol = ProtocolSASLPlaintext
	cfg.InitializePortResources = false
	cfg.Application.Port = 0

	kc, err := ConfigFromOcean(cfg)
	require.NoError(t, err)
	kc.extra = testConfig(c, nil).extra
	l, err := New(kc)
	require.NoError(t, err)

	pac, err := mapping.Parse([]byte("resources: []\n"))
	require.NoError(t, err)
	log, buf := bufferLogger(slog.LevelDebug)
	app, err := ocean.New(cfg, &ocean.Provider{Type: testType, Version: "1.0.0"},
		ocean.WithListener(settings.ListenerKafka, l), ocean.WithPortAppConfig(pac), ocean.WithLogger(log))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- app.Run(ctx) }()

	produceAs(t, c, user, pass, nil, changeLog, configChange(testIdent, "2026-02-01T00:00:00.000Z"))
	require.Eventually(t, func() bool { return strings.Contains(buf.String(), `msg="resync finished"`) }, waitFor, time.Millisecond, "no resync ran")
	assert.Contains(t, buf.String(), `trigger="kafka: integration changed in Port`)
	cancel()
	require.NoError(t, <-runErr)
	assert.Equal(t, 1, srv.Count(porttest.RouteKafkaCredentials))
	assert.NotContains(t, buf.String(), pass)
}
