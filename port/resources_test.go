package port_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestBlueprintLifecycleRoundTrips(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.CreateBlueprint(ctx, port.Blueprint{Identifier: "group", Title: "Group", Schema: port.BlueprintSchema{}})
	require.NoError(t, err)

	var bp port.Blueprint
	require.NoError(t, json.Unmarshal([]byte(`{
		"identifier": "project", "title": "Project", "icon": "GitLab", "description": "A project",
		"schema": {"properties": {"url": {"type": "string", "format": "url", "title": "URL"},
		                          "lang": {"type": "string", "enum": ["go"], "enumColors": {"go": "blue"}}},
		           "required": ["url"]},
		"relations": {"group": {"target": "group", "title": "Group", "required": false, "many": false}},
		"mirrorProperties": {"groupPath": {"path": "group.$title"}},
		"calculationProperties": {"slug": {"calculation": ".identifier", "type": "string"}},
		"aggregationProperties": {},
		"ownership": {"type": "Inherited", "path": "group"},
		"includeInGlobalSearch": true
	}`), &bp))
	assert.Equal(t, json.RawMessage("true"), bp.Extra["includeInGlobalSearch"])

	created, err := c.CreateBlueprint(ctx, bp)
	require.NoError(t, err)
	assert.Equal(t, "project", created.Identifier)
	assert.Equal(t, []string{"url"}, created.Schema.Required)
	assert.Equal(t, port.Relation{Target: "group", Title: "Group"}, created.Relations["group"])
	assert.Equal(t, map[string]any{"go": "blue"}, created.Schema.Properties["lang"]["enumColors"])
	assert.Equal(t, json.RawMessage("true"), created.Extra["includeInGlobalSearch"])
	assert.Equal(t, map[string]any{"type": "Inherited", "path": "group"}, created.Ownership)
	assert.False(t, created.CreatedAt.IsZero())

	// What we read, written back, is what we read.
	data, err := json.Marshal(created)
	require.NoError(t, err)
	var again port.Blueprint
	require.NoError(t, json.Unmarshal(data, &again))
	assert.Equal(t, created, &again)

	_, err = c.CreateBlueprint(ctx, bp)
	assert.True(t, port.IsConflict(err))

	patched, err := c.PatchBlueprint(ctx, "project", map[string]any{"title": "Projects"})
	require.NoError(t, err)
	assert.Equal(t, "Projects", patched.Title)
	assert.Contains(t, patched.Schema.Properties, "url")

	got, err := c.GetBlueprint(ctx, "project")
	require.NoError(t, err)
	assert.Equal(t, "Projects", got.Title)

	require.NoError(t, c.DeleteBlueprint(ctx, "project"))
	_, err = c.GetBlueprint(ctx, "project")
	assert.True(t, port.IsNotFound(err))
	assert.True(t, port.IsNotFound(c.DeleteBlueprint(ctx, "project")))
}

func TestIntegrationLifecycle(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t, porttest.WithRecordBodies())
	c := newClient(t, srv)
	ctx := t.Context()
	const id = "my-gitlab"

	_, err := c.GetIntegration(ctx, id)
	require.Error(t, err)
	assert.True(t, port.IsNotFound(err))

	cfg := json.RawMessage(`{"deleteDependentEntities":true,"resources":[{"kind":"project"}]}`)
	in, err := c.CreateIntegration(ctx, port.CreateIntegrationRequest{InstallationID: id, InstallationAppType: "gitlab-v2",
		Version: "0.9.30", Config: cfg, ChangelogDestination: map[string]any{}})
	require.NoError(t, err)
	assert.Equal(t, id, in.Identifier)
	assert.True(t, in.HasConfig())

	got, err := c.GetIntegration(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "gitlab-v2", got.InstallationAppType)
	assert.JSONEq(t, string(cfg), string(got.Config))

	patched, err := c.PatchIntegration(ctx, id, map[string]any{"version": "0.9.31", "arePortResourcesInitialized": true})
	require.NoError(t, err)
	assert.Equal(t, "0.9.31", patched.Version)
	assert.True(t, patched.ArePortResourcesInitialized)

	newCfg := json.RawMessage(`{"resources":[]}`)
	patched, err = c.PatchIntegrationConfig(ctx, id, newCfg, true)
	require.NoError(t, err)
	assert.JSONEq(t, string(newCfg), string(patched.Config))

	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	interval := 60
	patched, err = c.PatchResyncState(ctx, id, port.ResyncState{Status: "running", LastResyncStart: &start, IntervalInMinutes: &interval})
	require.NoError(t, err)
	require.NotNil(t, patched.ResyncState)
	assert.Equal(t, "running", patched.ResyncState.Status)
	assert.NotNil(t, patched.ResyncState.UpdatedAt)
	reqs := srv.Requests()
	assert.JSONEq(t, `{"status":"running","lastResyncStart":"2026-03-01T10:00:00Z","lastResyncEnd":null,"nextResync":null,"intervalInMinuets":60}`,
		string(reqs[len(reqs)-1].Body), "Port's field names, typo included")
	_, err = c.PatchResyncState(ctx, id, port.ResyncState{Status: "completed", LastResyncStart: &start})
	require.NoError(t, err)
	states := srv.ResyncStates(id)
	require.Len(t, states, 2)
	assert.Equal(t, "completed", states[1].Status)

	rr, err := c.GetResyncRequest(ctx, id)
	require.NoError(t, err)
	assert.Nil(t, rr)
	want, ok := srv.RequestResync(id)
	require.True(t, ok)
	rr, err = c.GetResyncRequest(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, rr)
	assert.Equal(t, want.ID, rr.ID)
	assert.True(t, want.UpdatedAt.Equal(rr.UpdatedAt))
	again, _ := srv.RequestResync(id)
	assert.True(t, again.UpdatedAt.After(want.UpdatedAt))

	examples := []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}}
	require.NoError(t, c.PostKindExamples(ctx, id, "merge-request/x", examples))
	assert.Equal(t, examples, srv.KindExamples(id, "merge-request/x"))

	require.NoError(t, c.DeleteIntegration(ctx, id))
	_, ok = srv.Integration(id)
	assert.False(t, ok)
}

func TestIntegrationConfigMayBeAbsent(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{"identifier":"x"}`, `{"identifier":"x","config":null}`, `{"identifier":"x","config":{}}`} {
		var in port.Integration
		require.NoError(t, json.Unmarshal([]byte(raw), &in))
		assert.False(t, in.HasConfig(), raw)
	}
	var in port.Integration
	require.NoError(t, json.Unmarshal([]byte(`{"identifier":"x","config":{"resources":[]},"logAttributes":{"ingestUrl":"u"}}`), &in))
	assert.True(t, in.HasConfig())
	assert.JSONEq(t, `{"ingestUrl":"u"}`, string(in.Extra["logAttributes"]))
}

func TestActionsScorecardsPages(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()

	a, err := c.CreateAction(ctx, map[string]any{"identifier": "rerun", "trigger": map[string]any{"type": "self-service"}})
	require.NoError(t, err)
	assert.Equal(t, "rerun", a["identifier"])
	a, err = c.GetAction(ctx, "rerun")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"type": "self-service"}, a["trigger"])
	_, err = c.CreateAction(ctx, map[string]any{"identifier": "rerun"})
	assert.True(t, port.IsConflict(err))

	sc, err := c.CreateScorecard(ctx, "service", map[string]any{"identifier": "prod", "title": "Prod", "rules": []any{}})
	require.NoError(t, err)
	assert.Equal(t, "service", sc["blueprint"])
	_, err = c.GetScorecard(ctx, "service", "prod")
	require.NoError(t, err)
	_, err = c.CreateScorecard(ctx, "nope", map[string]any{"identifier": "prod"})
	assert.True(t, port.IsNotFound(err))

	_, err = c.CreatePage(ctx, map[string]any{"identifier": "gitlab", "title": "GitLab"})
	require.NoError(t, err)
	p, err := c.GetPage(ctx, "gitlab")
	require.NoError(t, err)
	assert.Equal(t, "GitLab", p["title"])
	require.NoError(t, c.DeletePage(ctx, "gitlab"))
	_, err = c.GetPage(ctx, "gitlab")
	assert.True(t, port.IsNotFound(err))
	assert.Equal(t, 1, srv.Count(porttest.RouteDeletePage))
}
