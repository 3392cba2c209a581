package ocean

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
)

// Port's per-kind sync status comes from Ocean's sync metrics: when a resync
// starts, every kind is announced as pending; each kind reports syncing when
// it starts and its counts when it ends; the resync itself is the
// __runtime__ kind and stale-entity deletion the __reconciliation__ one; and
// a heartbeat goes every 10 s while the resync runs. We send the same
// events to the integration's metricAttributes.ingestUrl. It is best
// effort: the events go through a bounded queue drained by one goroutine
// per resync (in order, so that "completed" never overtakes "syncing"),
// and a failure is logged once and never touches the resync.
const (
	heartbeatInterval = 10 * time.Second // Ocean's STATUS_HEARTBEAT_INTERVAL_SECONDS
	syncMetricsQueue  = 256
	runtimeKind       = "__runtime__"
	reconcileKind     = "__reconciliation__"
	// oceanVersion fills the events' oceanVersion: the framework that
	// produced them.
	oceanVersion = "oceankit"
)

// syncReporter reports one resync's sync metrics. A nil one does nothing
// (a dry run, a plan, no Port client).
type syncReporter struct {
	a       *App
	eventID string
	jobs    chan func(ctx context.Context, url string) error
	stopHB  chan struct{}
	hbDone  chan struct{}
	once    sync.Once
	warned  bool // touched by the sending goroutine only
}

// startSyncMetrics begins a resync's reporting and its heartbeat.
func (a *App) startSyncMetrics(ctx context.Context, rep *report.Resync, quiet bool) *syncReporter {
	if quiet || a.telemetry == nil || a.port == nil || a.dryRun {
		return nil
	}
	r := &syncReporter{a: a, eventID: rep.ID, jobs: make(chan func(context.Context, string) error, syncMetricsQueue), stopHB: make(chan struct{}), hbDone: make(chan struct{})}
	a.telemetry.reporters.Store(rep.ID, r)
	sendCtx := context.WithoutCancel(ctx)
	a.telemetry.wg.Add(1)
	go func() { defer a.telemetry.wg.Done(); r.send(sendCtx) }()
	t := a.clock.NewTicker(heartbeatInterval)
	go func() {
		defer close(r.hbDone)
		defer t.Stop()
		for {
			select {
			case <-r.stopHB:
				return
			case <-t.C():
				r.enqueue(func(ctx context.Context, url string) error {
					return a.port.PostHeartbeat(ctx, url, r.eventID)
				})
			}
		}
	}()
	r.enqueue(func(ctx context.Context, url string) error {
		return a.port.PutKindSyncMetrics(ctx, url, r.event(runtimeKind, runtimeKind, -1, "syncing", nil, ""))
	})
	return r
}

// syncMetricsFor finds the reporter of a running resync (nil when none).
func (a *App) syncMetricsFor(rep *report.Resync) *syncReporter {
	if a.telemetry == nil || rep == nil {
		return nil
	}
	if v, ok := a.telemetry.reporters.Load(rep.ID); ok {
		return v.(*syncReporter)
	}
	return nil
}

// announce posts every kind of the mapping as pending (the resync read its
// mapping).
func (r *syncReporter) announce(rep *report.Resync) {
	if r == nil {
		return
	}
	evs := make([]port.SyncMetricsEvent, 0, len(rep.Kinds))
	for _, k := range rep.Kinds {
		evs = append(evs, r.kindEvent(k, "pending", nil))
	}
	r.enqueue(func(ctx context.Context, url string) error { return r.a.port.PostSyncMetrics(ctx, url, evs) })
}

// kindStarted reports a kind as syncing.
func (r *syncReporter) kindStarted(k *report.Kind) {
	if r == nil {
		return
	}
	ev := r.kindEvent(k, "syncing", nil)
	r.enqueue(func(ctx context.Context, url string) error { return r.a.port.PutKindSyncMetrics(ctx, url, ev) })
}

// finish reports every kind's outcome, the reconciliation and the resync,
// stops the heartbeat and lets the sender end once the queue is sent. It
// does not wait for Port.
func (r *syncReporter) finish(rep *report.Resync) {
	if r == nil {
		return
	}
	r.once.Do(func() {
		close(r.stopHB)
		<-r.hbDone // no heartbeat is queued after the jobs close
		r.a.telemetry.reporters.Delete(rep.ID)
		var evs []port.SyncMetricsEvent
		for _, k := range rep.Kinds {
			evs = append(evs, r.kindEvent(k, kindState(rep, k), kindMetrics(rep, k)))
		}
		evs = append(evs, r.event(reconcileKind, reconcileKind, -1, rep.Status, map[string]any{"phase": map[string]any{
			"delete": map[string]any{"object_count_type": map[string]any{"deleted": map[string]any{"object_count": rep.Deleted}}},
		}}, ""))
		evs = append(evs, r.event(runtimeKind, runtimeKind, -1, rep.Status, map[string]any{"phase": map[string]any{
			"resync": map[string]any{"success": successValue(rep.Status == report.StateCompleted), "duration_seconds": rep.End.Sub(rep.Start).Seconds()},
		}}, ""))
		for _, ev := range evs {
			r.enqueue(func(ctx context.Context, url string) error { return r.a.port.PutKindSyncMetrics(ctx, url, ev) })
		}
		close(r.jobs)
	})
}

// enqueue never blocks: a full queue drops the event (Port is far behind
// or away, and the next resync reports again).
func (r *syncReporter) enqueue(job func(context.Context, string) error) {
	select {
	case r.jobs <- job:
	default:
		r.a.metrics.add("ocean_sync_metrics_dropped_total", 1)
	}
}

func (r *syncReporter) send(ctx context.Context) {
	url, err := r.a.telemetry.metrics(ctx)
	if err != nil || url == "" {
		if err != nil {
			r.a.log.Debug("sync metrics not sent: the integration's ingest URL is unknown", "error", err)
		}
		for range r.jobs {
			// Drain: no destination.
		}
		return
	}
	for job := range r.jobs {
		jctx, cancel := context.WithTimeout(ctx, logRequestTimeout)
		err := job(jctx, url)
		cancel()
		if err != nil {
			r.a.metrics.add("ocean_sync_metrics_dropped_total", 1)
			if !r.warned {
				r.warned = true
				r.a.log.Warn("could not send sync metrics to Port; the resync goes on", "resync", r.eventID, "error", err)
			}
		}
	}
}

func (r *syncReporter) event(kindID, kind string, index int, state string, metrics map[string]any, blueprint string) port.SyncMetricsEvent {
	a := r.a
	if metrics == nil {
		metrics = map[string]any{}
	}
	return port.SyncMetricsEvent{
		IntegrationType:       a.cfg.Integration.Type,
		InstallationType:      "OnPrem",
		ExecutionMode:         "single_process",
		IntegrationIdentifier: a.cfg.Integration.Identifier,
		IntegrationVersion:    a.provider.Version,
		OceanVersion:          oceanVersion,
		KindIdentifier:        kindID,
		Kind:                  kind,
		KindIndex:             index,
		EventID:               r.eventID,
		SyncState:             state,
		Blueprint:             blueprint,
		Metrics:               metrics,
	}
}

func (r *syncReporter) kindEvent(k *report.Kind, state string, metrics map[string]any) port.SyncMetricsEvent {
	bp := ""
	if len(k.Blueprints) > 0 {
		bp = k.Blueprints[0]
	}
	return r.event(kindIdentifier(k), k.Kind, k.Index, state, metrics, bp)
}

// kindIdentifier is Ocean's "{kind}-{index}".
func kindIdentifier(k *report.Kind) string { return k.Kind + "-" + strconv.Itoa(k.Index) }

func kindState(rep *report.Resync, k *report.Kind) string {
	switch {
	case k.Err == nil && rep.Status != report.StateAborted:
		return report.StateCompleted
	case rep.Status == report.StateAborted:
		return report.StateAborted
	}
	return report.StateFailed
}

func successValue(ok bool) int {
	if ok {
		return 1
	}
	return 0
}

// kindMetrics nests a kind's counts as Ocean's registry flattens its
// labels: phase → name → object_count_type → type → object_count.
func kindMetrics(rep *report.Resync, k *report.Kind) map[string]any {
	count := func(n int64) map[string]any { return map[string]any{"object_count": n} }
	extractFailed := int64(0)
	if k.Err != nil && k.Upserted == 0 && k.Failed == 0 {
		extractFailed = 1
	}
	return map[string]any{"phase": map[string]any{
		"extract": map[string]any{
			"object_count_type": map[string]any{"raw_extracted": count(k.Fetched), "failed": count(extractFailed)},
			"duration_seconds":  k.Timings.Fetch.Seconds(),
		},
		"transform": map[string]any{
			"object_count_type": map[string]any{"transformed": count(k.Mapped), "filtered_out": count(k.Filtered), "failed": count(k.Misconfigured)},
			"duration_seconds":  k.Timings.Map.Seconds(),
		},
		"load": map[string]any{
			"object_count_type": map[string]any{"loaded": count(k.Upserted), "failed": count(k.Failed), "skipped": count(k.Skipped)},
			"duration_seconds":  k.Timings.Write.Seconds(),
		},
		"delete": map[string]any{
			"object_count_type": map[string]any{"deleted": count(k.Deleted)},
		},
		"resync": map[string]any{
			"success":          successValue(kindState(rep, k) == report.StateCompleted),
			"duration_seconds": k.Duration.Seconds(),
		},
	}}
}
