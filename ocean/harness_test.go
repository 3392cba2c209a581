package ocean_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

const integrationID = "test-widgets"

// widgetMapping is the port app config the tests use unless they say
// otherwise.
const widgetMapping = `
resources:
  - kind: widget
    selector:
      query: '.hidden != true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"widget"'
          properties:
            color: .color
            size: .size
          relations:
            team: .team
`

// source is an in-memory system of widgets the test provider lists.
type source struct {
	mu       sync.Mutex
	items    map[string]ocean.Item
	pageSize int
	// failAfter makes Fetch fail after sending that many pages (0: never).
	failAfter int
	// gate, when set, is waited on after the first page (to hold a resync
	// in flight).
	gate    chan struct{}
	started chan struct{}
	fetches int
	// beforeList, when set, runs as each listing starts.
	beforeList func()
}

func newSource(n int) *source {
	s := &source{items: map[string]ocean.Item{}, pageSize: 100}
	for i := range n {
		s.put(widget(i))
	}
	return s
}

func widget(i int) ocean.Item {
	colors := []string{"red", "green", "blue"}
	return ocean.Item{
		"id":    fmt.Sprintf("w-%05d", i),
		"name":  fmt.Sprintf("Widget %d", i),
		"color": colors[i%len(colors)],
		"size":  float64(i % 10),
		"team":  nil,
	}
}

func (s *source) put(it ocean.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[it["id"].(string)] = it
}

func (s *source) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, id)
}

func (s *source) snapshot() []ocean.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.items))
	for id := range s.items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]ocean.Item, len(ids))
	for i, id := range ids {
		out[i] = s.items[id]
	}
	return out
}

type widgetSelector struct {
	ocean.BaseSelector
	Color string `json:"color"`
}

func (s *source) kind(name string) ocean.Kind {
	return ocean.NewKind(name, func(ctx context.Context, sel widgetSelector, send ocean.Sender) error {
		s.mu.Lock()
		s.fetches++
		failAfter, gate, started, beforeList := s.failAfter, s.gate, s.started, s.beforeList
		s.mu.Unlock()
		if beforeList != nil {
			beforeList()
		}
		items := s.snapshot()
		pages := 0
		for start := 0; start < len(items); start += s.pageSize {
			if failAfter > 0 && pages == failAfter {
				return fmt.Errorf("widget API: 503 Service Unavailable")
			}
			var page []ocean.Item
			for _, it := range items[start:min(start+s.pageSize, len(items))] {
				if sel.Color == "" || it["color"] == sel.Color {
					page = append(page, it)
				}
			}
			if err := send.Send(ctx, page); err != nil {
				return err
			}
			pages++
			if pages == 1 && gate != nil {
				if started != nil {
					// Closed once, however many fetches (a resync started
					// again) reach their first page.
					s.mu.Lock()
					select {
					case <-started:
					default:
						close(started)
					}
					s.mu.Unlock()
				}
				select {
				case <-gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	})
}

func widgetBlueprints() []port.Blueprint {
	return []port.Blueprint{
		{Identifier: "team", Title: "Team", Schema: port.BlueprintSchema{Properties: map[string]map[string]any{}}},
		{
			Identifier: "widget", Title: "Widget",
			Schema: port.BlueprintSchema{Properties: map[string]map[string]any{
				"color": {"type": "string"},
				"size":  {"type": "number"},
			}},
			Relations: map[string]port.Relation{"team": {Target: "team", Title: "Team"}},
		},
	}
}

// portEpoch is when the fake Port's clock starts in the harness.
var portEpoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t         *testing.T
	srv       *porttest.Server
	portClock *porttest.StepClock
	src       *source
	cfg       *settings.Config
	client    *port.Client
	prov      *ocean.Provider
}

type harnessOpt func(*harness)

func withMapping(yaml string) harnessOpt {
	return func(h *harness) { h.setMapping(yaml) }
}

func newHarness(t *testing.T, items int, opts ...harnessOpt) *harness {
	t.Helper()
	// Port's clock starts on a fixed day and moves a second per reading:
	// tests never depend on today's date, and each request lands in a later
	// second than the one before, as it would against Port at human speed.
	portClock := porttest.NewStepClock(portEpoch, time.Second)
	srv := porttest.NewServer(t, porttest.WithClock(portClock.Now))
	for _, bp := range widgetBlueprints() {
		require.NoError(t, srv.AddBlueprint(bp))
	}
	h := &harness{t: t, srv: srv, portClock: portClock, src: newSource(items)}
	h.cfg = settings.Default("widgets")
	h.cfg.Port.ClientID = settings.Secret(srv.ClientID)
	h.cfg.Port.ClientSecret = settings.Secret(srv.ClientSecret)
	h.cfg.Port.BaseURL = srv.URL
	h.cfg.Integration.Identifier = integrationID
	h.cfg.EventListener.Type = settings.ListenerOnce
	h.cfg.InitializePortResources = false
	h.cfg.Application.Port = 0
	h.prov = &ocean.Provider{Type: "widgets", Version: "1.0.0", Kinds: []ocean.Kind{h.src.kind("widget")}}
	srv.AddIntegration(port.Integration{Identifier: integrationID, InstallationAppType: "widgets"})
	h.setMapping(widgetMapping)
	for _, o := range opts {
		o(h)
	}
	c, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "widgets", Version: "1.0.0", Identifier: integrationID}),
		port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
		port.WithLogger(quietLogger()))
	require.NoError(t, err)
	h.client = c
	return h
}

// setMapping stores the port app config in the integration, as Port's UI
// would.
func (h *harness) setMapping(yaml string) {
	h.t.Helper()
	raw := yamlToJSON(h.t, yaml)
	if h.client != nil {
		_, err := h.client.PatchIntegration(context.Background(), integrationID, map[string]any{"config": raw})
		require.NoError(h.t, err)
		return
	}
	h.srv.AddIntegration(port.Integration{Identifier: integrationID, InstallationAppType: "widgets", Config: raw})
}

func (h *harness) app(opts ...ocean.Option) *ocean.App {
	h.t.Helper()
	all := append([]ocean.Option{ocean.WithPortClient(h.client), ocean.WithLogger(quietLogger())}, opts...)
	a, err := ocean.New(h.cfg, h.prov, all...)
	require.NoError(h.t, err)
	return a
}

func (h *harness) resync(a *ocean.App) (*report.Resync, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Resync(ctx, ocean.ResyncOptions{Trigger: "test"})
}

// seedForeign stores an entity written by another integration.
func (h *harness) seedForeign(id string) {
	h.t.Helper()
	require.NoError(h.t, h.srv.SeedEntity(port.Entity{
		Identifier: id, Blueprint: "widget", Title: id,
		Properties: map[string]any{"color": "red"},
		Datasource: "port-ocean/widgets/1.0.0/another-integration/exporter",
		UpdatedAt:  h.portClock.Peek().Add(-time.Hour),
	}))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func yamlToJSON(t *testing.T, y string) json.RawMessage {
	t.Helper()
	mustParseTB(t, y) // the tests' mappings must be valid port app configs
	var v any
	require.NoError(t, yaml.Unmarshal([]byte(y), &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

type mappingConfig = mapping.Config

func mustParse(t *testing.T, y string) *mapping.Config { return mustParseTB(t, y) }

func mustParseTB(t testing.TB, y string) *mapping.Config {
	t.Helper()
	pac, err := mapping.Parse([]byte(y))
	require.NoError(t, err)
	return pac
}
