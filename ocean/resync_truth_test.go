package ocean_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// The cut-off between "written before this resync" and "written during it"
// is compared with the updatedAt Port stamps on entities, so it must come
// from Port's clock: with the sync host's, a host behind Port never deletes
// anything stale, and one ahead deletes what a live event wrote meanwhile.
func TestStaleCutoffFollowsPortsClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{-time.Hour, 0, time.Hour} {
		for _, skip := range []bool{true, false} {
			t.Run(fmt.Sprintf("host %v against Port, skipUnchanged=%v", skew, skip), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, 10)
				h.cfg.Resync.SkipUnchanged = skip
				a := h.app(ocean.WithClock(clock.NewFake(portEpoch.Add(skew))))
				_, err := h.resync(a)
				require.NoError(t, err)
				require.Equal(t, 10, h.srv.EntityCount("widget"))

				h.src.remove("w-00003")
				gate, started := make(chan struct{}), make(chan struct{})
				h.src.gate, h.src.started = gate, started
				type result struct {
					rep *report.Resync
					err error
				}
				done := make(chan result, 1)
				go func() {
					rep, err := h.resync(a)
					done <- result{rep, err}
				}()
				<-started
				// A live event writes an entity the resync has not listed.
				_, err = h.client.UpsertEntity(context.Background(), port.Entity{
					Identifier: "w-live", Blueprint: "widget", Title: "written by a live event",
					Properties: map[string]any{"color": "red"},
				}, port.UpsertOptions{Merge: true})
				require.NoError(t, err)
				close(gate)
				res := <-done
				require.NoError(t, res.err)

				_, ok := h.srv.Entity("widget", "w-00003")
				assert.False(t, ok, "the entity removed at the source is deleted")
				_, ok = h.srv.Entity("widget", "w-live")
				assert.True(t, ok, "the entity a live event wrote during the resync is kept")
				assert.Equal(t, 1, res.rep.Deleted)
				assert.Equal(t, 10, h.srv.EntityCount("widget"))
			})
		}
	}
}

// With a mapping from a file no port app config is read at the start of a
// resync: when Port was last heard from over a minute ago, the resync asks
// it once more rather than trust the old reading.
func TestStaleCutoffWithAStaticMappingAsksPort(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5)
	local := clock.NewFake(portEpoch.Add(-time.Hour))
	c, err := port.New(h.srv.URL, h.srv.ClientID, h.srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "widgets", Version: "1.0.0", Identifier: integrationID}),
		port.WithClock(local), port.WithLogger(quietLogger()))
	require.NoError(t, err)
	a := h.app(ocean.WithClock(local), ocean.WithPortClient(c), ocean.WithPortAppConfig(mustParse(t, widgetMapping)))
	_, err = h.resync(a)
	require.NoError(t, err)

	h.src.remove("w-00001")
	local.Advance(10 * time.Minute)
	before := h.srv.Count(porttest.RouteGetIntegration)
	rep, err := h.resync(a)
	require.NoError(t, err)
	assert.Equal(t, before+1, h.srv.Count(porttest.RouteGetIntegration), "one answer dates the resync's start")
	assert.Equal(t, 1, rep.Deleted)
	_, ok := h.srv.Entity("widget", "w-00001")
	assert.False(t, ok)
}

// slowWrites is a transport on which every bulk upsert takes two seconds
// of the fake clock.
type slowWrites struct {
	clk  *clock.Fake
	next http.RoundTripper
}

func (s slowWrites) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/entities/bulk") {
		s.clk.Advance(2 * time.Second)
	}
	return s.next.RoundTrip(r)
}

// A kind's duration runs until Port answered its last write, and its
// timings say which stage the time went to: writes that took minutes were
// once reported as a kind that took milliseconds.
func TestKindTimingsCountTheWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 40) // one page, two bulks of 20
	h.cfg.Resync.Sequential = true
	clk := clock.NewFake(portEpoch)
	c, err := port.New(h.srv.URL, h.srv.ClientID, h.srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "widgets", Version: "1.0.0", Identifier: integrationID}),
		port.WithHTTPClient(&http.Client{Transport: slowWrites{clk: clk, next: http.DefaultTransport}}),
		port.WithLogger(quietLogger()))
	require.NoError(t, err)
	h.src.beforeList = func() { clk.Advance(time.Second) } // listing takes a second
	a := h.app(ocean.WithClock(clk), ocean.WithPortClient(c))
	rep, err := h.resync(a)
	require.NoError(t, err)
	k := rep.Kinds[0]
	require.EqualValues(t, 40, k.Upserted)
	assert.Equal(t, 4*time.Second, k.Timings.Write, "two bulk upserts of two seconds each")
	assert.GreaterOrEqual(t, k.Timings.Fetch, time.Second)
	assert.Zero(t, k.Timings.Map, "mapping does not move the fake clock")
	assert.GreaterOrEqual(t, k.Duration, 5*time.Second, "the kind ends when its last write is answered")
}

// Raw data examples are sized before they are built: an item larger than
// Port's request limit is passed over for the next, and what is sent fits.
func TestKindExamplesFitPortsRequestLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 8)
	h.cfg.SendRawDataExamples = true
	big := strings.Repeat("x", 2<<20)
	for _, id := range []string{"w-00000", "w-00002"} {
		it := widget(0)
		it["id"], it["readme"] = id, big
		h.src.put(it)
	}
	a := h.app()
	_, err := h.resync(a)
	require.NoError(t, err)
	ex := h.srv.KindExamples(integrationID, "widget")
	require.Len(t, ex, 5)
	for _, e := range ex {
		assert.NotContains(t, e, "readme", "the oversized items are not examples")
	}
	b, err := json.Marshal(map[string]any{"examples": ex})
	require.NoError(t, err)
	assert.Less(t, len(b), port.MaxRequestBytes)
}
