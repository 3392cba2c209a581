package ocean

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
)

// reportRunning tells Port a resync started. Failures are logged: the
// resync's data matters more than its status line.
func (a *App) reportRunning(ctx context.Context, rep *report.Resync) {
	if a.port == nil || a.dryRun {
		return
	}
	start := rep.Start.UTC()
	st := port.ResyncState{Status: report.StateRunning, LastResyncStart: &start}
	a.fillSchedule(&st)
	if _, err := a.port.PatchResyncState(ctx, a.cfg.Integration.Identifier, st); err != nil {
		a.log.Warn("could not report resync state", "status", report.StateRunning, "error", err)
	}
}

func (a *App) reportState(ctx context.Context, rep *report.Resync) {
	if a.port == nil || a.dryRun || rep.Status == report.StateRunning {
		return
	}
	end := rep.End.UTC()
	st := port.ResyncState{Status: rep.Status, LastResyncEnd: &end}
	a.fillSchedule(&st)
	integ, err := a.port.PatchResyncState(ctx, a.cfg.Integration.Identifier, st)
	if err != nil {
		a.log.Warn("could not report resync state", "status", rep.Status, "error", err)
		return
	}
	if integ != nil && integ.ResyncState != nil && integ.ResyncState.UpdatedAt != nil {
		a.stateUpdatedAt.Store(integ.ResyncState.UpdatedAt.UnixNano())
	}
}

func (a *App) fillSchedule(st *port.ResyncState) {
	if n := a.cfg.ScheduledResyncInterval; n > 0 {
		next := a.clock.Now().Add(time.Duration(n) * time.Minute).UTC()
		st.NextResync = &next
		st.IntervalInMinutes = &n
	}
}

// logProgress logs, every ProgressInterval, how far each running kind got,
// so that an operator watching a long resync sees it move.
func (r *resyncRun) logProgress(kinds []*kindRun) (stop func()) {
	every := r.cfg.ProgressInterval
	if every <= 0 {
		return func() {}
	}
	t := r.clock.NewTicker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer t.Stop()
		start := r.clock.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C():
				secs := now.Sub(start).Seconds()
				for _, k := range kinds {
					fetched, upserted := k.fetched.Load(), k.upserted.Load()
					if fetched == 0 && upserted == 0 {
						continue
					}
					r.log.Info("resync progress", "kind", k.rm.Kind(), "index", k.rm.Index(),
						"fetched", fetched, "upserted", upserted, "failed", k.failed.Load(),
						"items_per_second", int(float64(fetched)/max(secs, 0.001)))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// log writes a finished resync's summary: a line per kind (with its
// mapping errors), then the outcome.
func logReport(log *slog.Logger, rep *report.Resync) {
	upserted, deleted := "upserted", "deleted"
	if rep.DryRun {
		upserted, deleted = "would_upsert", "would_delete"
	}
	for _, k := range rep.Kinds {
		attrs := []any{"kind", k.Kind, "index", k.Index, "fetched", k.Fetched, "filtered", k.Filtered,
			"misconfigured", k.Misconfigured, upserted, k.Upserted, "skipped", k.Skipped,
			"failed", k.Failed, deleted, k.Deleted, "duration", k.Duration.Round(time.Millisecond),
			"fetch", k.Timings.Fetch.Round(time.Millisecond), "map", k.Timings.Map.Round(time.Millisecond),
			"write", k.Timings.Write.Round(time.Millisecond)}
		logMappingErrors(log, k)
		if k.Err != nil {
			log.Error("kind failed", append(attrs, "error", k.Err)...)
		} else if k.DeletionBlocked != "" {
			log.Warn("kind synced; its stale entities are kept", append(attrs, "reason", k.DeletionBlocked)...)
		} else {
			log.Info("kind synced", attrs...)
		}
	}
	attrs := []any{"status", rep.Status, "duration", rep.End.Sub(rep.Start).Round(time.Millisecond),
		upserted, rep.Upserted(), deleted, rep.Deleted}
	if rep.DeletionSkipped != "" {
		attrs = append(attrs, "deletion_skipped", rep.DeletionSkipped)
	}
	if rep.Err != nil {
		log.Error("resync finished", append(attrs, "error", rep.Err)...)
	} else {
		log.Info("resync finished", attrs...)
	}
}
