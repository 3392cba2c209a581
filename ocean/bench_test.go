package ocean_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// heapSampler records the peak heap in use while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > s.peak.Load() {
				s.peak.Store(ms.HeapInuse)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) done() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak.Load()
}

// syntheticKind streams n generated widgets in pages of 100 without ever
// holding them all.
func syntheticKind(n int) ocean.Kind {
	return ocean.NewKind("widget", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
		colors := []string{"red", "green", "blue"}
		for start := 0; start < n; start += 100 {
			page := make([]ocean.Item, 0, 100)
			for i := start; i < min(start+100, n); i++ {
				page = append(page, ocean.Item{
					"id": fmt.Sprintf("w-%07d", i), "name": fmt.Sprintf("Widget %d", i),
					"color": colors[i%3], "size": float64(i % 10),
					"description": "a generated widget with a description of realistic length for a catalog entity",
				})
			}
			if err := send.Send(ctx, page); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkResync100k runs a full resync of 100,000 synthetic items into
// porttest and reports items/s, the peak heap and Port requests per 1,000
// entities.
func BenchmarkResync100k(b *testing.B) {
	const n = 100_000
	for _, seq := range []bool{false, true} {
		name := "pipelined"
		if seq {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) {
			srv := porttest.New(porttest.WithoutRequestLog())
			defer srv.Close()
			for _, bp := range widgetBlueprints() {
				require.NoError(b, srv.AddBlueprint(bp))
			}
			srv.AddIntegration(port.Integration{Identifier: integrationID})
			cfg := settings.Default("widgets")
			cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
			cfg.Integration.Identifier = integrationID
			cfg.SendRawDataExamples = false
			cfg.Resync.Sequential = seq
			a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1", Kinds: []ocean.Kind{syntheticKind(n)}},
				ocean.WithLogger(quietLogger()), ocean.WithPortAppConfig(mustParseB(b, widgetMapping)))
			require.NoError(b, err)
			var peak uint64
			var reqs int64
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				srv.ResetRequests()
				before := a.Port().Stats().Requests
				runtime.GC()
				hs := sampleHeap()
				rep, err := a.Resync(context.Background(), ocean.ResyncOptions{})
				peak = max(peak, hs.done())
				require.NoError(b, err)
				require.EqualValues(b, n, rep.Upserted())
				reqs = a.Port().Stats().Requests - before
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "items/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(reqs)/(n/1000), "port-req/1k")
		})
	}
}

func mustParseB(b *testing.B, y string) *mappingConfig {
	b.Helper()
	return mustParseTB(b, y)
}
