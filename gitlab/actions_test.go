package gitlab

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

const actIntegration = "act-test"

// actEnv runs the GitLab provider's actions against a fake GitLab and an
// in-memory Port.
type actEnv struct {
	gl *gitlabtest.Server
	ds *gitlabtest.Dataset
	pt *porttest.Server
	// clk is the App's clock: wait moves it so that the actions processor
	// polls and retries without the test sleeping through its intervals.
	clk *clock.Fake
}

type actOpts struct {
	listener string
	// live marks webhooks as registered: Pipeline Hooks complete runs.
	live   bool
	tune   func(*TriggerPipeline)
	mutate func(*settings.Config)
}

func newActEnv(t *testing.T) *actEnv {
	t.Helper()
	gl := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	pt := porttest.NewServer(t)
	pt.AddIntegration(port.Integration{Identifier: actIntegration, InstallationAppType: ProviderType, Config: []byte(`{"resources":[]}`)})
	return &actEnv{gl: gl, ds: gl.Dataset(), pt: pt, clk: clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))}
}

// start runs one App (one "process") of the provider; call it twice for
// two pollers.
func (e *actEnv) start(t *testing.T, o actOpts) (*ocean.App, *Integration, func() error) {
	t.Helper()
	cfg := settings.Default(ProviderType)
	cfg.Port.ClientID = settings.Secret(e.pt.ClientID)
	cfg.Port.ClientSecret = settings.Secret(e.pt.ClientSecret)
	cfg.Port.BaseURL = e.pt.URL
	cfg.Integration.Identifier = actIntegration
	cfg.EventListener.Type = o.listener
	cfg.EventListener.ResyncOnStart = false
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	cfg.MaxWaitSecondsBeforeShutdown = 2
	cfg.ActionsProcessor.Enabled = true
	if o.mutate != nil {
		o.mutate(cfg)
	}
	g, err := New(Config{Host: e.gl.URL, Token: settings.Secret(e.gl.Token), WebhookSecret: whSecret, MaxConcurrency: 4,
		MaxRetries: 2, MaxRetryWait: 5 * time.Millisecond, IntegrationIdentifier: actIntegration}, WithLogger(whQuiet))
	require.NoError(t, err)
	tp := g.TriggerPipeline()
	tp.PollInterval, tp.MaxPollInterval, tp.LivePollInterval, tp.PollTimeout = time.Millisecond, 4*time.Millisecond, time.Hour, 10*time.Second
	if o.tune != nil {
		o.tune(tp)
	}
	g.liveEvents.Store(o.live)
	app, err := ocean.New(cfg, g.Provider(), ocean.WithLogger(whQuiet), ocean.WithClock(e.clk))
	require.NoError(t, err)
	return app, g, whRun(t, app)
}

func (e *actEnv) run(inputs map[string]any) string {
	return e.pt.CreateActionRun(porttest.NewActionRun{InstallationID: actIntegration, Type: ActionTriggerPipeline, Properties: inputs})
}

// wait waits for cond on a run (a terminal status when nil).
func (e *actEnv) wait(t *testing.T, id string, cond func(porttest.ActionRunRecord) bool) porttest.ActionRunRecord {
	t.Helper()
	if cond == nil {
		cond = func(r porttest.ActionRunRecord) bool { return r.Status.Terminal() }
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r, ok := e.pt.ActionRun(id)
		require.True(t, ok)
		if cond(r) {
			return r
		}
		e.clk.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	r, _ := e.pt.ActionRun(id)
	t.Fatalf("run %s never got there: %+v", id, r)
	return r
}

func linked(r porttest.ActionRunRecord) bool { return r.ExternalRunID != "" }

// lastPipeline returns the project's newest pipeline.
func (e *actEnv) lastPipeline(t *testing.T, projectID int) gitlabtest.Pipeline {
	t.Helper()
	pls := e.ds.Pipelines(projectID)
	require.NotEmpty(t, pls)
	return pls[len(pls)-1]
}

func (e *actEnv) defaultBranch(t *testing.T) string {
	t.Helper()
	p, ok := e.ds.Project(whProject)
	require.True(t, ok)
	require.NotNil(t, p.DefaultBranch)
	return *p.DefaultBranch
}

func setPipelineStatus(t *testing.T, ds *gitlabtest.Dataset, projectID, id int, status string) {
	t.Helper()
	_, err := ds.UpdatePipeline(projectID, id, func(p *gitlabtest.Pipeline) { p.Status = status })
	require.NoError(t, err)
}

func TestTriggerPipelineWithoutStatusReporting(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	_, _, stop := e.start(t, actOpts{listener: settings.ListenerActionsOnly})
	before := len(e.ds.Pipelines(whProjectID))
	id := e.run(map[string]any{"project": whProject, "ref": e.defaultBranch(t), "reportPipelineStatus": false,
		"pipelineVariables": map[string]any{"DEPLOY": "yes", "REPLICAS": 3}})
	r := e.wait(t, id, nil)
	require.NoError(t, stop())

	require.Len(t, e.ds.Pipelines(whProjectID), before+1, "one pipeline was triggered")
	pl := e.lastPipeline(t, whProjectID)
	assert.Equal(t, "api", pl.Source)
	assert.Equal(t, port.RunSuccess, r.Status, "without status reporting the run succeeds once the pipeline exists")
	assert.Equal(t, []string{pl.WebURL}, r.Links, "the run links to the pipeline")
	assert.Equal(t, fmt.Sprintf("gl_%d_%d", whProjectID, pl.ID), r.ExternalRunID)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
	require.Len(t, r.Logs, 2)
	assert.Contains(t, r.Logs[0], "Triggering GitLab pipeline for "+whProject)
	assert.Equal(t, "Pipeline triggered: "+pl.WebURL, r.Logs[1])
}

func TestTriggerPipelineFollowsThePipelineByPolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		final  string
		status port.RunStatus
	}{
		{"success", port.RunSuccess},
		{"failed", port.RunFailure},
		{"canceled", port.RunFailure},
	}
	for _, tt := range tests {
		t.Run(tt.final, func(t *testing.T) {
			t.Parallel()
			e := newActEnv(t)
			_, _, stop := e.start(t, actOpts{listener: settings.ListenerActionsOnly})
			// By numeric project ID this time.
			id := e.run(map[string]any{"project": float64(whProjectID), "ref": e.defaultBranch(t)})
			r := e.wait(t, id, linked)
			pl := e.lastPipeline(t, whProjectID)
			assert.Equal(t, port.RunInProgress, r.Status, "the run follows the pipeline")
			assert.Equal(t, []string{pl.WebURL}, r.Links)

			setPipelineStatus(t, e.ds, whProjectID, pl.ID, "running")
			r, _ = e.pt.ActionRun(id)
			assert.Equal(t, port.RunInProgress, r.Status)
			setPipelineStatus(t, e.ds, whProjectID, pl.ID, tt.final)
			r = e.wait(t, id, nil)
			require.NoError(t, stop())
			assert.Equal(t, tt.status, r.Status)
			assert.Equal(t, "Pipeline completed: "+tt.final, r.Summary)
			assert.Equal(t, []port.RunStatus{tt.status}, r.Statuses)
		})
	}
}

func TestTriggerPipelinePollTimesOut(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	_, _, stop := e.start(t, actOpts{listener: settings.ListenerActionsOnly, tune: func(tp *TriggerPipeline) { tp.PollTimeout = 20 * time.Millisecond }})
	id := e.run(map[string]any{"project": whProject, "ref": e.defaultBranch(t)})
	r := e.wait(t, id, nil)
	require.NoError(t, stop())
	assert.Equal(t, port.RunFailure, r.Status)
	assert.Contains(t, r.Summary, "timed out")
	assert.Contains(t, r.Summary, "last status: created")
}

func TestTriggerPipelineCompletedByThePipelineHook(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	// POLLING without a resync at start: live events and actions together.
	app, g, stop := e.start(t, actOpts{listener: settings.ListenerPolling, live: true})
	env := &whEnv{url: whWaitHealthy(t, app), procs: g.Provider().Processors}
	id := e.run(map[string]any{"project": whProject, "ref": e.defaultBranch(t)})
	r := e.wait(t, id, linked)
	pl := e.lastPipeline(t, whProjectID)
	assert.Equal(t, port.RunInProgress, r.Status)

	hook := func(status, source string, pipelineID int) map[string]any {
		return map[string]any{"object_kind": "pipeline",
			"object_attributes": map[string]any{"id": pipelineID, "status": status, "source": source, "ref": pl.Ref},
			"project":           map[string]any{"id": whProjectID, "path_with_namespace": whProject}}
	}
	// Not finished, not from the API, unsigned, or another pipeline: the
	// run is untouched (the catalog's pipeline processor still takes them).
	require.Equal(t, http.StatusAccepted, env.post(t, hookPipeline, whSecret, hook("running", "api", pl.ID)))
	require.Equal(t, http.StatusAccepted, env.post(t, hookPipeline, whSecret, hook("success", "push", pl.ID)))
	require.Equal(t, http.StatusUnauthorized, env.post(t, hookPipeline, "wrong", hook("success", "api", pl.ID)))
	require.Equal(t, http.StatusAccepted, env.post(t, hookPipeline, whSecret, hook("failed", "api", pl.ID+1000)))
	env.settle(t)
	r, _ = e.pt.ActionRun(id)
	assert.Equal(t, port.RunInProgress, r.Status)

	setPipelineStatus(t, e.ds, whProjectID, pl.ID, "success")
	require.Equal(t, http.StatusAccepted, env.post(t, hookPipeline, whSecret, hook("success", "api", pl.ID)))
	r = e.wait(t, id, nil)
	assert.Equal(t, port.RunSuccess, r.Status, "the Pipeline Hook completes the run (polling waits an hour here)")
	assert.Equal(t, "Pipeline completed: success", r.Summary)
	// A redelivered hook changes nothing.
	require.Equal(t, http.StatusAccepted, env.post(t, hookPipeline, whSecret, hook("success", "api", pl.ID)))
	require.NoError(t, stop())
	r, _ = e.pt.ActionRun(id)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
}

func TestTriggerPipelineFailures(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	e.gl.DenyProject(2, http.StatusForbidden)
	_, _, stop := e.start(t, actOpts{listener: settings.ListenerActionsOnly})
	branch := e.defaultBranch(t)
	tests := []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"no project", map[string]any{"ref": branch}, "project is required"},
		{"no ref", map[string]any{"project": whProject}, "ref is required"},
		{"blank ref", map[string]any{"project": whProject, "ref": "  "}, "ref is required"},
		{"variables not an object", map[string]any{"project": whProject, "ref": branch, "pipelineVariables": []any{"A=1"}}, "pipelineVariables must be a key-value object, got a list"},
		{"status flag not a bool", map[string]any{"project": whProject, "ref": branch, "reportPipelineStatus": "yes"}, "reportPipelineStatus must be a boolean"},
		{"unknown ref", map[string]any{"project": whProject, "ref": "no-such-branch"}, "Reference not found"},
		{"unknown project", map[string]any{"project": "nobody/nothing", "ref": branch}, "project not found"},
		{"forbidden project", map[string]any{"project": float64(2), "ref": branch}, "403"},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		ids[tt.name] = e.run(tt.inputs)
	}
	before := len(e.ds.Pipelines(whProjectID))
	for _, tt := range tests {
		r := e.wait(t, ids[tt.name], nil)
		assert.Equal(t, port.RunFailure, r.Status, tt.name)
		assert.Contains(t, r.Summary, tt.want, tt.name)
		assert.NotContains(t, r.Summary, e.gl.Token, tt.name)
	}
	require.NoError(t, stop())
	assert.Len(t, e.ds.Pipelines(whProjectID), before, "no pipeline was created")
	r, _ := e.pt.ActionRun(ids["unknown ref"])
	assert.Equal(t, fmt.Sprintf("could not trigger a pipeline for project '%s' on ref 'no-such-branch': Reference not found", whProject), r.Summary,
		"GitLab's own words reach the user")
}

func TestTriggerPipelineIsNotResent(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	branch := e.defaultBranch(t)
	prefix := fmt.Sprintf("/projects/%d/pipeline", whProjectID)
	_, _, stop := e.start(t, actOpts{listener: settings.ListenerActionsOnly})
	before := len(e.ds.Pipelines(whProjectID))

	// A 502 may hide a pipeline GitLab created: the run fails, nothing is resent.
	e.gl.FailNext(1, http.StatusBadGateway, 0, prefix)
	r := e.wait(t, e.run(map[string]any{"project": float64(whProjectID), "ref": branch, "reportPipelineStatus": false}), nil)
	assert.Equal(t, port.RunFailure, r.Status)
	assert.Contains(t, r.Summary, "502")

	// A 429 was not processed: it is retried and the pipeline is created once.
	e.gl.FailNext(1, http.StatusTooManyRequests, 0, prefix)
	r = e.wait(t, e.run(map[string]any{"project": float64(whProjectID), "ref": branch, "reportPipelineStatus": false}), nil)
	assert.Equal(t, port.RunSuccess, r.Status, "%+v", r)
	require.NoError(t, stop())
	assert.Len(t, e.ds.Pipelines(whProjectID), before+1)
}

func TestTriggerPipelineDuplicateDeliveryRunsOnePipeline(t *testing.T) {
	t.Parallel()
	e := newActEnv(t)
	fast := func(c *settings.Config) { c.ActionsProcessor.VisibilityTimeoutMs = 1 } // runs are handed out again at once
	branch := e.defaultBranch(t)
	before := len(e.ds.Pipelines(whProjectID))
	var ids []string
	for range 8 {
		ids = append(ids, e.run(map[string]any{"project": whProject, "ref": branch, "reportPipelineStatus": false}))
	}
	_, _, stopA := e.start(t, actOpts{listener: settings.ListenerActionsOnly, mutate: fast})
	_, _, stopB := e.start(t, actOpts{listener: settings.ListenerActionsOnly, mutate: fast})
	links := map[string]bool{}
	for _, id := range ids {
		r := e.wait(t, id, nil)
		assert.Equal(t, port.RunSuccess, r.Status)
		assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
		require.Len(t, r.Links, 1)
		links[r.Links[0]] = true
	}
	require.NoError(t, stopA())
	require.NoError(t, stopB())
	assert.Len(t, e.ds.Pipelines(whProjectID), before+len(ids), "one pipeline per run, with two pollers")
	assert.Len(t, links, len(ids))
}

func TestParseTriggerInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   map[string]any
		want triggerInputs
		err  string
	}{
		{name: "path", in: map[string]any{"project": "g/p", "ref": "main"}, want: triggerInputs{project: "g/p", ref: "main", report: true}},
		{name: "numeric id", in: map[string]any{"project": float64(42), "ref": "v1.0"}, want: triggerInputs{project: "42", ref: "v1.0", report: true}},
		{name: "fractional id", in: map[string]any{"project": 4.5, "ref": "main"}, err: "project is required"},
		{name: "no status", in: map[string]any{"project": "g/p", "ref": "main", "reportPipelineStatus": false}, want: triggerInputs{project: "g/p", ref: "main"}},
		{name: "null variables", in: map[string]any{"project": "g/p", "ref": "main", "pipelineVariables": nil}, want: triggerInputs{project: "g/p", ref: "main", report: true}},
		{name: "variables", in: map[string]any{"project": "g/p", "ref": "main", "pipelineVariables": map[string]any{
			"B": "text", "A": float64(3), "C": true, "D": map[string]any{"x": []any{1.0}}, "E": nil}},
			want: triggerInputs{project: "g/p", ref: "main", report: true, vars: []pipelineVariable{
				{"A", "3"}, {"B", "text"}, {"C", "true"}, {"D", `{"x":[1]}`}, {"E", "null"}}}},
		{name: "variables string", in: map[string]any{"project": "g/p", "ref": "main", "pipelineVariables": "A=1"}, err: "got a string"},
	}
	for _, tt := range tests {
		got, err := parseTriggerInputs(tt.in)
		if tt.err != "" {
			require.Error(t, err, tt.name)
			assert.Contains(t, err.Error(), tt.err, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestGitLabMessage(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`{"message":"400 Bad request - ref is missing"}`:                 "400 Bad request - ref is missing",
		`{"message":{"base":["Reference not found"]}}`:                   "Reference not found",
		`{"message":{"base":["a","b"],"variables":["is invalid"]}}`:      "a, b; variables: is invalid",
		`{"error":"insufficient_scope","error_description":"needs api"}`: "needs api",
		`{"error":"forbidden"}`:                                          "forbidden",
		`not json`:                                                       "",
		`{"other":"x"}`:                                                  "",
	}
	for in, want := range tests {
		assert.Equal(t, want, gitlabMessage([]byte(in)), in)
	}
	assert.True(t, strings.HasPrefix(triggerError(http.StatusTeapot, fmt.Errorf("x")).Error(), "GitLab answered 418"))
}
