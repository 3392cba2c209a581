package ocean_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

var defaultsFS = fstest.MapFS{
	"blueprints.json": {Data: []byte(`[
  {"identifier": "service", "title": "Service", "schema": {"properties": {"url": {"type": "string", "format": "url"}}},
   "relations": {"group": {"target": "group", "required": false, "many": false}}},
  {"identifier": "group", "title": "Group", "schema": {"properties": {}},
   "relations": {"parent": {"target": "group", "required": false, "many": false},
                 "services": {"target": "service", "required": false, "many": true}}}
]`)},
	"port-app-config.yml": {Data: []byte(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"service"'
`)},
	"actions.json": {Data: []byte(`[{"identifier": "restart", "title": "Restart", "trigger": {"type": "self-service"}}]`)},
	"pages.json":   {Data: []byte(`[{"identifier": "overview", "title": "Overview", "type": "dashboard"}]`)},
}

func TestInitializePortResourcesCreatesOnlyWhatIsMissing(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	// The user already has a "group" blueprint of their own.
	require.NoError(t, srv.AddBlueprint(port.Blueprint{Identifier: "group", Title: "My groups",
		Schema: port.BlueprintSchema{Properties: map[string]map[string]any{"custom": {"type": "string"}}}}))

	cfg := settings.Default("widgets")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
	cfg.Integration.Identifier = "fresh-install"
	cfg.ResourcesPath = ""
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1.2.3", Defaults: defaultsFS}, ocean.WithLogger(quietLogger()))
	require.NoError(t, err)
	require.NoError(t, a.InitializePortResources(context.Background()))

	integ, ok := srv.Integration("fresh-install")
	require.True(t, ok, "the integration is created")
	assert.Equal(t, "widgets", integ.InstallationAppType)
	assert.Contains(t, string(integ.Config), `"kind":"widget"`, "with the default mapping")

	svc, ok := srv.Blueprint("service")
	require.True(t, ok)
	assert.Equal(t, "group", svc.Relations["group"].Target, "relations are added after the bare create")
	assert.Contains(t, svc.Schema.Properties, "url")

	grp, ok := srv.Blueprint("group")
	require.True(t, ok)
	assert.Equal(t, "My groups", grp.Title, "an existing blueprint is left untouched")
	assert.Contains(t, grp.Schema.Properties, "custom")
	assert.Empty(t, grp.Relations)

	_, ok = srv.Action("restart")
	assert.True(t, ok)
	_, ok = srv.Page("overview")
	assert.True(t, ok)

	// A second start changes nothing.
	srv.ResetRequests()
	require.NoError(t, a.InitializePortResources(context.Background()))
	assert.Zero(t, srv.Count(porttest.RouteCreateBlueprint))
	assert.Zero(t, srv.Count(porttest.RoutePatchBlueprint))
	assert.Zero(t, srv.Count(porttest.RouteCreateIntegration))
	assert.Zero(t, srv.Count(porttest.RoutePatchIntegration))
}

func TestInitializePortResourcesFillsAnEmptyMapping(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.AddIntegration(port.Integration{Identifier: "empty", InstallationAppType: "widgets"})
	cfg := settings.Default("widgets")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
	cfg.Integration.Identifier = "empty"
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1", Defaults: defaultsFS}, ocean.WithLogger(quietLogger()))
	require.NoError(t, err)
	require.NoError(t, a.InitializePortResources(context.Background()))
	integ, _ := srv.Integration("empty")
	assert.Contains(t, string(integ.Config), `"kind":"widget"`)
}

func TestInitializePortResourcesRollsBackOnFailure(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	bad := fstest.MapFS{"blueprints.json": {Data: []byte(`[
  {"identifier": "ok-one", "title": "OK", "schema": {"properties": {}}},
  {"identifier": "bad one!", "title": "Bad", "schema": {"properties": {}}}
]`)}}
	cfg := settings.Default("widgets")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1", Defaults: bad}, ocean.WithLogger(quietLogger()))
	require.NoError(t, err)
	err = a.InitializePortResources(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad one!")
	_, ok := srv.Blueprint("ok-one")
	assert.False(t, ok, "blueprints created before the failure are deleted again")
}
