package ocean_test

import (
	"context"
	"testing"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/actions"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// BenchmarkActionRuns measures the actions processor's overhead: claiming,
// acknowledging and completing runs of a no-op executor against the
// in-memory Port, with Ocean's default workers.
func BenchmarkActionRuns(b *testing.B) {
	const runs = 300
	for b.Loop() {
		pt := porttest.New(porttest.WithoutRequestLog())
		ids := make([]string, runs)
		for i := range ids {
			ids[i] = pt.CreateActionRun(porttest.NewActionRun{InstallationID: integrationID, Type: "noop"})
		}
		cfg := settings.Default("widgets")
		cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(pt.ClientID), settings.Secret(pt.ClientSecret), pt.URL
		cfg.Integration.Identifier = integrationID
		cfg.EventListener.Type = settings.ListenerActionsOnly
		cfg.InitializePortResources = false
		cfg.Application.Port = 0
		app, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Actions: []actions.Executor{&funcExecutor{name: "noop"}}},
			ocean.WithLogger(quietLogger()), ocean.WithActionsPollInterval(time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		for _, id := range ids {
			for {
				r, _ := pt.ActionRun(id)
				if r.Status == port.RunSuccess {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		cancel()
		<-done
		b.ReportMetric(float64(pt.Count(porttest.RouteAckRun)+pt.Count(porttest.RoutePatchRun)+pt.Count(porttest.RouteClaimPendingRuns))/runs, "requests/run")
		pt.Close()
	}
	b.ReportMetric(float64(b.N*runs)/b.Elapsed().Seconds(), "runs/s")
}
