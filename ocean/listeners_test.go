package ocean_test

import (
	"context"
	"fmt"
	"net/http"
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

func TestOnceExitCodes(t *testing.T) {
	t.Parallel()
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 10)
		err := h.app().Run(context.Background())
		require.NoError(t, err, "ONCE returns nil after a completed resync (exit code 0)")
		assert.Equal(t, 10, h.srv.EntityCount("widget"))
	})
	t.Run("failed kind", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 300)
		h.src.failAfter = 1
		err := h.app().Run(context.Background())
		require.Error(t, err, "ONCE returns the failure (non-zero exit code), unlike Ocean")
	})
	t.Run("Port unreachable", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 3)
		h.srv.InjectFault(porttest.Fault{Route: porttest.RouteGetIntegration, Times: 10, Status: 500})
		err := h.app().Run(context.Background())
		require.Error(t, err)
	})
}

// runApp starts a long-running App and returns a stop function that waits
// for Run to return.
func runApp(t *testing.T, a *ocean.App) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancellation")
			return nil
		}
	}
}

func waitReport(t *testing.T, a *ocean.App) *report.Resync {
	t.Helper()
	select {
	case rep := <-a.ResyncDone():
		return rep
	case <-time.After(20 * time.Second):
		t.Fatal("no resync finished")
		return nil
	}
}

func TestPollingResyncsOnStartConfigChangeAndRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 30)
	h.cfg.EventListener.Type = settings.ListenerPolling
	clk := clock.NewFake(fakeStart)
	a := h.app(ocean.WithClock(clk))
	stop := runApp(t, a)

	rep := waitReport(t, a)
	require.Equal(t, report.StateCompleted, rep.Status)
	assert.Equal(t, "start", rep.Trigger)
	require.Equal(t, 30, h.srv.EntityCount("widget"))

	// A config change in Port: the next poll resyncs with the new mapping.
	h.setMapping(`
resources:
  - kind: widget
    port:
      entity:
        mappings:
          identifier: .id
          title: '"renamed " + .name'
          blueprint: '"widget"'
`)
	clk.WaitTickers(1)
	clk.Advance(61 * time.Second)
	rep = waitReport(t, a)
	assert.Equal(t, "port app config changed", rep.Trigger)
	e, _ := h.srv.Entity("widget", "w-00001")
	assert.Equal(t, "renamed Widget 1", e.Title)

	// A resync requested in Port's UI.
	_, ok := h.srv.RequestResync(integrationID)
	require.True(t, ok)
	clk.Advance(61 * time.Second)
	rep = waitReport(t, a)
	assert.Equal(t, "resync requested in Port", rep.Trigger)

	// Nothing changed: no resync.
	clk.Advance(61 * time.Second)
	select {
	case rep := <-a.ResyncDone():
		t.Fatalf("unexpected resync %q", rep.Trigger)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, stop())
}

func TestScheduledResync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5)
	h.cfg.EventListener.Type = settings.ListenerPolling
	h.cfg.EventListener.ResyncOnStart = false
	h.cfg.ScheduledResyncInterval = 60
	clk := clock.NewFake(fakeStart)
	a := h.app(ocean.WithClock(clk))
	stop := runApp(t, a)
	clk.WaitTickers(2) // the poller's and the schedule's
	clk.Advance(59 * time.Minute)
	clk.Advance(time.Minute)
	rep := waitReport(t, a)
	assert.Equal(t, "scheduled", rep.Trigger)
	assert.Equal(t, 5, h.srv.EntityCount("widget"))
	states := h.srv.ResyncStates(integrationID)
	last := states[len(states)-1]
	require.NotNil(t, last.IntervalInMinutes)
	assert.Equal(t, 60, *last.IntervalInMinutes)
	require.NotNil(t, last.NextResync)
	require.NoError(t, stop())
}

func TestNewerResyncCancelsRunningOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300)
	h.cfg.EventListener.Type = settings.ListenerPolling
	h.cfg.EventListener.ResyncOnStart = false
	gate := make(chan struct{})
	started := make(chan struct{})
	h.src.gate, h.src.started = gate, started
	a := h.app(ocean.WithClock(clock.NewFake(fakeStart)))
	stop := runApp(t, a)

	a.TriggerResync("first", false)
	<-started
	a.TriggerResync("config changed", true)
	first := waitReport(t, a)
	assert.Equal(t, "first", first.Trigger)
	assert.Equal(t, report.StateAborted, first.Status)
	h.src.mu.Lock()
	h.src.gate = nil
	h.src.mu.Unlock()
	// The second resync may have reached the gate before it was lifted
	// (it starts as soon as the first is aborted): open it.
	close(gate)
	second := waitReport(t, a)
	assert.Equal(t, "config changed", second.Trigger)
	assert.Equal(t, report.StateCompleted, second.Status)
	assert.Equal(t, 300, h.srv.EntityCount("widget"))
	require.NoError(t, stop())
}

func TestTimerTriggersWaitAndCollapse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300)
	h.cfg.EventListener.Type = settings.ListenerPolling
	h.cfg.EventListener.ResyncOnStart = false
	gate := make(chan struct{})
	started := make(chan struct{})
	h.src.gate, h.src.started = gate, started
	a := h.app(ocean.WithClock(clock.NewFake(fakeStart)))
	stop := runApp(t, a)

	a.TriggerResync("scheduled", false)
	<-started
	for range 5 {
		a.TriggerResync("scheduled", false)
	}
	h.src.mu.Lock()
	h.src.gate = nil
	h.src.mu.Unlock()
	close(gate)
	first := waitReport(t, a)
	assert.Equal(t, report.StateCompleted, first.Status, "a timer does not abort a running resync")
	second := waitReport(t, a)
	assert.Equal(t, report.StateCompleted, second.Status)
	select {
	case rep := <-a.ResyncDone():
		t.Fatalf("five queued triggers should collapse into one resync, got another: %s", rep.Trigger)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, stop())
}

func TestWebhooksOnlyNeverResyncs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	a := h.app()
	stop := runApp(t, a)
	waitHealthy(t, a)
	select {
	case <-a.ResyncDone():
		t.Fatal("WEBHOOKS_ONLY must not resync")
	case <-time.After(200 * time.Millisecond):
	}
	assert.Zero(t, h.srv.EntityCount("widget"))
	require.NoError(t, stop())
}

func TestUnavailableListenerIsAClearError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.cfg.EventListener.Type = settings.ListenerKafka
	err := h.app().Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OCEAN__EVENT_LISTENER__TYPE")
	assert.Contains(t, err.Error(), "KAFKA")
}

func waitHealthy(t *testing.T, a *ocean.App) string {
	t.Helper()
	for range 1000 { // about 10 s
		if addr := a.Addr(); addr != "" {
			resp, err := http.Get(fmt.Sprintf("http://%s/health/ready", addr))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return "http://" + addr
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("app never became ready")
	return ""
}

// fakeStart is where the tests' fake clocks start: any fixed instant, so
// that no test depends on the day it runs.
var fakeStart = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
