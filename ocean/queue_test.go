package ocean_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// wireQueue stands in for an external queue: events cross it as JSON, as
// they would through Redis, and come out without their decoded payload.
type wireQueue struct{ ch chan []byte }

func (q *wireQueue) Enqueue(_ context.Context, events []*ocean.QueuedEvent) error {
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		select {
		case q.ch <- b:
		default:
			return ocean.ErrQueueFull
		}
	}
	return nil
}

func (q *wireQueue) Run(ctx context.Context, apply ocean.ApplyFunc) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-q.ch:
			var e ocean.QueuedEvent
			if err := json.Unmarshal(b, &e); err != nil {
				return err
			}
			apply(ctx, &e)
		}
	}
}

func TestCustomEventQueue(t *testing.T) {
	t.Parallel()
	q := &wireQueue{ch: make(chan []byte, 1)}
	h := newHarness(t, 0)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	hook := &widgetHook{}
	h.prov.Processors = []ocean.Processor{hook.funcs()}
	lh := &liveHarness{harness: h, hook: hook}
	lh.app = h.app(ocean.WithEventQueue(q))
	lh.stop = runApp(t, lh.app)
	lh.url = waitHealthy(t, lh.app)

	status, _ := lh.post(t, hookSecret, widgetEvent("update", widget(1)))
	require.Equal(t, http.StatusAccepted, status)
	eventually(t, func() bool { _, ok := h.srv.Entity("widget", "w-00001"); return ok }, "applied through the queue")
	require.NoError(t, lh.stop())
}
