package ocean_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestResyncWritesEveryItem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 250)
	h.src.put(ocean.Item{"id": "hidden-1", "name": "Hidden", "color": "red", "size": 1.0, "hidden": true})
	a := h.app()

	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, report.StateCompleted, rep.Status)
	require.Len(t, rep.Kinds, 1)
	k := rep.Kinds[0]
	assert.EqualValues(t, 251, k.Fetched)
	assert.EqualValues(t, 1, k.Filtered, "the selector query drops the hidden widget")
	assert.EqualValues(t, 250, k.Upserted)
	assert.True(t, k.Complete)
	assert.Equal(t, 250, h.srv.EntityCount("widget"))

	e, ok := h.srv.Entity("widget", "w-00007")
	require.True(t, ok)
	assert.Equal(t, "Widget 7", e.Title)
	assert.Equal(t, "green", e.Properties["color"])
	assert.EqualValues(t, 7, e.Properties["size"])
	assert.Equal(t, "port-ocean/widgets/1.0.0/"+integrationID+"/exporter", e.Datasource)

	// Bulk requests carry full batches: 250 entities need 13 bulks of 20.
	assert.LessOrEqual(t, h.srv.Count(porttest.RouteBulkUpsert), 13+4, "at most one partial bulk per mapping worker")

	states := h.srv.ResyncStates(integrationID)
	require.GreaterOrEqual(t, len(states), 2)
	assert.Equal(t, report.StateRunning, states[0].Status)
	assert.Equal(t, report.StateCompleted, states[len(states)-1].Status)
	assert.NotEmpty(t, h.srv.KindExamples(integrationID, "widget"), "raw data examples are sent")
	assert.LessOrEqual(t, len(h.srv.KindExamples(integrationID, "widget")), 5)
}

// Examples go while the kind is still fetching, once its first five items
// are in, or at its end when it has fewer; either way before the resync
// returns, and again on every resync (Ocean's rule: the mapping editor
// shows current data).
func TestKindExamplesSentOnEachResyncWithTheFirstItems(t *testing.T) {
	t.Parallel()
	for _, items := range []int{3, 251} {
		t.Run(fmt.Sprint(items, " items"), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, items)
			a := h.app()
			_, err := h.resync(a)
			require.NoError(t, err)
			ex := h.srv.KindExamples(integrationID, "widget")
			require.Len(t, ex, min(items, 5))
			for i, e := range ex {
				assert.Equal(t, fmt.Sprintf("w-%05d", i), e.(map[string]any)["id"], "the kind's first items, in order")
			}
			assert.Equal(t, 1, h.srv.Count(porttest.RoutePostKindExamples))
			changed := widget(0)
			changed["name"] = "renamed"
			h.src.put(changed)
			_, err = h.resync(a)
			require.NoError(t, err)
			assert.Equal(t, 2, h.srv.Count(porttest.RoutePostKindExamples), "again on the next resync")
			ex = h.srv.KindExamples(integrationID, "widget")
			require.Len(t, ex, min(items, 5))
			assert.Equal(t, "renamed", ex[0].(map[string]any)["name"], "the examples are current")
		})
	}
}

func TestResyncDeletesStaleEntitiesOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 50)
	h.seedForeign("foreign-1")
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	require.Equal(t, 51, h.srv.EntityCount("widget"))

	h.src.remove("w-00003")
	h.src.remove("w-00004")
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Deleted)
	_, ok := h.srv.Entity("widget", "w-00003")
	assert.False(t, ok, "a removed item's entity is deleted")
	_, ok = h.srv.Entity("widget", "foreign-1")
	assert.True(t, ok, "another integration's entity is never deleted")
	assert.Equal(t, 49, h.srv.EntityCount("widget"))
}

func TestResyncFailedKindDeletesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)

	h.src.remove("w-00001")
	h.src.mu.Lock()
	h.src.failAfter = 1 // the API fails after the first page
	h.src.mu.Unlock()
	rep, err := h.resync(a)
	require.Error(t, err)
	var kf *ocean.KindsFailedError
	require.ErrorAs(t, err, &kf)
	assert.Equal(t, report.StateFailed, rep.Status)
	assert.False(t, rep.Kinds[0].Complete)
	assert.Equal(t, 0, rep.Deleted)
	assert.Equal(t, 300, h.srv.EntityCount("widget"), "nothing is deleted on partial data")
	states := h.srv.ResyncStates(integrationID)
	assert.Equal(t, report.StateFailed, states[len(states)-1].Status)
}

func TestResyncDeletionThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		threshold  string
		remove     int
		wantDelete bool
	}{
		{"under the default", "", 5, true},
		{"over the default", "", 95, false},
		{"zero turns deletion off", "entityDeletionThreshold: 0\n", 1, false},
		{"one allows everything", "entityDeletionThreshold: 1\n", 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 100)
			a := h.app()
			_, err := h.resync(a)
			require.NoError(t, err)
			h.setMapping(tc.threshold + widgetMapping)
			for i := range tc.remove {
				h.src.remove(fmt.Sprintf("w-%05d", i))
			}
			rep, err := h.resync(a)
			require.NoError(t, err)
			if tc.wantDelete {
				assert.Equal(t, tc.remove, rep.Deleted)
				assert.Empty(t, rep.DeletionSkipped)
				assert.Equal(t, 100-tc.remove, h.srv.EntityCount("widget"))
			} else {
				assert.Equal(t, 0, rep.Deleted)
				assert.Contains(t, rep.DeletionSkipped, "entityDeletionThreshold")
				assert.Equal(t, 100, h.srv.EntityCount("widget"))
			}
		})
	}
}

func TestResyncMappingErrorsStopBeforeWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10, withMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"widget"'
          properties:
            color: .color | ascii_downcase(
            size: .size | nosuchfunction
`))
	a := h.app()
	rep, err := h.resync(a)
	require.Error(t, err)
	assert.Equal(t, report.StateFailed, rep.Status)
	msg := err.Error()
	assert.Contains(t, msg, "properties.color")
	assert.Contains(t, msg, "properties.size", "every mapping error is reported at once")
	assert.Zero(t, h.srv.Count(porttest.RouteBulkUpsert))
	assert.Zero(t, h.srv.EntityCount("widget"))
}

func TestResyncMisconfiguredIdentifierProtectsTheKind(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 20)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)

	// A typo in the identifier mapping yields null for every item: Ocean
	// would delete all 20 entities as stale (within its threshold).
	h.setMapping(`
entityDeletionThreshold: 1
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .idd
          blueprint: '"widget"'
`)
	rep, err := h.resync(a)
	require.NoError(t, err, "the resync itself did what it could")
	assert.Equal(t, 0, rep.Deleted)
	assert.False(t, rep.Kinds[0].Complete)
	assert.Contains(t, rep.Kinds[0].DeletionBlocked, "could not be mapped to an identifier")
	assert.Contains(t, rep.DeletionSkipped, "widget[0]")
	assert.Equal(t, 20, h.srv.EntityCount("widget"))
}

func TestResyncKeepsRelationTargets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3)
	h.src.put(ocean.Item{"id": "w-team", "name": "T", "color": "red", "size": 1.0, "team": "platform"})
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	_, ok := h.srv.Entity("team", "platform")
	require.True(t, ok, "Port created the relation target as a placeholder")
	rep, err := h.resync(a)
	require.NoError(t, err)
	_, ok = h.srv.Entity("team", "platform")
	assert.True(t, ok, "a relation target of a kept entity is not stale")
	assert.Equal(t, 0, rep.Deleted)
}

func TestResyncPartialBulkFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 40)
	h.src.put(ocean.Item{"id": "bad widget id", "name": "Bad", "color": "red", "size": 1.0})
	a := h.app()
	rep, err := h.resync(a)
	assert.EqualValues(t, 40, rep.Kinds[0].Upserted, "an entity Port rejects fails alone")
	assert.EqualValues(t, 1, rep.Kinds[0].Failed)
	assert.Equal(t, 40, h.srv.EntityCount("widget"))

	// ...but the kind is not complete, and the resync does not say it is.
	var kf *ocean.KindsFailedError
	require.ErrorAs(t, err, &kf)
	assert.Equal(t, report.StateFailed, rep.Status)
	var wf *ocean.WritesFailedError
	require.ErrorAs(t, rep.Kinds[0].Err, &wf)
	assert.EqualValues(t, 1, wf.Failed)
	assert.EqualValues(t, 41, wf.Total)
	assert.Contains(t, wf.Error(), "1 of 41 entities were not written to Port")
	assert.False(t, rep.Kinds[0].Complete)
}

func TestResyncCancelledDeletesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300)
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	h.src.remove("w-00010")
	gate := make(chan struct{})
	started := make(chan struct{})
	h.src.mu.Lock()
	h.src.gate, h.src.started = gate, started
	h.src.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *report.Resync)
	go func() {
		rep, _ := a.Resync(ctx, ocean.ResyncOptions{})
		done <- rep
	}()
	<-started
	cancel()
	rep := <-done
	assert.Equal(t, report.StateAborted, rep.Status)
	assert.Equal(t, 0, rep.Deleted)
	_, ok := h.srv.Entity("widget", "w-00010")
	assert.True(t, ok)
}

func TestResyncEmptyMapping(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5)
	h.srv.AddIntegration(port.Integration{Identifier: integrationID})
	a := h.app()
	_, err := h.resync(a)
	require.ErrorIs(t, err, ocean.ErrEmptyMapping)
}

func TestResyncUnknownKindFailsOnlyThatKind(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5, withMapping(widgetMapping+`
  - kind: gizmo
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"widget"'
`))
	a := h.app()
	rep, err := h.resync(a)
	require.Error(t, err)
	assert.True(t, rep.Kinds[0].Complete)
	assert.False(t, rep.Kinds[1].Complete)
	assert.Contains(t, rep.Kinds[1].Err.Error(), "gizmo")
	assert.Equal(t, 5, h.srv.EntityCount("widget"))
}

func TestResyncSequentialMatchesConcurrent(t *testing.T) {
	t.Parallel()
	for _, seq := range []bool{false, true} {
		t.Run(fmt.Sprint("sequential=", seq), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 333)
			h.cfg.Resync.Sequential = seq
			a := h.app()
			rep, err := h.resync(a)
			require.NoError(t, err)
			assert.EqualValues(t, 333, rep.Upserted())
			assert.Equal(t, 333, h.srv.EntityCount("widget"))
		})
	}
}

func TestResyncRetriesPortFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 60)
	h.srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Times: 2, Status: 503})
	h.srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Times: 1, Status: 429, RetryAfter: "0"})
	a := h.app()
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.EqualValues(t, 60, rep.Upserted())
	assert.Equal(t, 60, h.srv.EntityCount("widget"))
}

func TestResyncStaticMappingNeedsNoIntegrationConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 12)
	h.srv.AddIntegration(port.Integration{Identifier: integrationID})
	pac := mustParse(t, widgetMapping)
	a := h.app(ocean.WithPortAppConfig(pac))
	_, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, 12, h.srv.EntityCount("widget"))
}

func TestResyncReportsKindErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.src.mu.Lock()
	h.src.failAfter = 1
	h.src.pageSize = 1
	h.src.mu.Unlock()
	h.src.put(widget(2))
	a := h.app()
	rep, err := h.resync(a)
	require.Error(t, err)
	var kf *ocean.KindsFailedError
	require.ErrorAs(t, err, &kf)
	assert.Equal(t, []string{"widget[0]"}, kf.Kinds)
	require.Error(t, rep.Kinds[0].Err)
	assert.Contains(t, rep.Kinds[0].Err.Error(), "503", "the kind's error keeps the API's answer")
	assert.EqualValues(t, 1, rep.Kinds[0].Upserted, "what was fetched before the failure is still written")
}

func TestBadSelectorStopsTheResyncBeforeWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10, withMapping(`
resources:
  - kind: widget
    selector:
      query: 'true'
      color: 42
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"widget"'
`))
	rep, err := h.resync(h.app())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resources[0] (widget) .selector")
	assert.Equal(t, report.StateFailed, rep.Status)
	assert.Zero(t, h.srv.Count(porttest.RouteBulkUpsert))
}

func TestResyncWritesARepeatedEntityOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	// Like `member`, which lists a user once per group.
	h.prov.Kinds = []ocean.Kind{ocean.NewKind("widget", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
		for range 5 {
			if err := send.Send(ctx, []ocean.Item{widget(1), widget(2)}); err != nil {
				return err
			}
		}
		changed := widget(2)
		changed["color"] = "purple" // a later, different version is written
		return send.Send(ctx, []ocean.Item{changed})
	})}
	h.cfg.Resync.MapWorkers = 1
	rep, err := h.resync(h.app())
	require.NoError(t, err)
	assert.EqualValues(t, 3, rep.Kinds[0].Upserted, "one write per distinct entity state")
	assert.EqualValues(t, 8, rep.Kinds[0].Skipped)
	e, _ := h.srv.Entity("widget", "w-00002")
	assert.Equal(t, "purple", e.Properties["color"])
}
