package ocean_test

import (
	"bytes"
	"context"
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
	"github.com/oceankit/oceankit/ocean/actions"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// funcExecutor is an executor built from a function; it counts the runs it
// executed by run ID.
type funcExecutor struct {
	name  string
	fn    func(ctx context.Context, run *actions.Run, rep actions.Reporter) error
	key   func(run *actions.Run) string
	wait  func(run *actions.Run) time.Duration
	execs sync.Map // run ID → *atomic.Int32
}

func (e *funcExecutor) Action() string { return e.name }

func (e *funcExecutor) Execute(ctx context.Context, run *actions.Run, rep actions.Reporter) error {
	n, _ := e.execs.LoadOrStore(run.ID, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	if e.fn == nil {
		return nil
	}
	return e.fn(ctx, run, rep)
}

func (e *funcExecutor) executions(id string) int {
	n, ok := e.execs.Load(id)
	if !ok {
		return 0
	}
	return int(n.(*atomic.Int32).Load())
}

type rateLimitedExecutor struct{ *funcExecutor }

func (e rateLimitedExecutor) RateLimitWait(run *actions.Run) time.Duration { return e.wait(run) }

// actionsApp builds an App of the harness's Port running the given
// executors, with its own Port client (a second process when called twice).
func (h *harness) actionsApp(listener string, execs ...actions.Executor) *ocean.App {
	h.t.Helper()
	cfg := *h.cfg
	cfg.EventListener.Type = listener
	cfg.MaxWaitSecondsBeforeShutdown = 2
	prov := *h.prov
	prov.Actions = execs
	c, err := port.New(h.srv.URL, h.srv.ClientID, h.srv.ClientSecret,
		port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
		port.WithLogger(quietLogger()))
	require.NoError(h.t, err)
	a, err := ocean.New(&cfg, &prov, ocean.WithPortClient(c), ocean.WithLogger(quietLogger()),
		ocean.WithActionsPollInterval(2*time.Millisecond), ocean.WithEventRetry(1, time.Millisecond))
	require.NoError(h.t, err)
	return a
}

func (h *harness) newRun(typ string, inputs map[string]any) string {
	return h.srv.CreateActionRun(porttest.NewActionRun{InstallationID: integrationID, Type: typ, Properties: inputs})
}

// waitRun waits until a run reaches a terminal status (or cond holds).
func waitRun(t *testing.T, srv *porttest.Server, id string, cond func(porttest.ActionRunRecord) bool) porttest.ActionRunRecord {
	t.Helper()
	if cond == nil {
		cond = func(r porttest.ActionRunRecord) bool { return r.Status.Terminal() }
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r, ok := srv.ActionRun(id)
		require.True(t, ok)
		if cond(r) {
			return r
		}
		time.Sleep(time.Millisecond)
	}
	r, _ := srv.ActionRun(id)
	t.Fatalf("run %s never got there: %+v", id, r)
	return r
}

func TestActionsOnlyExecutesRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	secret := h.srv.ClientSecret
	ok := &funcExecutor{name: "greet", fn: func(ctx context.Context, run *actions.Run, rep actions.Reporter) error {
		return rep.Log(ctx, "hello "+run.Inputs["name"].(string))
	}}
	failing := &funcExecutor{name: "break", fn: func(context.Context, *actions.Run, actions.Reporter) error {
		return fmt.Errorf("backend said no (token %s)", secret)
	}}
	panicking := &funcExecutor{name: "panic", fn: func(context.Context, *actions.Run, actions.Reporter) error {
		var m map[string]int
		m["x"] = 1
		return nil
	}}
	greet := h.newRun("greet", map[string]any{"name": "ada"})
	broken := h.newRun("break", nil)
	panicked := h.newRun("panic", nil)
	unknown := h.newRun("deploy", nil)
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, ok, failing, panicking))

	r := waitRun(t, h.srv, greet, nil)
	assert.Equal(t, port.RunSuccess, r.Status, "a run whose Execute returns nil succeeds")
	assert.Equal(t, []string{"hello ada"}, r.Logs)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses, "completed once")
	assert.True(t, r.Acked)

	r = waitRun(t, h.srv, broken, nil)
	assert.Equal(t, port.RunFailure, r.Status)
	assert.Contains(t, r.Summary, "backend said no")
	assert.NotContains(t, r.Summary, secret, "secrets never reach a run's summary")
	assert.Contains(t, r.Summary, "[REDACTED]")

	r = waitRun(t, h.srv, panicked, nil)
	assert.Equal(t, port.RunFailure, r.Status, "a panicking executor fails its run and nothing else")
	assert.Contains(t, r.Summary, "failed unexpectedly")

	r = waitRun(t, h.srv, unknown, nil)
	assert.Equal(t, port.RunFailure, r.Status)
	assert.Contains(t, r.Summary, `no executor for action type "deploy"`)
	assert.Contains(t, r.Summary, "break, greet, panic")
	assert.True(t, r.Acked, "a run with no executor is acknowledged, then failed")

	require.NoError(t, stop())
	assert.Equal(t, 1, ok.executions(greet))
	integ, found := h.srv.Integration(integrationID)
	require.True(t, found)
	assert.True(t, integ.ActionsProcessingEnabled, "the processor turns on actionsProcessingEnabled")
}

func TestReporterLinkContinueAndSingleCompletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	release := make(chan error)
	ex := &funcExecutor{name: "ci", fn: func(ctx context.Context, run *actions.Run, rep actions.Reporter) error {
		if err := rep.SetLink(ctx, "https://ci.example.com/p/7", "ci_7_"+run.ID); err != nil {
			return err
		}
		if run.Inputs["sync"] == true {
			require.NoError(t, rep.Succeed(ctx, "done"))
			require.NoError(t, rep.Fail(ctx, "ignored: the run is already complete"))
			return nil
		}
		rep.Continue(func(ctx context.Context, rep actions.Reporter) error {
			select {
			case err := <-release:
				if err != nil {
					return err
				}
				return rep.Succeed(ctx, "pipeline finished")
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		return nil
	}}
	syncRun := h.newRun("ci", map[string]any{"sync": true})
	asyncOK := h.newRun("ci", nil)
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, ex))

	r := waitRun(t, h.srv, syncRun, nil)
	assert.Equal(t, port.RunSuccess, r.Status)
	assert.Equal(t, "done", r.Summary)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses, "only the first completion is sent")
	assert.Equal(t, []string{"https://ci.example.com/p/7"}, r.Links)
	assert.Equal(t, "ci_7_"+syncRun, r.ExternalRunID)

	r = waitRun(t, h.srv, asyncOK, func(r porttest.ActionRunRecord) bool { return len(r.Links) > 0 })
	assert.Equal(t, port.RunInProgress, r.Status, "a continued run stays in progress after Execute returns")
	release <- nil
	r = waitRun(t, h.srv, asyncOK, nil)
	assert.Equal(t, port.RunSuccess, r.Status)
	assert.Equal(t, "pipeline finished", r.Summary)

	asyncFail := h.newRun("ci", nil)
	waitRun(t, h.srv, asyncFail, func(r porttest.ActionRunRecord) bool { return len(r.Links) > 0 })
	release <- errors.New("pipeline vanished")
	r = waitRun(t, h.srv, asyncFail, nil)
	assert.Equal(t, port.RunFailure, r.Status, "an error from the continuation fails the run")
	assert.Equal(t, "pipeline vanished", r.Summary)

	left := h.newRun("ci", nil)
	waitRun(t, h.srv, left, func(r porttest.ActionRunRecord) bool { return len(r.Links) > 0 })
	require.NoError(t, stop(), "shutdown cancels continuations")
	r, _ = h.srv.ActionRun(left)
	assert.Equal(t, port.RunInProgress, r.Status, "a run cut off by shutdown is not reported as failed")
}

// gatedExecutor blocks the run whose input "gate" is true until released.
func gatedExecutor(name string, entered chan<- string, release <-chan struct{}) *funcExecutor {
	return &funcExecutor{name: name, fn: func(ctx context.Context, run *actions.Run, _ actions.Reporter) error {
		if run.Inputs["gate"] != true {
			return nil
		}
		entered <- run.ID
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

func TestSameRunReturnedTwiceExecutesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.ActionsProcessor.WorkersCount = 1
	h.cfg.ActionsProcessor.VisibilityTimeoutMs = 1 // claimed runs come back at once
	entered, release := make(chan string, 1), make(chan struct{})
	ex := gatedExecutor("job", entered, release)
	blocker := h.newRun("job", map[string]any{"gate": true})
	queued := h.newRun("job", nil)
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, ex))

	require.Equal(t, blocker, <-entered)
	// The only worker is busy: the queued run is claimed again and again
	// while it waits, and each copy is recognised.
	waitRun(t, h.srv, queued, func(r porttest.ActionRunRecord) bool { return r.Claims >= 3 })
	close(release)
	r := waitRun(t, h.srv, queued, nil)
	assert.Equal(t, port.RunSuccess, r.Status)
	assert.Equal(t, 1, ex.executions(queued), "executed once however often it was delivered")
	assert.Zero(t, r.AckConflicts, "duplicates are dropped before they reach Port")
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
	require.NoError(t, stop())
}

func TestTwoPollersExecuteEachRunOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.ActionsProcessor.WorkersCount = 1
	h.cfg.ActionsProcessor.VisibilityTimeoutMs = 1
	entered, release := make(chan string, 1), make(chan struct{})
	exA := gatedExecutor("job", entered, release)
	exB := &funcExecutor{name: "job"}
	blocker := h.newRun("job", map[string]any{"gate": true})
	contested := h.newRun("job", nil)
	stopA := runApp(t, h.actionsApp(settings.ListenerActionsOnly, exA))
	require.Equal(t, blocker, <-entered)
	// A holds the contested run in its queue; B claims it once its
	// visibility timeout passed and runs it first.
	stopB := runApp(t, h.actionsApp(settings.ListenerActionsOnly, exB))
	r := waitRun(t, h.srv, contested, nil)
	assert.Equal(t, port.RunSuccess, r.Status)
	close(release)
	waitRun(t, h.srv, blocker, nil)
	// A's worker reaches the contested run, and Port's 409 stops it.
	waitRun(t, h.srv, contested, func(r porttest.ActionRunRecord) bool { return r.AckConflicts == 1 })
	require.NoError(t, stopA())
	require.NoError(t, stopB())
	assert.Equal(t, 1, exA.executions(contested)+exB.executions(contested), "one execution across both processes")
	assert.Equal(t, 1, exB.executions(contested))
	r, _ = h.srv.ActionRun(contested)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
	assert.GreaterOrEqual(t, r.Claims, 2)
}

func TestManyRunsTwoPollers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.ActionsProcessor.VisibilityTimeoutMs = 1
	a, b := &funcExecutor{name: "job"}, &funcExecutor{name: "job"}
	var ids []string
	for range 40 {
		ids = append(ids, h.newRun("job", nil))
	}
	stopA := runApp(t, h.actionsApp(settings.ListenerActionsOnly, a))
	stopB := runApp(t, h.actionsApp(settings.ListenerActionsOnly, b))
	for _, id := range ids {
		r := waitRun(t, h.srv, id, nil)
		assert.Equal(t, port.RunSuccess, r.Status)
		assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses)
	}
	require.NoError(t, stopA())
	require.NoError(t, stopB())
	for _, id := range ids {
		assert.Equal(t, 1, a.executions(id)+b.executions(id), "run %s", id)
	}
}

func TestPerActionShareOfTheBuffer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.ActionsProcessor.WorkersCount = 3
	h.cfg.ActionsProcessor.RunsBufferHighWatermark = 10
	h.cfg.ActionsProcessor.MaxRunsBufferUtilPctPerAction = 20 // 2 runs of one action
	entered, release := make(chan string, 10), make(chan struct{})
	slow := gatedExecutor("slow", entered, release)
	fast := &funcExecutor{name: "fast"}
	first := []string{h.newRun("slow", map[string]any{"gate": true}), h.newRun("slow", map[string]any{"gate": true})}
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, slow, fast))
	<-entered
	<-entered
	var later []string
	for range 3 {
		later = append(later, h.newRun("slow", map[string]any{"gate": true}))
	}
	fastRun := h.newRun("fast", nil)
	assert.Equal(t, port.RunSuccess, waitRun(t, h.srv, fastRun, nil).Status,
		"another action runs while one fills its share")
	for _, id := range later {
		r, _ := h.srv.ActionRun(id)
		assert.Zero(t, r.Claims, "an action is not claimed past its share of the buffer")
	}
	close(release)
	for _, id := range append(first, later...) {
		assert.Equal(t, port.RunSuccess, waitRun(t, h.srv, id, nil).Status)
	}
	require.NoError(t, stop())
}

func TestFloodOfOneActionLeavesWorkersForOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.cfg.ActionsProcessor.WorkersCount = 2
	entered, release := make(chan string, 10), make(chan struct{})
	slow := gatedExecutor("slow", entered, release)
	fast := &funcExecutor{name: "fast"}
	var slowRuns []string
	for range 5 {
		slowRuns = append(slowRuns, h.newRun("slow", map[string]any{"gate": true}))
	}
	fastRun := h.newRun("fast", nil)
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, slow, fast))
	assert.Equal(t, port.RunSuccess, waitRun(t, h.srv, fastRun, nil).Status,
		"with one worker busy on a slow action, the next takes another action's run")
	close(release)
	for _, id := range slowRuns {
		assert.Equal(t, port.RunSuccess, waitRun(t, h.srv, id, nil).Status)
	}
	require.NoError(t, stop())
}

func TestRateLimitedRunIsDelayedBeforeAck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	var asked atomic.Int32
	base := &funcExecutor{name: "api"}
	base.wait = func(*actions.Run) time.Duration {
		if asked.Add(1) == 1 {
			return 5 * time.Millisecond
		}
		return 0
	}
	id := h.newRun("api", nil)
	stop := runApp(t, h.actionsApp(settings.ListenerActionsOnly, rateLimitedExecutor{base}))
	r := waitRun(t, h.srv, id, nil)
	require.NoError(t, stop())
	assert.Equal(t, port.RunSuccess, r.Status)
	require.NotEmpty(t, r.Logs)
	assert.Contains(t, r.Logs[0], "Delayed due to low remaining rate limit")
}

func TestActionsAlongsideOtherListeners(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listener string
		enabled  bool
		runs     bool
	}{
		{settings.ListenerWebhook, true, true},
		{settings.ListenerWebhook, false, false},
		{settings.ListenerWebhooksOnly, true, false}, // as Ocean: WEBHOOKS_ONLY runs no actions
		{settings.ListenerActionsOnly, false, true},  // ACTIONS_ONLY is the switch itself
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s enabled=%v", tt.listener, tt.enabled), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 0)
			h.cfg.ActionsProcessor.Enabled = tt.enabled
			ex := &funcExecutor{name: "job"}
			id := h.newRun("job", nil)
			a := h.actionsApp(tt.listener, ex)
			stop := runApp(t, a)
			if tt.runs {
				assert.Equal(t, port.RunSuccess, waitRun(t, h.srv, id, nil).Status)
			} else {
				// A running processor claims within a poll interval (2 ms).
				require.Eventually(t, func() bool { return a.Addr() != "" }, 5*time.Second, time.Millisecond)
				time.Sleep(30 * time.Millisecond)
			}
			require.NoError(t, stop())
			if !tt.runs {
				assert.Zero(t, h.srv.Count(porttest.RouteClaimPendingRuns), "no runs are claimed")
			}
		})
	}
}

func TestActionsProcessorSettings(t *testing.T) {
	t.Parallel()
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: "widgets", Environ: []string{
		"OCEAN__ACTIONS_PROCESSOR__ENABLED=true",
		"OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT=5",
	}})
	require.NoError(t, err)
	assert.Equal(t, settings.ActionsProcessorConfig{Enabled: true, RunsBufferHighWatermark: 300, VisibilityTimeoutMs: 60000,
		PollCheckIntervalSeconds: 10, WorkersCount: 5, MaxRunsBufferUtilPctPerAction: 30}, cfg.ActionsProcessor, "Ocean's defaults")

	cfg.ActionsProcessor.WorkersCount = 0
	cfg.ActionsProcessor.MaxRunsBufferUtilPctPerAction = 101
	err = cfg.Validate(false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT")
	assert.Contains(t, err.Error(), "OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION")
	cfg.ActionsProcessor.Enabled = false
	assert.NoError(t, cfg.Validate(false), "settings of a processor that does not run are not checked")
}

func TestActionsOnlyNeedsPort(t *testing.T) {
	t.Parallel()
	cfg := settings.Default("widgets")
	cfg.EventListener.Type = settings.ListenerActionsOnly
	cfg.Application.Port = 0
	a, err := ocean.New(cfg, &ocean.Provider{Type: "widgets"}, ocean.WithDryRun(&bytes.Buffer{}), ocean.WithLogger(quietLogger()),
		ocean.WithPortAppConfig(mustParse(t, "resources: []")))
	require.NoError(t, err)
	err = a.Run(context.Background())
	var ce *settings.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "OCEAN__EVENT_LISTENER__TYPE", ce.Name)
}

func TestDuplicateExecutorsAreRejected(t *testing.T) {
	t.Parallel()
	_, err := ocean.New(settings.Default("widgets"), &ocean.Provider{Type: "widgets",
		Actions: []actions.Executor{&funcExecutor{name: "a"}, &funcExecutor{name: "a"}}},
		ocean.WithDryRun(&bytes.Buffer{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `two executors for action "a"`)
}

// completionProcessor completes runs from live events
// {"external_id": …, "ok": bool}.
type completionProcessor struct{ handled atomic.Int32 }

func (p *completionProcessor) Name() string                                     { return "completion" }
func (p *completionProcessor) Match(ev *ocean.Event) bool                       { return ev.Payload["external_id"] != nil }
func (p *completionProcessor) Authenticate(context.Context, *ocean.Event) error { return nil }
func (p *completionProcessor) Validate(*ocean.Event) error                      { return nil }
func (p *completionProcessor) Kinds(*ocean.Event) []string                      { return nil }
func (p *completionProcessor) Handle(context.Context, *ocean.Event, ocean.Resource) (ocean.Changes, error) {
	return ocean.Changes{}, errors.New("not called for run events")
}

func (p *completionProcessor) HandleRunEvent(ctx context.Context, ev *ocean.Event, runs actions.Runs) error {
	defer p.handled.Add(1)
	run, rep, err := runs.ByExternalID(ctx, ev.Payload["external_id"].(string))
	if err != nil || run == nil {
		return err
	}
	if ev.Payload["ok"] == true {
		return rep.Succeed(ctx, "finished")
	}
	return rep.Fail(ctx, "failed")
}

func TestRunEventProcessorCompletesRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	proc := &completionProcessor{}
	h.prov.Processors = []ocean.Processor{proc}
	id := h.newRun("ci", nil)
	_, err := h.client.PatchRun(context.Background(), id, port.RunPatch{ExternalRunID: "ext-1"})
	require.NoError(t, err)
	a := h.actionsApp(settings.ListenerWebhooksOnly)
	stop := runApp(t, a)
	require.Eventually(t, func() bool { return a.Addr() != "" }, 5*time.Second, time.Millisecond)
	post := func(body string) {
		resp, err := http.Post("http://"+a.Addr()+"/integration/webhook", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	post(`{"external_id":"unknown","ok":true}`)
	post(`{"external_id":"ext-1","ok":true}`)
	r := waitRun(t, h.srv, id, nil)
	assert.Equal(t, port.RunSuccess, r.Status)
	assert.Equal(t, "finished", r.Summary)
	post(`{"external_id":"ext-1","ok":false}`)
	require.Eventually(t, func() bool { return proc.handled.Load() == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, stop())
	r, _ = h.srv.ActionRun(id)
	assert.Equal(t, []port.RunStatus{port.RunSuccess}, r.Statuses, "a finished run is not completed again")
	assert.Zero(t, h.srv.Count(porttest.RouteClaimPendingRuns), "WEBHOOKS_ONLY claims no runs")
}
