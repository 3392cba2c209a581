package ocean_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
)

// incrementalSource lists widgets with an updated_at, honouring Since like
// GitLab's updated_after.
func incrementalSource(h *harness, clk *clock.Fake) {
	base := h.src.kind("widget")
	h.prov.Kinds = []ocean.Kind{ocean.Incremental(ocean.NewKind("widget", func(ctx context.Context, sel ocean.BaseSelector, send ocean.Sender) error {
		since, ok := ocean.Since(ctx)
		if !ok {
			return base.Fetch(ctx, nil, send)
		}
		var page []ocean.Item
		for _, it := range h.src.snapshot() {
			if it["updated_at"].(time.Time).After(since) {
				page = append(page, it)
			}
		}
		return send.Send(ctx, page)
	}))}
	for _, it := range h.src.snapshot() {
		it["updated_at"] = clk.Now().Add(-24 * time.Hour)
	}
}

func touch(h *harness, clk *clock.Fake, i int, color string) {
	w := widget(i)
	w["color"] = color
	w["updated_at"] = clk.Now()
	h.src.put(w)
}

func incrementalHarness(t *testing.T, n int) (*harness, *clock.Fake) {
	t.Helper()
	h := newHarness(t, n)
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	incrementalSource(h, clk)
	h.cfg.Integration.IncrementalSyncEnabled = true
	h.cfg.Integration.FullResyncInterval = 24 * 60
	return h, clk
}

// resyncAuto asks for an incremental resync; kinds without a watermark
// are still fetched in full.
func resyncAuto(t *testing.T, a *ocean.App, incremental bool) *report.Resync {
	t.Helper()
	rep, err := a.Resync(context.Background(), ocean.ResyncOptions{Trigger: "test", Incremental: incremental})
	require.NoError(t, err)
	return rep
}

func TestIncrementalResyncFetchesOnlyChanges(t *testing.T) {
	t.Parallel()
	h, clk := incrementalHarness(t, 200)
	a := h.app(ocean.WithClock(clk))

	first := resyncAuto(t, a, true) // no watermark yet: every kind in full
	assert.Nil(t, first.Kinds[0].Since)
	assert.EqualValues(t, 200, first.Kinds[0].Fetched)

	clk.Advance(time.Hour)
	touch(h, clk, 3, "purple")
	touch(h, clk, 150, "orange")
	h.srv.ResetRequests()
	rep := resyncAuto(t, a, true)
	assert.True(t, rep.Incremental)
	require.NotNil(t, rep.Kinds[0].Since)
	assert.EqualValues(t, 2, rep.Kinds[0].Fetched, "only what changed since the watermark is fetched")
	assert.EqualValues(t, 2, rep.Kinds[0].Upserted)
	assert.Zero(t, h.srv.Count(porttest.RouteDatasourceEntities), "an incremental resync does not read the whole catalog")
	assert.Zero(t, h.srv.Count(porttest.RouteBulkDelete))

	// The catalog equals what a full resync produces.
	full := newHarness(t, 0)
	for _, it := range h.src.snapshot() {
		full.src.put(it)
	}
	_, err := full.resync(full.app())
	require.NoError(t, err)
	assert.Equal(t, full.srv.EntityCount("widget"), h.srv.EntityCount("widget"))
	for _, e := range full.srv.Entities("widget") {
		got, ok := h.srv.Entity("widget", e.ID())
		require.True(t, ok, e.ID())
		assert.Equal(t, e.Properties, got.Properties, e.ID())
		assert.Equal(t, e.Title, got.Title)
	}
}

func TestIncrementalDeletionsWaitForTheFullResync(t *testing.T) {
	t.Parallel()
	h, clk := incrementalHarness(t, 50)
	h.cfg.EventListener.Type = settings.ListenerPolling
	h.cfg.EventListener.ResyncOnStart = true
	h.cfg.Integration.IncrementalSyncInterval = "15"
	a := h.app(ocean.WithClock(clk))
	stop := runApp(t, a)
	first := waitReport(t, a)
	require.False(t, first.Incremental, "the first resync is a full one")

	h.src.remove("w-00007")
	touch(h, clk, 8, "purple")
	clk.WaitTickers(2)
	clk.Advance(15 * time.Minute)
	rep := waitReport(t, a)
	assert.True(t, rep.Incremental)
	assert.EqualValues(t, 1, rep.Kinds[0].Fetched)
	_, ok := h.srv.Entity("widget", "w-00007")
	assert.True(t, ok, "an incremental resync cannot see deletions")

	clk.Advance(24 * time.Hour) // the full-resync interval has passed
	rep = waitReport(t, a)
	assert.False(t, rep.Incremental, "a full resync is due")
	assert.Equal(t, 1, rep.Deleted)
	_, ok = h.srv.Entity("widget", "w-00007")
	assert.False(t, ok, "the scheduled full resync catches the deletion")
	require.NoError(t, stop())
}

func TestIncrementalWatermarkSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"port cursors", "file"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			h, clk := incrementalHarness(t, 30)
			if store == "file" {
				h.cfg.Integration.IncrementalStateFile = filepath.Join(t.TempDir(), "state.json")
			}
			h.cfg.EventListener.Type = settings.ListenerOnce
			// The full resync runs where incremental sync is off (as Port's
			// chart runs it beside the incremental CronJob); it still
			// records the watermarks.
			h.cfg.Integration.IncrementalSyncEnabled = false
			require.NoError(t, h.app(ocean.WithClock(clk)).Run(context.Background()))
			h.cfg.Integration.IncrementalSyncEnabled = true
			if store == "file" {
				b, err := os.ReadFile(h.cfg.Integration.IncrementalStateFile)
				require.NoError(t, err)
				assert.Contains(t, string(b), "lastFullResync")
			}

			clk.Advance(time.Hour)
			touch(h, clk, 4, "purple")
			// A new process: the watermark is read back from where it was kept.
			logs := &logSink{}
			a := h.app(ocean.WithClock(clk), ocean.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			require.NoError(t, a.Run(context.Background()))
			e, _ := h.srv.Entity("widget", "w-00004")
			assert.Equal(t, "purple", e.Properties["color"])
			assert.Contains(t, logs.String(), "trigger=once incremental=true", "ONCE with incremental sync is incremental")
			assert.Contains(t, logs.String(), "fetched=1 ", "only the touched widget is fetched")
			assert.NotContains(t, logs.String(), "no incremental watermark", "it starts from the full resync's watermark")
			states := h.srv.ResyncStates(integrationID)
			assert.Equal(t, report.StateCompleted, states[len(states)-1].Status)
		})
	}
}

func TestIncrementalMappingChangeRefetchesTheKind(t *testing.T) {
	t.Parallel()
	h, clk := incrementalHarness(t, 40)
	a := h.app(ocean.WithClock(clk))
	resyncAuto(t, a, true)
	clk.Advance(time.Hour)
	h.setMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: '"new " + .name'
          blueprint: '"widget"'
`)
	rep := resyncAuto(t, a, true)
	assert.Nil(t, rep.Kinds[0].Since, "a resource whose config changed has no watermark: it is fetched in full")
	assert.EqualValues(t, 40, rep.Kinds[0].Fetched)
	e, _ := h.srv.Entity("widget", fmt.Sprintf("w-%05d", 39))
	assert.Equal(t, "new Widget 39", e.Title)
}
