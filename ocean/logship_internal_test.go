package ocean

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"

	"github.com/oceankit/oceankit/internal/logtest"
)

const shipID = "ship-test"

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = logtest.Buffer

type shipFixture struct {
	srv     *porttest.Server
	clk     *clock.Fake
	s       *logShipper
	log     *slog.Logger
	printed *syncBuffer
	metrics *metrics
}

// newShipFixture builds a shipper over a real Port client talking to
// porttest, under a redacting handler that knows secret, as New builds it.
func newShipFixture(t *testing.T, integ *port.Integration, secret string) *shipFixture {
	t.Helper()
	srv := porttest.NewServer(t)
	if integ != nil {
		srv.AddIntegration(*integ)
	}
	c, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret, port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	printed := &syncBuffer{}
	base := slog.New(settings.NewRedactingHandler(slog.NewTextHandler(printed, nil), []string{secret}))
	a := &App{cfg: settings.Default("widgets"), port: c, log: base, clock: clk, metrics: newMetrics()}
	a.cfg.Integration.Identifier = shipID
	a.shipLogs()
	require.NotNil(t, a.logShipper)
	a.logShipper.clock = clk
	return &shipFixture{srv: srv, clk: clk, s: a.logShipper, log: a.log, printed: printed, metrics: a.metrics}
}

// startShipping starts the shipper and waits until its start-up flush
// found the ingest URL.
func (f *shipFixture) startShipping(t *testing.T, ctx context.Context) {
	t.Helper()
	f.s.start(ctx)
	f.clk.WaitTickers(1)
	require.Eventually(t, func() bool {
		f.s.mu.Lock()
		defer f.s.mu.Unlock()
		return f.s.state == shipOn
	}, 10*time.Second, 5*time.Millisecond, "the shipper found its ingest URL")
}

func (f *shipFixture) metric(name string) float64 {
	f.metrics.mu.Lock()
	defer f.metrics.mu.Unlock()
	return f.metrics.counters[name]
}

func TestLogShipperFlushesEvery100RecordsAndOnTheTicker(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, "hunter2-secret-value")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Let the start-up flush end: one running while the records arrive
	// would take part of them, and the rest would rightly wait for the
	// ticker.
	f.startShipping(t, ctx)
	time.Sleep(50 * time.Millisecond)

	// 100 records are a batch: they go without the clock moving.
	for i := range 100 {
		f.log.Info("line", "i", i)
	}
	require.Eventually(t, func() bool { return len(f.srv.IngestedLogs(shipID)) == 100 }, 10*time.Second, 5*time.Millisecond)
	assert.LessOrEqual(t, f.srv.Count(porttest.RouteIngestLogs), 2) // the first flush may race the kick

}

func TestLogShipperSendsFewerRecordsOnTheTicker(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, "hunter2-secret-value")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.startShipping(t, ctx)

	// Fewer than a batch wait for the ticker (5 s on the App's clock).
	f.log.With("kind", "project").WithGroup("g").Warn("slow page", "n", 3)
	f.clk.Advance(logFlushInterval)
	require.Eventually(t, func() bool { return len(f.srv.IngestedLogs(shipID)) == 1 }, 10*time.Second, 5*time.Millisecond)
	last := f.srv.IngestedLogs(shipID)[0]
	assert.Equal(t, "slow page", last.Message)
	assert.Equal(t, "WARNING", last.Level)
	assert.Equal(t, "project", last.Extra["kind"])
	assert.EqualValues(t, 3, last.Extra["g.n"])
	assert.False(t, last.Timestamp.IsZero())
}

func TestLogShipperShipsWhatIsPrintedRedacted(t *testing.T) {
	const secret = "glpat-very-secret-token"
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, secret)
	f.log.With("url", "https://x:"+secret+"@gitlab").Error("request failed: token "+secret, "error", fmt.Errorf("401 for %s", secret))
	f.s.close(context.Background())

	logs := f.srv.IngestedLogs(shipID)
	require.Len(t, logs, 1)
	raw, err := json.Marshal(logs)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), secret)
	assert.Contains(t, logs[0].Message, settings.Mask)
	assert.Contains(t, logs[0].Extra["error"], settings.Mask)
	assert.Contains(t, logs[0].Extra["url"], settings.Mask)
	assert.NotContains(t, f.printed.String(), secret)
	assert.Contains(t, f.printed.String(), "request failed")
}

func TestLogShipperDropsAndWarnsOnceWhilePortIsAway(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, "hunter2-secret-value")
	f.srv.InjectFault(porttest.Fault{Route: porttest.RouteIngestLogs, Status: 503, Times: 3})
	ctx := context.Background()
	for round := range 3 {
		for i := range 10 {
			f.log.Info("line", "round", round, "i", i)
		}
		f.s.flush(ctx) // what the ticker does
	}
	assert.Empty(t, f.srv.IngestedLogs(shipID))
	assert.EqualValues(t, 30, f.metric("ocean_logs_dropped_total"))
	assert.Equal(t, 1, strings.Count(f.printed.String(), "could not ship logs"), f.printed.String())

	f.log.Info("back")
	f.s.flush(ctx)
	require.Len(t, f.srv.IngestedLogs(shipID), 1)
	assert.Contains(t, f.printed.String(), "shipping logs to Port again")
	// The shipper's own lines are printed, not shipped.
	assert.Equal(t, "back", f.srv.IngestedLogs(shipID)[0].Message)
}

func TestLogShipperIsBoundedAndNeverBlocks(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, "hunter2-secret-value")
	// Nothing ships yet (not started): the buffer holds logBufferMax.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range logBufferMax + 500 {
			big := ""
			if i < 3 {
				big = strings.Repeat("x", 2*logValueMax)
			}
			f.log.Info("line", "i", i, "big", big)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("logging blocked")
	}
	assert.EqualValues(t, 500, f.metric("ocean_logs_dropped_total"))
	f.s.close(context.Background())
	logs := f.srv.IngestedLogs(shipID)
	require.Len(t, logs, logBufferMax)
	assert.LessOrEqual(t, len(logs[0].Extra["big"].(string)), logValueMax+len("…"))
	for _, r := range f.srv.Requests() {
		if r.Route == porttest.RouteIngestLogs {
			assert.Equal(t, 200, r.Status)
		}
	}
	// After close, records are dropped quietly.
	f.log.Info("after")
	f.s.flush(context.Background())
	assert.Len(t, f.srv.IngestedLogs(shipID), logBufferMax)
}

func TestLogShipperOffWithoutIngestURL(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID, Extra: map[string]json.RawMessage{"logAttributes": json.RawMessage(`{}`)}}, "hunter2-secret-value")
	f.log.Info("x")
	f.s.flush(context.Background())
	f.log.Info("y")
	f.s.close(context.Background())
	assert.Equal(t, 0, f.srv.Count(porttest.RouteIngestLogs))
	assert.EqualValues(t, 0, f.metric("ocean_logs_dropped_total"))
}

func TestLogShipperWaitsForTheIntegration(t *testing.T) {
	f := newShipFixture(t, nil, "hunter2-secret-value")
	f.log.Info("before the integration exists")
	f.s.flush(context.Background())
	assert.Equal(t, 0, f.srv.Count(porttest.RouteIngestLogs))
	f.srv.AddIntegration(port.Integration{Identifier: shipID})
	f.s.close(context.Background())
	require.Len(t, f.srv.IngestedLogs(shipID), 1)
}

// blockFirstIngest holds the first shipment until its context ends, as a
// request in flight when the App stops; later ones go to next.
type blockFirstIngest struct {
	next    logIngester
	entered chan struct{}
	calls   int
}

func (b *blockFirstIngest) IngestLogs(ctx context.Context, url string, logs []port.LogRecord) error {
	b.calls++ // the shipper sends one batch at a time
	if b.calls == 1 {
		close(b.entered)
		<-ctx.Done()
		return ctx.Err()
	}
	return b.next.IngestLogs(ctx, url, logs)
}

func TestLogShipperSendsTheBatchInFlightWhenItStops(t *testing.T) {
	f := newShipFixture(t, &port.Integration{Identifier: shipID}, "hunter2-secret-value")
	block := &blockFirstIngest{next: f.s.port, entered: make(chan struct{})}
	f.s.port = block
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.startShipping(t, ctx)

	f.log.Info("resync finished")
	f.clk.Advance(logFlushInterval)
	<-block.entered // the ticker's flush is sending it as the App stops
	f.log.Info("after")
	f.s.close(context.Background())

	var msgs []string
	for _, l := range f.srv.IngestedLogs(shipID) {
		msgs = append(msgs, l.Message)
	}
	assert.Equal(t, []string{"resync finished", "after"}, msgs, "the interrupted batch is sent first, then the rest")
	assert.Zero(t, f.metric("ocean_logs_dropped_total"))
}
