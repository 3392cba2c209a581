package ocean_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port/porttest"
)

// metricsOf scrapes the App's Prometheus text.
func metricsOf(t *testing.T, a *ocean.App) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// A resync whose writes Port refused did not make the catalog equal to the
// source: its state in Port, its report, its error and its metrics say so.
func TestResyncWithFailedWritesIsNotCompleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 30)
	h.srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusInternalServerError, Times: 1000})
	a := h.app()
	rep, err := h.resync(a)

	var kf *ocean.KindsFailedError
	require.ErrorAs(t, err, &kf, "a Port outage is not a success")
	assert.Equal(t, report.StateFailed, rep.Status)
	assert.EqualValues(t, 30, rep.Kinds[0].Failed)
	assert.Zero(t, rep.Kinds[0].Upserted)
	var wf *ocean.WritesFailedError
	require.ErrorAs(t, rep.Kinds[0].Err, &wf)
	assert.Contains(t, wf.Error(), "30 of 30 entities were not written")
	assert.Contains(t, wf.Error(), "500")

	states := h.srv.ResyncStates(integrationID)
	require.NotEmpty(t, states)
	assert.Equal(t, report.StateFailed, states[len(states)-1].Status, "Port shows the resync failed")
	m := metricsOf(t, a)
	assert.Contains(t, m, `ocean_resyncs_total{status="failed"} 1`)
	assert.NotContains(t, m, `status="completed"`)
}

// A mapping that writes to a blueprint Port does not have fails that kind
// before anything is written, with a message that says how to fix it; the
// other kinds sync.
func TestMissingBlueprintFailsTheKindBeforeItWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10, withMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widgit"'
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
`))
	a := h.app()
	rep, err := h.resync(a)
	require.Error(t, err)
	assert.Equal(t, report.StateFailed, rep.Status)
	var mb *ocean.MissingBlueprintsError
	require.ErrorAs(t, rep.Kinds[0].Err, &mb)
	assert.Equal(t, []string{"widgit"}, mb.Blueprints)
	assert.Contains(t, mb.Error(), `"widgit" does not exist in Port`)
	assert.Contains(t, mb.Error(), "OCEAN__INITIALIZE_PORT_RESOURCES")
	assert.Zero(t, rep.Kinds[0].Fetched, "the kind did not even fetch")
	assert.NoError(t, rep.Kinds[1].Err)
	assert.EqualValues(t, 10, rep.Kinds[1].Upserted, "the other resource synced")
	assert.Equal(t, 1, h.srv.Count(porttest.RouteListBlueprints), "one read")
	for _, r := range h.srv.Requests() {
		assert.NotContains(t, r.Path, "widgit", "nothing was sent to the missing blueprint")
	}
}

// putWidgetsOfTeams puts widget i of team teams[i] in the source.
func (h *harness) putWidgetsOfTeams(teams ...string) {
	for i, team := range teams {
		it := widget(i)
		it["team"] = team
		h.src.put(it)
	}
}

// teamsKind is a second kind for the relation tests: the teams ids.
func teamsKind(ids ...string) ocean.Kind {
	return ocean.NewKind("team", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
		items := make([]ocean.Item, len(ids))
		for i, id := range ids {
			items[i] = ocean.Item{"id": id}
		}
		return send.Send(ctx, items)
	})
}

const widgetsThenTeams = `
createMissingRelatedEntities: false
deleteDependentEntities: false
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          relations:
            team: .team
  - kind: team
    port:
      entity:
        mappings:
          identifier: .id
          title: .id
          blueprint: '"team"'
`

// With createMissingRelatedEntities off, an entity Port refused because the
// entity it relates to did not exist yet is sent again once the kind that
// writes that entity ran (Ocean's retry of failed upserts), and counts as
// written.
func TestRefusedForAMissingRelatedEntityIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, withMapping(widgetsThenTeams))
	h.putWidgetsOfTeams("t1", "t1", "t2")
	h.prov.Kinds = append(h.prov.Kinds, teamsKind("t1", "t2"))
	a := h.app()
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 3, rep.Kinds[0].Upserted, "written on the second try")
	assert.Zero(t, rep.Kinds[0].Failed)
	assert.Equal(t, 3, h.srv.EntityCount("widget"))
	w, ok := h.srv.Entity("widget", "w-00002")
	require.True(t, ok)
	assert.Equal(t, "t2", w.Relations["team"])
}

// What is refused again after the retry has failed.
func TestRefusedAgainAfterTheRetryFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, withMapping(widgetsThenTeams))
	it := widget(1)
	it["team"] = "nobody"
	h.src.put(it)
	h.prov.Kinds = append(h.prov.Kinds, teamsKind("t1"))
	rep, err := h.resync(h.app())
	require.Error(t, err)
	assert.EqualValues(t, 1, rep.Kinds[0].Failed)
	assert.Contains(t, rep.Kinds[0].Err.Error(), "nobody")
	assert.NoError(t, rep.Kinds[1].Err)
}

// Without deleteDependentEntities, Port refuses to delete an entity that
// another points at through a required relation: stale entities go
// dependents first.
func TestStaleEntitiesAreDeletedDependentsFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, withMapping(widgetsThenTeams))
	_, err := h.client.PatchBlueprint(context.Background(), "widget", map[string]any{"relations": map[string]any{
		"team": map[string]any{"target": "team", "title": "Team", "required": true, "many": false},
	}})
	require.NoError(t, err)
	h.putWidgetsOfTeams("t1", "t1", "t2")
	h.prov.Kinds = append(h.prov.Kinds, teamsKind("t1", "t2"))
	a := h.app()
	_, err = h.resync(a)
	require.NoError(t, err)

	// t1 and both its widgets go; t2 and its widget stay.
	h.prov.Kinds[1] = teamsKind("t2")
	h.src.remove("w-00000")
	h.src.remove("w-00001")
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Deleted)
	_, ok := h.srv.Entity("team", "t1")
	assert.False(t, ok)
	assert.Equal(t, 1, h.srv.EntityCount("widget"))
	assert.Equal(t, 1, h.srv.EntityCount("team"))
	for _, r := range h.srv.Requests() {
		if r.Route == porttest.RouteBulkDelete {
			assert.Less(t, r.Status, 300, "no delete was refused: %s", r.Path)
		}
	}
}
