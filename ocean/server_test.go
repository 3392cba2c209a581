package ocean_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
)

// headerHook is widgetHook for a sender whose secret travels in a header:
// it routes and authenticates on the headers, so the framework can answer
// before reading the body.
type headerHook struct{ *widgetHook }

func (p headerHook) Name() string { return "header-hook" }

func (p headerHook) MatchHeaders(h http.Header) bool { return h.Get("X-Widget-Event") != "" }

func (p headerHook) AuthenticateHeaders(_ context.Context, h http.Header) error {
	if subtle.ConstantTimeCompare([]byte(h.Get("X-Widget-Token")), []byte(hookSecret)) != 1 {
		return ocean.ErrUnauthorized
	}
	return nil
}

var (
	_ ocean.HeaderMatcher       = headerHook{}
	_ ocean.HeaderAuthenticator = headerHook{}
)

// spyBody is a request body that records whether anyone read it.
type spyBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *spyBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *spyBody) Close() error { return nil }

// captureQueue keeps what the intake queues, without applying anything.
type captureQueue struct {
	mu   sync.Mutex
	jobs []*ocean.QueuedEvent
}

func (q *captureQueue) Enqueue(_ context.Context, jobs []*ocean.QueuedEvent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

func (q *captureQueue) Run(ctx context.Context, _ ocean.ApplyFunc) error {
	<-ctx.Done()
	return nil
}

func (q *captureQueue) queued() []*ocean.QueuedEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*ocean.QueuedEvent(nil), q.jobs...)
}

// logRecorder keeps every log record, for tests that count lines.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// lines returns the records at level or above whose message contains msg.
func (l *logRecorder) lines(level slog.Level, msg string) []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []slog.Record
	for _, r := range l.recs {
		if r.Level >= level && strings.Contains(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

func attr(r slog.Record, key string) any {
	var v any
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.Any()
			return false
		}
		return true
	})
	return v
}

// intakeApp builds a WEBHOOKS_ONLY App with these processors, for tests
// that call its Handler directly.
func intakeApp(t *testing.T, procs []ocean.Processor, opts ...ocean.Option) *ocean.App {
	t.Helper()
	return limitedIntakeApp(t, procs, nil, opts...)
}

// limitedIntakeApp is intakeApp with the route's limits (OCEAN__WEBHOOK__…)
// changed by limits.
func limitedIntakeApp(t *testing.T, procs []ocean.Processor, limits func(*settings.WebhookLimits), opts ...ocean.Option) *ocean.App {
	t.Helper()
	h := newHarness(t, 0)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.prov.Processors = procs
	if limits != nil {
		limits(&h.cfg.Webhook)
	}
	return h.app(opts...)
}

// deliver sends one delivery to the App's handler and returns the answer.
// contentLength < 0 sends the body chunked (no Content-Length).
func deliver(h http.Handler, hdr map[string]string, body io.Reader, contentLength int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/integration/webhook", body)
	req.ContentLength = contentLength
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// scrape returns the App's metrics in Prometheus text.
func scrape(t *testing.T, a *ocean.App) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func widgetBody(t *testing.T, id int) []byte {
	t.Helper()
	b, err := json.Marshal(widgetEvent("update", widget(id)))
	require.NoError(t, err)
	return b
}

func TestWebhookAuthenticatesBeforeReadingTheBody(t *testing.T) {
	t.Parallel()
	q := &captureQueue{}
	a := limitedIntakeApp(t, []ocean.Processor{headerHook{&widgetHook{}}},
		func(l *settings.WebhookLimits) { l.MaxBodyBytes = 1 << 20 }, ocean.WithEventQueue(q))
	h := a.Handler()
	valid := widgetBody(t, 1)
	tests := []struct {
		name     string
		headers  map[string]string
		body     []byte
		length   int64 // Content-Length claimed; 0: the body's
		want     int
		wantRead bool
	}{
		{"wrong token", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": "nope"}, valid, 0, http.StatusUnauthorized, false},
		{"no token", map[string]string{"X-Widget-Event": "widget"}, valid, 0, http.StatusUnauthorized, false},
		{"token of another length", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret + "x"}, valid, 0, http.StatusUnauthorized, false},
		{"wrong token, 24 MiB claimed", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": "nope"}, valid, 24 << 20, http.StatusUnauthorized, false},
		{"no processor's event", map[string]string{"X-Other-Event": "x"}, valid, 0, http.StatusOK, false},
		{"right token, body over the limit", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}, valid, 2 << 20, http.StatusRequestEntityTooLarge, false},
		{"right token, malformed body", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}, []byte(`{"widget":`), 0, http.StatusBadRequest, true},
		{"right token, valid body", map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}, valid, 0, http.StatusAccepted, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &spyBody{r: bytes.NewReader(tc.body)}
			n := int64(len(tc.body))
			if tc.length != 0 {
				n = tc.length
			}
			rec := deliver(h, tc.headers, body, n)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
			assert.Equal(t, tc.wantRead, body.read.Load(), "body read")
		})
	}
	assert.Len(t, q.queued(), 1, "only the authentic, valid delivery is queued")
}

func TestBodyAuthenticatedProcessorsStillWork(t *testing.T) {
	t.Parallel()
	// widgetHook has no header methods: its deliveries are read (within
	// the bounds) and it authenticates them as before.
	q := &captureQueue{}
	a := intakeApp(t, []ocean.Processor{&widgetHook{}}, ocean.WithEventQueue(q))
	h := a.Handler()
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"wrong token", "nope", http.StatusUnauthorized},
		{"right token", hookSecret, http.StatusAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := widgetBody(t, 2)
			rec := deliver(h, map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": tc.token}, bytes.NewReader(b), int64(len(b)))
			assert.Equal(t, tc.want, rec.Code)
		})
	}
	assert.Len(t, q.queued(), 1)
}

// twinHook is a second header processor taking the same deliveries.
type twinHook struct{ headerHook }

func (twinHook) Name() string { return "twin-hook" }

func TestQueuedEventsHoldOnlyTheRawBody(t *testing.T) {
	t.Parallel()
	q := &captureQueue{}
	hook := headerHook{&widgetHook{}}
	a := intakeApp(t, []ocean.Processor{hook, twinHook{hook}}, ocean.WithEventQueue(q))
	b := widgetBody(t, 3)
	rec := deliver(a.Handler(), map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}, bytes.NewReader(b), int64(len(b)))
	require.Equal(t, http.StatusAccepted, rec.Code)
	jobs := q.queued()
	require.Len(t, jobs, 2, "one job per processor")
	for _, j := range jobs {
		assert.Nil(t, j.Event.Payload, "a queued event keeps no decoded copy of its body")
		assert.JSONEq(t, string(b), string(j.Event.Body))
	}
	assert.Same(t, jobs[0].Event, jobs[1].Event, "the jobs of one delivery share one event")
}

// blockingBody hands out its bytes only as the test releases them.
type blockingBody struct {
	data    []byte
	release chan int // how many more bytes may be read
	avail   int
	started chan struct{}
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	for b.avail == 0 {
		b.avail += <-b.release
	}
	n := copy(p, b.data[:min(len(b.data), b.avail)])
	b.data, b.avail = b.data[n:], b.avail-n
	return n, nil
}

func (b *blockingBody) Close() error { return nil }

func TestWebhookBodyReadsAreBounded(t *testing.T) {
	t.Parallel()
	q := &captureQueue{}
	// widgetHook needs the body to authenticate: its reads are what the
	// budget bounds.
	a := limitedIntakeApp(t, []ocean.Processor{&widgetHook{}}, func(l *settings.WebhookLimits) {
		l.MaxBodyBytes, l.InflightBodyBytes, l.BodyWait = 1000, 1000, -1
	}, ocean.WithEventQueue(q))
	h := a.Handler()
	hdr := map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}

	ev := widgetEvent("update", widget(4))
	ev["pad"] = ""
	b, _ := json.Marshal(ev)
	ev["pad"] = strings.Repeat("x", 1000-len(b))
	b, _ = json.Marshal(ev)
	require.Len(t, b, 1000)
	slow := &blockingBody{data: b, release: make(chan int), started: make(chan struct{})}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- deliver(h, hdr, slow, int64(len(b))) }()
	<-slow.started // the first delivery holds the whole budget while it trickles in

	small := widgetBody(t, 5)
	rec := deliver(h, hdr, bytes.NewReader(small), int64(len(small)))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a delivery beyond the read budget is answered at once")
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))

	slow.release <- len(b)
	assert.Equal(t, http.StatusAccepted, (<-done).Code)
	rec = deliver(h, hdr, bytes.NewReader(small), int64(len(small)))
	assert.Equal(t, http.StatusAccepted, rec.Code, "the budget is returned after each read")

	// A chunked body (no Content-Length) is cut at the limit.
	big := bytes.Repeat([]byte(" "), 2000)
	rec = deliver(h, hdr, bytes.NewReader(big), -1)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Len(t, q.queued(), 2)
}

func TestLiveEventQueueIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	h := newHarness(t, 0)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.cfg.EventWorkersCount = 1
	hook := &widgetHook{gate: gate}
	h.prov.Processors = []ocean.Processor{hook.funcs()}
	// Each event below counts about 2.3 KB: the queue holds one or two
	// besides the one being applied, far below its count bound.
	h.cfg.Webhook.QueueBytes = 5000
	a := h.app(ocean.WithEventRetry(3, time.Millisecond))
	lh := &liveHarness{harness: h, hook: hook, app: a}
	lh.stop = runApp(t, a)
	lh.url = waitHealthy(t, a)

	statuses := map[int]int{}
	for i := range 6 {
		w := widget(i)
		w["notes"] = strings.Repeat("n", 2000)
		status, _ := lh.post(t, hookSecret, widgetEvent("update", w))
		statuses[status]++
	}
	assert.Positive(t, statuses[http.StatusServiceUnavailable], "a queue over its byte bound answers 503")
	assert.LessOrEqual(t, statuses[http.StatusAccepted], 3)
	close(gate)
	require.NoError(t, lh.stop())
	assert.Equal(t, statuses[http.StatusAccepted], h.srv.EntityCount("widget"), "every accepted event is applied")
}

func TestShutdownReportsUnappliedEventsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.cfg.EventWorkersCount = 1
	h.cfg.MaxWaitSecondsBeforeShutdown = 5
	hook := &widgetHook{gate: make(chan struct{})} // never opened: Handle waits for cancellation
	h.prov.Processors = []ocean.Processor{hook.funcs()}
	logs := &logRecorder{}
	clk := clock.NewFake(fakeStart)
	a := h.app(ocean.WithEventRetry(3, time.Millisecond), ocean.WithClock(clk), ocean.WithLogger(slog.New(logs)))
	lh := &liveHarness{harness: h, hook: hook, app: a}
	lh.stop = runApp(t, a)
	lh.url = waitHealthy(t, a)

	const n = 40
	for i := range n {
		status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(i)))
		require.Equal(t, http.StatusAccepted, status)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- lh.stop() }()
	clk.WaitTickers(1) // the drain's deadline
	clk.Advance(5 * time.Second)
	require.NoError(t, <-stopped)

	assert.Empty(t, logs.lines(slog.LevelError, ""), "cancellation at shutdown is not a failure")
	summary := logs.lines(slog.LevelWarn, "live events not applied before shutdown")
	require.Len(t, summary, 1, "one summary line")
	assert.EqualValues(t, n, attr(summary[0], "count"))
	m := scrape(t, a)
	assert.NotContains(t, m, `result="failed"`)
	assert.Contains(t, m, `ocean_events_processed_total{result="interrupted"} 1`)
	assert.Zero(t, h.srv.EntityCount("widget"))
}

func TestRejectedDeliveriesDoNotChooseTheLogVolume(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	clk := clock.NewFake(fakeStart)
	a := limitedIntakeApp(t, []ocean.Processor{headerHook{&widgetHook{}}, &widgetHook{}},
		func(l *settings.WebhookLimits) { l.RejectLogInterval = time.Minute },
		ocean.WithClock(clk), ocean.WithLogger(slog.New(logs)), ocean.WithEventQueue(&captureQueue{}))
	h := a.Handler()
	bad := map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": "nope"}
	send := func(k int) {
		for range k {
			rec := deliver(h, bad, strings.NewReader("{}"), 2)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}
	}
	tests := []struct {
		name      string
		advance   time.Duration
		send      int
		wantLines int
		wantCount any // not_logged_since_last of the newest line
	}{
		{"a burst logs its first rejection", 0, 500, 1, nil},
		{"within the interval nothing more", 30 * time.Second, 500, 1, nil},
		{"after the interval one line with the count", 31 * time.Second, 1, 2, int64(999)},
	}
	for _, tc := range tests {
		clk.Advance(tc.advance)
		send(tc.send)
		got := logs.lines(slog.LevelWarn, "authentication failed")
		require.Len(t, got, tc.wantLines, tc.name)
		assert.Equal(t, tc.wantCount, attr(got[len(got)-1], "not_logged_since_last"), tc.name)
	}
	assert.Contains(t, scrape(t, a), `ocean_events_rejected_total{reason="Unauthorized"} 1001`, "the metric counts every rejection")
}

func TestResyncRouteCoalescesAndNeverAborts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300)
	h.cfg.EventListener.Type = settings.ListenerWebhook
	gate, started := make(chan struct{}), make(chan struct{})
	h.src.gate, h.src.started = gate, started
	a := h.app(ocean.WithClock(clock.NewFake(fakeStart)))
	stop := runApp(t, a)
	url := waitHealthy(t, a)

	post := func() int {
		resp, err := http.Post(url+"/resync", "application/json", nil)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusAccepted, post())
	<-started
	for range 50 {
		require.Equal(t, http.StatusAccepted, post())
	}
	h.src.mu.Lock()
	h.src.gate = nil
	h.src.mu.Unlock()
	close(gate)
	first := waitReport(t, a)
	assert.Equal(t, report.StateCompleted, first.Status, "POST /resync does not abort the running resync")
	second := waitReport(t, a)
	assert.Equal(t, report.StateCompleted, second.Status, "the calls made meanwhile run one more resync")
	assert.Equal(t, "webhook listener", second.Trigger)
	// Had the 50 calls queued more than one resync, the next report would
	// be another of theirs, not this one.
	a.TriggerResync("sentinel", false)
	assert.Equal(t, "sentinel", waitReport(t, a).Trigger)
	assert.Equal(t, 300, h.srv.EntityCount("widget"))
	require.NoError(t, stop())
}

func TestResyncRouteToken(t *testing.T) {
	t.Parallel()
	const token = "resync-t0ken"
	tests := []struct {
		name    string
		token   string // configured
		headers map[string]string
		want    int
	}{
		{"no token configured: anyone (as Ocean)", "", nil, http.StatusAccepted},
		{"token configured, none sent", token, nil, http.StatusUnauthorized},
		{"wrong bearer", token, map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"other scheme", token, map[string]string{"Authorization": "Basic " + token}, http.StatusUnauthorized},
		{"bearer", token, map[string]string{"Authorization": "Bearer " + token}, http.StatusAccepted},
		{"bearer, any case", token, map[string]string{"Authorization": "bearer " + token}, http.StatusAccepted},
		{"header", token, map[string]string{"X-Ocean-Resync-Token": token}, http.StatusAccepted},
		{"wrong header", token, map[string]string{"X-Ocean-Resync-Token": token + "x"}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 0)
			h.cfg.EventListener.Type = settings.ListenerWebhook
			h.cfg.EventListener.ResyncToken = settings.Secret(tc.token)
			a := h.app()
			req := httptest.NewRequest(http.MethodPost, "/resync", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
			if tc.want == http.StatusUnauthorized {
				assert.NotContains(t, rec.Body.String(), token)
			}
		})
	}
}

// TestSlowConnectionsAreClosed holds connections open the way a slowloris
// client does and expects the server to close each within its timeouts.
// The watchdog only keeps a failure from hanging the test.
func TestSlowConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.prov.Processors = []ocean.Processor{headerHook{&widgetHook{}}}
	const timeout = 300 * time.Millisecond
	h.cfg.Webhook.ReadHeaderTimeout, h.cfg.Webhook.ReadTimeout, h.cfg.Webhook.IdleTimeout = timeout, timeout, timeout
	a := h.app()
	stop := runApp(t, a)
	url := waitHealthy(t, a)
	addr := strings.TrimPrefix(url, "http://")

	partial := func(token string) string {
		return "POST /integration/webhook HTTP/1.1\r\nHost: x\r\nX-Widget-Event: widget\r\nX-Widget-Token: " + token +
			"\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"wid"
	}
	tests := []struct {
		name       string
		send       string
		wantStatus string // the status line the server answers before closing, if any
	}{
		{"headers never finished", "POST /integration/webhook HTTP/1.1\r\nHost: x\r\nX-Widget-Event: wid", ""},
		{"authenticated body trickling", partial(hookSecret), "HTTP/1.1 400"},
		{"unauthenticated body trickling", partial("nope"), "HTTP/1.1 401"},
		{"idle keep-alive", "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			var watchdog atomic.Bool
			timer := time.AfterFunc(20*time.Second, func() { watchdog.Store(true); conn.Close() })
			defer timer.Stop()
			_, err = io.WriteString(conn, tc.send)
			require.NoError(t, err)
			got, _ := io.ReadAll(bufio.NewReader(conn)) // until the server closes
			assert.False(t, watchdog.Load(), "the server left the connection open")
			if tc.wantStatus != "" {
				assert.True(t, strings.HasPrefix(string(got), tc.wantStatus), "answer %q", got)
			}
		})
	}
	t.Cleanup(func() { _ = stop() })
}

// failingQueue is a queue whose backend is away.
type failingQueue struct{ err error }

func (f failingQueue) Enqueue(context.Context, []*ocean.QueuedEvent) error { return f.err }
func (f failingQueue) Run(ctx context.Context, _ ocean.ApplyFunc) error {
	<-ctx.Done()
	return nil
}

// A queue that is full and a queue whose backend is away both answer 503,
// and the answer says which, without the backend's address.
func TestUnqueuedDeliveriesSayWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{ocean.ErrQueueFull, "queue full"},
		{fmt.Errorf("redisqueue: dial tcp 10.0.0.7:6379: connection refused"), "live-event queue unavailable"},
	}
	for _, tc := range tests {
		a := intakeApp(t, []ocean.Processor{&widgetHook{}}, ocean.WithEventQueue(failingQueue{tc.err}))
		b := widgetBody(t, 2)
		rec := deliver(a.Handler(), map[string]string{"X-Widget-Event": "widget", "X-Widget-Token": hookSecret}, bytes.NewReader(b), int64(len(b)))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.Contains(t, rec.Body.String(), tc.want)
		assert.NotContains(t, rec.Body.String(), "10.0.0.7")
	}
}
