package ocean

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean/settings"
)

// webhookIntake is the route's state, built on first use so that an App
// mounted in another server (Handler without Run) has it too.
type webhookIntake struct {
	once     sync.Once
	resolved settings.WebhookLimits
	inflight *semaphore.Weighted
	rejects  *rejectLog

	// interrupted counts live events cut short by shutdown, for the
	// queue's summary line.
	interrupted atomic.Int64
}

// intake returns the route's state, building it once.
func (a *App) intake() *webhookIntake {
	h := &a.hooks
	h.once.Do(func() {
		h.resolved = a.cfg.Webhook.WithDefaults()
		h.inflight = semaphore.NewWeighted(h.resolved.InflightBodyBytes)
		h.rejects = &rejectLog{clock: a.clock, every: h.resolved.RejectLogInterval, log: a.log, last: map[string]*rejectCount{}}
	})
	return h
}

// Handler returns the App's HTTP routes, Ocean's: POST
// {prefix}/integration/webhook (live events), GET /health/live,
// /health/ready, /health, /docs (the probe of charts up to 0.15.12),
// /metrics, and POST /resync with the WEBHOOK listener. Run serves it; a
// program with its own server can mount it instead (with the timeouts of
// WebhookLimits). Queued live events are applied only while Run runs.
func (a *App) Handler() http.Handler {
	a.intake()
	mux := http.NewServeMux()
	prefix := a.routePrefix()
	mux.HandleFunc("POST "+prefix+"/integration/", a.handleEvent)
	mux.HandleFunc("GET /health/live", a.handleHealth("live"))
	mux.HandleFunc("GET /health/ready", a.handleHealth("ready"))
	mux.HandleFunc("GET /health", a.handleHealth("live"))
	mux.HandleFunc("GET /docs", handleDocs)
	mux.HandleFunc("GET /metrics", a.serveMetrics)
	if a.cfg.EventListener.Type == settings.ListenerWebhook {
		mux.HandleFunc("POST /resync", a.handleResync)
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
		} else if check == "ready" && a.queueHealth() != nil {
			// Deliveries would be answered 503: send them elsewhere. The
			// reason may name internal addresses; the queue logs it.
			status = http.StatusServiceUnavailable
			body["status"] = "unavailable"
			body["reason"] = "live-event queue backend unavailable"
		}
		writeJSON(w, status, body)
	}
}

// maxLoggedPayload caps what OCEAN__EVENTS_DEBUG_LOGGING logs of one body,
// as Ocean caps it.
const maxLoggedPayload = 1 << 20

// logPayload logs a delivery's body when OCEAN__EVENTS_DEBUG_LOGGING is on.
// Only deliveries that passed the header checks get here. The body is
// logged as text, not base64 as Ocean does, so that the logger's redaction
// of this program's secrets applies to it.
func (a *App) logPayload(r *http.Request, body []byte) {
	if !a.cfg.EventsDebugLogging {
		return
	}
	cut := len(body) > maxLoggedPayload
	if cut {
		body = body[:maxLoggedPayload]
	}
	a.log.Info("live event payload (OCEAN__EVENTS_DEBUG_LOGGING)", "path", r.URL.Path, "bytes", len(body), "truncated", cut, "payload", string(body))
}

// handleDocs answers GET /docs, where Ocean's FastAPI serves its API docs
// and where Port's port-ocean chart up to 0.15.12 points both its liveness
// and its readiness probes. It answers 200 whenever the server runs, as
// FastAPI does once its start-up is over (the listener here also starts
// only after the integration is registered): a liveness check, so that a
// slow webhook registration does not get the pod restarted. Charts from
// 0.16.0 probe /health/live and /health/ready.
func handleDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "<!doctype html><title>oceankit</title><p>This integration serves POST /integration/webhook, GET /health/live, GET /health/ready and GET /metrics.</p>\n")
}

// queueHealth is the live-event queue's backend state (nil for a queue
// that has no backend to lose).
func (a *App) queueHealth() error {
	if h, ok := a.queue.(EventQueueHealth); ok {
		return h.Healthy()
	}
	return nil
}

// serveMetrics serves /metrics, with the queue backend's state read at
// scrape time.
func (a *App) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.queue.(EventQueueHealth); ok {
		up := 1.0
		if a.queueHealth() != nil {
			up = 0
		}
		a.metrics.set("ocean_live_events_backend_up", up)
	}
	a.metrics.serveHTTP(w, r)
}

// handleResync is the WEBHOOK listener's trigger. It never aborts the
// running resync: a request made while one runs asks for one more after it,
// and requests made meanwhile collapse into that one, so callers cannot
// keep a resync from finishing. With OCEAN__EVENT_LISTENER__RESYNC_TOKEN
// set, a request without the token is refused.
func (a *App) handleResync(w http.ResponseWriter, r *http.Request) {
	if tok := strings.TrimSpace(a.cfg.EventListener.ResyncToken.Value()); tok != "" && !resyncTokenOK(r.Header, tok) {
		a.intake().rejects.warn("resync request rejected: missing or wrong token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="resync"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "error", "message": "unauthorized"})
		return
	}
	a.sched.request(resyncRequest{reason: "webhook listener", full: true})
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted"})
}

// resyncTokenOK checks the token of a POST /resync: Authorization: Bearer
// <token>, or X-Ocean-Resync-Token: <token>.
func resyncTokenOK(h http.Header, want string) bool {
	got := h.Get("X-Ocean-Resync-Token")
	if auth := h.Get("Authorization"); got == "" && len(auth) > len("bearer ") && strings.EqualFold(auth[:len("bearer ")], "bearer ") {
		got = strings.TrimSpace(auth[len("bearer "):])
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// handleEvent is the live-event intake. In order, and stopping at the first
// answer:
//
//  1. from the headers alone: which processors may take the delivery
//     (HeaderMatcher) and whether it is authentic for them
//     (HeaderAuthenticator) — nobody's delivery is answered 200, a bad
//     secret 401, a body over MaxBodyBytes 413, all without reading it;
//  2. room to read it (InflightBodyBytes), else 503 with Retry-After;
//  3. the body, read and decoded once; then Match, Authenticate and
//     Validate on it (400 for a malformed payload);
//  4. the queue: each processor's job is queued with the raw body only,
//     and the sender gets 202.
func (a *App) handleEvent(w http.ResponseWriter, r *http.Request) {
	jobs, ev, status, msg := a.admitEvent(w, r)
	switch {
	case status == http.StatusOK:
		a.ignore(w)
		return
	case status != 0:
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		a.reject(w, status, msg)
		return
	}
	if _, inProcess := a.queue.(*memoryQueue); inProcess && !a.queueRunning.Load() {
		// Mounted in another server without Run: nothing would apply it.
		// (A shared queue, such as Redis, is read by other replicas.)
		a.intake().rejects.warn("live event rejected: the App is not running (call Run, or HandleEvent for one event)")
		w.Header().Set("Retry-After", "5")
		a.reject(w, http.StatusServiceUnavailable, "not running")
		return
	}
	if err := a.queue.Enqueue(r.Context(), jobs); err != nil {
		a.intake().rejects.warn("live event rejected: not queued", "error", err)
		w.Header().Set("Retry-After", "5")
		msg := "queue full"
		if !errors.Is(err, ErrQueueFull) {
			// The queue's backend (Redis) is away; its address and error
			// stay in the log.
			msg = "live-event queue unavailable"
		}
		a.reject(w, http.StatusServiceUnavailable, msg)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "id": ev.ID})
}

// admitEvent takes a delivery through the intake: processors chosen and
// authenticated from the headers, the body read within its limits,
// decoded and validated. status is 0 when jobs are ready, 200 when no
// processor takes the event, and the status to answer otherwise.
func (a *App) admitEvent(w http.ResponseWriter, r *http.Request) (jobs []*QueuedEvent, ev *Event, status int, msg string) {
	in := a.intake()
	a.metrics.eventReceived()
	candidates := make([]Processor, 0, len(a.provider.Processors))
	for _, p := range a.provider.Processors {
		if m, ok := p.(HeaderMatcher); ok && !m.MatchHeaders(r.Header) {
			continue
		}
		if ha, ok := p.(HeaderAuthenticator); ok {
			if err := ha.AuthenticateHeaders(r.Context(), r.Header); err != nil {
				in.rejects.warn("live event rejected: authentication failed", "processor", p.Name(), "remote", r.RemoteAddr)
				return nil, nil, http.StatusUnauthorized, "unauthorized"
			}
		}
		candidates = append(candidates, p)
	}
	if len(candidates) == 0 {
		return nil, nil, http.StatusOK, ""
	}
	lim := in.resolved
	if r.ContentLength > lim.MaxBodyBytes {
		in.rejects.warn("live event rejected: body too large", "bytes", r.ContentLength, "limit", lim.MaxBodyBytes, "remote", r.RemoteAddr)
		return nil, nil, http.StatusRequestEntityTooLarge, "body too large"
	}
	weight := r.ContentLength
	if weight < 0 {
		weight = lim.MaxBodyBytes
	}
	if !in.acquire(r.Context(), weight) {
		in.rejects.warn("live event rejected: too many deliveries being read", "remote", r.RemoteAddr)
		return nil, nil, http.StatusServiceUnavailable, "busy"
	}
	defer in.inflight.Release(weight)
	body, status, err := readBody(w, r, lim.MaxBodyBytes)
	if err != nil {
		in.rejects.warn("live event rejected: cannot read body", "error", err, "remote", r.RemoteAddr)
		return nil, nil, status, http.StatusText(status)
	}
	a.logPayload(r, body)
	return a.intakeBody(r, candidates, body)
}

// intakeBody decodes the body and hands it to the candidates. status is 0
// when jobs are ready to queue, 200 when no processor takes the event, and
// the error status otherwise. The queued jobs share one Event without its
// decoded payload.
func (a *App) intakeBody(r *http.Request, candidates []Processor, body []byte) (jobs []*QueuedEvent, queued *Event, status int, msg string) {
	rejects := a.intake().rejects
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil || payload == nil {
		rejects.warn("live event rejected: body is not a JSON object", "remote", r.RemoteAddr)
		return nil, nil, http.StatusBadRequest, "body is not a JSON object"
	}
	ev := &Event{
		ID:         eventID(r),
		Path:       strings.TrimPrefix(r.URL.Path, a.routePrefix()+"/integration"),
		Headers:    r.Header.Clone(),
		Body:       body,
		Payload:    payload,
		ReceivedAt: a.clock.Now(),
	}
	queued = new(Event)
	*queued = *ev
	queued.Payload = nil
	for _, p := range candidates {
		if !p.Match(ev) {
			continue
		}
		if err := p.Authenticate(r.Context(), ev); err != nil {
			rejects.warn("live event rejected: authentication failed", "processor", p.Name(), "remote", r.RemoteAddr)
			return nil, nil, http.StatusUnauthorized, "unauthorized"
		}
		if err := p.Validate(ev); err != nil {
			rejects.warn("live event rejected: invalid payload", "event", ev.ID, "processor", p.Name(), "error", err)
			return nil, nil, http.StatusBadRequest, "invalid payload: " + err.Error()
		}
		key := eventKey(p, ev)
		jobs = append(jobs, &QueuedEvent{Key: key, Processor: p.Name(), Event: queued})
	}
	if len(jobs) == 0 {
		return nil, nil, http.StatusOK, ""
	}
	return jobs, queued, 0, ""
}

// acquire takes n bytes of the in-flight body budget, waiting at most
// BodyWait (and never past the request).
func (h *webhookIntake) acquire(ctx context.Context, n int64) bool {
	if h.inflight.TryAcquire(n) {
		return true
	}
	if h.resolved.BodyWait < 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, h.resolved.BodyWait)
	defer cancel()
	return h.inflight.Acquire(ctx, n) == nil
}

// readBody reads a body of at most limit bytes: exactly its
// Content-Length when it has one (one allocation, no growth), else up to
// the limit. status is the answer for an error.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, error) {
	rd := http.MaxBytesReader(w, r.Body, limit)
	if n := r.ContentLength; n >= 0 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, http.StatusBadRequest, err
		}
		return buf, 0, nil
	}
	buf, err := io.ReadAll(rd)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, err
		}
		return nil, http.StatusBadRequest, err
	}
	return buf, 0, nil
}

// ignore answers a delivery no processor takes: 200, so that the sender
// does not retry or disable the webhook.
func (a *App) ignore(w http.ResponseWriter) {
	a.metrics.eventRejected("unsupported")
	writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "reason": "no processor handles this event"})
}

func (a *App) reject(w http.ResponseWriter, status int, msg string) {
	a.metrics.eventRejected(http.StatusText(status))
	writeJSON(w, status, map[string]any{"status": "error", "message": msg})
}

// rejectLog rate-limits the WARN lines of rejected requests: per message,
// the first is logged, then at most one line per interval, which carries
// the number of rejections not logged since the previous line. The
// messages are a fixed set, so the map stays small.
type rejectLog struct {
	clock clock.Clock
	every time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	last map[string]*rejectCount
}

type rejectCount struct {
	at         time.Time
	suppressed int
}

func (l *rejectLog) warn(msg string, args ...any) {
	now := l.clock.Now()
	l.mu.Lock()
	c := l.last[msg]
	if c != nil && now.Sub(c.at) < l.every {
		c.suppressed++
		l.mu.Unlock()
		return
	}
	if c == nil {
		c = &rejectCount{}
		l.last[msg] = c
	}
	n := c.suppressed
	c.at, c.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "not_logged_since_last", n)
	}
	l.log.Warn(msg, args...)
}

// flush logs the rejections not logged yet, one line per message (at
// shutdown, so that the last interval's count is not lost).
func (l *rejectLog) flush() {
	l.mu.Lock()
	type pending struct {
		msg string
		n   int
	}
	var out []pending
	for msg, c := range l.last {
		if c.suppressed > 0 {
			out = append(out, pending{msg, c.suppressed})
			c.suppressed = 0
		}
	}
	l.mu.Unlock()
	for _, p := range out {
		l.log.Warn(p.msg, "not_logged_since_last", p.n)
	}
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

// eventSize is what a queued event counts for against QueueBytes: its
// body, headers and identifiers, plus a fixed overhead for the structs.
func eventSize(ev *Event) int64 {
	if ev == nil {
		return 0
	}
	n := int64(len(ev.Body) + len(ev.ID) + len(ev.Path) + 256)
	for k, vs := range ev.Headers {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}
