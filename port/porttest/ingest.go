package porttest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/oceankit/oceankit/port"
)

// Telemetry ingest routes. Port serves them on other hosts, at URLs it puts in
// the integration object (logAttributes.ingestUrl, metricAttributes.ingestUrl);
// the fake serves them itself and puts its own URLs there, so that a client
// that follows the integration object reaches them.
const (
	RouteIngestLogs        = "POST /ingest/logs/{id}"
	RouteIngestSyncMetrics = "POST /ingest/metrics/{id}/syncMetrics"
	RouteIngestKindMetrics = "PUT /ingest/metrics/{id}/syncMetrics/resync/{eventId}/kind/{kind}"
	RouteIngestHeartbeat   = "POST /ingest/metrics/{id}/heartbeat"
)

// ingestStore keeps what the ingest routes received, per integration.
type ingestStore struct {
	mu         sync.Mutex
	logs       map[string][]port.LogRecord
	events     map[string][]port.SyncMetricsEvent
	heartbeats map[string][]string
}

func (st *ingestStore) init() {
	if st.logs == nil {
		st.logs = map[string][]port.LogRecord{}
		st.events = map[string][]port.SyncMetricsEvent{}
		st.heartbeats = map[string][]string{}
	}
}

func (s *Server) ingestRoutes(mux *http.ServeMux) {
	s.handle(mux, RouteIngestLogs, s.handleIngestLogs)
	s.handle(mux, RouteIngestSyncMetrics, s.handleIngestSyncMetrics)
	s.handle(mux, RouteIngestKindMetrics, s.handleIngestKindMetrics)
	s.handle(mux, RouteIngestHeartbeat, s.handleIngestHeartbeat)
}

// addIngestAttributes gives a new integration the fake's ingest URLs, unless
// the caller set the attributes itself (an empty object means "no ingest").
func (s *Server) addIngestAttributes(raw map[string]any, id string) {
	if _, ok := raw["logAttributes"]; !ok {
		raw["logAttributes"] = map[string]any{"ingestId": id, "ingestUrl": s.URL + "/ingest/logs/" + id}
	}
	if _, ok := raw["metricAttributes"]; !ok {
		raw["metricAttributes"] = map[string]any{"ingestId": id, "ingestUrl": s.URL + "/ingest/metrics/" + id}
	}
}

func (s *Server) handleIngestLogs(w http.ResponseWriter, c *call) {
	var body struct {
		Logs []json.RawMessage `json:"logs"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Logs == nil {
		badQuery("body must have required property 'logs'").write(w)
		return
	}
	recs := make([]port.LogRecord, 0, len(body.Logs))
	for i, raw := range body.Logs {
		var f map[string]json.RawMessage
		if json.Unmarshal(raw, &f) != nil {
			badQuery("logs/%d must be object", i).write(w)
			return
		}
		for _, k := range []string{"message", "level", "timestamp"} {
			if _, ok := f[k]; !ok {
				badQuery("logs/%d must have required property '%s'", i, k).write(w)
				return
			}
		}
		var r port.LogRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			badQuery("logs/%d: %v", i, err).write(w)
			return
		}
		recs = append(recs, r)
	}
	s.ingest.mu.Lock()
	s.ingest.init()
	id := c.r.PathValue("id")
	s.ingest.logs[id] = append(s.ingest.logs[id], recs...)
	s.ingest.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func checkEvent(ev port.SyncMetricsEvent) *apiError {
	switch {
	case ev.EventID == "":
		return badQuery("event must have required property 'eventId'")
	case ev.KindIdentifier == "":
		return badQuery("event must have required property 'kindIdentifier'")
	}
	switch ev.SyncState {
	case "pending", "syncing", "completed", "failed", "aborted":
	default:
		return badQuery(`"syncState" must be one of pending, syncing, completed, failed, aborted`)
	}
	return nil
}

func (s *Server) handleIngestSyncMetrics(w http.ResponseWriter, c *call) {
	var body struct {
		Events []port.SyncMetricsEvent `json:"syncKindsMetrics"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Events == nil {
		badQuery("body must have required property 'syncKindsMetrics'").write(w)
		return
	}
	for _, ev := range body.Events {
		if aerr := checkEvent(ev); aerr != nil {
			aerr.write(w)
			return
		}
	}
	s.addEvents(c.r.PathValue("id"), body.Events...)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) handleIngestKindMetrics(w http.ResponseWriter, c *call) {
	var body struct {
		Event *port.SyncMetricsEvent `json:"syncKindMetrics"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Event == nil {
		badQuery("body must have required property 'syncKindMetrics'").write(w)
		return
	}
	if aerr := checkEvent(*body.Event); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Event.EventID != c.r.PathValue("eventId") || body.Event.KindIdentifier != c.r.PathValue("kind") {
		badQuery("the event's eventId and kindIdentifier must match the path").write(w)
		return
	}
	s.addEvents(c.r.PathValue("id"), *body.Event)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) addEvents(id string, evs ...port.SyncMetricsEvent) {
	s.ingest.mu.Lock()
	defer s.ingest.mu.Unlock()
	s.ingest.init()
	s.ingest.events[id] = append(s.ingest.events[id], evs...)
}

func (s *Server) handleIngestHeartbeat(w http.ResponseWriter, c *call) {
	var body struct {
		EventID string `json:"eventId"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if strings.TrimSpace(body.EventID) == "" {
		badQuery("body must have required property 'eventId'").write(w)
		return
	}
	s.ingest.mu.Lock()
	s.ingest.init()
	id := c.r.PathValue("id")
	s.ingest.heartbeats[id] = append(s.ingest.heartbeats[id], body.EventID)
	s.ingest.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// IngestedLogs returns the log records the integration shipped, in arrival
// order.
func (s *Server) IngestedLogs(id string) []port.LogRecord {
	s.ingest.mu.Lock()
	defer s.ingest.mu.Unlock()
	return slices.Clone(s.ingest.logs[id])
}

// SyncMetricsEvents returns every sync-metrics event the integration sent
// (each of a POST's events, then each PUT), in arrival order.
func (s *Server) SyncMetricsEvents(id string) []port.SyncMetricsEvent {
	s.ingest.mu.Lock()
	defer s.ingest.mu.Unlock()
	return slices.Clone(s.ingest.events[id])
}

// KindSyncMetrics returns the latest event of one kind of one resync, as
// Port's per-kind sync status shows it.
func (s *Server) KindSyncMetrics(id, eventID, kindIdentifier string) (port.SyncMetricsEvent, bool) {
	s.ingest.mu.Lock()
	defer s.ingest.mu.Unlock()
	evs := s.ingest.events[id]
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].EventID == eventID && evs[i].KindIdentifier == kindIdentifier {
			return evs[i], true
		}
	}
	return port.SyncMetricsEvent{}, false
}

// Heartbeats returns the event IDs of the heartbeats the integration sent.
func (s *Server) Heartbeats(id string) []string {
	s.ingest.mu.Lock()
	defer s.ingest.mu.Unlock()
	return slices.Clone(s.ingest.heartbeats[id])
}
