package ocean

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
)

// metrics keeps the counters /metrics serves, in Prometheus' text format.
// It is small on purpose: a handful of counters does not justify a client
// library.
type metrics struct {
	mu       sync.Mutex
	counters map[string]float64 // full series name (with labels) → value
	gauges   map[string]float64
	help     map[string]string
}

func newMetrics() *metrics {
	m := &metrics{counters: map[string]float64{}, gauges: map[string]float64{}, help: map[string]string{
		"ocean_resyncs_total":                 "Resyncs finished, by status.",
		"ocean_resyncs_running":               "Resyncs in progress.",
		"ocean_resync_last_duration_seconds":  "Duration of the last finished resync.",
		"ocean_resync_last_success_timestamp": "Unix time of the last completed resync.",
		"ocean_entities_upserted_total":       "Entities written to Port, by kind.",
		"ocean_entities_failed_total":         "Entities Port rejected, by kind.",
		"ocean_entities_deleted_total":        "Entities deleted from Port, by blueprint.",
		"ocean_kind_items_fetched":            "Raw items fetched by the last resync, by kind.",
		"ocean_events_received_total":         "Live events received.",
		"ocean_events_rejected_total":         "Live events rejected at intake, by reason.",
		"ocean_events_processed_total":        "Live events processed, by result.",
		"ocean_events_coalesced_total":        "Queued live events superseded by a newer one for the same object.",
		"ocean_event_queue_depth":             "Live events waiting in the queue.",
		"ocean_live_events_backend_up":        "1 while the live-event queue's backend (Redis) can take events, else 0.",
		"ocean_logs_shipped_total":            "Log records shipped to Port's log ingest.",
		"ocean_logs_dropped_total":            "Log records not shipped to Port (Port unreachable or the buffer full).",
		"ocean_sync_metrics_dropped_total":    "Sync-metrics events and heartbeats not delivered to Port.",
		// Ocean's names and labels, so that dashboards built on the
		// Python image keep working (kind is "{kind}-{index}",
		// __runtime__ or __reconciliation__).
		"duration_seconds": "Duration of a phase of the last resync, by kind and phase (Ocean's metric).",
		"object_count":     "Objects counted in a phase of the last resync, by kind, phase and object_count_type (Ocean's metric).",
		"success":          "1 when the kind (or, for __runtime__, the resync) completed in the last resync, else 0 (Ocean's metric).",
	}}
	return m
}

func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

func (m *metrics) add(name string, v float64, labels ...string) {
	m.mu.Lock()
	m.counters[series(name, labels...)] += v
	m.mu.Unlock()
}

func (m *metrics) set(name string, v float64, labels ...string) {
	m.mu.Lock()
	m.gauges[series(name, labels...)] = v
	m.mu.Unlock()
}

func (m *metrics) resyncStarted() {
	m.mu.Lock()
	m.gauges["ocean_resyncs_running"]++
	m.mu.Unlock()
}

func (m *metrics) resyncFinished(r *report.Resync) {
	m.mu.Lock()
	m.gauges["ocean_resyncs_running"]--
	m.mu.Unlock()
	m.add("ocean_resyncs_total", 1, "status", r.Status)
	m.set("ocean_resync_last_duration_seconds", r.End.Sub(r.Start).Seconds())
	if r.Status == report.StateCompleted {
		m.set("ocean_resync_last_success_timestamp", float64(r.End.UnixNano())/float64(time.Second))
	}
	for _, k := range r.Kinds {
		m.set("ocean_kind_items_fetched", float64(k.Fetched), "kind", k.Kind)
		if k.Deleted > 0 {
			m.add("ocean_entities_deleted_total", float64(k.Deleted), "kind", k.Kind)
		}
	}
	m.oceanResync(r)
}

// oceanResync sets Ocean's gauges (duration_seconds, object_count, success)
// from a finished resync, with Ocean's labels.
func (m *metrics) oceanResync(r *report.Resync) {
	for _, k := range r.Kinds {
		id := kindIdentifier(k)
		count := func(phase, typ string, n int64) {
			m.set("object_count", float64(n), "kind", id, "phase", phase, "object_count_type", typ)
		}
		count("extract", "raw_extracted", k.Fetched)
		count("transform", "transformed", k.Mapped)
		count("transform", "filtered_out", k.Filtered)
		count("transform", "failed", k.Misconfigured)
		count("load", "loaded", k.Upserted)
		count("load", "failed", k.Failed)
		count("load", "skipped", k.Skipped)
		count("delete", "deleted", k.Deleted)
		m.set("duration_seconds", k.Timings.Fetch.Seconds(), "kind", id, "phase", "extract")
		m.set("duration_seconds", k.Timings.Map.Seconds(), "kind", id, "phase", "transform")
		m.set("duration_seconds", k.Timings.Write.Seconds(), "kind", id, "phase", "load")
		m.set("duration_seconds", k.Duration.Seconds(), "kind", id, "phase", "resync")
		m.set("success", float64(successValue(kindState(r, k) == report.StateCompleted)), "kind", id, "phase", "resync")
	}
	m.set("object_count", float64(r.Deleted), "kind", reconcileKind, "phase", "delete", "object_count_type", "deleted")
	m.set("duration_seconds", r.End.Sub(r.Start).Seconds(), "kind", runtimeKind, "phase", "resync")
	m.set("success", float64(successValue(r.Status == report.StateCompleted)), "kind", runtimeKind, "phase", "resync")
}

func (m *metrics) entitiesWritten(kind string, ok, failed int) {
	if ok > 0 {
		m.add("ocean_entities_upserted_total", float64(ok), "kind", kind)
	}
	if failed > 0 {
		m.add("ocean_entities_failed_total", float64(failed), "kind", kind)
	}
}

func (m *metrics) entitiesDeleted(blueprint string, n int) {
	if n > 0 {
		m.add("ocean_entities_deleted_total", float64(n), "blueprint", blueprint)
	}
}

func (m *metrics) eventReceived()            { m.add("ocean_events_received_total", 1) }
func (m *metrics) eventRejected(why string)  { m.add("ocean_events_rejected_total", 1, "reason", why) }
func (m *metrics) eventProcessed(res string) { m.add("ocean_events_processed_total", 1, "result", res) }
func (m *metrics) eventsCoalesced(n int)     { m.add("ocean_events_coalesced_total", float64(n)) }
func (m *metrics) queueDepth(n int)          { m.set("ocean_event_queue_depth", float64(n)) }

func (m *metrics) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.mu.Lock()
	defer m.mu.Unlock()
	type line struct {
		series, typ string
		v           float64
	}
	byName := map[string][]line{}
	for s, v := range m.counters {
		name, _, _ := strings.Cut(s, "{")
		byName[name] = append(byName[name], line{s, "counter", v})
	}
	for s, v := range m.gauges {
		name, _, _ := strings.Cut(s, "{")
		byName[name] = append(byName[name], line{s, "gauge", v})
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ls := byName[n]
		sort.Slice(ls, func(i, j int) bool { return ls[i].series < ls[j].series })
		if h := m.help[n]; h != "" {
			fmt.Fprintf(w, "# HELP %s %s\n", n, h)
		}
		fmt.Fprintf(w, "# TYPE %s %s\n", n, ls[0].typ)
		for _, l := range ls {
			fmt.Fprintf(w, "%s %g\n", l.series, l.v)
		}
	}
}
