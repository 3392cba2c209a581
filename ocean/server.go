package ocean

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxEventBody bounds a webhook body; GitLab's largest payloads (push events
// with many commits) stay far below it.
const maxEventBody = 25 << 20

// Handler returns the App's HTTP routes, Ocean's:
//
//	POST {prefix}/integration/webhook   live events (and any other path under /integration/)
//	GET  /health/live, /health/ready, /health
//	GET  /metrics                        Prometheus text format
//	POST /resync                         only with the WEBHOOK listener
//
// Run serves it on APPLICATION__PORT; a program that has its own server can
// mount it instead.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	prefix := a.routePrefix()
	mux.HandleFunc("POST "+prefix+"/integration/", a.handleEvent)
	mux.HandleFunc("GET /health/live", a.handleHealth("live"))
	mux.HandleFunc("GET /health/ready", a.handleHealth("ready"))
	mux.HandleFunc("GET /health", a.handleHealth("live"))
	mux.HandleFunc("GET /metrics", a.metrics.serveHTTP)
	if a.cfg.EventListener.Type == ListenerWebhook {
		mux.HandleFunc("POST /resync", func(w http.ResponseWriter, r *http.Request) {
			a.TriggerResync("webhook listener", true)
			writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted"})
		})
	}
	return mux
}

func (a *App) handleHealth(check string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		body := map[string]any{"status": "healthy", "check": check}
		if check == "ready" && !a.ready.Load() {
			status = http.StatusServiceUnavailable
			body["status"] = "starting"
		}
		writeJSON(w, status, body)
	}
}

// handleEvent is the live-event intake: it authenticates and validates the
// event while the sender waits, queues it, and answers 202.
func (a *App) handleEvent(w http.ResponseWriter, r *http.Request) {
	a.metrics.eventReceived()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody+1))
	if err != nil {
		a.reject(w, http.StatusBadRequest, "cannot read body")
		return
	}
	if len(body) > maxEventBody {
		a.reject(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil || payload == nil {
		a.reject(w, http.StatusBadRequest, "body is not a JSON object")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, a.routePrefix()+"/integration")
	ev := &Event{
		ID:         eventID(r),
		Path:       path,
		Headers:    r.Header.Clone(),
		Body:       body,
		Payload:    payload,
		ReceivedAt: a.clock.Now(),
	}
	var jobs []*QueuedEvent
	for _, p := range a.provider.Processors {
		if !p.Match(ev) {
			continue
		}
		if err := p.Authenticate(r.Context(), ev); err != nil {
			a.log.Warn("live event rejected: authentication failed", "event", ev.ID, "processor", p.Name(), "remote", r.RemoteAddr)
			a.reject(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		if err := p.Validate(ev); err != nil {
			a.log.Warn("live event rejected: invalid payload", "event", ev.ID, "processor", p.Name(), "error", err)
			a.reject(w, http.StatusBadRequest, "invalid payload: "+err.Error())
			return
		}
		key := p.Name()
		if k, ok := p.(Keyer); ok {
			key += "/" + k.Key(ev)
		}
		jobs = append(jobs, &QueuedEvent{Key: key, Processor: p.Name(), Event: ev})
	}
	if len(jobs) == 0 {
		a.metrics.eventRejected("unsupported")
		writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "reason": "no processor handles this event"})
		return
	}
	if err := a.queue.Enqueue(r.Context(), jobs); err != nil {
		w.Header().Set("Retry-After", "5")
		a.log.Warn("live event rejected: not queued", "event", ev.ID, "error", err)
		a.reject(w, http.StatusServiceUnavailable, "queue full")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "id": ev.ID})
}

func (a *App) reject(w http.ResponseWriter, status int, msg string) {
	a.metrics.eventRejected(http.StatusText(status))
	writeJSON(w, status, map[string]any{"status": "error", "message": msg})
}

func eventID(r *http.Request) string {
	for _, h := range []string{"X-Gitlab-Event-UUID", "X-GitHub-Delivery", "X-Request-Id"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
