package ocean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestUnchangedResyncSendsNoWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 120)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	h.srv.ResetRequests()
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Zero(t, h.srv.Count(porttest.RouteBulkUpsert), "nothing changed: no entity writes")
	assert.Zero(t, h.srv.Count(porttest.RouteUpsertEntity))
	assert.EqualValues(t, 120, rep.Kinds[0].Skipped)
	assert.EqualValues(t, 0, rep.Kinds[0].Upserted)
	assert.Equal(t, 1, h.srv.Count(porttest.RouteDatasourceEntities), "Port is read once, for both skipping and stale deletion")
}

// Each case changes one widget at the source, or the mapping, and checks
// that exactly that entity is written again and lands in Port.
func TestEveryRealChangeIsWritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mapping string // "" keeps widgetMapping
		change  func(w map[string]any)
		check   func(t *testing.T, props map[string]any, rels map[string]any, title string)
		writes  int64
	}{
		{name: "property value", change: func(w map[string]any) { w["color"] = "purple" },
			check: func(t *testing.T, p, _ map[string]any, _ string) { assert.Equal(t, "purple", p["color"]) }, writes: 1},
		{name: "number", change: func(w map[string]any) { w["size"] = 42.0 },
			check: func(t *testing.T, p, _ map[string]any, _ string) { assert.EqualValues(t, 42, p["size"]) }, writes: 1},
		{name: "property cleared to null", change: func(w map[string]any) { w["color"] = nil },
			check: func(t *testing.T, p, _ map[string]any, _ string) { assert.Nil(t, p["color"]) }, writes: 1},
		{name: "title", change: func(w map[string]any) { w["name"] = "Renamed" },
			check: func(t *testing.T, _, _ map[string]any, title string) { assert.Equal(t, "Renamed", title) }, writes: 1},
		{name: "relation set", change: func(w map[string]any) { w["team"] = "platform" },
			check: func(t *testing.T, _, r map[string]any, _ string) { assert.Equal(t, "platform", r["team"]) }, writes: 1},
		{name: "same value as an integer", change: func(w map[string]any) { w["size"] = 2 }, writes: 0,
			check: func(t *testing.T, p, _ map[string]any, _ string) { assert.EqualValues(t, 2, p["size"]) }},
		{name: "nothing", change: func(map[string]any) {}, writes: 0,
			check: func(t *testing.T, p, _ map[string]any, _ string) { assert.Equal(t, "blue", p["color"]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 10)
			a := h.app()
			_, err := h.resync(a)
			require.NoError(t, err)
			w := widget(2)
			tc.change(w)
			h.src.put(w)
			rep, err := h.resync(a)
			require.NoError(t, err)
			assert.Equal(t, tc.writes, rep.Kinds[0].Upserted)
			assert.Equal(t, 10-tc.writes, rep.Kinds[0].Skipped)
			e, ok := h.srv.Entity("widget", "w-00002")
			require.True(t, ok)
			tc.check(t, e.Properties, e.Relations, e.Title)
		})
	}
}

func TestReplacingUpsertWritesWhenPortHoldsMore(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	// Without merge, an upsert replaces the entity: a property Port holds
	// that the mapping no longer sends must go, so the entity is written.
	h.setMapping("enableMergeEntity: false\n" + `
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          properties:
            color: .color
`)
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 3, rep.Kinds[0].Upserted)
	e, _ := h.srv.Entity("widget", "w-00001")
	assert.NotContains(t, e.Properties, "size")

	// With merge, the same mapping leaves "size" alone: nothing to write.
	h.setMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          properties:
            color: .color
`)
	rep, err = h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 0, rep.Kinds[0].Upserted)
	assert.EqualValues(t, 3, rep.Kinds[0].Skipped)
}

func TestPlanEqualsTheResyncThatFollows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 30)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)

	// At the source: two new widgets, one changed, one removed.
	h.src.put(widget(100))
	h.src.put(widget(101))
	changed := widget(5)
	changed["color"] = "black"
	h.src.put(changed)
	h.src.remove("w-00009")

	h.srv.ResetRequests()
	plan, err := a.Plan(context.Background())
	require.NoError(t, err)
	assert.Zero(t, h.srv.Count(porttest.RouteBulkUpsert)+h.srv.Count(porttest.RouteBulkDelete)+h.srv.Count(porttest.RoutePatchResyncState),
		"a plan writes nothing")
	create, change, del := plan.Counts()
	assert.Equal(t, 2, create)
	assert.Equal(t, 1, change)
	assert.Equal(t, 1, del)
	bp := plan.Blueprints["widget"]
	require.NotNil(t, bp)
	assert.Equal(t, 28, bp.Unchanged)
	assert.Equal(t, []string{"w-00009"}, bp.Delete)
	require.Len(t, bp.Change, 1)
	assert.Equal(t, "w-00005", bp.Change[0].Identifier)
	assert.Equal(t, []ocean.FieldChange{{Field: "properties.color", Old: "blue", New: "black"}}, bp.Change[0].Fields)

	var text bytes.Buffer
	require.NoError(t, plan.WriteText(&text))
	assert.Contains(t, text.String(), `properties.color: "blue" -> "black"`)
	assert.Contains(t, text.String(), "- w-00009")
	assert.Contains(t, text.String(), "+ w-00100")
	_, err = json.Marshal(plan)
	require.NoError(t, err)

	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, create+change, rep.Upserted(), "the resync writes what the plan said")
	assert.EqualValues(t, bp.Unchanged, rep.Kinds[0].Skipped)
	assert.Equal(t, del, rep.Deleted)
	e, _ := h.srv.Entity("widget", "w-00005")
	assert.Equal(t, "black", e.Properties["color"])
}

func TestPlanShowsTheThresholdDecision(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	for i := range 10 {
		h.src.remove(fmt.Sprintf("w-%05d", i))
	}
	plan, err := a.Plan(context.Background())
	require.NoError(t, err)
	assert.Contains(t, plan.DeletionSkipped, "entityDeletionThreshold")
	assert.Equal(t, 10, plan.StaleFound)
	_, _, del := plan.Counts()
	assert.Zero(t, del)
	var text bytes.Buffer
	require.NoError(t, plan.WriteText(&text))
	assert.Contains(t, text.String(), "Deletion would be skipped")
}

// The catalog is read while the kinds fetch; an entity a live event writes
// in that time is newer than the resync's data and must survive it.
func TestEntityWrittenDuringTheResyncIsNotStale(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	ds := "port-ocean/widgets/1.0.0/" + integrationID + "/exporter"
	for _, tc := range []struct {
		id      string
		updated time.Time
	}{
		{"w-gone", h.portClock.Peek().Add(-time.Hour)},       // removed at the source before the resync
		{"w-live", h.portClock.Peek().Add(10 * time.Minute)}, // written by a live event while it runs
	} {
		require.NoError(t, h.srv.SeedEntity(port.Entity{Identifier: tc.id, Blueprint: "widget", Title: tc.id,
			Properties: map[string]any{"color": "red"}, Datasource: ds, UpdatedAt: tc.updated}))
	}
	rep, err := h.resync(a)
	require.NoError(t, err)
	_, ok := h.srv.Entity("widget", "w-gone")
	assert.False(t, ok, "a stale entity is deleted")
	_, ok = h.srv.Entity("widget", "w-live")
	assert.True(t, ok, "an entity written after the resync started is kept")
	assert.Equal(t, 1, rep.Deleted)
	assert.EqualValues(t, 5, rep.Kinds[0].Skipped, "the other widgets are still compared and skipped")

	states := h.srv.ResyncStates(integrationID)
	require.GreaterOrEqual(t, len(states), 4)
	last := states[len(states)-2:]
	assert.Equal(t, report.StateRunning, last[0].Status, "running is reported before completed, though in the background")
	assert.Equal(t, report.StateCompleted, last[1].Status)
}
