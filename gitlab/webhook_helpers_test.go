package gitlab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

const (
	whSecret      = "wh-test-secret-token"
	whIntegration = "wh-test"
	// whProject is project 1 of gitlabtest.Generate(1, SizeSmall), which
	// the fixtures name.
	whProject     = "amber-falcon/zesty-river"
	whProjectID   = 1
	whGroupID     = 1
	whSubgroupID  = 2
	whUserID      = 2
	whUser        = "ada.lovelace"
	whZeroSHA     = zeroSHA
	whDefaultHost = "https://port.example.com/integration/webhook"
)

// whMapping maps every kind the processors write to its own blueprint,
// with a few properties the tests read. Kinds that have selector filters
// appear twice: unfiltered (wh<Kind>) and filtered (wh<Kind>OK), so a test
// sees selector semantics applied to live events.
const whMapping = `
resources:
  - kind: project
    selector:
      query: "true"
      includeLanguages: true
      includedFiles: [README.md]
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"whProject"'
          properties:
            name: .name
            hasReadme: .__includedFiles["README.md"] != null
            languages: (.__languages // {}) | length
  - kind: project-with-members
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"whProjectMembers"'
          properties:
            members: '[.__members[]?.username]'
  - kind: group
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .full_path
          blueprint: '"whGroup"'
          properties:
            name: .name
  - kind: group-with-members
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .full_path
          blueprint: '"whGroupMembers"'
          properties:
            members: '[.__members[]?.username]'
  - kind: member
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .username
          blueprint: '"whMember"'
          properties:
            access: .access_level
  - kind: merge-request
    selector:
      query: "true"
      states: [opened]
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"whMR"'
          properties:
            title: .title
            state: .state
  - kind: issue
    selector:
      query: "true"
      state: opened
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whIssue"'
          properties:
            title: .title
            state: .state
  - kind: branch
    selector:
      query: "true"
      defaultBranchOnly: false
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "@" + .name
          blueprint: '"whBranch"'
          properties:
            sha: .commit.id
  - kind: tag
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "@" + .name
          blueprint: '"whTag"'
          properties:
            sha: .target
  - kind: release
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "@" + .tag_name
          blueprint: '"whRelease"'
          properties:
            description: .description
  - kind: pipeline
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whPipeline"'
          properties:
            status: .status
            project: .__project.path_with_namespace
  - kind: pipeline
    selector:
      query: "true"
      apiQueryParams:
        status: success
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whPipelineOK"'
          properties:
            status: .status
  - kind: job
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whJob"'
          properties:
            status: .status
  - kind: job
    selector:
      query: "true"
      pipelineQueryParams:
        status: success
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whJobOK"'
          properties:
            status: .status
  - kind: deployment
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whDeployment"'
          properties:
            status: .status
            project: .__project.path_with_namespace
  - kind: deployment
    selector:
      query: "true"
      apiQueryParams:
        status: success
    port:
      entity:
        mappings:
          identifier: .id | tostring
          blueprint: '"whDeploymentOK"'
          properties:
            status: .status
`

var whBlueprints = map[string]map[string]string{
	"whProject":        {"name": "string", "hasReadme": "boolean", "languages": "number"},
	"whProjectMembers": {"members": "array"},
	"whGroup":          {"name": "string"},
	"whGroupMembers":   {"members": "array"},
	"whMember":         {"access": "number"},
	"whMR":             {"title": "string", "state": "string"},
	"whIssue":          {"title": "string", "state": "string"},
	"whBranch":         {"sha": "string"},
	"whTag":            {"sha": "string"},
	"whRelease":        {"description": "string"},
	"whPipeline":       {"status": "string", "project": "string"},
	"whPipelineOK":     {"status": "string"},
	"whJob":            {"status": "string"},
	"whJobOK":          {"status": "string"},
	"whDeployment":     {"status": "string", "project": "string"},
	"whDeploymentOK":   {"status": "string"},
}

var whQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// whEnv is the GitLab provider running in an ocean.App (WEBHOOKS_ONLY, on
// port 0) against a fake GitLab and an in-memory Port.
type whEnv struct {
	gl    *gitlabtest.Server
	ds    *gitlabtest.Dataset
	pt    *porttest.Server
	g     *Integration
	app   *ocean.App
	url   string
	stop  func() error
	procs []ocean.Processor
	// secret is the webhook secret in effect (send signs with it).
	secret string
	// jobs counts the processor jobs of accepted events, which the
	// framework reports as processed or coalesced once applied.
	jobs atomic.Int64
}

type whOpts struct {
	workers int
	mutate  func(*Config)
	gitlab  []gitlabtest.Option
	size    *gitlabtest.Size
	baseURL string // OCEAN__BASE_URL: webhooks are registered at start
	// settings, when set, are OCEAN__INTEGRATION__CONFIG__… (snake_case
	// keys; gitlab_host and gitlab_token are added): the provider is then
	// built by NewApp from them, as gitlab-sync builds it, and mutate is
	// not used.
	settings map[string]any
	// mapping and blueprints replace whMapping and whBlueprints.
	mapping    string
	blueprints map[string]map[string]string
	// logger replaces whQuiet as the provider's logger.
	logger *slog.Logger
}

func newWHEnv(t testing.TB, o whOpts) *whEnv {
	t.Helper()
	size := gitlabtest.SizeSmall
	if o.size != nil {
		size = *o.size
	}
	gl := gitlabtest.NewServer(t, append([]gitlabtest.Option{gitlabtest.WithDataset(gitlabtest.Generate(1, size))}, o.gitlab...)...)
	pt := porttest.NewServer(t)
	blueprints, mappingYAML, logger := whBlueprints, whMapping, whQuiet
	if o.mapping != "" {
		blueprints, mappingYAML = o.blueprints, o.mapping
	}
	if o.logger != nil {
		logger = o.logger
	}
	for id, props := range blueprints {
		schema := map[string]map[string]any{}
		for name, typ := range props {
			schema[name] = map[string]any{"type": typ}
		}
		require.NoError(t, pt.AddBlueprint(port.Blueprint{Identifier: id, Title: id, Schema: port.BlueprintSchema{Properties: schema}}))
	}
	var mapping any
	require.NoError(t, yaml.Unmarshal([]byte(mappingYAML), &mapping))
	raw, err := json.Marshal(mapping)
	require.NoError(t, err)
	pt.AddIntegration(port.Integration{Identifier: whIntegration, InstallationAppType: ProviderType, Config: raw})

	cfg := settings.Default(ProviderType)
	cfg.Port.ClientID = settings.Secret(pt.ClientID)
	cfg.Port.ClientSecret = settings.Secret(pt.ClientSecret)
	cfg.Port.BaseURL = pt.URL
	cfg.Integration.Identifier = whIntegration
	cfg.EventListener.Type = settings.ListenerWebhooksOnly
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	cfg.EventWorkersCount = max(o.workers, 1)
	cfg.BaseURL = o.baseURL

	var (
		g   *Integration
		app *ocean.App
	)
	if o.settings != nil {
		cfg.Integration.Config = map[string]any{"gitlab_host": gl.URL, "gitlab_token": gl.Token, "max_retries": 2}
		for k, v := range o.settings {
			cfg.Integration.Config[k] = v
		}
		app, g, err = NewApp(cfg, logger, ocean.WithClock(retryClock()))
		require.NoError(t, err)
	} else {
		gcfg := Config{Host: gl.URL, Token: settings.Secret(gl.Token), WebhookSecret: whSecret, UseGraphQL: true,
			MaxConcurrency: 8, MaxRetries: 2, IntegrationIdentifier: whIntegration}
		if o.mutate != nil {
			o.mutate(&gcfg)
		}
		g, err = New(gcfg, WithLogger(logger))
		require.NoError(t, err)
		app, err = ocean.New(cfg, g.Provider(), ocean.WithLogger(logger), ocean.WithClock(retryClock()))
		require.NoError(t, err)
	}
	e := &whEnv{gl: gl, ds: gl.Dataset(), pt: pt, g: g, app: app, procs: g.processors(), secret: g.cfg.WebhookSecret.Value()}
	e.stop = whRun(t, app)
	e.url = whWaitHealthy(t, app)
	return e
}

func whRun(t testing.TB, a *ocean.App) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancellation")
			return nil
		}
	}
}

func whWaitHealthy(t testing.TB, a *ocean.App) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if addr := a.Addr(); addr != "" {
			resp, err := http.Get("http://" + addr + "/health/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return "http://" + addr
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("app never became ready")
	return ""
}

// whFixture loads testdata/webhooks/<name>.json, changed by edits.
func whFixture(t testing.TB, name string, edits ...func(map[string]any)) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name+".json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, e := range edits {
		e(m)
	}
	return m
}

// whSet returns an edit setting a (nested) field.
func whSet(value any, path ...string) func(map[string]any) {
	return func(m map[string]any) {
		for _, k := range path[:len(path)-1] {
			m = m[k].(map[string]any)
		}
		m[path[len(path)-1]] = value
	}
}

// whHeaders are the X-Gitlab-Event values by fixture.
var whHeaders = map[string]string{
	"project": hookProject, "project_member": hookMember, "subgroup": hookSubgroup, "member": hookMember,
	"merge_request": hookMergeRequest, "issue": hookIssue, "push": hookPush, "tag_push": hookTagPush,
	"release": hookRelease, "pipeline": hookPipeline, "job": hookJob, "deployment": hookDeployment,
}

var whDeliveries atomic.Int64

// post delivers an event as GitLab does and returns the status. Accepted
// events are counted so that settle can wait for them.
func (e *whEnv) post(t testing.TB, header, token string, body any) int {
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
	req, err := http.NewRequest(http.MethodPost, e.url+"/integration/webhook", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("X-Gitlab-Event", header)
	}
	if token != "" {
		req.Header.Set("X-Gitlab-Token", token)
	}
	req.Header.Set("X-Gitlab-Event-UUID", "delivery-"+strconv.FormatInt(whDeliveries.Add(1), 10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		var payload map[string]any
		if json.Unmarshal(b, &payload) == nil {
			ev := &ocean.Event{Headers: req.Header, Payload: payload}
			for _, p := range e.procs {
				if p.Match(ev) {
					e.jobs.Add(1)
				}
			}
		}
	}
	return resp.StatusCode
}

// send posts a fixture with the right header and secret and expects 202.
func (e *whEnv) send(t testing.TB, name string, edits ...func(map[string]any)) {
	t.Helper()
	sec := e.secret
	if sec == "" {
		sec = whSecret
	}
	require.Equal(t, http.StatusAccepted, e.post(t, whHeaders[name], sec, whFixture(t, name, edits...)), "delivery of %s", name)
}

// settle waits until every accepted event has been applied.
func (e *whEnv) settle(t testing.TB) {
	t.Helper()
	want := float64(e.jobs.Load())
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m := e.metrics(t)
		if m["ocean_events_processed_total"]+m["ocean_events_coalesced_total"] >= want {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("events not applied: %v of %v", e.metrics(t), want)
}

// metrics sums the app's counters by name.
func (e *whEnv) metrics(t testing.TB) map[string]float64 {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name, labels, _ := strings.Cut(series, "{")
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		out[name] += v
		if labels != "" {
			out[name+"{"+labels] += v
		}
	}
	return out
}

// entity returns a catalog entity's properties, or nil.
func (e *whEnv) entity(bp, id string) map[string]any {
	ent, ok := e.pt.Entity(bp, id)
	if !ok {
		return nil
	}
	if ent.Properties == nil {
		return map[string]any{}
	}
	return ent.Properties
}

func whNow() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func whAgo(d time.Duration) string { return time.Now().Add(-d).UTC().Format(time.RFC3339Nano) }

// retryClock is the App's clock in webhook tests: a failing event's retries
// (Ocean's three, 1 s apart and doubling) move it instead of waiting.
func retryClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)).AutoAdvance()
}
