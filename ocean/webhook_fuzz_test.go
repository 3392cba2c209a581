package ocean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// bodyHook is widgetHook on its own header, for the processors that route
// on the headers but need the body to authenticate (an HMAC signature).
type bodyHook struct{ *widgetHook }

func (bodyHook) Name() string { return "body-hook" }

func (bodyHook) MatchHeaders(h http.Header) bool { return h.Get("X-Body-Event") != "" }

func (bodyHook) Match(ev *ocean.Event) bool { return ev.Headers.Get("X-Body-Event") != "" }

// checkQueue checks what the intake queues and keeps nothing.
type checkQueue struct{ err error }

func (q *checkQueue) Enqueue(_ context.Context, jobs []*ocean.QueuedEvent) error {
	for _, j := range jobs {
		switch {
		case j.Event == nil:
			q.err = errors.New("queued job without an event")
		case j.Event.Payload != nil:
			q.err = errors.New("queued event keeps a decoded payload")
		case j.Key == "" || j.Processor == "":
			q.err = errors.New("queued job without key or processor")
		}
	}
	return nil
}

func (q *checkQueue) Run(ctx context.Context, _ ocean.ApplyFunc) error {
	<-ctx.Done()
	return nil
}

const fuzzMaxBody = 64 << 10

// FuzzWebhookIntake sends arbitrary headers and bodies to the live-event
// route: it must never panic, answer only with the statuses it documents,
// never read the body of a delivery whose header credentials are wrong or
// that no processor claims, and queue only raw bodies.
func FuzzWebhookIntake(f *testing.F) {
	valid, _ := json.Marshal(widgetEvent("update", widget(1)))
	seeds := []struct {
		event, body, token string
		length             int8 // 0: exact, -1: chunked, 1: over the limit
		bodyEvent          bool
	}{
		{"widget", string(valid), hookSecret, 0, false},
		{"widget", string(valid), "nope", 0, false},
		{"widget", string(valid), hookSecret, -1, false},
		{"widget", string(valid), hookSecret, 1, false},
		{"widget", string(valid), hookSecret, 0, true},
		{"", string(valid), hookSecret, 0, true},
		{"", string(valid), "", 0, false},
		{"widget", `{"widget":{"id":7}}`, hookSecret, 0, false},
		{"widget", `{"widget":"x"}`, hookSecret, 0, true},
		{"widget", `[1,2]`, hookSecret, 0, false},
		{"widget", `null`, hookSecret, 0, false},
		{"widget", `{"widget":{"id":"w"}} trailing`, hookSecret, 0, false},
		{"widget", "", hookSecret, 0, false},
		{"widget", "\xff\xfe{", hookSecret, -1, true},
		{"widget", `{"widget":{"id":"w","size":1e999}}`, hookSecret, 0, false},
	}
	for _, s := range seeds {
		f.Add(s.event, s.token, s.length, s.bodyEvent, []byte(s.body))
	}
	cfg := settings.Default("widgets")
	cfg.Integration.Identifier = integrationID
	cfg.EventListener.Type = settings.ListenerWebhooksOnly
	cfg.Webhook.MaxBodyBytes, cfg.Webhook.BodyWait = fuzzMaxBody, -1
	q := &checkQueue{}
	prov := &ocean.Provider{Type: "widgets", Version: "1", Processors: []ocean.Processor{headerHook{&widgetHook{}}, bodyHook{&widgetHook{}}}}
	a, err := ocean.New(cfg, prov, ocean.WithDryRun(io.Discard), ocean.WithPortAppConfig(mustParseTB(f, widgetMapping)),
		ocean.WithLogger(quietLogger()), ocean.WithEventQueue(q))
	if err != nil {
		f.Fatal(err)
	}
	h := a.Handler()

	f.Fuzz(func(t *testing.T, event, token string, length int8, bodyEvent bool, body []byte) {
		q.err = nil
		spy := &spyBody{r: bytes.NewReader(body)}
		req := httptest.NewRequest(http.MethodPost, "/integration/webhook", spy)
		switch {
		case length < 0:
			req.ContentLength = -1
		case length > 0:
			req.ContentLength = fuzzMaxBody + 1 + int64(length)
		default:
			req.ContentLength = int64(len(body))
		}
		if event != "" {
			req.Header.Set("X-Widget-Event", event)
		}
		if bodyEvent {
			req.Header.Set("X-Body-Event", "widget")
		}
		if token != "" {
			req.Header.Set("X-Widget-Token", token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		claimed := event != "" || bodyEvent
		if event != "" && token != hookSecret {
			if rec.Code != http.StatusUnauthorized || spy.read.Load() {
				t.Fatalf("wrong header credentials: status %d, body read %v", rec.Code, spy.read.Load())
			}
		}
		if !claimed && (rec.Code != http.StatusOK || spy.read.Load()) {
			t.Fatalf("a delivery nobody claims: status %d, body read %v", rec.Code, spy.read.Load())
		}
		if length > 0 && spy.read.Load() {
			t.Fatal("a body over the limit was read")
		}
		if rec.Code == http.StatusAccepted && token != hookSecret {
			t.Fatal("accepted without the secret")
		}
		if q.err != nil {
			t.Fatal(q.err)
		}
	})
}
