package ocean_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func registerApp(t *testing.T, srv *porttest.Server, edit func(*settings.Config)) *ocean.App {
	t.Helper()
	cfg := settings.Default("widgets")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
	cfg.Integration.Identifier = "my-install"
	cfg.ResourcesPath = ""
	if edit != nil {
		edit(cfg)
	}
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1.2.3", Defaults: defaultsFS}, ocean.WithLogger(quietLogger()))
	require.NoError(t, err)
	return a
}

// Port sends resync triggers only to a changelog destination it knows:
// the integration carries the one its listener needs, as Ocean sets it.
func TestTheIntegrationTellsPortWhereTriggersGo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listener, appHost string
		want              map[string]any
	}{
		{settings.ListenerKafka, "", map[string]any{"type": "KAFKA"}},
		{settings.ListenerWebhook, "https://sync.example.com/", map[string]any{"type": "WEBHOOK", "url": "https://sync.example.com/resync"}},
		{settings.ListenerPolling, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.listener, func(t *testing.T) {
			t.Parallel()
			for _, existing := range []bool{false, true} {
				srv := porttest.NewServer(t)
				if existing { // installed by the Python image: no destination, an older version
					srv.AddIntegration(port.Integration{Identifier: "my-install", InstallationAppType: "widgets", Version: "0.9.30"})
				}
				a := registerApp(t, srv, func(c *settings.Config) {
					c.EventListener.Type, c.EventListener.AppHost = tc.listener, tc.appHost
					c.Integration.IncrementalSyncEnabled = true
				})
				require.NoError(t, a.InitializePortResources(context.Background()))
				integ, ok := srv.Integration("my-install")
				require.True(t, ok)
				if tc.want == nil {
					assert.Empty(t, integ.ChangelogDestination)
				} else {
					assert.Equal(t, tc.want, integ.ChangelogDestination, "existing=%v", existing)
				}
				assert.Equal(t, "1.2.3", integ.Version)
				assert.True(t, integ.IncrementalSyncEnabled)

				// A second start finds everything in place and writes nothing.
				patches := srv.Count(porttest.RoutePatchIntegration)
				require.NoError(t, registerApp(t, srv, func(c *settings.Config) {
					c.EventListener.Type, c.EventListener.AppHost = tc.listener, tc.appHost
					c.Integration.IncrementalSyncEnabled = true
				}).InitializePortResources(context.Background()))
				assert.Equal(t, patches, srv.Count(porttest.RoutePatchIntegration))
			}
		})
	}
}

// Ocean creates the default resources once and records it in
// arePortResourcesInitialized: a default blueprint the user then deletes
// on purpose does not come back on the next start.
func TestDefaultResourcesAreCreatedOnce(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	require.NoError(t, registerApp(t, srv, nil).InitializePortResources(context.Background()))
	integ, ok := srv.Integration("my-install")
	require.True(t, ok)
	assert.True(t, integ.ArePortResourcesInitialized)
	_, ok = srv.Blueprint("service")
	require.True(t, ok)

	c, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret)
	require.NoError(t, err)
	_, err = c.PatchBlueprint(context.Background(), "group", map[string]any{"relations": map[string]any{}})
	require.NoError(t, err)
	require.NoError(t, c.DeleteBlueprint(context.Background(), "service"))
	require.NoError(t, registerApp(t, srv, nil).InitializePortResources(context.Background()))
	_, ok = srv.Blueprint("service")
	assert.False(t, ok, "the blueprint the user deleted stays deleted")
}

// With initializePortResources off the integration is still registered
// (Ocean registers it on every start), but no resources are created.
func TestRegisteredWithoutInitializingResources(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	a := registerApp(t, srv, func(c *settings.Config) {
		c.InitializePortResources = false
		c.EventListener.Type = settings.ListenerOnce
		c.Application.Port = 0
	})
	_ = a.Run(context.Background()) // the resync has no mapping; only the start matters here
	integ, ok := srv.Integration("my-install")
	require.True(t, ok, "registered")
	assert.Equal(t, "1.2.3", integ.Version)
	assert.False(t, integ.ArePortResourcesInitialized)
	assert.Empty(t, srv.Blueprints(), "no default resources")
}
