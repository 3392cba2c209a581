package ocean_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// phaseCount reads phase → object_count_type → type → object_count.
func phaseCount(t *testing.T, ev port.SyncMetricsEvent, phase, typ string) float64 {
	t.Helper()
	ph := ev.Metrics["phase"].(map[string]any)[phase].(map[string]any)
	n := ph["object_count_type"].(map[string]any)[typ].(map[string]any)["object_count"]
	return n.(float64)
}

func TestResyncSendsSyncMetricsPerKind(t *testing.T) {
	h := newHarness(t, 12)
	h.seedForeign("foreign-1")
	a := h.app()
	rep, err := h.resync(a)
	require.NoError(t, err)

	var kind port.SyncMetricsEvent
	require.Eventually(t, func() bool {
		ev, ok := h.srv.KindSyncMetrics(integrationID, rep.ID, "__runtime__")
		if !ok || ev.SyncState != "completed" {
			return false
		}
		kind, ok = h.srv.KindSyncMetrics(integrationID, rep.ID, "widget-0")
		return ok
	}, 10*time.Second, 5*time.Millisecond)

	assert.Equal(t, "completed", kind.SyncState)
	assert.Equal(t, "widget", kind.Kind)
	assert.Equal(t, 0, kind.KindIndex)
	assert.Equal(t, integrationID, kind.IntegrationIdentifier)
	assert.Equal(t, "widget", kind.Blueprint)
	k := rep.Kinds[0]
	assert.EqualValues(t, k.Fetched, phaseCount(t, kind, "extract", "raw_extracted"))
	assert.EqualValues(t, k.Mapped, phaseCount(t, kind, "transform", "transformed"))
	assert.EqualValues(t, k.Filtered, phaseCount(t, kind, "transform", "filtered_out"))
	assert.EqualValues(t, k.Upserted, phaseCount(t, kind, "load", "loaded"))
	assert.EqualValues(t, 1, kind.Metrics["phase"].(map[string]any)["resync"].(map[string]any)["success"])

	// The kind went pending → syncing → completed, in that order.
	var states []string
	for _, ev := range h.srv.SyncMetricsEvents(integrationID) {
		if ev.EventID == rep.ID && ev.KindIdentifier == "widget-0" {
			states = append(states, ev.SyncState)
		}
	}
	assert.Equal(t, []string{"pending", "syncing", "completed"}, states)
	assert.Equal(t, 1, h.srv.Count(porttest.RouteIngestSyncMetrics))
	rec, ok := h.srv.KindSyncMetrics(integrationID, rep.ID, "__reconciliation__")
	require.True(t, ok)
	assert.Equal(t, "completed", rec.SyncState)
}

func TestSyncMetricsReportAFailedKindAndNeverFailTheResync(t *testing.T) {
	h := newHarness(t, 30)
	h.src.pageSize = 10
	h.src.failAfter = 1
	// Port's metrics ingest is away for the start of the resync.
	h.srv.InjectFault(porttest.Fault{Route: porttest.RouteIngestKindMetrics, Status: 503, Times: 2})
	a := h.app()
	rep, err := h.resync(a)
	require.Error(t, err)
	assert.Equal(t, report.StateFailed, rep.Status)
	// __runtime__ is the last event of a resync.
	require.Eventually(t, func() bool {
		ev, ok := h.srv.KindSyncMetrics(integrationID, rep.ID, "__runtime__")
		return ok && ev.SyncState == "failed"
	}, 10*time.Second, 5*time.Millisecond)
	ev, ok := h.srv.KindSyncMetrics(integrationID, rep.ID, "widget-0")
	require.True(t, ok)
	assert.Equal(t, "failed", ev.SyncState)
}

func TestHeartbeatWhileAResyncRuns(t *testing.T) {
	h := newHarness(t, 30)
	h.src.pageSize = 10
	gate, started := make(chan struct{}), make(chan struct{})
	h.src.gate, h.src.started = gate, started
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a := h.app(ocean.WithClock(clk))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan *report.Resync, 1)
	go func() {
		rep, _ := a.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
		done <- rep
	}()
	<-started
	require.Eventually(t, func() bool {
		clk.Advance(10 * time.Second)
		return len(h.srv.Heartbeats(integrationID)) >= 2
	}, 10*time.Second, 5*time.Millisecond)
	close(gate)
	rep := <-done
	for _, id := range h.srv.Heartbeats(integrationID) {
		assert.Equal(t, rep.ID, id)
	}
	// The heartbeat stops with the resync.
	require.Eventually(t, func() bool {
		ev, ok := h.srv.KindSyncMetrics(integrationID, rep.ID, "__runtime__")
		return ok && ev.SyncState == "completed"
	}, 10*time.Second, 5*time.Millisecond)
	n := len(h.srv.Heartbeats(integrationID))
	clk.Advance(time.Minute)
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, h.srv.Heartbeats(integrationID), n)
}

func TestDryRunSendsNoSyncMetrics(t *testing.T) {
	h := newHarness(t, 3)
	a := h.app(ocean.WithDryRun(&discard{}))
	_, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, 0, h.srv.Count(porttest.RouteIngestSyncMetrics)+h.srv.Count(porttest.RouteIngestKindMetrics))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestMetricsExposeOceansNamesAndLabels(t *testing.T) {
	h := newHarness(t, 12)
	a := h.app()
	rep, err := h.resync(a)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, line := range []string{
		fmt.Sprintf(`object_count{kind="widget-0",phase="extract",object_count_type="raw_extracted"} %d`, rep.Kinds[0].Fetched),
		fmt.Sprintf(`object_count{kind="widget-0",phase="load",object_count_type="loaded"} %d`, rep.Kinds[0].Upserted),
		`success{kind="widget-0",phase="resync"} 1`,
		`success{kind="__runtime__",phase="resync"} 1`,
		`duration_seconds{kind="__runtime__",phase="resync"}`,
		`object_count{kind="__reconciliation__",phase="delete",object_count_type="deleted"} 0`,
		"# TYPE duration_seconds gauge",
		"ocean_resyncs_total", // ours are kept
	} {
		assert.Contains(t, body, line)
	}
}
