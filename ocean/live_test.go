package ocean_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

const hookSecret = "s3cr3t-webhook-token"

// widgetHook is a test processor: events carry a whole widget.
type widgetHook struct {
	mu       sync.Mutex
	handled  []string // "id@size" in handling order
	failures atomic.Int32
	gate     chan struct{}
}

func (p *widgetHook) Name() string { return "widget-hook" }

// funcs is the hook as a ProcessorFuncs, with its events keyed by widget
// and versioned by updated_at.
func (p *widgetHook) funcs() *ocean.ProcessorFuncs {
	return &ocean.ProcessorFuncs{ID: p.Name(), Matches: p.Match, Auth: p.Authenticate, Check: p.Validate,
		KindNames: []string{"widget"}, Apply: p.Handle, Key: p.Key, Version: p.Version}
}

func (p *widgetHook) Match(ev *ocean.Event) bool { return ev.Headers.Get("X-Widget-Event") != "" }

func (p *widgetHook) Authenticate(_ context.Context, ev *ocean.Event) error {
	if subtle.ConstantTimeCompare([]byte(ev.Headers.Get("X-Widget-Token")), []byte(hookSecret)) != 1 {
		return ocean.ErrUnauthorized
	}
	return nil
}

func (p *widgetHook) Validate(ev *ocean.Event) error {
	w, ok := ev.Payload["widget"].(map[string]any)
	if !ok {
		return errors.New("no widget object")
	}
	if _, ok := w["id"].(string); !ok {
		return errors.New("widget without id")
	}
	return nil
}

func (p *widgetHook) Kinds(*ocean.Event) []string { return []string{"widget"} }

func (p *widgetHook) Key(ev *ocean.Event) string {
	return ev.Payload["widget"].(map[string]any)["id"].(string)
}

func (p *widgetHook) Version(ev *ocean.Event) (time.Time, bool) {
	s, _ := ev.Payload["updated_at"].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func (p *widgetHook) Handle(ctx context.Context, ev *ocean.Event, _ ocean.Resource) (ocean.Changes, error) {
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return ocean.Changes{}, ctx.Err()
		}
	}
	if p.failures.Load() > 0 {
		p.failures.Add(-1)
		return ocean.Changes{}, errors.New("upstream flaked")
	}
	w := ev.Payload["widget"].(map[string]any)
	p.mu.Lock()
	p.handled = append(p.handled, fmt.Sprintf("%s@%v", w["id"], w["size"]))
	p.mu.Unlock()
	if ev.Payload["action"] == "delete" {
		return ocean.Changes{Delete: []ocean.Item{w}}, nil
	}
	return ocean.Changes{Upsert: []ocean.Item{w}}, nil
}

type liveHarness struct {
	*harness
	hook *widgetHook
	app  *ocean.App
	url  string
	stop func() error
}

func newLive(t *testing.T, configure func(*liveHarness)) *liveHarness {
	t.Helper()
	h := newHarness(t, 0)
	lh := &liveHarness{harness: h, hook: &widgetHook{}}
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.cfg.EventWorkersCount = 4
	if configure != nil {
		configure(lh)
	}
	h.prov.Processors = []ocean.Processor{lh.hook.funcs()}
	lh.app = h.app(ocean.WithEventRetry(3, time.Millisecond))
	lh.stop = runApp(t, lh.app)
	lh.url = waitHealthy(t, lh.app)
	return lh
}

var seq atomic.Int64

func (lh *liveHarness) post(t *testing.T, token string, body any) (int, map[string]any) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(http.MethodPost, lh.url+"/integration/webhook", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("X-Widget-Event", "widget")
	req.Header.Set("X-Widget-Token", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func widgetEvent(action string, w ocean.Item) map[string]any {
	return map[string]any{
		"action":     action,
		"widget":     w,
		"updated_at": time.Unix(0, seq.Add(1)*int64(time.Millisecond)).UTC().Format(time.RFC3339Nano),
	}
}

// eventually waits (up to about 10 s) for a condition the live-event
// workers bring about.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met: " + msg)
}

func TestLiveEventUpsertAndDelete(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(1)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00001"); return ok }, "entity created")
	e, _ := lh.srv.Entity("widget", "w-00001")
	assert.Equal(t, "Widget 1", e.Title)

	status, _ = lh.post(t, hookSecret, widgetEvent("delete", widget(1)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00001"); return !ok }, "entity deleted")
	require.NoError(t, lh.stop())
}

func TestLiveEventNeverDeletesForeignEntities(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	lh.seedForeign("w-00002")
	status, _ := lh.post(t, hookSecret, widgetEvent("delete", widget(2)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool {
		lh.hook.mu.Lock()
		defer lh.hook.mu.Unlock()
		return len(lh.hook.handled) == 1
	}, "event handled")
	require.NoError(t, lh.stop()) // drains the queue
	_, ok := lh.srv.Entity("widget", "w-00002")
	assert.True(t, ok, "an entity another integration owns is not deleted")
}

func TestLiveEventIntakeRejections(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	tests := []struct {
		name   string
		token  string
		body   any
		header bool
		want   int
	}{
		{"wrong secret", "nope", widgetEvent("update", widget(1)), true, http.StatusUnauthorized},
		{"missing secret", "", widgetEvent("update", widget(1)), true, http.StatusUnauthorized},
		{"malformed JSON", hookSecret, []byte(`{"widget": `), true, http.StatusBadRequest},
		{"not an object", hookSecret, []byte(`[1,2]`), true, http.StatusBadRequest},
		{"invalid payload", hookSecret, map[string]any{"widget": "x"}, true, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _ := lh.post(t, tc.token, tc.body)
			assert.Equal(t, tc.want, status)
		})
	}
	// An event no processor handles is acknowledged and ignored.
	req, _ := http.NewRequest(http.MethodPost, lh.url+"/integration/webhook", bytes.NewReader([]byte(`{"x":1}`)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, lh.stop())
	assert.Zero(t, lh.srv.EntityCount("widget"), "rejected events change nothing")
}

func TestLiveEventsForOneEntityApplyInOrder(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	const n = 30
	for i := range n {
		w := widget(7)
		w["size"] = float64(i)
		status, _ := lh.post(t, hookSecret, widgetEvent("update", w))
		require.Equal(t, http.StatusAccepted, status)
	}
	eventually(t, func() bool {
		e, ok := lh.srv.Entity("widget", "w-00007")
		return ok && e.Properties["size"] == float64(n-1)
	}, "last state applied")
	require.NoError(t, lh.stop())
	lh.hook.mu.Lock()
	defer lh.hook.mu.Unlock()
	for i := 1; i < len(lh.hook.handled); i++ {
		var a, b int
		fmt.Sscanf(lh.hook.handled[i-1], "w-00007@%d", &a)
		fmt.Sscanf(lh.hook.handled[i], "w-00007@%d", &b)
		assert.Less(t, a, b, "events for one entity are handled in arrival order")
	}
	e, _ := lh.srv.Entity("widget", "w-00007")
	assert.Equal(t, float64(n-1), e.Properties["size"])
}

func TestLiveEventOlderVersionIsSkipped(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	newer := widgetEvent("update", widget(3))
	older := widgetEvent("update", widget(3))
	newer["updated_at"], older["updated_at"] = older["updated_at"], newer["updated_at"]
	newer["widget"].(ocean.Item)["size"] = 9.0
	older["widget"] = ocean.Item{"id": "w-00003", "name": "Widget 3", "color": "red", "size": 1.0}
	status, _ := lh.post(t, hookSecret, newer)
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00003"); return ok }, "newer applied")
	status, _ = lh.post(t, hookSecret, older)
	require.Equal(t, http.StatusAccepted, status)
	require.NoError(t, lh.stop())
	e, _ := lh.srv.Entity("widget", "w-00003")
	assert.Equal(t, 9.0, e.Properties["size"], "a late, older delivery does not overwrite the newer state")
}

func TestLiveEventQueueFullAnswers503(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	lh := newLive(t, func(lh *liveHarness) {
		lh.cfg.EventQueueSize = 2
		lh.cfg.EventWorkersCount = 1
		lh.hook.gate = gate
	})
	statuses := map[int]int{}
	for i := range 6 {
		status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(i)))
		statuses[status]++
	}
	assert.Positive(t, statuses[http.StatusServiceUnavailable], "a full queue answers 503, it never drops silently")
	assert.Positive(t, statuses[http.StatusAccepted])
	close(gate)
	require.NoError(t, lh.stop())
	assert.Equal(t, statuses[http.StatusAccepted], lh.srv.EntityCount("widget"), "every accepted event is applied")
}

func TestLiveEventSelectorApplies(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(4)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00004"); return ok }, "created")

	hidden := widget(4)
	hidden["hidden"] = true
	status, _ = lh.post(t, hookSecret, widgetEvent("update", hidden))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00004"); return !ok },
		"an item the selector now drops is deleted")

	h5 := widget(5)
	h5["hidden"] = true
	status, _ = lh.post(t, hookSecret, widgetEvent("update", h5))
	require.Equal(t, http.StatusAccepted, status)
	require.NoError(t, lh.stop())
	_, ok := lh.srv.Entity("widget", "w-00005")
	assert.False(t, ok, "an item the selector drops is not created")
}

func TestLiveEventFailuresAreRetried(t *testing.T) {
	t.Parallel()
	lh := newLive(t, func(lh *liveHarness) { lh.hook.failures.Store(2) })
	status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(6)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00006"); return ok }, "applied after retries")
	require.NoError(t, lh.stop())
}

func TestHealthAndMetricsRoutes(t *testing.T) {
	t.Parallel()
	lh := newLive(t, nil)
	for _, path := range []string{"/health/live", "/health/ready", "/health"} {
		resp, err := http.Get(lh.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(8)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := lh.srv.Entity("widget", "w-00008"); return ok }, "applied")
	metrics := func() string {
		resp, err := http.Get(lh.url + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return buf.String()
	}
	// The event counts as processed once Port's answer is back, a moment
	// after the entity appears in Port.
	eventually(t, func() bool { return strings.Contains(metrics(), `ocean_events_processed_total{result="ok"} 1`) }, "counted as processed")
	assert.Contains(t, metrics(), "ocean_events_received_total 1")
	require.NoError(t, lh.stop())
}
