package ocean_test

// Tests of what Port's port-ocean Helm chart (0.21.0, and ≤ 0.15.12 for
// the probes) renders, at the framework's level. The environment lines are
// copied by hand from the chart's templates (configmap.yaml,
// configmap-live-events.yaml, configmap-incremental.yaml,
// deployment*.yaml); examples/gitlab-sync/helm_test.go runs the binary
// with each mode's whole environment.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
)

// logSink is a log destination safe for the App's goroutines.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestChartNumbersOfSecondsAndMinutes loads every setting Ocean takes as a
// number of seconds or minutes the way the chart (or extraEnv, Ocean's way)
// renders it: a bare number. `clientTimeout: 60` renders
// OCEAN__CLIENT_TIMEOUT: "60" in every configmap; Go durations stay
// accepted.
func TestChartNumbersOfSecondsAndMinutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  string
		got  func(*settings.Config) any
		want any
	}{
		{`OCEAN__CLIENT_TIMEOUT=60`, func(c *settings.Config) any { return c.ClientTimeout }, 60 * time.Second},
		{`OCEAN__CLIENT_TIMEOUT=2.5`, func(c *settings.Config) any { return c.ClientTimeout }, 2500 * time.Millisecond},
		{`OCEAN__CLIENT_TIMEOUT=90s`, func(c *settings.Config) any { return c.ClientTimeout }, 90 * time.Second},
		{`OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL=60`, func(c *settings.Config) any { return c.Port.PortAppConfigCacheTTL }, time.Minute},
		{`OCEAN__SCHEDULED_RESYNC_INTERVAL=60`, func(c *settings.Config) any { return c.ScheduledResyncInterval }, 60},
		{`OCEAN__EVENT_LISTENER={"type":"POLLING","interval":30}`, func(c *settings.Config) any { return c.EventListener.Interval }, 30},
		{`OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT=1`, func(c *settings.Config) any { return c.EventListener.ConsumerPollTimeout }, 1.0},
		{`OCEAN__MAX_EVENT_PROCESSING_SECONDS=90`, func(c *settings.Config) any { return c.MaxEventProcessingSeconds }, 90.0},
		{`OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN=5`, func(c *settings.Config) any { return c.MaxWaitSecondsBeforeShutdown }, 5.0},
		{`OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL=30`, func(c *settings.Config) any { d, _ := c.IncrementalInterval(); return d }, 30 * time.Minute},
		{`OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL=1440`, func(c *settings.Config) any { return c.Integration.FullResyncInterval }, 1440},
		{`OCEAN__INTEGRATION__INCREMENTAL_OVERLAP=300`, func(c *settings.Config) any { return c.Integration.IncrementalOverlap }, 5 * time.Minute},
		{`OCEAN__RESYNC__ITEM_TIMEOUT=5`, func(c *settings.Config) any { return c.Resync.ItemTimeout }, 5 * time.Second},
		{`OCEAN__RESYNC__PROGRESS_INTERVAL=30`, func(c *settings.Config) any { return c.Resync.ProgressInterval }, 30 * time.Second},
		{`OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS=10`, func(c *settings.Config) any { return c.ActionsProcessor.PollCheckIntervalSeconds }, 10},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			cfg, err := settings.Load(settings.LoadOptions{Environ: []string{tt.env}, ProviderType: "t"})
			require.NoError(t, err)
			assert.Equal(t, tt.want, tt.got(cfg))
		})
	}
}

// chartMainConfigMap is what configmap.yaml of chart 0.21.0 renders for
// the main Deployment with default values plus clientTimeout: 60 and the
// old integration.config.appHost.
var chartMainConfigMap = []string{
	`OCEAN__PORT__BASE_URL=https://api.getport.io`,
	`OCEAN__INITIALIZE_PORT_RESOURCES=true`,
	`OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS=true`,
	`OCEAN__CLIENT_TIMEOUT=60`,
	`OCEAN__SEND_RAW_DATA_EXAMPLES=true`,
	`OCEAN__EVENT_LISTENER={"brokers":"b-1-public.production.example:9196,b-2-public.production.example:9196","type":"KAFKA"}`,
	`OCEAN__INTEGRATION__IDENTIFIER=my-gitlab`,
	`OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=https://gitlab.example.com`,
	`OCEAN__INTEGRATION__CONFIG__APP_HOST=https://ocean.example.com/`,
	`OCEAN__PROCESS_EXECUTION_MODE=single_process`,
	`OCEAN__LAKEHOUSE_ENABLED=true`,
	`OCEAN__PROCESSING_MODE=dsp`,
	`OCEAN__STREAMING__ENABLED=false`,
	`OCEAN__ACTIONS_PROCESSOR__ENABLED=false`,
	`OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=false`,
}

// TestChartMainConfigMapLoads: the whole main environment loads, bare
// seconds, the deprecated appHost as the base URL (with a notice), and
// Ocean's DSP values accepted.
func TestChartMainConfigMapLoads(t *testing.T) {
	t.Parallel()
	cfg, err := settings.Load(settings.LoadOptions{Environ: chartMainConfigMap, ProviderType: "gitlab-v2"})
	require.NoError(t, err)
	assert.Equal(t, 60*time.Second, cfg.ClientTimeout)
	assert.Equal(t, "https://ocean.example.com", cfg.BaseURL, "appHost is the base URL when OCEAN__BASE_URL is unset")
	require.Len(t, cfg.Notices(), 1)
	assert.Contains(t, cfg.Notices()[0], "OCEAN__INTEGRATION__CONFIG__APP_HOST is deprecated")
	assert.Equal(t, "dsp", cfg.ProcessingMode)
	assert.True(t, cfg.LakehouseEnabled)
	require.NoError(t, cfg.Validate(false))

	withBase := append(append([]string(nil), chartMainConfigMap...), `OCEAN__BASE_URL=https://live.example.com`)
	cfg, err = settings.Load(settings.LoadOptions{Environ: withBase, ProviderType: "gitlab-v2"})
	require.NoError(t, err)
	assert.Equal(t, "https://live.example.com", cfg.BaseURL, "OCEAN__BASE_URL wins over appHost")
	assert.Empty(t, cfg.Notices())
}

// TestChartValuesRefused: values Ocean itself would refuse are
// configuration errors naming the variable.
func TestChartValuesRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ env, name string }{
		{`OCEAN__CREATE_PORT_RESOURCES_ORIGIN=Somebody`, "OCEAN__CREATE_PORT_RESOURCES_ORIGIN"},
		{`OCEAN__PROCESSING_MODE=lake`, "OCEAN__PROCESSING_MODE"},
		{`APPLICATION__LOG_FORMAT=xml`, "APPLICATION__LOG_FORMAT"},
		{`OCEAN__CLIENT_TIMEOUT=sixty`, "OCEAN__CLIENT_TIMEOUT"},
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			_, err := settings.Load(settings.LoadOptions{Environ: []string{tt.env}, ProviderType: "t"})
			var ce *settings.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.name, ce.Name)
		})
	}
	cfg, err := settings.Load(settings.LoadOptions{Environ: []string{`OCEAN__CREATE_PORT_RESOURCES_ORIGIN=empty`}, ProviderType: "t"})
	require.NoError(t, err)
	assert.Equal(t, settings.OriginEmpty, cfg.CreatePortResourcesOrigin, "the case of an origin does not matter")
}

// TestDocsAnswers200 is the probe path of charts up to 0.15.12 (liveness
// and readiness both on GET /docs).
func TestDocsAnswers200(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	srv := httptest.NewServer(h.app().Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/docs")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// countingQueue is an EventQueue that records that it ran.
type countingQueue struct{ runs atomic.Int32 }

func (q *countingQueue) Enqueue(context.Context, []*ocean.QueuedEvent) error { return nil }

func (q *countingQueue) Run(ctx context.Context, _ ocean.ApplyFunc) error {
	q.runs.Add(1)
	<-ctx.Done()
	return nil
}

// TestFlaggedEventQueue: the Redis queue the chart's
// liveEvents.isRedisStreamConsumerEnabled asks for is used only when the
// organisation has LIVE_EVENTS_REDIS_STREAM_ENABLED, as in Ocean; the log
// says which queue runs and why.
func TestFlaggedEventQueue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		flags   []string
		wantRun bool
		wantLog string
	}{
		{name: "flag off: in process", flags: []string{"SOMETHING_ELSE"}, wantLog: "does not have the feature flag LIVE_EVENTS_REDIS_STREAM_ENABLED"},
		{name: "flag on: the queue", flags: []string{ocean.FlagLiveEventsRedisStream}, wantRun: true, wantLog: "live events are queued in Redis stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 1)
			h.srv.SetFeatureFlags(tt.flags...)
			h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
			q := &countingQueue{}
			logs := &logSink{}
			a := h.app(ocean.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
				ocean.WithFlaggedEventQueue(ocean.FlagLiveEventsRedisStream, "Redis stream", "OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED", q))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			require.Eventually(t, func() bool { return bytes.Contains([]byte(logs.String()), []byte("integration running")) },
				10*time.Second, 5*time.Millisecond, "logs:\n%s", logs.String())
			cancel()
			require.NoError(t, <-done)
			assert.Contains(t, logs.String(), tt.wantLog)
			assert.Equal(t, tt.wantRun, q.runs.Load() > 0)
		})
	}
}

// TestFlaggedEventQueueNeedsTheFlags: when Port cannot say, the start
// fails rather than guessing (a 500 from GET /v1/organization).
func TestFlaggedEventQueueNeedsTheFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.cfg.EventListener.Type = settings.ListenerWebhooksOnly
	h.srv.InjectFault(porttest.Fault{Route: porttest.RouteOrganization, Status: http.StatusInternalServerError, Times: 100})
	a := h.app(ocean.WithFlaggedEventQueue(ocean.FlagLiveEventsRedisStream, "Redis stream", "OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED", &countingQueue{}))
	err := a.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "feature flags")
}

// originDefaults is a provider's default resources.
var originDefaults = fstest.MapFS{
	"blueprints.json":      {Data: []byte(`[{"identifier":"gadget","title":"Gadget","schema":{"properties":{}}}]`)},
	"port-app-config.yaml": {Data: []byte("resources:\n  - kind: widget\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"gadget\"'\n")},
}

// TestCreatePortResourcesOrigin: OCEAN__CREATE_PORT_RESOURCES_ORIGIN as
// the chart's createPortResourcesOrigin renders it.
func TestCreatePortResourcesOrigin(t *testing.T) {
	t.Parallel()
	provisioned := map[string]any{"resources": []any{map[string]any{"kind": "widget", "port": map[string]any{"entity": map[string]any{"mappings": map[string]any{"identifier": ".id", "blueprint": `"provisioned"`}}}}}}
	tests := []struct {
		name          string
		origin        string
		provisionable bool     // Port lists the type as provision-enabled
		flags         []string // the organisation's
		wantBlueprint bool     // this program created its default blueprint
		wantOrigin    string   // sent on create
		wantMapping   string   // a blueprint the stored mapping names, or "" for an empty mapping
	}{
		{name: "unset", wantBlueprint: true, wantOrigin: "Default", wantMapping: "gadget"},
		{name: "Default", origin: "Default", wantBlueprint: true, wantOrigin: "Default", wantMapping: "gadget"},
		{name: "Ocean (old name of Default)", origin: "Ocean", wantBlueprint: true, wantOrigin: "Default", wantMapping: "gadget"},
		{name: "Empty", origin: "Empty", wantOrigin: "Empty"},
		{name: "Port, provisioned", origin: "Port", provisionable: true, flags: []string{"USE_PROVISIONED_DEFAULTS"}, wantOrigin: "Port", wantMapping: "provisioned"},
		{name: "Port without the flag falls back", origin: "Port", provisionable: true, wantBlueprint: true, wantOrigin: "Default", wantMapping: "gadget"},
		{name: "Port without provisioning falls back", origin: "Port", flags: []string{"USE_PROVISIONED_DEFAULTS"}, wantBlueprint: true, wantOrigin: "Default", wantMapping: "gadget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := porttest.NewServer(t)
			srv.SetFeatureFlags(tt.flags...)
			if tt.provisionable {
				srv.SetProvisionedDefaults("widgets", provisioned)
			}
			env := []string{
				"OCEAN__PORT__CLIENT_ID=" + srv.ClientID, "OCEAN__PORT__CLIENT_SECRET=" + srv.ClientSecret,
				"OCEAN__PORT__BASE_URL=" + srv.URL, "OCEAN__INTEGRATION__IDENTIFIER=w",
				"OCEAN__INITIALIZE_PORT_RESOURCES=true", "OCEAN__CREATE_PORT_RESOURCES_ORIGIN=" + tt.origin,
			}
			cfg, err := settings.Load(settings.LoadOptions{Environ: env, ProviderType: "widgets"})
			require.NoError(t, err)
			prov := &ocean.Provider{Type: "widgets", Version: "1.0.0", Defaults: originDefaults}
			a, err := ocean.New(cfg, prov, ocean.WithLogger(quietLogger()))
			require.NoError(t, err)
			require.NoError(t, a.InitializePortResources(context.Background()))

			_, created := srv.Blueprint("gadget")
			assert.Equal(t, tt.wantBlueprint, created, "default blueprint created")
			integ, ok := srv.Integration("w")
			require.True(t, ok)
			assert.Equal(t, tt.wantOrigin, integ.CreatePortResourcesOrigin)
			if tt.wantMapping == "" {
				assert.JSONEq(t, `{"resources":[]}`, string(integ.Config))
			} else {
				assert.Contains(t, string(integ.Config), tt.wantMapping)
			}
			if tt.wantOrigin != settings.OriginPort {
				assert.True(t, integ.ArePortResourcesInitialized)
			}
		})
	}
}

// TestCreatePortResourcesOriginPortWaits: Port's provisioning is awaited
// (polled on the App's clock); it not happening fails the start.
func TestCreatePortResourcesOriginPortGivesUp(t *testing.T) {
	t.Parallel()
	srv := porttest.NewServer(t)
	srv.SetFeatureFlags("USE_PROVISIONED_DEFAULTS")
	srv.SetProvisionedDefaults("widgets", map[string]any{}) // provisions nothing
	cfg := settings.Default("widgets")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(srv.ClientID), settings.Secret(srv.ClientSecret), srv.URL
	cfg.Integration.Identifier = "w"
	cfg.CreatePortResourcesOrigin = settings.OriginPort
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets", Version: "1.0.0", Defaults: originDefaults},
		ocean.WithLogger(quietLogger()), ocean.WithClock(clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).AutoAdvance()))
	require.NoError(t, err)
	err = a.InitializePortResources(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not provision")
	_, created := srv.Blueprint("gadget")
	assert.False(t, created)
	assert.Positive(t, srv.Count(porttest.RouteGetIntegration))
}
