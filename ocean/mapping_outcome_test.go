package ocean_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"

	"github.com/oceankit/oceankit/internal/logtest"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = logtest.Buffer

// A property whose jq fails for an item is null in that entity, which is
// still written (Ocean's rule): the entity keeps updating in Port. The
// failure is counted and reported once per field for the kind, with one
// example item, and does not stop stale deletion.
func TestFieldErrorWritesTheEntityWithTheFieldNull(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 30, withMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          properties:
            color: .color | ascii_upcase
            size: .size
`))
	for i := 0; i < 30; i += 3 {
		it := widget(i)
		it["color"] = nil
		h.src.put(it)
	}
	var logs syncBuffer
	a := h.app(ocean.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, err := h.resync(a)
	require.NoError(t, err)
	require.Equal(t, 30, h.srv.EntityCount("widget"), "no entity is left out for a failing property")

	// Remove one widget: the next resync deletes it although other
	// entities had a field null.
	h.src.remove("w-00001")
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, report.StateCompleted, rep.Status)
	k := rep.Kinds[0]
	assert.EqualValues(t, 10, k.Nulled)
	assert.Zero(t, k.Misconfigured)
	assert.True(t, k.Complete)
	assert.Equal(t, 1, rep.Deleted)
	require.Len(t, k.MappingErrors, 1)
	me := k.MappingErrors[0]
	assert.Equal(t, "properties.color", me.Field)
	assert.Equal(t, ".color | ascii_upcase", me.Expr)
	assert.EqualValues(t, 10, me.Count)
	assert.False(t, me.LeftOut)
	assert.Regexp(t, `^entity widget/w-000\d\d$`, me.Example)
	assert.Contains(t, me.Error, "ascii_upcase")

	e, ok := h.srv.Entity("widget", "w-00003")
	require.True(t, ok)
	assert.Contains(t, e.Properties, "color")
	assert.Nil(t, e.Properties["color"])
	assert.EqualValues(t, 3, e.Properties["size"])
	e, ok = h.srv.Entity("widget", "w-00004")
	require.True(t, ok)
	assert.Equal(t, "GREEN", e.Properties["color"])

	// Once per field per kind and resync, not once per page.
	assert.Equal(t, 2, strings.Count(logs.String(), "entities written with a field null"), logs.String())
}

// A selector that fails, or gives a non-boolean (null included), for an
// item is an error for the kind: Ocean fails the resync, and the items'
// entities must not be deleted as if they had been filtered out.
func TestSelectorErrorFailsTheKindAndDeletesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 20)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	require.Equal(t, 20, h.srv.EntityCount("widget"))

	for _, q := range []string{`.flag`, `.name | test(1)`} {
		h.setMapping(strings.Replace(widgetMapping, `'.hidden != true'`, `'`+q+`'`, 1))
		rep, err := h.resync(a)
		var kf *ocean.KindsFailedError
		require.ErrorAs(t, err, &kf, q)
		assert.Equal(t, report.StateFailed, rep.Status)
		var se *ocean.SelectorQueryError
		require.ErrorAs(t, rep.Kinds[0].Err, &se, q)
		assert.EqualValues(t, 20, se.Count)
		assert.Contains(t, se.Error(), q)
		assert.Contains(t, se.Error(), "item with id=w-")
		assert.Zero(t, rep.Deleted, q)
		assert.Equal(t, 20, h.srv.EntityCount("widget"), "nothing is deleted for %s", q)
	}
}

// One resource whose jq does not compile fails alone: the other resources
// sync, its blueprints keep their entities, and New, the resync report and
// Port's resync state say what is wrong.
func TestBrokenResourceFailsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, withMapping(widgetsThenTeams))
	h.putWidgetsOfTeams("t1", "t1", "t2")
	h.prov.Kinds = append(h.prov.Kinds, teamsKind("t1", "t2"))
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	require.Equal(t, 2, h.srv.EntityCount("team"))

	// The team resource breaks (a typo in Port's UI); a team and a widget
	// go at the source.
	h.setMapping(strings.Replace(widgetsThenTeams, "title: .id\n", "title: .id.\n", 1))
	h.prov.Kinds[1] = teamsKind("t2")
	h.src.remove("w-00002")
	rep, err := h.resync(a)
	var kf *ocean.KindsFailedError
	require.ErrorAs(t, err, &kf)
	assert.Equal(t, []string{"team[1]"}, kf.Kinds)
	assert.Equal(t, report.StateFailed, rep.Status)
	var re *ocean.ResourceError
	require.ErrorAs(t, rep.Kinds[1].Err, &re)
	var ce *mapping.CompileError
	require.ErrorAs(t, re, &ce)
	assert.Contains(t, re.Error(), "resources[1] (team)")
	assert.Contains(t, re.Error(), "title")

	assert.NoError(t, rep.Kinds[0].Err, "the widget resource syncs")
	assert.EqualValues(t, 2, rep.Kinds[0].Upserted+rep.Kinds[0].Skipped)
	_, ok := h.srv.Entity("widget", "w-00002")
	assert.False(t, ok, "the widget resource's stale entity is deleted")
	assert.Equal(t, 2, h.srv.EntityCount("team"), "the broken resource's blueprint keeps its entities")
	states := h.srv.ResyncStates(integrationID)
	assert.Equal(t, report.StateFailed, states[len(states)-1].Status)
}

// A static mapping with a broken resource starts (the resource fails in
// each resync, logged at start); one of which nothing compiles is refused.
func TestNewWithABrokenStaticResource(t *testing.T) {
	t.Parallel()
	good := "  - kind: widget\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"widget\"'\n"
	bad := "  - kind: widget\n    port:\n      entity:\n        mappings:\n          identifier: .id.\n          blueprint: '\"team\"'\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr bool
	}{
		{"one broken of two", "resources:\n" + good + bad, false},
		{"all broken", "resources:\n" + bad, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 3)
			cfg, err := mapping.Parse([]byte(tt.yaml))
			require.NoError(t, err)
			var logs syncBuffer
			a, err := ocean.New(h.cfg, h.prov, ocean.WithPortClient(h.client), ocean.WithPortAppConfig(cfg),
				ocean.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "resources[0] (widget) .port.entity.mappings.identifier")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, logs.String(), "resources[1] (widget) .port.entity.mappings.identifier")
			assert.Contains(t, logs.String(), "level=ERROR")
			rep, err := h.resync(a)
			require.Error(t, err)
			assert.NoError(t, rep.Kinds[0].Err)
			assert.Equal(t, 3, h.srv.EntityCount("widget"))
			assert.Error(t, rep.Kinds[1].Err)
		})
	}
}

// Live events follow the same rules: a failing field is null in the
// written entity; a selector that is not a boolean neither writes nor
// deletes.
func TestLiveEventMappingErrors(t *testing.T) {
	t.Parallel()
	lh := newLive(t, func(lh *liveHarness) {
		lh.setMapping(`
resources:
  - kind: widget
    selector:
      query: 'if .hidden == "oops" then null else .hidden != true end'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"widget"'
          properties:
            color: .color | ascii_upcase
            size: .size
`)
	})
	w := widget(7)
	w["color"] = nil
	status, _ := lh.post(t, hookSecret, widgetEvent("update", w))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00007"); return ok }, "written with the field null")
	e, _ := lh.srv.Entity("widget", "w-00007")
	assert.Nil(t, e.Properties["color"])
	assert.EqualValues(t, 7, e.Properties["size"])

	w["hidden"] = "oops"
	status, _ = lh.post(t, hookSecret, widgetEvent("update", w))
	require.Equal(t, http.StatusAccepted, status)
	require.NoError(t, lh.stop())
	_, ok := lh.srv.Entity("widget", "w-00007")
	assert.True(t, ok, "a selector error is not a reason to delete")
}

// A dry run says what it would write, and does not warn about a catalog it
// has no credentials to read.
func TestDryRunLogsSayWould(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3)
	var logs syncBuffer
	a, err := ocean.New(h.cfg, h.prov, ocean.WithDryRun(&bytes.Buffer{}), ocean.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.True(t, rep.DryRun)
	assert.Contains(t, logs.String(), "would_upsert=3")
	assert.NotContains(t, logs.String(), " upserted=")
	assert.NotContains(t, logs.String(), "could not read the catalog")
}

// A kind the provider does not have is named at start, with the nearest
// kind it has, and fails in each resync.
func TestUnknownKindIsReportedWithASuggestion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3)
	cfg, err := mapping.Parse([]byte("resources:\n  - kind: widgit\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"widget\"'\n"))
	require.NoError(t, err)
	var logs syncBuffer
	a, err := ocean.New(h.cfg, h.prov, ocean.WithPortClient(h.client), ocean.WithPortAppConfig(cfg),
		ocean.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), `kind \"widgit\" is not provided by widgets: did you mean \"widget\"?`)
	rep, err := h.resync(a)
	require.Error(t, err)
	assert.ErrorContains(t, rep.Kinds[0].Err, `did you mean "widget"?`)
}
