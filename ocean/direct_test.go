package ocean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// colorSelector filters in the "API" call; MatchItem judges one item the
// same way, so live events follow it.
type colorSelector struct {
	ocean.BaseSelector
	Color string `json:"color"`
}

func (s colorSelector) MatchItem(it ocean.Item) bool { return s.Color == "" || it["color"] == s.Color }

func delivery(t *testing.T, token string, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/integration/webhook", bytes.NewReader(b))
	r.Header.Set("X-Widget-Event", "widget")
	r.Header.Set("X-Widget-Token", token)
	return r
}

// directHarness is an App that never runs: tests call it synchronously.
func directHarness(t *testing.T, mapping string) (*harness, *ocean.App) {
	t.Helper()
	h := newHarness(t, 0, withMapping(mapping))
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.prov.Processors = []ocean.Processor{&widgetHook{}}
	h.prov.Kinds = []ocean.Kind{ocean.NewKind("widget", func(ctx context.Context, sel colorSelector, send ocean.Sender) error {
		var out []ocean.Item
		for _, it := range h.src.snapshot() {
			if sel.MatchItem(it) {
				out = append(out, it)
			}
		}
		return send.Send(ctx, out)
	})}
	return h, h.app()
}

const redWidgets = `
resources:
  - kind: widget
    selector:
      query: 'true'
      color: red
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          properties:
            color: .color
`

// A processor's test needs no running App: HandleEvent applies one
// delivery at once and says what it wrote.
func TestHandleEventIsSynchronous(t *testing.T) {
	t.Parallel()
	h, a := directHarness(t, redWidgets)
	res, err := a.HandleEvent(t.Context(), delivery(t, hookSecret, widgetEvent("update", widget(0)))) // red
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, res.Status)
	assert.Equal(t, []string{"widget/w-00000"}, res.Upserted)
	_, ok := h.srv.Entity("widget", "w-00000")
	assert.True(t, ok)

	res, err = a.HandleEvent(t.Context(), delivery(t, "wrong", widgetEvent("update", widget(3))))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, res.Status)
	assert.Empty(t, res.Upserted)

	res, err = a.HandleEvent(t.Context(), delivery(t, hookSecret, map[string]any{"widget": "not an object"}))
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, res.Status)
}

// The selector's own filter applies to live events: a widget that turned
// green is no longer listed by a resync, so the webhook deletes it
// instead of writing it.
func TestLiveEventsFollowTheSelectorType(t *testing.T) {
	t.Parallel()
	h, a := directHarness(t, redWidgets)
	green := widget(1) // green
	res, err := a.HandleEvent(t.Context(), delivery(t, hookSecret, widgetEvent("update", green)))
	require.NoError(t, err)
	assert.Empty(t, res.Upserted, "a green widget is not written")
	assert.Zero(t, h.srv.EntityCount("widget"))

	red := widget(0)
	_, err = a.HandleEvent(t.Context(), delivery(t, hookSecret, widgetEvent("update", red)))
	require.NoError(t, err)
	require.Equal(t, 1, h.srv.EntityCount("widget"))
	red["color"] = "green"
	res, err = a.HandleEvent(t.Context(), delivery(t, hookSecret, widgetEvent("update", red)))
	require.NoError(t, err)
	assert.Equal(t, []string{"widget/w-00000"}, res.Deleted, "turned green: deleted, as no resync lists it")
	assert.Zero(t, h.srv.EntityCount("widget"))
}

// Mounted in one's own server without Run, the webhook route says it
// cannot apply events rather than accepting them into a queue nobody
// reads.
func TestHandlerWithoutRunAnswers503(t *testing.T) {
	t.Parallel()
	_, a := directHarness(t, redWidgets)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, delivery(t, hookSecret, widgetEvent("update", widget(0))))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "not running")
}

// RegisterRaw and UnregisterRaw push items without a resync or a webhook,
// with the live events' rules: the selector applies, and only this
// integration's entities are deleted.
func TestRegisterAndUnregisterRaw(t *testing.T) {
	t.Parallel()
	h, a := directHarness(t, redWidgets)
	res, err := a.RegisterRaw(t.Context(), "widget", []ocean.Item{widget(0), widget(1), widget(3)}) // red, green, red
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"widget/w-00000", "widget/w-00003"}, res.Upserted)
	assert.Equal(t, 2, h.srv.EntityCount("widget"))

	res, err = a.UnregisterRaw(t.Context(), "widget", []ocean.Item{widget(3)})
	require.NoError(t, err)
	assert.Equal(t, []string{"widget/w-00003"}, res.Deleted)
	assert.Equal(t, 1, h.srv.EntityCount("widget"))

	_, err = a.RegisterRaw(t.Context(), "gadget", []ocean.Item{{"id": "g"}})
	require.ErrorContains(t, err, `no resource of kind "gadget"`)
}
